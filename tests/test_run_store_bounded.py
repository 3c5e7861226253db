"""A daily (T+1) run reads a bounded part of the run store: the hits it rebuilds alerts
from stay the same however many earlier days of runs the store holds (flowgraph.scan:
a unit's alerts from the first one its hits reach, the ``recurrence_weeks`` before them)."""

import pandas as pd
import pytest

from flowgraph.alerts import ModelConfig
from flowgraph.graph import build_graph
from flowgraph.io import load_dataset
from flowgraph.scan import run_scan
from flowgraph.scan_config import ScanConfig
from flowgraph.simulate import simulate, write_simulation
from flowgraph.store import Store

#: alerts of at most 10 days, recurrence over the 2 weeks before: what a T+1 reads reaches
#: back about 60 business days (its re-scanned window, an alert, 3 weeks)
SHORT = ModelConfig(alert_days=10, recurrence_weeks=2, recurrence_weight=-0.7)


@pytest.fixture(scope="module")
def bank(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bank")
    write_simulation(simulate(seed=31, n_customers=500, n_days=140, patterns_per_typology=1, lookalikes_per_kind=1,
                              recruit_pool_share=0.5), folder)
    return load_dataset(folder)


def test_what_a_t_plus_1_reads_of_the_run_store_stays_flat_as_its_history_grows(bank, tmp_path, monkeypatch):
    """The same hits by week (from the index) and the same whole rows, with 70 or 135
    business days of earlier runs; and the same alerts."""
    days = build_graph(bank.transactions.table, bank.accounts.table).business_days
    config = ScanConfig(model=SHORT)
    as_of = str(days[-1])
    read, alerts, stored = {}, {}, {}
    calls = []
    hit_days, hits = Store.hit_days, Store.hits

    def counted_days(self, *args, **kwargs):  # the hits read by week, from the index
        frame = hit_days(self, *args, **kwargs)
        calls.append(("days", sorted(frame["hit_id"])))
        return frame

    def counted_rows(self, *args, **kwargs):  # the hits read whole, by id
        frame = hits(self, *args, **kwargs)
        if kwargs.get("ids") is not None:
            calls.append(("rows", sorted(frame["hit_id"])))
        return frame

    for history in (70, 135):  # business days of earlier runs, both beyond what a T+1 reads
        store = tmp_path / f"runs{history}.sqlite"
        run_scan(bank, tmp_path / f"range{history}", config, first_day=str(days[-1 - history]), last_day=str(days[-2]),
                 store_path=store, progress=False)
        calls.clear()
        with monkeypatch.context() as mp:
            mp.setattr(Store, "hit_days", counted_days)
            mp.setattr(Store, "hits", counted_rows)
            result = run_scan(bank, tmp_path / f"t1-{history}", config, as_of=as_of, store_path=store, progress=False)
        assert [kind for kind, _ in calls] == ["days", "rows"]
        read[history] = dict(calls)
        alerts[history] = result.alerts.drop(columns=["contributions"]).sort_values("alert_id").reset_index(drop=True)
        opened = Store(store, create=False)
        stored[history] = opened.query("SELECT COUNT(*) AS n FROM hits").iloc[0, 0]
        opened.close()
        assert len(read[history]["rows"]) < len(read[history]["days"])  # history hits count by week only
    assert len(read[70]["days"]) > 100 and len(read[70]["rows"]) > 10
    assert stored[135] > 4 * len(read[135]["days"])  # most of the history is not read
    assert read[70] == read[135]
    pd.testing.assert_frame_equal(alerts[70], alerts[135])

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
    days = build_graph(bank.transactions.table, bank.accounts.table).business_days
    config = ScanConfig(model=SHORT)
    as_of = str(days[-1])
    read, alerts = {}, {}
    calls = []
    hits = Store.hits

    def counted(self, *args, **kwargs):
        frame = hits(self, *args, **kwargs)
        if isinstance(kwargs.get("units"), dict):
            calls.append(frame["hit_id"].tolist())
        return frame

    for history in (70, 135):  # business days of earlier runs, both beyond what a T+1 reads
        store = tmp_path / f"runs{history}.sqlite"
        run_scan(bank, tmp_path / f"range{history}", config, first_day=str(days[-1 - history]), last_day=str(days[-2]),
                 store_path=store, progress=False)
        calls.clear()
        with monkeypatch.context() as mp:
            mp.setattr(Store, "hits", counted)
            result = run_scan(bank, tmp_path / f"t1-{history}", config, as_of=as_of, store_path=store, progress=False)
        assert len(calls) == 1
        read[history] = sorted(calls[0])
        alerts[history] = result.alerts.drop(columns=["contributions"]).sort_values("alert_id").reset_index(drop=True)
        opened = Store(store, create=False)
        stored = opened.query("SELECT COUNT(*) AS n FROM hits").iloc[0, 0]
        opened.close()
        assert stored > 3 * len(read[history])  # most of the history is not read
    assert len(read[70]) > 100
    assert read[70] == read[135]
    pd.testing.assert_frame_equal(alerts[70], alerts[135])

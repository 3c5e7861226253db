"""hits.parquet carries each hit's score (SPEC §10): the score of the alert group that holds
it, with that group's id, as alerts.parquet has them; a scan of a file and a block scan of a
transaction store alike, de-identified as before."""

import numpy as np
import pandas as pd
import pytest

from flowgraph.cli import main
from flowgraph.errors import DataError
from flowgraph.exports import hit_alert_scores

#: Three customers' accounts (A, B, C, each its own customer) and what they trip: A
#: structures cash deposits under 50,000 over Nov 2-4 (structuring, frequent, a daily
#: cash sum: one alert of several hits), B pays in 60,000 cash once (a large-value
#: report), C receives two transfers of 300,000 on one day (a daily cumulative sum).
ROWS = """txn_id,timestamp,src_account,dst_account,amount,currency,channel
Q1,2026-11-02T10:00:00,,A,45000,CNY,cash
Q2,2026-11-03T10:00:00,,A,46000,CNY,cash
Q3,2026-11-04T10:00:00,,A,45500,CNY,cash
L1,2026-11-03T11:00:00,,B,60000,CNY,cash
D1,2026-11-04T09:00:00,O1,C,300000,CNY,transfer
D2,2026-11-04T15:00:00,O2,C,300000,CNY,transfer
X1,2026-11-05T10:00:00,A,O3,100,CNY,transfer
"""

REAL_ACCOUNTS = {"A", "B", "C", "O1", "O2", "O3"}


@pytest.fixture(scope="module")
def bank_csv(tmp_path_factory):
    path = tmp_path_factory.mktemp("bank") / "tx.csv"
    path.write_text(ROWS)
    return path


def _exports(out):
    return pd.read_parquet(out / "hits.parquet"), pd.read_parquet(out / "alerts.parquet")


def _assert_scores_are_their_alerts(hits: pd.DataFrame, alerts: pd.DataFrame) -> None:
    """Each hit is in exactly one exported alert, and carries that alert's id and score."""
    holder = {h: (a, s) for a, s, ids in zip(alerts["alert_id"], alerts["score"], alerts["hit_ids"]) for h in ids}
    assert sum(len(ids) for ids in alerts["hit_ids"]) == len(holder)  # no hit in two alerts
    assert set(hits["hit_id"]) <= set(holder)  # none in no alert
    for hit in hits.itertuples():
        alert_id, score = holder[hit.hit_id]
        assert hit.alert_id == alert_id and hit.score == score, hit.hit_id


def test_each_exported_hit_has_its_alerts_score(bank_csv, tmp_path):
    out = tmp_path / "run"
    assert main(["scan", str(bank_csv), "--out", str(out)]) == 0
    hits, alerts = _exports(out)
    assert {"score", "alert_id"} <= set(hits.columns)
    assert len(hits) >= 4 and len(alerts) >= 3 and alerts["score"].nunique() >= 2  # scores tell alerts apart
    _assert_scores_are_their_alerts(hits, alerts)
    assert alerts.loc[alerts["n_hits"] > 1].shape[0] >= 1  # an alert of several hits gives each its score
    # de-identified as before: no real account id in the exported hits
    shown = {a for ids in hits["accounts"] for a in ids} | set(hits["subject"])
    assert shown and not shown & REAL_ACCOUNTS


def test_a_block_scan_of_a_store_exports_the_same_scores(bank_csv, tmp_path):
    """A transaction store scanned in blocks of one business day: alerts and exports are
    built bucket by bucket (flowgraph.block_run); each hit's score is still its alert's,
    and the one the scan of the file gives it."""
    store = tmp_path / "store"
    assert main(["ingest", str(bank_csv), "--into", str(store)]) == 0
    assert main(["scan", str(store), "--out", str(tmp_path / "blocks"), "--block-days", "1"]) == 0
    assert main(["scan", str(bank_csv), "--out", str(tmp_path / "file")]) == 0
    hits, alerts = _exports(tmp_path / "blocks")
    assert len(hits) >= 4
    _assert_scores_are_their_alerts(hits, alerts)
    by_file = _exports(tmp_path / "file")[0].set_index("hit_id")[["alert_id", "score"]]
    pd.testing.assert_frame_equal(hits.set_index("hit_id")[["alert_id", "score"]].loc[by_file.index], by_file)


def test_a_hit_outside_every_alert_gets_no_score_and_one_in_two_is_refused():
    alerts = pd.DataFrame({"alert_id": ["a1", "a2"], "score": [2.5, 0.75], "hit_ids": [["h1", "h2"], ["h3"]]})
    got = hit_alert_scores(np.array(["h3", "h9", "h1"], dtype=object), alerts)
    assert got["alert_id"].iloc[[0, 2]].tolist() == ["a2", "a1"] and pd.isna(got["alert_id"].iloc[1])
    assert got["score"].iloc[[0, 2]].tolist() == [0.75, 2.5] and np.isnan(got["score"].iloc[1])
    none = hit_alert_scores(np.array(["h1"], dtype=object), alerts.iloc[:0])
    assert none["alert_id"].isna().all() and none["score"].isna().all()
    with pytest.raises(DataError, match="were found twice"):
        hit_alert_scores(["h1"], pd.DataFrame({"alert_id": ["a1", "a2"], "score": [1.0, 2.0],
                                               "hit_ids": [["h1"], ["h1"]]}))

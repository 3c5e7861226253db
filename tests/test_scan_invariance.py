"""Hits are a function of the data, the parameters and the days scanned — nothing else:
any chunking, a range scan and a sequence of T+1 runs leave the same hits in the store and
in hits.parquet; ``run_detectors`` and the CLI agree; corrected data supersedes old hits;
every hit's evidence reproduces its measures."""

import dataclasses
import json
import sqlite3

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flowgraph import build_graph, load_dataset, run_detectors
from flowgraph.io import Dataset
from flowgraph.scan import run_scan
from flowgraph.scan_config import ScanConfig
from flowgraph.simulate import simulate, write_simulation

#: what makes two hits the same (run ids and the day a version was seen through are metadata)
SAME = ["hit_id", "typology", "subject", "accounts", "txn_ids", "window_start", "window_end", "run_first",
        "run_last", "amount", "in_band", "measures"]


@pytest.fixture(scope="module")
def key_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("keys")


@pytest.fixture(autouse=True)
def key_file(key_dir, monkeypatch):
    """One key for the module: exports of different scans are compared."""
    monkeypatch.setenv("FLOWGRAPH_KEY_FILE", str(key_dir / "pseudonym.key"))


@pytest.fixture(scope="module")
def bank(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bank")
    write_simulation(simulate(seed=2718, n_customers=700, n_days=24, patterns_per_typology=2,
                              lookalikes_per_kind=1, recruit_pool_share=0.4), folder)
    return load_dataset(folder)


@pytest.fixture(scope="module")
def reference(bank, tmp_path_factory, key_dir):
    """One range scan in one chunk."""
    out = tmp_path_factory.mktemp("reference")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FLOWGRAPH_KEY_FILE", str(key_dir / "pseudonym.key"))
        run_scan(bank, out, ScanConfig(chunk_days=10_000), progress=False)
    return _stored(out / "store.sqlite"), pd.read_parquet(out / "hits.parquet")


def _stored(path) -> pd.DataFrame:
    with sqlite3.connect(path) as conn:
        frame = pd.read_sql_query(f"SELECT {', '.join(SAME)} FROM hits", conn)
    return frame.sort_values("hit_id").reset_index(drop=True)


def _days(bank) -> np.ndarray:
    return build_graph(bank.transactions.table, bank.accounts.table).business_days


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(chunk_days=st.integers(1, 30))
def test_any_chunking_gives_the_same_hits(bank, reference, tmp_path_factory, chunk_days):
    out = tmp_path_factory.mktemp("chunked")
    run_scan(bank, out, ScanConfig(chunk_days=chunk_days), progress=False)
    pd.testing.assert_frame_equal(_stored(out / "store.sqlite"), reference[0])
    pd.testing.assert_frame_equal(_exported_frame(pd.read_parquet(out / "hits.parquet")),
                                  _exported_frame(reference[1]))
    assert ScanConfig(chunk_days=chunk_days).config_hash == ScanConfig().config_hash


def _exported_frame(frame):
    frame = frame[SAME].copy()
    frame["accounts"] = frame["accounts"].map(list)
    frame["txn_ids"] = frame["txn_ids"].map(list)
    return frame.sort_values("hit_id").reset_index(drop=True)


def _until(bank, graph, last_day) -> Dataset:
    """The bank as its data file stood at the end of business day ``last_day``."""
    keep = np.zeros(len(bank.transactions.table), bool)
    keep[graph.txn_pos[graph.day <= last_day]] = True
    table = bank.transactions.table[keep].reset_index(drop=True)
    return Dataset(dataclasses.replace(bank.transactions, table=table), bank.accounts)


@settings(max_examples=2, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(start=st.integers(14, 22), chunk_days=st.integers(1, 8))
def test_a_t_plus_1_sequence_ends_with_the_range_scans_hits(bank, reference, tmp_path_factory, start, chunk_days):
    """A range scan of the data as it stood on one day, then one T+1 run per business day
    to the end, each on the data as it stood that day."""
    graph = build_graph(bank.transactions.table, bank.accounts.table)
    out = tmp_path_factory.mktemp("t1")
    store = out / "store.sqlite"
    config = ScanConfig(chunk_days=chunk_days)
    run_scan(_until(bank, graph, start - 1), out / "range", config, store_path=store, progress=False)
    for d in range(start, graph.n_days):
        day = str(graph.business_days[d])
        run_scan(_until(bank, graph, d), out / day, config, as_of=day, store_path=store, progress=False)
    assert len(reference[0]) > 100
    pd.testing.assert_frame_equal(_stored(store), reference[0])


def test_run_detectors_and_the_scan_agree(bank, reference):
    graph = build_graph(bank.transactions.table, bank.accounts.table)
    direct = run_detectors(graph).frame
    scanned = reference[0][reference[0]["in_band"] == 0]
    assert sorted(direct["hit_id"]) == sorted(scanned["hit_id"])
    merged = scanned.merge(direct, on="hit_id", suffixes=("", "_direct"))
    assert (merged["measures"] == merged["measures_direct"]).all()
    assert merged["txn_ids"].map(json.loads).tolist() == [list(x) for x in merged["txn_ids_direct"]]


def test_corrected_data_supersedes_stale_hits(bank, tmp_path):
    store = tmp_path / "store.sqlite"
    first = run_scan(bank, tmp_path / "before", ScanConfig(), store_path=store, progress=False)
    # the bank corrects the data: the evidence of one pass-through hit never happened
    hit = first.hits[first.hits["typology"] == "pass_through"].iloc[0]
    table = bank.transactions.table
    corrected = Dataset(dataclasses.replace(bank.transactions, table=table[~table["txn_id"].isin(hit["txn_ids"])]
                                            .reset_index(drop=True)), bank.accounts)
    after = run_scan(corrected, tmp_path / "after", ScanConfig(), store_path=store, progress=False)
    assert after.manifest["hit_changes"]["retracted"] >= 1
    with sqlite3.connect(store) as conn:
        stored = {r[0] for r in conn.execute("SELECT hit_id FROM hits")}
        retracted = dict(conn.execute("SELECT hit_id, reason FROM hit_versions"))
    assert hit["hit_id"] not in stored and retracted[hit["hit_id"]] == "retracted"
    fresh = run_scan(corrected, tmp_path / "fresh", ScanConfig(), store_path=tmp_path / "fresh.sqlite",
                     progress=False)
    assert stored == set(fresh.hits["hit_id"])
    alerts = pd.read_parquet(tmp_path / "after" / "alerts.parquet")
    assert not alerts["hit_ids"].map(lambda ids: hit["hit_id"] in list(ids)).any()


def test_evidence_reproduces_the_measures(bank, reference):
    """What an analyst is shown (the evidence transactions) gives the kernel's counts."""
    hits = reference[0]
    txns = bank.transactions.table.set_index("txn_id")
    checked = set()
    for h in hits.itertuples():
        m, ev = json.loads(h.measures), txns.loc[json.loads(h.txn_ids)]
        ins, outs = ev[ev["dst_account"] == h.subject], ev[ev["src_account"] == h.subject]
        cents = lambda frame, col="amount_cny": int(np.round(frame[col] * 100).sum())
        if h.typology in ("fan_in", "fan_out", "dispersed_in_concentrated_out", "concentrated_in_dispersed_out"):
            if h.typology != "fan_out":
                assert (ins["src_account"].nunique(), cents(ins)) == (m["senders"], round(m["amount_in"] * 100))
            if h.typology != "fan_in":
                assert (outs["dst_account"].nunique(), cents(outs)) == (m["receivers"], round(m["amount_out"] * 100))
        elif h.typology == "pass_through":
            assert (cents(ins), cents(outs)) == (round(m["amount_in"] * 100), round(m["amount_out"] * 100))
            assert round(h.amount * 100) == min(cents(ins), cents(outs))
        elif h.typology == "structuring":
            assert len(ev) == m["band_transactions"] and round(h.amount * 100) == cents(ev)
        elif h.typology == "large_value_daily":
            col = "amount_cny" if m["currency_class"] == "CNY" else "amount_usd"
            assert (len(ev), cents(ev, col)) == (m["transactions"], round(m["daily_sum"] * 100))
        elif h.typology in ("frequent_daily", "frequent_consecutive"):
            assert len(ev) == m["large_transactions"]
        else:
            continue
        checked.add(h.typology)
    assert {"fan_in", "fan_out", "pass_through", "large_value_daily", "frequent_daily"} <= checked

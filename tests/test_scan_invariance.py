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

from flowgraph import build_graph, load_dataset, run_detectors, validate_accounts, validate_transactions
from flowgraph.alerts import ModelConfig
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
                              lookalikes_per_kind=1, recruit_pool_share=0.4, trafficking_per_typology=1), folder)
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


#: an alert model whose limits the bank's 24 days cross: alerts of at most 4 calendar days
#: and recurrence over the week before (the defaults, a quarter each, never cut here)
SHORT_ALERTS = ModelConfig(alert_days=4, recurrence_weeks=1, recurrence_weight=-0.7)


def _stored_alerts(path) -> pd.DataFrame:
    with sqlite3.connect(path) as conn:
        frame = pd.read_sql_query("SELECT alert_id, customer, subject, score, raised, window_start, window_end, "
                                  "n_hits, hit_ids, explanation FROM alerts", conn)
    return frame.sort_values("alert_id").reset_index(drop=True)


@pytest.mark.parametrize("start", [15, 21])
def test_a_t_plus_1_sequence_ends_with_the_range_scans_alerts(bank, tmp_path, start):
    """Each T+1 run rebuilds only a unit's alerts from the first one its changed hits
    reach, with the weeks before as history (flowgraph.scan): the store ends with the
    alerts of one range scan — ids, members, windows, scores and explanations — with
    alerts short enough that earlier ones stay as stored and recurrence looks back."""
    graph = build_graph(bank.transactions.table, bank.accounts.table)
    config = ScanConfig(model=SHORT_ALERTS)
    run_scan(bank, tmp_path / "whole", config, progress=False)
    whole = _stored_alerts(tmp_path / "whole" / "store.sqlite")
    store = tmp_path / "t1.sqlite"
    run_scan(_until(bank, graph, start - 1), tmp_path / "range", config, store_path=store, progress=False)
    for d in range(start, graph.n_days):
        day = str(graph.business_days[d])
        run_scan(_until(bank, graph, d), tmp_path / day, config, as_of=day, store_path=store, progress=False)
    # the model's limits were crossed: several alerts per customer, some with recurrence
    assert whole["customer"].replace("", np.nan).dropna().duplicated().sum() > 20
    assert whole["explanation"].str.contains('"recurrence", "value": 1.0').sum() > 5
    pd.testing.assert_frame_equal(_stored_alerts(store), whole)
    # the last T+1 run exported only the alerts it rebuilt: none ends before its hits' first day
    last = pd.read_parquet(tmp_path / str(graph.business_days[-1]) / "alerts.parquet")
    assert 0 < len(last) < len(whole)


def test_the_invariance_bank_exercises_the_account_opening_and_livelihood_flags(reference):
    """The trafficking pack is planted (once per kind): the chunking and T+1 tests above
    cover its detectors that read the accounts table."""
    assert {"trafficking_many_accounts", "trafficking_shared_contact", "trafficking_no_livelihood"} \
        <= set(reference[0]["typology"])


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
        elif h.typology in ("structuring", "frequent_daily", "frequent_consecutive"):
            # A one-sided: the larger of what the subject received and paid (a self-transfer once, as paid)
            got = cents(ins[ins["src_account"].fillna("") != h.subject])
            assert (got, cents(outs)) == (round(m["amount_in"] * 100), round(m["amount_out"] * 100))
            assert round(h.amount * 100) == max(got, cents(outs)) and got + cents(outs) == cents(ev)
            assert len(ev) == m["band_transactions" if h.typology == "structuring" else "large_transactions"]
        elif h.typology == "large_value_daily":
            col = "amount_cny" if m["currency_class"] == "CNY" else "amount_usd"
            assert (len(ev), cents(ev, col)) == (m["transactions"], round(m["daily_sum"] * 100))
        else:
            continue
        checked.add(h.typology)
    assert {"fan_in", "fan_out", "pass_through", "large_value_daily", "frequent_daily", "structuring"} <= checked


# -- pass-through chains whose make-up changes in a T+1 sequence -------------------------------
# Business days 2024-10-14 (Mon) .. 2024-10-22 (Tue), no holiday among them. Pass-through:
# 3 business days whose in and out differ by at most 5 % with min(in, out) >= 400,000 (0.8 x
# the person threshold); a run's evidence is its best 3 days (smallest gap, then earliest).
CHAIN_DAYS = ["2024-10-14", "2024-10-15", "2024-10-16", "2024-10-17", "2024-10-18", "2024-10-21", "2024-10-22"]


def _chain_bank(rows) -> Dataset:
    """A bank from (day index, src, dst, amount) rows; every account a customer's, and a
    small payment each day so that every day of CHAIN_DAYS is in the data."""
    rows = rows + [(d, "F1", "F2", 100.0) for d in range(len(CHAIN_DAYS))]
    table = pd.DataFrame([(f"t{i:03d}", f"{CHAIN_DAYS[d]} {9 + i % 8:02d}:00:00", src, dst, f"{amount:.2f}", "CNY",
                           "transfer") for i, (d, src, dst, amount) in enumerate(rows)],
                         columns=["txn_id", "timestamp", "src_account", "dst_account", "amount", "currency", "channel"])
    accounts = sorted(set(table["src_account"]) | set(table["dst_account"]))
    return Dataset(validate_transactions(table, "chains.csv"), validate_accounts(pd.DataFrame(
        {"account_id": accounts, "customer_id": [f"c-{a}" for a in accounts], "party_type": "person"})))


def _sequence(rows, tmp_path):
    """The hits of a range scan of the first two days then one T+1 run per later day (each
    on the data as it stood), of one range scan, and the sequence's store."""
    bank = _chain_bank(rows)
    graph = build_graph(bank.transactions.table, bank.accounts.table)
    store = tmp_path / "t1.sqlite"
    run_scan(_until(bank, graph, 1), tmp_path / "range", ScanConfig(chunk_days=1), store_path=store, progress=False)
    for d in range(2, len(CHAIN_DAYS)):
        run_scan(_until(bank, graph, d), tmp_path / CHAIN_DAYS[d], ScanConfig(), as_of=CHAIN_DAYS[d],
                 store_path=store, progress=False)
    run_scan(bank, tmp_path / "once", ScanConfig(), progress=False)
    once, sequence = _stored(tmp_path / "once" / "store.sqlite"), _stored(store)
    pd.testing.assert_frame_equal(sequence, once)
    return once, store


def _chain_sequence(rows, tmp_path):
    """:func:`_sequence`'s pass-through chain hits and store."""
    once, store = _sequence(rows, tmp_path)
    return once[once["typology"] == "pass_through_chain"], store


def _versions(store, hit_id) -> list:
    with sqlite3.connect(store) as conn:
        return [r[0] for r in conn.execute("SELECT reason FROM hit_versions WHERE hit_id = ?", (hit_id,))]


def test_chains_that_merge_later_end_as_in_the_range_scan(tmp_path):
    """A1 -> A2 and B1 -> B2 chain on day 0. U paid B2's money on to A1 on day 0, but
    becomes a pass-through account only on day 2 (its in and out match over days 0..2),
    which links the two chains into one: B1 -> B2 -> U -> A1 -> A2."""
    rows = [(0, "SRC", "B1", 1_000_000.0), (0, "B1", "B2", 995_000.0), (0, "B2", "U", 990_000.0),
            (0, "U", "A1", 500_000.0), (0, "A1", "A2", 495_000.0), (0, "A2", "SINK", 490_000.0),
            (2, "U", "W", 480_000.0)]
    chains, store = _chain_sequence(rows, tmp_path)
    [merged] = chains.itertuples()
    m = json.loads(merged.measures)
    # chain order: the member nobody paid, then by best day and account
    assert m["members"] == ["B1", "A1", "A2", "B2", "U"] and merged.subject == "B1"
    assert m["member_first_days"] == [[CHAIN_DAYS[0]]] * 4 + [[CHAIN_DAYS[2]]]
    # A1 -> A2, anchored at the earliest member run (A1's), went on as the merged chain (the
    # subject moved to B1); B1 -> B2 was retracted
    assert "updated" in _versions(store, merged.hit_id)
    with sqlite3.connect(store) as conn:
        gone = conn.execute("SELECT measures FROM hit_versions WHERE typology = 'pass_through_chain' "
                            "AND reason = 'retracted'").fetchall()
    assert [json.loads(g[0])["members"] for g in gone] == [["B1", "B2"]]


def test_a_chain_that_loses_a_member_ends_as_in_the_range_scan(tmp_path):
    """S1 -> S2 -> S0 chain on day 0. On day 3 S0 passes on 1,000,000 with no gap: its run
    goes on, its best 3 days move to days 1..3 and no longer hold S2's payment, so S1 -> S2
    is a chain of its own, whose runs ended on day 2, before the day that split it."""
    rows = [(0, "SRC", "S1", 1_000_000.0), (0, "S1", "S2", 990_000.0), (0, "S2", "S0", 985_000.0),
            (0, "S0", "SINK", 980_000.0), (3, "SRC2", "S0", 1_000_000.0), (3, "S0", "SINK2", 1_000_000.0)]
    chains, store = _chain_sequence(rows, tmp_path)
    [rest] = chains.itertuples()
    assert json.loads(rest.measures)["members"] == ["S1", "S2"] and str(rest.run_last)[:10] == CHAIN_DAYS[2]
    # the three-member chain, anchored at S0's run, was retracted
    with sqlite3.connect(store) as conn:
        gone = conn.execute("SELECT measures FROM hit_versions WHERE typology = 'pass_through_chain' "
                            "AND reason = 'retracted'").fetchall()
    assert [sorted(json.loads(g[0])["members"]) for g in gone] == [["S0", "S1", "S2"]]


def test_a_gather_scatter_the_hub_test_rejects_once_grown_is_retracted(tmp_path):
    """Five payments of 300,000 pass through H on days 0..4: a gather-scatter hit. On day 5
    a sixth joins the cluster, and H takes 2,000,000 of other income: 1,800,000 of
    3,800,000 passed on is too little, so the range scan finds no gather-scatter; the T+1
    run of day 5 retracts the hit day 4's run stored."""
    rows = [r for i in range(6) for r in ((i, f"P{i}", "H", 300_000.0), (i, "H", f"Q{i}", 297_000.0))]
    once, store = _sequence(rows + [(5, "C", "H", 2_000_000.0)], tmp_path)
    assert "gather_scatter" not in set(once["typology"])
    with sqlite3.connect(store) as conn:
        gone = conn.execute("SELECT reason, run_last FROM hit_versions WHERE typology = 'gather_scatter'").fetchall()
    assert [(reason, run_last[:10]) for reason, run_last in gone] == [("retracted", CHAIN_DAYS[4])]

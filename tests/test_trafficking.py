"""The human-trafficking pack (000, SPEC §9): kernel against its reference, each detector
on hand-built data with a known answer (thresholds inclusive), absent columns disabling
their detector with a note, and the default simulated bank unchanged."""

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from reference.runs import periods
from reference.trafficking import in_band, turnover_runs_reference, window_runs_reference

from flowgraph import build_graph, validate_accounts, validate_transactions
from flowgraph._kernels.trafficking import turnover_runs, window_runs
from flowgraph.detectors import REGISTRY, disabled_detectors, run_detectors
from flowgraph.detectors.trafficking import (CashDepositParams, NightCashParams, RemittanceParams,
                                             SmallCashParams, detect_cash_deposits, detect_night_cash,
                                             detect_no_livelihood, detect_remittance, detect_small_cash)
from flowgraph.detectors.trafficking_accounts import (ManyAccountsParams, SharedContactParams, detect_many_accounts,
                                                      detect_shared_contact)
from flowgraph.cli import main
from flowgraph.desk.reports import validate_str_draft, write_report_drafts
from flowgraph.io import load_dataset
from flowgraph.scan import run_scan
from flowgraph.store import Store
from flowgraph.errors import ConfigError
from flowgraph.simulate import simulate
from flowgraph.simulate.trafficking import TRAFFICKING_NAMES

events = st.lists(st.tuples(st.integers(0, 3), st.integers(0, 25), st.integers(0, 3), st.integers(0, 1)), max_size=40)


period_starts = st.sets(st.integers(1, 30), max_size=4)  # where runs are cut (months, in a scan)


@settings(max_examples=80, deadline=None)
@given(events, st.integers(1, 6), st.integers(1, 5), st.integers(1, 3), st.sampled_from([0.0, 0.3, 0.5, 0.7, 1.0]),
       st.integers(0, 30), period_starts)
# one event whose window crosses a period's end: two runs from one event (the kernel's
# output once had room for one run per event, and wrote past it)
@example(ev=[(0, 0, 0, 0)], window=2, min_events=1, min_groups=1, share=0.0, last_day=1, starts={1})
def test_window_runs_agree_with_the_reference(ev, window, min_events, min_groups, share, last_day, starts):
    ev = sorted(ev)
    account = np.array([e[0] for e in ev], np.int64)
    offsets = np.searchsorted(account, np.arange(5)).astype(np.int64)
    column = lambda k: np.array([e[k] for e in ev], np.int64)
    period_last, period_of = periods(starts, last_day + 1)
    got = window_runs(offsets, column(1), column(2), column(3), 4, window, min_events, min_groups, share, last_day,
                      period_last)
    assert sorted(zip(*[c.tolist() for c in got])) == \
        window_runs_reference(ev, window, min_events, min_groups, share, last_day, period_of)


def _graph(rows, **columns):
    """A graph of rows (src, dst, day offset in business days from 2024-10-08, hour,
    amount, channel) plus optional context columns."""
    days = pd.bdate_range("2024-10-08", periods=30)  # no PRC holiday in these weeks
    frame = pd.DataFrame({
        "txn_id": [f"t{i}" for i in range(len(rows))],
        "timestamp": [days[d] + pd.Timedelta(hours=h) for _, _, d, h, _, _ in rows],
        "src_account": [r[0] for r in rows], "dst_account": [r[1] for r in rows],
        "amount": [r[4] for r in rows], "channel": [r[5] for r in rows], **columns})
    return build_graph(validate_transactions(frame, "t.csv").table)


def test_small_cash_counts_the_band_inclusively_at_its_low_end_only():
    # 0.5 x 50,000 = 25,000 is in the band; 50,000 itself needs identification: outside
    rows = [("A", None, d, 10, 25_000.0, "cash") for d in range(4)] + [("A", None, 4, 10, 50_000.0, "cash")]
    assert len(detect_small_cash(_graph(rows))) == 0
    assert [in_band(r[4], 50_000, 0.5) for r in rows] == [True] * 4 + [False]
    rows[-1] = ("A", None, 4, 10, 49_999.99, "cash")
    hits = detect_small_cash(_graph(rows)).frame
    assert len(hits) == 1 and hits["subject"][0] == "A" and hits["m_payments"][0] == 5
    assert len(hits["txn_ids"][0]) == 5
    rows[0] = ("A", None, 0, 10, 24_999.99, "cash")  # a cent under the band
    assert len(detect_small_cash(_graph(rows))) == 0


def test_remittances_need_the_country_column_and_count_listed_countries():
    rows = [("A", "X1", d, 10, 3_000.0, "cross_border") for d in range(3)]
    graph = _graph(rows)
    assert "counterparty_country" in disabled_detectors(graph)["trafficking_remittance"]
    assert len(detect_remittance(graph)) == 0
    hits = detect_remittance(_graph(rows, counterparty_country=["mm", "KP", "IR"])).frame
    assert len(hits) == 1 and hits["m_remittances"][0] == 3 and hits["m_countries"][0] == 3
    # a malformed country is kept as missing (and flagged), so only two count
    v = validate_transactions(pd.DataFrame({"txn_id": ["a"], "timestamp": ["2024-10-08 10:00"], "src_account": ["A"],
                                            "dst_account": ["B"], "amount": [1.0], "counterparty_country": ["Burma"]}))
    assert v.report.flag_counts == {"BAD_COUNTERPARTY_COUNTRY": 1} and v.table["counterparty_country"].isna().all()
    assert len(detect_remittance(_graph(rows, counterparty_country=["MM", "Burma", "IR"]))) == 0
    assert len(detect_remittance(_graph(rows, counterparty_country=["MM", "MM", "IR"]),
                                 RemittanceParams(countries=["ir"]))) == 0


def test_cash_deposits_count_distinct_branches_within_the_window():
    rows = [(None, "A", d, 10, 2_000.0, "cash") for d in range(6)]
    five = ["B1", "B2", "B3", "B4", "B5", "B1"]
    hits = detect_cash_deposits(_graph(rows, branch_id=five)).frame
    assert len(hits) == 1 and hits["m_branches"][0] == 5 and hits["m_deposits"][0] == 6
    assert len(detect_cash_deposits(_graph(rows, branch_id=["B1", "B2", "B3", "B4", "B1", "B2"]))) == 0
    # the same five branches spread wider than the window of 10 business days
    spread = [(None, "A", 3 * d, 10, 2_000.0, "cash") for d in range(5)]
    assert len(detect_cash_deposits(_graph(spread, branch_id=five[:5]))) == 0
    assert "branch_id" in disabled_detectors(_graph(rows))["trafficking_cash_deposits"]


def test_night_cash_share_is_inclusive_and_dates_without_times_disable_it():
    night = [("A", None, d, 2, 500.0, "cash") for d in range(3)]
    day = [("A", None, d, 14, 500.0, "cash") for d in range(3, 6)]
    hits = detect_night_cash(_graph(night + day)).frame  # 3 of 6 at night: exactly the 0.5 share
    assert len(hits) == 1 and hits["m_night_share"][0] == 0.5
    assert len(detect_night_cash(_graph(night[:2] + day + [("A", None, 7, 15, 500.0, "cash")]))) == 0
    midnight = _graph([("A", None, d, 0, 500.0, "cash") for d in range(6)])
    assert "midnight" in disabled_detectors(midnight)["trafficking_night_cash"]
    assert len(detect_night_cash(midnight)) == 0


@pytest.mark.parametrize("make, message", [
    (lambda: SmallCashParams(band_low=1.0), "'band_low' parameter of SmallCashParams must be a float in the range (0.0, 1.0)"),
    (lambda: RemittanceParams(countries=["Myanmar"]), "'countries' parameter of RemittanceParams"),
    (lambda: CashDepositParams(min_branches=1), "'min_branches' parameter of CashDepositParams must be an int"),
    (lambda: NightCashParams(night_start_hour=3, night_end_hour=3), "'night_end_hour' parameter of NightCashParams"),
])
def test_bad_parameters_name_the_field(make, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        make()


def test_a_default_simulated_bank_has_no_context_columns_and_the_rest_runs():
    bank = simulate(seed=2, n_customers=700, n_days=15, recruit_pool_share=0.4)
    assert not {"counterparty_country", "branch_id"} & set(bank.transactions.columns)
    assert not bank.patterns["typology"].str.startswith("trafficking").any()
    graph = build_graph(validate_transactions(bank.transactions, "bank").table)
    assert set(disabled_detectors(graph)) == {"trafficking_remittance", "trafficking_cash_deposits",
                                              "trafficking_many_accounts", "trafficking_shared_contact",
                                              "trafficking_no_livelihood"}  # no accounts table: no party types
    pack = [name for name in REGISTRY if name.startswith("trafficking")]
    assert len(run_detectors(graph, pack)) == 0  # no night cash nor small cash in the background
    assert len(run_detectors(graph, ["large_value"]))


def test_planting_trafficking_leaves_the_other_patterns_as_they_were():
    plain = simulate(seed=4, n_customers=700, n_days=20, recruit_pool_share=0.4)
    with_pack = simulate(seed=4, n_customers=700, n_days=20, recruit_pool_share=0.4,
                         trafficking_per_typology=1)
    others = with_pack.patterns[~with_pack.patterns["typology"].isin(
        list(TRAFFICKING_NAMES))]
    pd.testing.assert_frame_equal(others.reset_index(drop=True), plain.patterns)
    assert with_pack.transactions["branch_id"].notna().any()


def test_the_shortest_run_plants_every_trafficking_kind_inside_it():
    """Ten business days, shorter than the night-cash span (20) and the migrant's month."""
    bank = simulate(seed=3, n_customers=300, n_days=10, patterns_per_typology=0, lookalikes_per_kind=0,
                    recruit_pool_share=0.5, trafficking_per_typology=3)
    assert (bank.patterns["n_txns"] > 0).all() and len(bank.patterns) == len(TRAFFICKING_NAMES) * 3
    assert (bank.patterns["last_day"] <= bank.transactions["timestamp"].max()).all()


# -- accounts opened together, shared contact keys, no visible livelihood ------------------

money_events = st.lists(st.tuples(st.integers(0, 3), st.integers(0, 25), st.integers(0, 5_000), st.integers(0, 1)),
                        max_size=40)


@settings(max_examples=80, deadline=None)
@given(money_events, st.integers(1, 6), st.integers(1, 12_000), st.integers(0, 4), st.integers(0, 30), period_starts)
@example(ev=[(0, 0, 100, 0), (0, 0, 100, 0)], window=3, min_cents=1, min_events=0, last_day=2, starts={1, 2})
def test_turnover_runs_agree_with_the_reference(ev, window, min_cents, min_events, last_day, starts):
    ev = sorted(ev)
    account = np.array([e[0] for e in ev], np.int64)
    offsets = np.searchsorted(account, np.arange(5)).astype(np.int64)
    column = lambda k: np.array([e[k] for e in ev], np.int64)
    period_last, period_of = periods(starts, last_day + 1)
    got = turnover_runs(offsets, column(1), column(2), column(3), window, min_cents, min_events, last_day,
                        period_last)
    assert sorted(zip(*[c.tolist() for c in got])) == \
        turnover_runs_reference(ev, window, min_cents, min_events, last_day, period_of)


HAND_TXNS = """txn_id,timestamp,src_account,dst_account,amount,channel
t1,2024-10-14 10:00,,A1,500.00,cash
t2,2024-10-16 10:00,,A2,300.00,cash
t3,2024-10-21 11:00,A3,,200.00,cash
t4,2024-10-22 09:00,,P1,12500.00,cash
t5,2024-10-23 09:00,P1,,12499.99,cash
t6,2024-10-24 09:00,,P2,12500.00,cash
t7,2024-10-25 09:00,P2,,12500.00,cash
t8,2024-10-28 09:00,,S1,12500.00,cash
t9,2024-10-29 09:00,S1,,12500.00,cash
t10,2024-10-28 08:00,E1,S1,100.00,transfer
t11,2024-11-29 09:00,,B1,10.00,cash
t12,2024-10-23 10:00,P1,,12500.00,cash
t13,2024-10-25 10:00,,P2,12500.00,cash
t14,2024-10-29 10:00,S1,,12500.00,cash
t15,2024-10-22 09:00,,P3,50000.00,cash
t16,2024-10-23 09:00,P3,,500.00,cash
t17,2024-10-24 10:00,,P1,12500.00,cash
t18,2024-10-24 11:00,P1,,12500.00,cash
t19,2024-10-28 10:00,P2,,12500.00,cash
t20,2024-10-28 11:00,P2,,12500.00,cash
t21,2024-10-30 10:00,,S1,12500.00,cash
t22,2024-10-30 11:00,S1,,12500.00,cash
t23,2024-10-24 09:00,P3,,500.00,cash
t24,2024-10-25 09:00,P3,,500.00,cash
t25,2024-10-28 09:00,P3,,500.00,cash
"""
HAND_ACCOUNTS = """account_id,customer_id,party_type,opened_on,contact_id
A1,C1,person,2024-10-11,k1
A2,C1,person,2024-10-14,k1
A3,C1,person,2024-10-15,k1
A4,C1,person,2024-10-17,k1
B1,C2,person,2024-10-18,k9
B2,C3,person,2024-10-18,k9
B3,C4,person,2024-10-21,k9
B4,C5,person,not a date,k9
P1,C6,person,2015-03-02,k6
P2,C7,person,2015-03-02,k7
S1,C8,person,2015-03-02,k8
P3,C10,person,2015-03-02,k10
E1,C9,entity,2010-01-04,k0
"""


def _hand_graph(tmp_path):
    (tmp_path / "t.csv").write_text(HAND_TXNS)
    (tmp_path / "a.csv").write_text(HAND_ACCOUNTS)
    dataset = load_dataset(tmp_path / "t.csv", accounts=tmp_path / "a.csv")
    return dataset, build_graph(dataset.transactions.table, dataset.accounts.table)


def test_a_hand_built_csv_gives_the_known_hits(tmp_path):
    dataset, graph = _hand_graph(tmp_path)
    assert dataset.accounts.report.flag_counts == {"BAD_OPENED_ON": 1}  # B4 kept, date left missing
    assert dataset.accounts.report.n_accepted == 13
    # 4 accounts of C1 opened Oct 11-17: the 4th opens the run, which goes on while the 20-day
    # window holds all four (to Nov 6) and is cut where October ends: one hit per month
    many = detect_many_accounts(graph).frame.sort_values("run_first", ignore_index=True)
    assert list(many["subject"]) == ["A1", "A1"] and all(list(a) == ["A1", "A2", "A3", "A4"] for a in many["accounts"])
    assert all(list(t) == ["t1", "t2", "t3"] for t in many["txn_ids"]) and list(many["m_accounts_opened"]) == [4, 4]
    assert [(str(a.date()), str(b.date())) for a, b in zip(many["run_first"], many["run_last"])] == \
        [("2024-10-17", "2024-10-31"), ("2024-11-01", "2024-11-06")]
    assert len(detect_many_accounts(graph, ManyAccountsParams(min_accounts=5))) == 0
    # k9: C2, C3, C4 dated (C5's date is bad): three customers, the third opening on Oct 21
    # (and again from Nov 1, the run cut where October ends)
    shared = detect_shared_contact(graph, SharedContactParams(min_customers=3)).frame
    shared = shared.sort_values("run_first", ignore_index=True)
    assert list(shared["subject"]) == ["B1", "B1"] and list(shared["m_customers"]) == [3, 3]
    assert list(shared["accounts"][0]) == ["B1", "B2", "B3"] and list(shared["txn_ids"][0]) == ["t11"]
    assert list(shared["run_first"]) == [pd.Timestamp("2024-10-21"), pd.Timestamp("2024-11-01")]
    assert shared["m_contact_id"][0] == "k9"
    assert len(detect_shared_contact(graph, SharedContactParams(min_customers=4))) == 0
    # in five cash movements each, not counting the largest, P1 turns over 49,999.99 (a cent short), P2
    # exactly 50,000, S1 50,000 but paid by an entity the same day; P3 52,000 of which one payment is 50,000
    # (its 25-day window holds them from Oct 25 to Nov 27: October's piece and November's)
    live = detect_no_livelihood(graph).frame.sort_values("run_first", ignore_index=True)
    assert list(live["subject"]) == ["P2", "P2"] and list(live["m_cash_turnover"]) == [62_500.0, 62_500.0]
    assert all(list(t) == ["t6", "t7", "t13", "t19", "t20"] for t in live["txn_ids"])
    assert [str(d.date()) for d in live["run_last"]] == ["2024-10-31", "2024-11-27"]
    assert "contact_id" in REGISTRY["trafficking_shared_contact"].typologies[0].id_measures


RENT_ACCOUNTS = """account_id,customer_id,party_type
L1,C1,person
L2,C2,person
E1,C9,entity
"""


def _rent_graph(tmp_path, rows):
    """A graph of cash movements ``(account, business-day offset from 2024-10-08, signed amount)``,
    + for a deposit, plus an entity's account (the detector needs party types)."""
    days = pd.bdate_range("2024-10-08", periods=30)  # no PRC holiday in these weeks
    lines = ["txn_id,timestamp,src_account,dst_account,amount,channel"]
    lines += [f"t{i},{days[d].date()} 10:00,{'' if a > 0 else acct},{acct if a > 0 else ''},{abs(a):.2f},cash"
              for i, (acct, d, a) in enumerate(rows)]
    (tmp_path / "t.csv").write_text("\n".join(lines) + "\n")
    (tmp_path / "a.csv").write_text(RENT_ACCOUNTS)
    dataset = load_dataset(tmp_path / "t.csv", accounts=tmp_path / "a.csv")
    return build_graph(dataset.transactions.table, dataset.accounts.table)


def test_no_livelihood_counts_each_movement_at_most_an_equal_share(tmp_path):
    from flowgraph.detectors.trafficking import LivelihoodParams, movement_cap_cents
    # 50,000 over 5 movements, the largest not counted: each counts at most 50,000 / 4 = 12,500
    assert movement_cap_cents(LivelihoodParams()) == 1_250_000
    assert movement_cap_cents(LivelihoodParams(min_cash_turnover=50_000.01, min_cash_movements=4)) == 1_666_667
    assert movement_cap_cents(LivelihoodParams(min_cash_movements=1)) == np.iinfo(np.int64).max
    # L1: a landlord's cash rent of 49,800 a month (21 business days apart, both in one 25-day
    # window) and three small withdrawals: 49,800 + 3,000 not counting the largest before the
    # cap, 12,500 + 3,000 with it. L2: five movements of exactly 12,500 reach 50,000 (inclusive)
    rent = [("L1", 0, 49_800.0), ("L1", 5, -1_000.0), ("L1", 12, -1_000.0), ("L1", 18, -1_000.0), ("L1", 21, 49_800.0)]
    even = [("L2", d, 12_500.0 if d % 2 else -12_500.0) for d in (1, 2, 3, 4, 5)]
    graph = _rent_graph(tmp_path, rent + even)
    hits = detect_no_livelihood(graph).frame
    assert set(hits["subject"]) == {"L2"} and set(hits["m_cash_turnover"]) == {62_500.0}
    # without the cap (one movement may count in full) the landlord's two rents made the turnover
    assert "L1" in set(detect_no_livelihood(graph, LivelihoodParams(min_cash_movements=1)).frame["subject"])
    even[-1] = ("L2", 5, 12_499.99)  # now a cent short
    assert len(detect_no_livelihood(_rent_graph(tmp_path, rent + even))) == 0


def test_the_account_detectors_need_their_columns():
    rows = [("A", None, 0, 10, 100.0, "cash")]
    graph = _graph(rows)
    notes = disabled_detectors(graph)
    assert "opened_on" in notes["trafficking_many_accounts"] and "contact_id" in notes["trafficking_shared_contact"]
    assert "entity" in notes["trafficking_no_livelihood"]
    assert len(detect_many_accounts(graph)) == len(detect_shared_contact(graph)) == len(detect_no_livelihood(graph)) == 0


NEW = ["trafficking_many_accounts", "trafficking_shared_contact", "trafficking_no_livelihood"]
SAME = ["hit_id", "subject", "accounts", "txn_ids", "window_start", "window_end", "run_first", "run_last", "measures"]


def _latest(frames):
    """The last version of each hit over a sequence of scans."""
    frame = pd.concat([f for f in frames if len(f)], ignore_index=True)
    frame = frame.drop_duplicates("hit_id", keep="last")[SAME].copy()
    for c in ("accounts", "txn_ids"):
        frame[c] = frame[c].map(list)
    return frame.sort_values("hit_id").reset_index(drop=True)


@pytest.fixture(scope="module")
def planted_bank():
    bank = simulate(seed=11, n_customers=600, n_days=24, patterns_per_typology=0, lookalikes_per_kind=0,
                    recruit_pool_share=0.5, trafficking_per_typology=2)
    transactions = validate_transactions(bank.transactions, "bank").table
    accounts = validate_accounts(bank.accounts).table
    return transactions, accounts, build_graph(transactions, accounts)


@pytest.mark.parametrize("chunk_days", [1, 4, 9])
def test_the_new_detectors_give_the_same_hits_in_chunks_and_in_t_plus_1_scans(planted_bank, chunk_days):
    transactions, accounts, graph = planted_bank
    whole = _latest([run_detectors(graph, NEW).frame])
    assert set(whole["subject"]) and len(whole) >= 6
    chunks = [run_detectors(graph, NEW, days=(d, min(d + chunk_days - 1, graph.n_days - 1))).frame
              for d in range(0, graph.n_days, chunk_days)]
    pd.testing.assert_frame_equal(_latest(chunks), whole)
    if chunk_days == 1:  # each day on the data as it stood that day
        daily = []
        for d in range(graph.n_days):
            keep = np.zeros(len(transactions), bool)
            keep[graph.txn_pos[graph.day <= d]] = True
            daily.append(run_detectors(build_graph(transactions[keep].reset_index(drop=True), accounts), NEW,
                                       days=(graph.business_days[d], graph.business_days[d])).frame)
        pd.testing.assert_frame_equal(_latest(daily), whole)


def test_a_hit_without_evidence_transactions_gets_a_case_file_and_a_report_draft(tmp_path, monkeypatch):
    """Accounts opened together but not used yet: the hit cites no transaction and has no
    W(N, D) ceiling; the desk shows and drafts it all the same."""
    monkeypatch.setenv("FLOWGRAPH_KEY_FILE", str(tmp_path / "key"))
    (tmp_path / "t.csv").write_text("\n".join(line for line in HAND_TXNS.splitlines() if not line.startswith(
        ("t1,", "t2,", "t3,"))) + "\n")
    (tmp_path / "a.csv").write_text(HAND_ACCOUNTS)
    run_scan(load_dataset(tmp_path / "t.csv", accounts=tmp_path / "a.csv"), tmp_path / "out", progress=False)
    store = Store(tmp_path / "out" / "store.sqlite", create=False)
    hits = store.query("SELECT hit_id, txn_ids, ceiling FROM hits WHERE typology = 'trafficking_many_accounts' "
                       "ORDER BY run_first")  # October's run and November's
    assert len(hits) == 2 and hits["txn_ids"].map(json.loads).map(len).sum() == 0 and hits["ceiling"].isna().all()
    alert = store.query("SELECT alert_id FROM alerts WHERE hit_ids LIKE ?", [f"%{hits['hit_id'][0]}%"])["alert_id"][0]
    assert main(["show", alert, "--store", str(tmp_path / "out" / "store.sqlite"), "--out",
                 str(tmp_path / "case.html")]) == 0
    assert alert in (tmp_path / "case.html").read_text()
    store.dispose(alert, "case", "ann")
    result = write_report_drafts(store, tmp_path / "drafts", today="2024-12-02")
    draft = json.loads((tmp_path / "drafts" / f"str-{alert}.json").read_text())
    validate_str_draft(draft)
    assert [h["ceiling"] for h in draft["transactions_and_behaviour"]["hits"]] == [None, None]  # both months
    assert "no W(N, D) ceiling applies" in (tmp_path / "drafts" / f"str-{alert}.md").read_text()
    assert [p.name for p in result["drafts"]] == [f"str-{alert}.json"]

"""Accounts that transact but are missing from a given accounts table (sweep B, repro 5).

The hand-built bank: the accounts table lists only E1 (an entity). On Monday 2 November
2026: a 60,000 CNY cash deposit to unlisted P1 (C1), a 60,000 cash withdrawal from
unlisted P2 (C2), a 600,000 transfer between unlisted P3 and P4 (C3), 10 CNY from E1 to
E2 (C4; E2 is unlisted but only ever E1's counterparty). On Tuesday 3 November 600,000 from
E1 to E2 (C5) and two 30,000 cash withdrawals from unlisted P5 (D1, D2: a daily sum of 60,000).

The rule (flowgraph.graph, "Which accounts are the bank's own"): listed accounts, and the
accounts of transactions that name no listed account (P1, P2, P5 at cash; P3 and P4, whose
transfer names no listed account: one of them is the bank's, the data cannot say which, so
both are reported), are the bank's; E2, only ever a listed account's counterparty, is not.
Unknown parties count as persons, so C5 (entity to unknown) falls under LV-PERSON (500,000),
reported on E1 alone. Counted by hand:

- large_value_single: C1 on P1 (LV-CASH, in), C2 on P2 (LV-CASH, out), C3 on P3 (out) and
  on P4 (in) (LV-PERSON), C5 on E1 (LV-PERSON, out);
- large_value_daily: D1 + D2 on P5 (LV-CASH, out, 60,000 >= 50,000);
- the warning: 5 unlisted accounts of the bank (P1..P5), 3 of them at cash (P1, P2, P5).
"""

import json
import re

import pandas as pd
import pytest

from flowgraph.desk.reports import large_value_reports
from flowgraph.detectors import run_detectors
from flowgraph.graph import build_graph
from flowgraph.io import load_dataset
from flowgraph.scan import run_scan
from flowgraph.store import Store

COLUMNS = ["txn_id", "timestamp", "src_account", "dst_account", "amount", "currency", "channel"]
ROWS = [("C1", "2026-11-02 10:00:00", "", "P1", 60_000, "CNY", "cash"),
        ("C2", "2026-11-02 10:00:00", "P2", "", 60_000, "CNY", "cash"),
        ("C3", "2026-11-02 10:00:00", "P3", "P4", 600_000, "CNY", "transfer"),
        ("C4", "2026-11-02 10:00:00", "E1", "E2", 10, "CNY", "transfer"),
        ("C5", "2026-11-03 09:00:00", "E1", "E2", 600_000, "CNY", "transfer"),
        ("D1", "2026-11-03 10:00:00", "P5", "", 30_000, "CNY", "cash"),
        ("D2", "2026-11-03 11:00:00", "P5", "", 30_000, "CNY", "cash")]
ONLY_E1 = [("E1", "CE1", "entity")]
#: every account of the bank listed; E2 stays out (another bank's account, a counterparty)
COMPLETE = ONLY_E1 + [(a, f"C{a}", "person") for a in ("P1", "P2", "P3", "P4", "P5")]
EXPECTED_LARGE_VALUE = {
    ("large_value_single", "P1", ("C1",)), ("large_value_single", "P2", ("C2",)),
    ("large_value_single", "P3", ("C3",)), ("large_value_single", "P4", ("C3",)),
    ("large_value_single", "E1", ("C5",)), ("large_value_daily", "P5", ("D1", "D2"))}
NO_CUSTOMER = "(not in the accounts table)"


def write_bank(folder, accounts):
    pd.DataFrame(ROWS, columns=COLUMNS).to_csv(folder / "tx.csv", index=False)
    pd.DataFrame(accounts, columns=["account_id", "customer_id", "party_type"]).to_csv(folder / "acc.csv", index=False)
    return load_dataset(folder / "tx.csv", accounts=folder / "acc.csv")


def large_value_hits(frame: pd.DataFrame) -> set:
    lv = frame[frame["typology"].isin(["large_value_single", "large_value_daily"])]
    return {(t, s, tuple(sorted(ids))) for t, s, ids in zip(lv["typology"], lv["subject"], lv["txn_ids"])}


def test_the_bank_is_told_apart_from_counterparties_by_the_transactions(tmp_path):
    dataset = write_bank(tmp_path, ONLY_E1)
    graph = build_graph(dataset.transactions.table, dataset.accounts.table)
    bank = dict(zip(graph.account_ids, graph.account_monitored))
    assert bank == {"E1": True, "E2": False, "P1": True, "P2": True, "P3": True, "P4": True, "P5": True}
    assert graph.unlisted_bank_accounts() == (5, 3)
    # no accounts table: every account is the bank's, and none is missing from a table
    bare = build_graph(dataset.transactions.table)
    assert bare.account_monitored.all() and bare.unlisted_bank_accounts() == (0, 0)


def test_deposits_and_withdrawals_at_unlisted_accounts_are_reported_alike(tmp_path):
    dataset = write_bank(tmp_path, ONLY_E1)
    hits = run_detectors(build_graph(dataset.transactions.table, dataset.accounts.table), ["large_value"]).frame
    assert large_value_hits(hits) == EXPECTED_LARGE_VALUE
    single = hits[hits["typology"] == "large_value_single"]
    rules = {(s, m["rule"]) for s, m in zip(single["subject"], single["measures"].map(json.loads))}
    assert rules == {("P1", "LV-CASH"), ("P2", "LV-CASH"), ("P3", "LV-PERSON"), ("P4", "LV-PERSON"),
                     ("E1", "LV-PERSON")}
    # the unlisted accounts have no customer; E1 has its own
    assert dict(zip(hits["subject"], hits["customer"]))["E1"] == "CE1"
    assert set(hits.loc[hits["subject"] != "E1", "customer"]) == {""}


def test_a_scan_warns_of_the_missing_accounts_and_the_drafts_say_so(tmp_path, capsys):
    result = run_scan(write_bank(tmp_path, ONLY_E1), tmp_path / "out", progress=False, reveal_ids=True)
    warnings = [line for line in capsys.readouterr().err.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1
    assert "5 account(s) that transact are missing from the accounts table (3 with a cash" in warnings[0]
    assert "Fix: add them to the accounts file" in warnings[0]
    assert not re.search(r"\b[PE]\d\b", warnings[0])  # a count, never an id
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["warnings"] == [warnings[0].removeprefix("warning: ")]
    assert large_value_hits(result.hits) == EXPECTED_LARGE_VALUE
    reports = large_value_reports(Store(tmp_path / "out" / "store.sqlite", create=False), today="2026-11-03",
                                  reveal_ids=True)
    got = sorted(zip(reports["account"], reports["customer"], reports["direction"], reports["rule"]))
    assert got == [("E1", "CE1", "out", "LV-PERSON"), ("P1", NO_CUSTOMER, "in", "LV-CASH"),
                   ("P2", NO_CUSTOMER, "out", "LV-CASH"), ("P3", NO_CUSTOMER, "out", "LV-PERSON"),
                   ("P4", NO_CUSTOMER, "in", "LV-PERSON"), ("P5", NO_CUSTOMER, "out", "LV-CASH")]


@pytest.mark.parametrize("accounts", [COMPLETE, None], ids=["complete table", "no table"])
def test_a_complete_accounts_table_gives_no_warning(tmp_path, capsys, accounts):
    dataset = write_bank(tmp_path, COMPLETE)
    if accounts is None:  # the transactions alone: every account its own customer
        dataset = load_dataset(tmp_path / "tx.csv")
    result = run_scan(dataset, tmp_path / "out", progress=False, reveal_ids=True)
    assert "warning:" not in capsys.readouterr().err
    assert json.loads((tmp_path / "out" / "manifest.json").read_text())["warnings"] == []
    # the same reports, now each with its customer; E2 is a counterparty of the listed E1,
    # and with no table its own customer: the bank's, with an "in" report of C5
    extra = set() if accounts else {("large_value_single", "E2", ("C5",))}
    assert large_value_hits(result.hits) == EXPECTED_LARGE_VALUE | extra
    assert (result.hits["customer"] != "").all()


def test_which_days_a_read_holds_never_changes_the_subjects(tmp_path):
    """Unlisted X receives three 450,000 CNY transfers from listed E1 on Monday 2 November
    (three "large" transactions in a day: a frequent_daily pattern, were X a subject) and a
    100 CNY cash deposit a week later, which shows X is the bank's. A scan cut into blocks
    reads the first week without the deposit: the pattern detectors name listed accounts
    only, and the large-value rules decide each transaction by itself, so a read of the
    first week and a read of both weeks give the first week the same hits (the large-value
    detector's: a run of another detector may go on into the second week's days)."""
    rows = [(f"F{i}", f"2026-11-02 1{i}:00:00", "E1", "X", 450_000, "CNY", "transfer") for i in range(3)] + \
        [("G1", "2026-11-09 10:00:00", "", "X", 100, "CNY", "cash")]
    transactions = pd.DataFrame(rows, columns=COLUMNS)
    transactions.to_csv(tmp_path / "tx.csv", index=False)
    pd.DataFrame(ONLY_E1, columns=["account_id", "customer_id", "party_type"]).to_csv(tmp_path / "acc.csv",
                                                                                       index=False)
    whole = load_dataset(tmp_path / "tx.csv", accounts=tmp_path / "acc.csv")
    transactions.iloc[:3].to_csv(tmp_path / "week1.csv", index=False)
    week1 = load_dataset(tmp_path / "week1.csv", accounts=tmp_path / "acc.csv")

    def first_week(dataset) -> set:
        hits = run_detectors(build_graph(dataset.transactions.table, dataset.accounts.table), ["large_value"]).frame
        hits = hits[hits["run_last"] <= pd.Timestamp("2026-11-06")]
        return set(zip(hits["hit_id"], hits["subject"], hits["typology"]))

    found = first_week(whole)
    assert found == first_week(week1)
    assert ("E1", "frequent_daily") in {(s, t) for _, s, t in found}
    assert "X" not in {s for _, s, _ in found}


def test_a_scan_of_a_store_in_blocks_warns_as_a_file_scan_does(tmp_path, capsys):
    """The same bank ingested into a transaction store and scanned in one-day blocks: each
    block's graph has some of the missing accounts; their union is the file scan's 5 (3 at
    cash), printed once and recorded in the manifest (a scan in blocks printed nothing)."""
    from flowgraph.cli import main

    write_bank(tmp_path, ONLY_E1)
    store = tmp_path / "store"
    assert main(["ingest", str(tmp_path / "tx.csv"), "--accounts", str(tmp_path / "acc.csv"),
                 "--into", str(store)]) == 0
    capsys.readouterr()
    assert main(["scan", str(store), "--out", str(tmp_path / "out"), "--block-days", "1"]) == 0
    warnings = [line for line in capsys.readouterr().err.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1
    assert "5 account(s) that transact are missing from the accounts table (3 with a cash" in warnings[0]
    assert json.loads((tmp_path / "out" / "manifest.json").read_text())["warnings"] == \
        [warnings[0].removeprefix("warning: ")]

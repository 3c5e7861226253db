"""What report drafts say of the evidence (`flowgraph report-draft`): the STR draft's
element 21 spans the evidence transactions' business days, not the alert's window, and
counts counterparty accounts, not cash; a large-value report lists the customer's accounts
its transactions used as its accounts, and only the other sides as counterparties."""

from pathlib import Path

import pandas as pd
import pytest

from desk_banks import scan_bank
from flowgraph.cli import main
from flowgraph.desk.large_value import LARGE_VALUE_COLUMNS
from flowgraph.calendar import prc_calendar
from flowgraph.desk.reports import str_draft, validate_str_draft
from flowgraph.desk.str_draft import _behaviour, _evidence_span, render_str_markdown
from flowgraph.store import Store

#: RA0001 (customer CURA0001) takes three cash deposits under 50,000 on Mon 2 - Wed 4
#: November 2026 (structuring, frequent: their run of qualifying days goes on to the 13th,
#: so the alert's window does too); a small deposit on the 20th extends the scanned range.
STRUCTURING_ROWS = [("Q1", "2026-11-02 10:00:00", "", "RA0001", 45_000, "CNY", "cash"),
                    ("Q2", "2026-11-03 10:00:00", "", "RA0001", 46_000, "CNY", "cash"),
                    ("Q3", "2026-11-04 10:00:00", "", "RA0001", 45_500, "CNY", "cash"),
                    ("X1", "2026-11-20 10:00:00", "", "RB0002", 100, "CNY", "cash")]


@pytest.fixture(scope="module")
def structuring_store(tmp_path_factory) -> Store:
    folder = scan_bank(tmp_path_factory.mktemp("structuring"), STRUCTURING_ROWS)
    return Store(folder / "out" / "store.sqlite", create=False)


def test_str_element_21_spans_the_evidence_days_and_counts_no_cash_counterparty(structuring_store):
    store = structuring_store
    alerts = store.alerts(store.query("SELECT config_hash FROM runs")["config_hash"].iloc[0])
    alert = alerts.loc[alerts["hit_ids"].map(len) > 1].iloc[0]
    assert str(alert["window_end"])[:10] > "2026-11-04"  # the alert's window is wider than its evidence
    draft = str_draft(store, alert["alert_id"])
    validate_str_draft(draft)
    behaviour = draft["transactions_and_behaviour"]
    assert behaviour["window"] == {"first_day": "2026-11-02", "last_day": "2026-11-04", "business_days": 3}
    assert {h["n_days"] for h in behaviour["hits"]} == {3}  # as the hits table in the same draft says
    assert behaviour["counterparties"] == []  # cash has no counterparty account
    assert behaviour["totals"]["cash_inflow_home"] == behaviour["totals"]["inflow_home"] == 136_500.0
    text = behaviour["text"]
    assert text.startswith("From 2026-11-02 to 2026-11-04 (3 business days) the evidence holds 3 transaction(s): "
                           "136,500.00 CNY in, all of it cash (no counterparty account), ")
    assert "counterparty(ies)" not in text.split("out")[0]
    assert behaviour["text"] in draft["analysis_of_suspicion"]["text"]
    assert "From 2026-11-02 to 2026-11-04 (3 business days)" in render_str_markdown(draft)
    assert "(cash)" not in render_str_markdown(draft)


def _hits(txn_ids: list[str], first: str, last: str) -> pd.DataFrame:
    return pd.DataFrame({"hit_id": ["h1"], "typology": ["fan_in"], "txn_ids": [txn_ids], "window_start": [first],
                         "window_end": [last], "n_accounts": [3], "n_days": [2], "amount": [1.0], "ceiling": [2.0],
                         "utilisation": [0.5], "subject": ["A"]})


def _evidence(rows: list[tuple]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["txn_id", "timestamp", "src_account", "dst_account", "amount", "channel"])
    for k, side in ((2, "src_account"), (3, "dst_account")):  # None for no account, as case_transactions gives
        frame[side] = pd.Series([r[k] for r in rows], dtype=object)
    return frame.assign(timestamp=pd.to_datetime(frame["timestamp"]), currency="CNY",
                        amount_home=frame["amount"].astype(float))


def test_the_evidence_span_books_a_weekend_on_the_next_business_day():
    """Saturday 7 November 2026 counts toward Monday the 9th, as the scan books it; the span
    is the evidence's, whatever the hits' windows say; none kept: the hits' windows."""
    evidence = _evidence([("t1", "2026-11-07 10:00", "O1", "A", 10.0, "transfer"),
                          ("t2", "2026-11-10 09:00", "O2", "A", 10.0, "transfer")])
    calendar = prc_calendar()
    assert _evidence_span(evidence, _hits(["t1", "t2"], "2026-11-02", "2026-11-20"), calendar, "Asia/Shanghai") == (
        "2026-11-09", "2026-11-10", 2)
    assert _evidence_span(evidence.iloc[:0], _hits(["t1"], "2026-11-02", "2026-11-06"), calendar,
                          "Asia/Shanghai") == ("2026-11-02", "2026-11-06", 5)


def test_the_evidence_span_dates_offset_time_stamps_in_the_banks_time_zone():
    """Wednesday 4 November 2026 23:30 in New York is Thursday the 5th in Beijing: the span
    ends on the bank's date."""
    evidence = _evidence([("t1", "2026-11-02 10:00", "O1", "A", 10.0, "transfer"),
                          ("t2", "2026-11-04 23:30", "O2", "A", 10.0, "transfer")])
    evidence["timestamp"] = evidence["timestamp"].dt.tz_localize("America/New_York")
    hits = _hits(["t1", "t2"], "2026-11-02", "2026-11-20")
    assert _evidence_span(evidence, hits, prc_calendar(), "America/New_York") == ("2026-11-02", "2026-11-04", 3)
    assert _evidence_span(evidence, hits, prc_calendar(), "Asia/Shanghai") == ("2026-11-02", "2026-11-05", 4)


def test_counterparties_are_accounts_and_cash_is_said_apart():
    """In from O1 (twice) and in cash, out to O2 and out in cash: two counterparties, one a
    side; the cash amounts stated apart in the totals and the sentence."""
    evidence = _evidence([("t1", "2026-11-02 10:00", "O1", "A", 100.0, "transfer"),
                          ("t2", "2026-11-03 10:00", "O1", "A", 50.0, "transfer"),
                          ("t3", "2026-11-03 11:00", None, "A", 30.0, "cash"),
                          ("t4", "2026-11-04 10:00", "A", "O2", 70.0, "transfer"),
                          ("t5", "2026-11-04 11:00", "A", None, 20.0, "cash")])
    ids = evidence["txn_id"].tolist()
    behaviour = _behaviour(evidence, ids, _hits(ids, "2026-11-02", "2026-11-13"), {"A"},
                           lambda a, kind="account": a, "CNY", prc_calendar(), "Asia/Shanghai")
    assert [(p["account"], p["n_transactions"], p["inflow_home"], p["outflow_home"])
            for p in behaviour["counterparties"]] == [("O1", 2, 150.0, 0.0), ("O2", 1, 0.0, 70.0)]
    totals = behaviour["totals"]
    assert (totals["inflow_home"], totals["cash_inflow_home"], totals["outflow_home"], totals["cash_outflow_home"]) \
        == (180.0, 30.0, 90.0, 20.0)
    assert behaviour["window"] == {"first_day": "2026-11-02", "last_day": "2026-11-04", "business_days": 3}
    assert ("180.00 CNY in, 30.00 CNY of it cash and the rest from 1 counterparty(ies), 90.00 CNY out, 20.00 CNY of "
            "it cash and the rest to 1 counterparty(ies)") in behaviour["text"]


#: Customer CUST1 holds A1 and B1. On Mon 2 November 2026 A1 receives 300,000 from O1 and
#: B1 200,000 from O2 (LV-PERSON's daily cumulative 500,000), A1 30,000 and B1 20,000 in
#: cash (LV-CASH's daily 50,000).
TWO_ACCOUNTS_TX = """txn_id,timestamp,src_account,dst_account,amount,currency,channel
K1,2026-11-02T10:00:00,O1,A1,300000.00,CNY,transfer
K2,2026-11-02T11:00:00,O2,B1,200000.00,CNY,transfer
K3,2026-11-02T10:00:00,,A1,30000.00,CNY,cash
K5,2026-11-02T13:00:00,,B1,20000.00,CNY,cash
"""
TWO_ACCOUNTS = """account_id,customer_id,party_type
A1,CUST1,person
B1,CUST1,person
O1,O1,person
O2,O2,person
"""


@pytest.fixture(scope="module")
def two_accounts_run(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("two_accounts")
    (folder / "tx.csv").write_text(TWO_ACCOUNTS_TX)
    (folder / "accounts.csv").write_text(TWO_ACCOUNTS)
    assert main(["scan", str(folder / "tx.csv"), "--accounts", str(folder / "accounts.csv"),
                 "--out", str(folder / "run")]) == 0
    return folder / "run"


def _drafted_reports(run: Path, out: Path, *options: str) -> pd.DataFrame:
    assert main(["report-draft", "--store", str(run / "store.sqlite"), "--out", str(out), "--today", "2026-11-03",
                 *options]) == 0
    reports = pd.read_csv(out / "large-value-reports.csv", keep_default_na=False)
    assert list(reports.columns) == list(LARGE_VALUE_COLUMNS)  # the CSV's columns as they were
    return reports.set_index("rule")


def test_a_large_value_report_lists_the_customers_accounts_not_as_counterparties(two_accounts_run, tmp_path):
    """003 二㈡: element 9 (账号) is the customer's account of each transaction, element 40
    (交易对手账号) the other side's; B1, CUST1's own receiving account, is no counterparty."""
    reports = _drafted_reports(two_accounts_run, tmp_path / "drafts", "--reveal-ids")
    got = reports.loc[["LV-PERSON", "LV-CASH"], ["customer", "account", "direction", "counterparties", "txn_ids"]]
    assert got.to_dict("index") == {
        "LV-PERSON": {"customer": "CUST1", "account": "A1, B1", "direction": "in", "counterparties": "O1, O2",
                      "txn_ids": "K1, K2"},
        "LV-CASH": {"customer": "CUST1", "account": "A1, B1", "direction": "in", "counterparties": "(cash)",
                    "txn_ids": "K3, K5"}}
    markdown = (tmp_path / "drafts" / "large-value-reports.md").read_text()
    assert "| A1, B1 |" in markdown and "B1, O1" not in markdown and "B1, (cash)" not in markdown


def test_a_de_identified_large_value_report_names_both_accounts_by_pseudonym(two_accounts_run, tmp_path):
    reports = _drafted_reports(two_accounts_run, tmp_path / "drafts")
    shown = reports.loc["LV-PERSON"]
    accounts, parties = shown["account"].split(", "), shown["counterparties"].split(", ")
    assert len(accounts) == 2 and len(parties) == 2 and not set(accounts) & set(parties)
    assert all(a.startswith("ACC-") for a in accounts + parties)
    assert reports.loc["LV-CASH", "account"] == shown["account"] and reports.loc["LV-CASH", "counterparties"] == "(cash)"
    text = (tmp_path / "drafts" / "large-value-reports.csv").read_text()
    assert "CUST1" not in text and not any(f",{real}" in text or f" {real}," in text for real in ("A1", "B1", "O1", "O2"))

"""Report drafts (`flowgraph report-draft`): large-value reports with their deadlines on the
scan's calendar, and suspicious-transaction report drafts checked against their schema."""

import copy
import json
import re
import shutil
import stat

import pandas as pd
import pytest

from desk_banks import bank_tables, copy_store, scan_bank
from flowgraph.cli import main
from flowgraph.desk.reports import large_value_reports, str_draft, validate_str_draft, write_report_drafts
from flowgraph.errors import ConfigError
from flowgraph.io import load_dataset
from flowgraph.scan import run_scan
from flowgraph.scan_config import ScanConfig
from flowgraph.store import Store

#: Every account id of the tiny bank starts with R, every customer id with CUR.
REAL_ID = re.compile(r"\b(?:CU)?R[A-Z]\d{4}\b")


def tiny_bank_rows() -> list[tuple]:
    """Large-value transactions around the 2024 Mid-Autumn holiday (Sat 14 September a
    make-up working day, 15-17 September off) and National Day (Sun 29 September a make-up
    working day): a 60,000 cash deposit on Friday 13th, a 520,000 personal transfer on
    Sunday 15th, two 30,000 cash payments on Friday 20th (a daily cumulative sum), and a
    four-account ring of transfers just under 500,000 on 10-13 September."""
    rows = [("lv1", "2024-09-13 10:00:00", "", "RL0001", 60_000, "CNY", "cash"),
            ("lv2", "2024-09-15 10:00:00", "RL0001", "RM0002", 520_000, "CNY", "transfer"),
            ("lv3", "2024-09-20 10:00:00", "RM0002", "RN0003", 30_000, "CNY", "cash"),
            ("lv4", "2024-09-20 11:00:00", "RM0002", "RN0003", 30_000, "CNY", "cash")]
    return rows + _ring_rows("2024-09", 10)


def _ring_rows(month: str, first_day: int) -> list[tuple]:
    """A four-account ring of transfers just under 500,000 on four days from ``month``-``first_day``."""
    ring = ["RA0001", "RB0002", "RC0003", "RD0004"]
    return [(f"cy{k}", f"{month}-{first_day + k} 10:00:00", u, v, 450_000 - 9_000 * k, "CNY", "transfer")
            for k, (u, v) in enumerate(zip(ring, ring[1:] + ring[:1]))]


@pytest.fixture(scope="module")
def scanned(tmp_path_factory):
    return scan_bank(tmp_path_factory.mktemp("reports"), tiny_bank_rows())


@pytest.fixture
def store_path(scanned, tmp_path):
    """A copy of the scanned store per test (dispositions and audit rows stay in the test),
    read with the session's key, which scanned it (the store records its id)."""
    return copy_store(scanned, tmp_path)


def alert_of(store: Store, subject: str) -> str:
    return store.query("SELECT alert_id FROM alerts WHERE subject = ? ORDER BY score DESC", [subject])["alert_id"].iloc[0]


def test_large_value_reports_made_a_day_at_a_time_are_the_same(store_path, monkeypatch):
    """A draft of a long range makes its reports a few weeks of hits at a time (a 240-day
    range's 234,573 reports took 13.5 GB at once, 4.7 GB so; 171 s, 121 s): cut a day at a
    time, and bounded by --from/--to, the reports are those made at once."""
    import flowgraph.desk.large_value as lv

    store = Store(store_path, create=False)
    whole = large_value_reports(store, today="2024-09-24")
    monkeypatch.setattr(lv, "REPORT_DAYS_AT_ONCE", 1)
    assert whole["business_day"].nunique() >= 3
    pd.testing.assert_frame_equal(large_value_reports(store, today="2024-09-24"), whole)
    part = large_value_reports(store, "2024-09-14", "2024-09-19", today="2024-09-24")
    assert len(part) and part["business_day"].between("2024-09-14", "2024-09-19").all()
    expected = whole[whole["business_day"].between("2024-09-14", "2024-09-19")].reset_index(drop=True)
    pd.testing.assert_frame_equal(part, expected)


def test_large_value_deadlines_follow_the_calendar(store_path):
    reports = large_value_reports(Store(store_path, create=False), today="2024-09-24")
    by_txn = reports.set_index("txn_ids")
    # Friday 13th: Sat 14th (make-up day), 18, 19, 20, 23 -> the fifth business day is the 23rd
    assert by_txn.loc["lv1", "deadline"] == "2024-09-23" and by_txn.loc["lv1", "status"] == "overdue"
    assert by_txn.loc["lv1", "business_days_left"] == -1 and by_txn.loc["lv1", "rule"] == "LV-CASH"
    # Sunday 15th (a holiday): the business days after it are 18, 19, 20, 23, 24; one report
    # per side, as for the daily sum below (payer and payee are both customers)
    lv2 = by_txn.loc[["lv2"]]
    assert list(lv2["kind"]) == ["single"] * 2 and sorted(lv2["direction"]) == ["in", "out"]
    assert set(lv2["deadline"]) == {"2024-09-24"} and set(lv2["status"]) == {"due"}
    assert set(lv2["business_days_left"]) == {0} and set(lv2["business_day"]) == {"2024-09-18"}
    # the daily cumulative sum: one report per side (payer and payee are both customers);
    # Friday 20th: 23, 24, 25, 26, 27
    daily = reports[reports["kind"] == "daily cumulative"]
    assert len(daily) == 2 and set(daily["deadline"]) == {"2024-09-27"} and set(daily["direction"]) == {"in", "out"}
    assert set(daily["amount"]) == {60_000.0} and set(daily["business_days_left"]) == {3}
    assert reports["customer"].str.startswith("CUS-").all() and not reports.astype(str).apply(
        lambda c: c.str.contains(REAL_ID)).any(axis=None)
    # the range selects by the hits' business day
    only = large_value_reports(Store(store_path, create=False), "2024-09-18", "2024-09-18", today="2024-09-24")
    assert list(only["txn_ids"]) == ["lv2", "lv2"]


def test_a_single_large_transfer_gives_the_payee_an_in_report(tmp_path, monkeypatch):
    """The tester's case: ALICE01 pays BOB01 500,000 in one transfer, CAROL01 and ERIN01 pay
    DAVE01 250,000 each. BOB01 has an "in" report of his own (003 二㈠: per customer,
    receipts and payments one-sided), as DAVE01 has for his day's sum; ALICE01's "out"
    report is as it was (its hit id too)."""
    monkeypatch.setenv("FLOWGRAPH_KEY_FILE", str(tmp_path / "key"))
    rows = [("P1", "2026-11-10 10:00:00", "ALICE01", "BOB01", 500_000, "CNY", "transfer"),
            ("P2", "2026-11-10 10:00:00", "CAROL01", "DAVE01", 250_000, "CNY", "transfer"),
            ("P3", "2026-11-10 11:00:00", "ERIN01", "DAVE01", 250_000, "CNY", "transfer")]
    scan_bank(tmp_path, rows)
    reports = large_value_reports(Store(tmp_path / "out" / "store.sqlite", create=False), today="2026-11-10",
                                  reveal_ids=True)
    got = sorted(zip(reports["kind"], reports["customer"], reports["account"], reports["direction"],
                     reports["counterparties"], reports["txn_ids"], reports["amount"]))
    assert got == [("daily cumulative", "CUDAVE01", "DAVE01", "in", "CAROL01, ERIN01", "P2, P3", 500_000.0),
                   ("single", "CUALICE01", "ALICE01", "out", "BOB01", "P1", 500_000.0),
                   ("single", "CUBOB01", "BOB01", "in", "ALICE01", "P1", 500_000.0)]
    assert reports.loc[reports["account"] == "ALICE01", "hit_id"].item() == "afb7c9b5dcb7208e"
    assert set(reports["deadline"]) == {"2026-11-17"} and reports["hit_id"].is_unique


def test_case_alert_gives_a_schema_valid_draft_without_real_ids(store_path, tmp_path):
    store = Store(store_path, create=False)
    case = alert_of(store, "RB0002")
    store.dispose(case, "case", "ann", note="RB0002 forwards what it gets within a day")
    store.dispose(alert_of(store, "RC0003"), "excluded", "ann")
    out = tmp_path / "drafts"
    result = write_report_drafts(store, out, today="2024-09-24")
    assert [p.name for p in result["drafts"]] == [f"str-{case}.json"]
    assert [s["alert_id"] for s in result["skipped"]] == [alert_of(store, "RC0003")]
    draft = json.loads((out / f"str-{case}.json").read_text())
    validate_str_draft(draft)
    blanks = {e["number"] for e in draft["elements"] if e["status"] == "blank"}
    assert {1, 2, 5, 6, 23, 24, 46} <= blanks and not blanks & {20, 21, 22, 38, 48}
    assert {e["number"] for e in draft["elements"] if e["status"] == "pseudonymised"} == {7, 31}
    assert draft["suspected_offence_type"]["value"] is None and draft["analysis_of_suspicion"]["editable"] is True
    indicators = {i["indicator"]: i["contribution"] for i in draft["trigger_point"]["indicators"]}
    assert indicators["pass_through"] > 0
    behaviour = draft["transactions_and_behaviour"]
    assert {t["txn_id"] for t in behaviour["transactions"]} >= {"cy0", "cy1"}
    assert behaviour["totals"]["inflow_home"] == 450_000 and behaviour["totals"]["outflow_home"] == 441_000
    assert behaviour["evidence_not_kept"] == [] and draft["disposition"]["disposition"] == "case"
    markdown = (out / f"str-{case}.md").read_text()
    assert "疑点分析" in markdown and "EDIT BEFORE FILING" in markdown and "报告机构编码" in markdown
    for path in out.iterdir():
        assert not REAL_ID.search(path.read_text()), path.name  # not even from the analyst's note


def test_schema_rejects_a_broken_draft(store_path):
    store = Store(store_path, create=False)
    draft = str_draft(store, alert_of(store, "RB0002"))
    validate_str_draft(draft)
    broken = copy.deepcopy(draft)
    broken["elements"][0]["value"] = "guessed"
    del broken["elements"][-1]
    broken["suspected_offence_type"]["value"] = "fraud"
    with pytest.raises(ValueError, match="elements/0/value") as info:
        validate_str_draft(broken)
    assert "suspected_offence_type/value" in str(info.value) and "elements" in str(info.value)


def test_reveal_ids_is_logged_and_owner_only(store_path, tmp_path):
    store = Store(store_path, create=False)
    store.dispose(alert_of(store, "RB0002"), "case", "ann")
    out = tmp_path / "real"
    assert main(["report-draft", "--store", str(store_path), "--out", str(out), "--today", "2024-09-24",
                 "--reveal-ids"]) == 0
    assert "RL0001" in (out / "large-value-reports.csv").read_text()
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in out.iterdir())
    assert store.query("SELECT COUNT(*) AS n FROM audit WHERE detail LIKE '%report-draft%'")["n"].iloc[0] >= 2


def test_alert_without_disposition_is_drafted_on_request_and_others_skipped(store_path, tmp_path, capsys):
    store = Store(store_path, create=False)
    undecided = alert_of(store, "RD0004")
    store.dispose(alert_of(store, "RC0003"), "reported", "ann")
    out = tmp_path / "asked"
    assert main(["report-draft", "--store", str(store_path), "--out", str(out), "--today", "2024-09-24"]) == 0
    assert "skipped" in capsys.readouterr().out and not list(out.glob("str-*.json"))
    assert main(["report-draft", "--store", str(store_path), "--out", str(out), "--alert", undecided[:8],
                 "--today", "2024-09-24"]) == 0
    draft = json.loads((out / f"str-{undecided}.json").read_text())
    validate_str_draft(draft)
    assert draft["disposition"] is None and draft["deadline"]["date"] is None
    assert any("No analyst decided" in n for n in draft["notes"])


def test_store_without_case_transactions(store_path, tmp_path):
    shutil.rmtree(tmp_path / "store.sqlite.cases")
    store = Store(store_path, create=False)
    reports = large_value_reports(store, today="2024-09-24")
    # without the transaction dates the hit's business day stands in, and the record says so
    lv2 = reports.set_index("txn_ids").loc[["lv2"]]  # the payer's and the payee's
    assert list(lv2["deadline"]) == ["2024-09-25"] * 2
    assert lv2["deadline_basis"].str.startswith("business day of the hit").all()
    draft = str_draft(store, alert_of(store, "RB0002"))
    validate_str_draft(draft)
    assert set(draft["transactions_and_behaviour"]["evidence_not_kept"]) >= {"cy0", "cy1"}
    assert any("not kept" in n for n in draft["notes"])


@pytest.mark.parametrize("args, named", [
    (["--alert", "feedfacefeed"], "feedfacefeed"),
    (["--from", "2024-13-01"], "'--from': '2024-13-01' is not a date written YYYY-MM-DD"),
    (["--to", "yesterday"], "'--to': 'yesterday' is not a date written YYYY-MM-DD"),
    (["--today", "2024-02-30"], "'--today': '2024-02-30' is not a date written YYYY-MM-DD"),
    (["--from", "2024-09-20", "--to", "2024-09-10"], "--from 2024-09-20 is after --to"),
])
def test_bad_options_exit_2_naming_them(store_path, tmp_path, capsys, args, named):
    assert main(["report-draft", "--store", str(store_path), "--out", str(tmp_path / "d"), *args]) == 2
    err = capsys.readouterr().err
    assert named in err and "Fix:" in err and "Traceback" not in err


def test_out_is_a_file(store_path, tmp_path, capsys):
    (tmp_path / "taken").write_text("x")
    assert main(["report-draft", "--store", str(store_path), "--out", str(tmp_path / "taken")]) == 2
    assert "is a file" in capsys.readouterr().err
    with pytest.raises(ConfigError):
        write_report_drafts(Store(store_path, create=False), tmp_path / "taken")


def year_end_rows() -> list[tuple]:
    """Large-value transactions at the end of 2026, the last year with official PRC holidays
    (no holiday in December 2026; 2027-01-01, a Friday, is New Year's Day only by estimate):
    a 60,000 cash deposit on Tuesday 1 December (deadline 12-08), a 520,000 personal
    transfer on Thursday 24 December (deadline 12-31: the count ends on the year's last day)
    and a 60,000 cash deposit on Friday 25 December (deadline 2027-01-04 over the estimated
    holiday, or none when 2027 is refused); and the ring of :func:`tiny_bank_rows` on 14-17
    December, for an alert."""
    rows = [("lv1", "2026-12-01 10:00:00", "", "RL0001", 60_000, "CNY", "cash"),
            ("lv2", "2026-12-24 10:00:00", "RL0001", "RM0002", 520_000, "CNY", "transfer"),
            ("lv3", "2026-12-25 10:00:00", "", "RN0003", 60_000, "CNY", "cash")]
    return rows + _ring_rows("2026-12", 14)


def scan_year_end(folder, beyond_coverage: str):
    """The year-end bank scanned with calendar.beyond_coverage = ``beyond_coverage``."""
    tx, accounts = bank_tables(year_end_rows())
    tx.to_csv(folder / "tx.csv", index=False)
    accounts.to_csv(folder / "accounts.csv", index=False)
    run_scan(load_dataset(folder / "tx.csv", accounts=folder / "accounts.csv"), folder / "out",
             ScanConfig(beyond_coverage=beyond_coverage), progress=False)
    return folder


@pytest.fixture(scope="module")
def year_end_refused(tmp_path_factory):
    return scan_year_end(tmp_path_factory.mktemp("year_end_error"), "error")


@pytest.fixture(scope="module")
def year_end_estimated(tmp_path_factory):
    return scan_year_end(tmp_path_factory.mktemp("year_end_estimate"), "estimate")


def both_sides(by_txn: pd.DataFrame, txn_id: str, columns: list[str]) -> list:
    """``columns`` of the reports (indexed by ``txn_ids``) of ``txn_id``, a large transfer
    between two customers: one report per side, the payer's ("out") and the payee's ("in"),
    alike in these columns."""
    rows = by_txn.loc[[txn_id]]
    assert sorted(rows["direction"]) == ["in", "out"]
    values = rows[columns].astype(object).values.tolist()
    assert values[0] == values[1]
    return values[0]


def decide_case(store: Store, subject: str, day: str) -> str:
    """Decide the alert of ``subject`` a case, as if on ``day``."""
    alert = alert_of(store, subject)
    store.dispose(alert, "case", "ann")
    store.conn.execute("UPDATE dispositions SET decided_at = ? WHERE alert_id = ?", (f"{day}T10:00:00+00:00", alert))
    store.conn.commit()
    return alert


def test_beyond_coverage_error_drafts_every_deadline_it_can_count(year_end_refused, tmp_path, capsys):
    store_path = copy_store(year_end_refused, tmp_path)
    store = Store(store_path, create=False)
    by_txn = large_value_reports(store, today="2026-12-05").set_index("txn_ids")
    # Tuesday 1st: 2, 3, 4, 7, 8 December; from Saturday 5th the 7th and the 8th are left
    assert by_txn.loc["lv1", ["deadline", "status", "business_days_left", "deadline_calendar"]].tolist() == [
        "2026-12-08", "due", 2, "official"]
    # Thursday 24th: 25, 28, 29, 30, 31 December, all in 2026; 19 weekdays after the 5th
    assert both_sides(by_txn, "lv2", ["deadline", "business_days_left", "deadline_calendar"]) == [
        "2026-12-31", 19, "official"]
    # Friday 25th: the count reaches 2027, which the configuration refuses
    lv3 = by_txn.loc["lv3"]
    assert lv3["deadline"] == "" and lv3["status"] == "unknown" and pd.isna(lv3["business_days_left"])
    assert lv3["deadline_calendar"] == "not counted" and "2026-12-25" in lv3["deadline_note"]
    assert "calendar.beyond_coverage is 'error'" in lv3["deadline_note"] and "2027" in lv3["deadline_note"]
    # the sweep's command: reports of days whose deadlines stay in 2026 are drafted, exit 0
    out = tmp_path / "december"
    assert main(["report-draft", "--store", str(store_path), "--out", str(out), "--from", "2026-12-01",
                 "--to", "2026-12-24", "--today", "2026-12-05"]) == 0
    assert "calendar" not in capsys.readouterr().err
    assert pd.read_csv(out / "large-value-reports.csv")["deadline"].tolist() == ["2026-12-08", "2026-12-31",
                                                                                 "2026-12-31"]
    # every report and STR draft is written; the ones not counted are named, exit 2
    case = decide_case(store, "RB0002", "2026-12-28")
    out = tmp_path / "all"
    assert main(["report-draft", "--store", str(store_path), "--out", str(out), "--today", "2026-12-05"]) == 2
    err = capsys.readouterr().err
    assert f"large-value report {lv3['hit_id']} (2026-12-25)" in err and f"STR draft {case} (case decided 2026-12-28)" in err
    assert "of 2 report(s)" in err and "calendar.beyond_coverage" in err and "Fix:" in err
    assert "--today" not in err and "Traceback" not in err
    assert len(pd.read_csv(out / "large-value-reports.csv")) == 4
    draft = json.loads((out / f"str-{case}.json").read_text())
    validate_str_draft(draft)
    assert draft["deadline"]["date"] is None and draft["deadline"]["calendar"] == "not counted"
    assert any("not counted" in n and "calendar.holidays_file" in n for n in draft["notes"])
    # a --today in the refused year is what is blamed when it is what reaches past the coverage
    assert main(["report-draft", "--store", str(store_path), "--out", str(tmp_path / "late"), "--from", "2026-12-01",
                 "--to", "2026-12-01", "--today", "2027-01-06", "--alert", case]) == 2
    err = capsys.readouterr().err
    assert "business days from --today 2027-01-06 to the deadline 2026-12-08" in err
    late = pd.read_csv(tmp_path / "late" / "large-value-reports.csv").iloc[0]
    assert late["deadline"] == "2026-12-08" and late["status"] == "overdue" and pd.isna(late["business_days_left"])


def test_deadlines_over_estimated_holidays_are_marked(year_end_estimated, tmp_path, capsys):
    store_path = copy_store(year_end_estimated, tmp_path)
    store = Store(store_path, create=False)
    by_txn = large_value_reports(store, today="2026-12-28").set_index("txn_ids")
    columns = ["deadline", "deadline_calendar", "business_days_left", "days_left_calendar"]
    assert by_txn.loc["lv1", columns].tolist() == ["2026-12-08", "official", -14, "official"]
    assert both_sides(by_txn, "lv2", columns) == ["2026-12-31", "official", 3, "official"]
    # Friday 25th: 28, 29, 30, 31 December, then (over the estimated 1 January) Monday 4th
    assert by_txn.loc["lv3", columns].tolist() == ["2027-01-04", "estimated", 4, "estimated"]
    assert "holidays for 2027 are estimated" in by_txn.loc["lv3", "deadline_note"]
    assert both_sides(by_txn, "lv2", ["deadline_note"]) == [""]
    # judged in 2027, an official deadline's business days late are counted over estimated days
    later = large_value_reports(store, today="2027-01-06").set_index("txn_ids")
    assert both_sides(later, "lv2", columns) == ["2026-12-31", "official", -3, "estimated"]
    case = decide_case(store, "RB0002", "2026-12-25")
    out = tmp_path / "drafts"
    assert main(["report-draft", "--store", str(store_path), "--out", str(out), "--today", "2026-12-28"]) == 0
    err = [line for line in capsys.readouterr().err.splitlines() if "pseudonym key" not in line]
    assert len(err) == 1 and err[0].startswith("calendar: 1 large-value report deadline(s), 1 large-value "
                                               "business_days_left, 1 STR draft deadline(s) counted over estimated")
    assert "2027" in err[0] and "calendar.holidays_file" in err[0]
    written = pd.read_csv(out / "large-value-reports.csv").set_index("txn_ids")
    assert written.loc["lv3", "deadline_calendar"] == "estimated"
    assert both_sides(written, "lv2", ["deadline_calendar"]) == ["official"]
    assert "1 report(s) with deadline_calendar 'estimated'" in (out / "large-value-reports.md").read_text()
    draft = json.loads((out / f"str-{case}.json").read_text())
    validate_str_draft(draft)
    assert draft["deadline"]["date"] == "2027-01-04" and draft["deadline"]["calendar"] == "estimated"
    assert any("estimated" in n and "2027" in n for n in draft["notes"])
    assert "2027-01-04, estimated" in (out / f"str-{case}.md").read_text()


# -- the rule set's report deadline and record-only rules ---------------------------------

def us_bank_rows() -> list[tuple]:
    """A US bank (US-BSA): currency transactions of USD 10,000.01, just more than the CTR's
    USD 10,000 (31 CFR 1010.311), on Tuesday 10 November 2026 (Veterans Day, a federal
    holiday, the next day) and on Friday 20 November (Thanksgiving, Thursday 26th, within its
    15 days; the 15th day a Saturday); one of USD 10,000.00 (no CTR); and a USD 3,000.00 wire
    between persons, which 31 CFR 1020.410(a) has the bank record, not report."""
    return [("ctr1", "2026-11-10 10:00:00", "", "RP0001", 10_000.01, "USD", "cash"),
            ("ctr2", "2026-11-20 10:00:00", "", "RQ0002", 10_000.01, "USD", "cash"),
            ("noctr", "2026-11-20 11:00:00", "", "RS0003", 10_000.00, "USD", "cash"),
            ("wire", "2026-11-20 12:00:00", "RT0004", "RU0005", 3_000.00, "USD", "transfer")]


@pytest.fixture(scope="module")
def us_scanned(tmp_path_factory):
    folder = tmp_path_factory.mktemp("us_bsa")
    tx, accounts = bank_tables(us_bank_rows())
    tx.to_csv(folder / "tx.csv", index=False)
    accounts.to_csv(folder / "accounts.csv", index=False)
    run_scan(load_dataset(folder / "tx.csv", accounts=folder / "accounts.csv"), folder / "out",
             ScanConfig(rule_set="US-BSA"), progress=False)
    return folder


def test_us_ctr_is_due_15_calendar_days_later_and_a_wire_record_is_no_report(us_scanned, tmp_path, capsys):
    """31 CFR 1010.306(a)(1): a CTR is due "within 15 days following the day on which the
    reportable transaction occurred" -- calendar days, over weekends and holidays, not
    003's 5 business days; the USD 3,000 wire's rule keeps a record (record_only) and is
    no filing: not listed, no deadline, not overdue."""
    store_path = copy_store(us_scanned, tmp_path)
    store = Store(store_path, create=False)
    wire_hits = store.query("SELECT hit_id FROM hits WHERE txn_ids LIKE '%\"wire\"%' AND typology LIKE 'large_value%'")
    assert len(wire_hits) == 2  # the scan still finds the wire, its payer's and its payee's (both customers)
    reports = large_value_reports(store, today="2026-12-01")
    assert sorted(reports["txn_ids"]) == ["ctr1", "ctr2"] and set(reports["rule"]) == {"LV-CASH"}
    by_txn = reports.set_index("txn_ids")
    columns = ["deadline", "status", "business_days_left", "deadline_calendar", "deadline_note"]
    # Tuesday 10th + 15 days, over Veterans Day and two weekends (5 business days: the 18th);
    # judged on Tuesday 1 December: 27 (after Thanksgiving), 30 November and 1 December late
    assert by_txn.loc["ctr1", columns].tolist() == ["2026-11-25", "overdue", -3, "official", ""]
    # Friday 20th + 15 days: Saturday 5 December, over Thanksgiving and not moved to Monday
    # (5 business days: 30 November); business days after the 1st up to it: 2, 3, 4
    assert by_txn.loc["ctr2", columns].tolist() == ["2026-12-05", "due", 3, "official", ""]
    assert reports.attrs["record_only_hits"] == 2 and set(reports.attrs["record_only_rules"]) == {"LV-PERSON",
                                                                                                    "LV-ENTITY"}
    # the day after a Saturday deadline is late
    late = large_value_reports(store, today="2026-12-06").set_index("txn_ids")
    assert late.loc["ctr2", ["status", "business_days_left"]].tolist() == ["overdue", 0]
    # the command: two reports, one overdue; the Markdown gives the rule and says what it left out
    out = tmp_path / "drafts"
    assert main(["report-draft", "--store", str(store_path), "--out", str(out), "--today", "2026-12-01"]) == 0
    assert "large-value reports: 2 (1 overdue)" in capsys.readouterr().out
    written = pd.read_csv(out / "large-value-reports.csv")
    assert written["deadline"].tolist() == ["2026-11-25", "2026-12-05"] and "wire" not in set(written["txn_ids"])
    text = (out / "large-value-reports.md").read_text()
    assert text.startswith("# Large-value reports (31 CFR 1010.306(a)(1))\n\nAs of 2026-12-01: 2 report(s), 1 overdue. "
                           "Each is due 15 calendar days after its transaction date, weekends and holidays included")
    assert "> 2 hit(s) of record-only rule(s) LV-PERSON, LV-ENTITY are not listed" in text
    assert "1020.410(a)" in text and "business days after" not in text


def test_pboc_reports_keep_5_business_days_and_every_rule(store_path, tmp_path):
    """PBOC-2016 (003 二㈢): 5 business days on the PRC calendar, no rule record-only; the
    Markdown's head is word for word the one drafted before rule sets carried deadlines."""
    from flowgraph.config import PBOC_2003, PBOC_2016

    for rule_set in (PBOC_2016, PBOC_2003):
        assert (rule_set.report_deadline_days, rule_set.report_deadline_unit, rule_set.report_deadline_source) == (
            5, "business", "003 二㈢")
        assert not any(r.record_only for r in rule_set.rules)
    store = Store(store_path, create=False)
    n_hits = store.query("SELECT COUNT(*) AS n FROM hits WHERE typology LIKE 'large_value%'")["n"].iloc[0]
    out = tmp_path / "drafts"
    assert main(["report-draft", "--store", str(store_path), "--out", str(out), "--today", "2024-09-24"]) == 0
    written = pd.read_csv(out / "large-value-reports.csv", keep_default_na=False)
    assert len(written) == n_hits  # every large-value hit is a report
    # Friday 13th: Sat 14th (make-up day), 18, 19, 20, 23; Sunday 15th: 18, 19, 20, 23, 24
    # lv2 is a transfer between two customers: one report per side, with one deadline
    deadlines = written.groupby("txn_ids")["deadline"].agg(set)
    assert deadlines[["lv1", "lv2"]].tolist() == [{"2024-09-23"}, {"2024-09-24"}]
    text = (out / "large-value-reports.md").read_text()
    assert text.startswith(f"# Large-value reports (003 二㈢)\n\nAs of 2024-09-24: {n_hits} report(s), "
                           f"{(written['status'] == 'overdue').sum()} overdue. Each is due 5 business days after its "
                           "transaction date, on the scan's calendar.\n\n| deadline |")


def test_count_deadline_in_calendar_days():
    """A deadline in calendar days asks the calendar nothing (official even in a year the
    calendar only estimates); the days left are still business days."""
    import numpy as np

    from flowgraph.calendar import BusinessCalendar
    from flowgraph.desk.large_value import count_deadline

    us = BusinessCalendar.us_federal()
    friday = np.datetime64("2026-11-20")
    counted = count_deadline(us, friday, np.datetime64("2026-12-01"), n_days=15, unit="calendar")
    assert counted == {"deadline": np.datetime64("2026-12-05"), "business_days_left": 3,
                       "deadline_calendar": "official", "days_left_calendar": "official", "deadline_note": ""}
    later = count_deadline(BusinessCalendar.prc(), np.datetime64("2027-06-01"), n_days=15, unit="calendar")
    assert (later["deadline"], later["deadline_calendar"], later["deadline_note"]) == (
        np.datetime64("2027-06-16"), "official", "")  # 2027's PRC holidays are estimated, and not asked
    # the default count is 003's 5 business days: 23, 24, 25, (Thanksgiving) 27, 30 November
    assert count_deadline(us, friday)["deadline"] == np.datetime64("2026-11-30")


def test_us_sar_draft_is_due_30_calendar_days_after_the_case_decision(us_scanned, tmp_path):
    """31 CFR 1020.320(b)(3): a SAR is due "no later than 30 calendar days after the date of
    the initial detection", not 003 二㈦'s 5 business days: a case decided on Friday 20
    November 2026 is due on Sunday 20 December (calendar days, not moved)."""
    store = Store(copy_store(us_scanned, tmp_path), create=False)
    alert_id = store.query("SELECT alert_id FROM alerts ORDER BY score DESC, alert_id LIMIT 1")["alert_id"].iloc[0]
    store.dispose(alert_id, "case", "ann", force=True)
    store.conn.execute("UPDATE dispositions SET decided_at = '2026-11-20T10:00:00+00:00'")
    deadline = str_draft(store, alert_id)["deadline"]
    assert deadline["date"] == "2026-12-20"
    assert deadline["basis"] == "30 calendar days after the case decision (2026-11-20) (31 CFR 1020.320(b)(3))"
    validate_str_draft(str_draft(store, alert_id))  # raises when the draft breaks its schema


def test_a_case_decided_before_8_in_beijing_names_its_accounts_and_runs_from_that_day(tmp_path, monkeypatch):
    """Found by a sweep on a hand-built file: once an alert was decided a case, its STR
    draft named the letters of "business" as the subject's accounts (the deadline's unit
    overwrote them); and a case decided on Monday 07:30 in Beijing (Sunday 23:30 UTC) had
    its deadline counted from Sunday."""
    monkeypatch.setenv("FLOWGRAPH_KEY_FILE", str(tmp_path / "key"))
    data = tmp_path / "tx.csv"
    data.write_text("txn_id,timestamp,src_account,dst_account,amount,currency,channel\n"
                    "T1,2026-12-30 10:00:00,A1,P1,450000,CNY,transfer\n"
                    "T2,2027-01-04 11:00:00,P1,B1,440000,CNY,transfer\n")
    assert main(["scan", str(data), "--out", str(tmp_path / "run")]) == 0
    store = Store(tmp_path / "run" / "store.sqlite", create=False)
    alert_id = store.query("SELECT alert_id FROM alerts ORDER BY score DESC, alert_id LIMIT 1")["alert_id"].iloc[0]
    before = str_draft(store, alert_id, reveal_ids=True)["subject"]["accounts"]
    assert before == ["P1"]
    store.dispose(alert_id, "case", "li", force=True)
    store.conn.execute("UPDATE dispositions SET decided_at = '2027-01-03T23:30:00+00:00'")
    draft = str_draft(store, alert_id, reveal_ids=True)
    assert draft["subject"]["accounts"] == ["P1"]
    # Monday 4 January, then 5 business days: 5, 6, 7, 8, 11 (2027 estimated: no make-up days)
    assert draft["deadline"]["date"] == "2027-01-11" and "(2027-01-04)" in draft["deadline"]["basis"]
    assert len(str_draft(store, alert_id)["subject"]["accounts"]) == 1  # one pseudonym, not eight


def test_large_value_report_amounts_are_summed_in_cents(tmp_path, monkeypatch):
    """Found by a sweep: the daily report of 430,000.10 + 423,313.56 showed amount
    853313.6599999999 beside amount_home 853313.66."""
    monkeypatch.setenv("FLOWGRAPH_KEY_FILE", str(tmp_path / "key"))
    data = tmp_path / "tx.csv"
    data.write_text("txn_id,timestamp,src_account,dst_account,amount,currency,channel\n"
                    "T1,2024-09-18T10:00:00,A,B,430000.10,CNY,transfer\n"
                    "T2,2024-09-18T11:00:00,A,C,423313.56,CNY,transfer\n")
    assert main(["scan", str(data), "--out", str(tmp_path / "run")]) == 0
    assert main(["report-draft", "--store", str(tmp_path / "run" / "store.sqlite"), "--out", str(tmp_path / "d"),
                 "--today", "2024-09-20"]) == 0
    written = pd.read_csv(tmp_path / "d" / "large-value-reports.csv", dtype=str)
    daily = written[written["kind"] == "daily cumulative"]
    assert daily["amount"].tolist() == ["853313.66"] and daily["amount_home"].tolist() == ["853313.66"]

"""The investigator's desk without a browser: the alert queue (`flowgraph alerts`), the
case transactions a scan keeps, and the case file (`flowgraph show`)."""

import io
import json
import re
import shutil
import sys

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from desk_banks import bank_tables, copy_store, scan_bank
from flowgraph.cli import main
from flowgraph.deid import Pseudonymizer, load_key
from flowgraph.desk.casefile import case_file, find_alert
from flowgraph.desk.evidence import case_accounts, case_folder, case_transactions
from flowgraph.desk.queue import QueueQuery, alert_queue
from flowgraph.desk.reports import str_draft
from flowgraph.errors import ConfigError
from flowgraph.store import Store

#: Every account id of the tiny bank starts with R and every customer id with CU: a page or
#: a queue shows none of them unless real ids are asked for.
REAL_ID = re.compile(r"\b(?:CU)?R[A-Z]\d{4}\b")


def tiny_bank_rows() -> list[tuple]:
    """A four-account cycle (RA -> RB -> RC -> RD -> RA, one hop a business day, each just
    under the 500,000 personal transfer threshold), four cash deposits into RS just under
    the 50,000 cash threshold (two fall on the 2024 Mid-Autumn holiday, so they count toward
    2024-09-18), and ordinary small traffic RX -> RY."""
    rows = []
    ring = ["RA0001", "RB0002", "RC0003", "RD0004"]
    for k, (u, v) in enumerate(zip(ring, ring[1:] + ring[:1])):
        rows.append((f"cy{k}", f"2024-09-{10 + k} 10:00:00", u, v, 450_000 - 9_000 * k, "CNY", "transfer"))
    for k in range(4):
        rows.append((f"st{k}", f"2024-09-{16 + k} 11:00:00", "", "RS0005", 46_000 + 500 * k, "CNY", "cash"))
    for k in range(6):
        rows.append((f"bg{k}", f"2024-09-{10 + k} 15:00:00", "RX0006", "RY0007", 1_000 + k, "CNY", "transfer"))
    return rows


@pytest.fixture(scope="module")
def scanned(tmp_path_factory):
    return scan_bank(tmp_path_factory.mktemp("desk"), tiny_bank_rows())


@pytest.fixture
def store_path(scanned, tmp_path):
    """A copy of the scanned store per test: dispositions and audit rows stay in the test."""
    return copy_store(scanned, tmp_path)


def alert_of(store: Store, subject: str) -> str:
    return store.query("SELECT alert_id FROM alerts WHERE subject = ?", [subject])["alert_id"].iloc[0]


def test_queue_lists_open_alerts_pseudonymised(store_path):
    queue = alert_queue(Store(store_path, create=False), QueueQuery(today="2024-09-30"))
    assert len(queue) == 5 and queue["status"].eq("raised").all() and queue["disposition"].eq("").all()
    assert queue["customer"].str.startswith("CUS-").all()
    name = Pseudonymizer(load_key())
    assert name("CURA0001", "customer") in set(queue["customer"])
    assert list(queue["score"]) == sorted(queue["score"], reverse=True)
    cycle = queue[queue["typologies"].str.contains("cycle")].iloc[0]
    assert cycle["typologies"] == "cycle" and str(cycle["window_start"]) == "2024-09-10"
    assert not REAL_ID.search(queue.to_csv())


def test_queue_age_counts_business_days_on_the_scan_calendar(store_path):
    store = Store(store_path, create=False)
    # the structuring alert ends 2024-09-19; business days after it up to 2024-10-08 are
    # 09-20, 09-23..09-27, 09-29 (a make-up Sunday), 09-30 and 10-08 (10-01..10-07: National Day)
    queue = alert_queue(store, QueueQuery(today="2024-10-08", typology="structuring"))
    assert list(queue["age_days"]) == [9]
    assert list(alert_queue(store, QueueQuery(today="2024-09-19", typology="structuring"))["age_days"]) == [0]
    oldest = alert_queue(store, QueueQuery(today="2024-10-08", sort="age"))
    assert list(oldest["age_days"]) == sorted(oldest["age_days"], reverse=True)


def test_queue_filters_status_score_and_limit(store_path):
    store = Store(store_path, create=False)
    first = alert_of(store, "RS0005")
    store.dispose(first, "excluded", "analyst-1", "salary advance")
    assert first not in set(alert_queue(store, QueueQuery(today="2024-09-30"))["alert_id"])
    disposed = alert_queue(store, QueueQuery(status="disposed", today="2024-09-30"))
    assert list(disposed["alert_id"]) == [first] and list(disposed["disposition"]) == ["excluded"]
    assert len(alert_queue(store, QueueQuery(status="all", today="2024-09-30"))) == 5
    top = alert_queue(store, QueueQuery(status="raised", limit=2, today="2024-09-30"))
    assert len(top) == 2
    high = alert_queue(store, QueueQuery(status="raised", min_score=top["score"].iloc[0], today="2024-09-30"))
    assert (high["score"] >= top["score"].iloc[0]).all() and len(high) >= 1


@pytest.mark.parametrize("field, value, expected", [
    ("status", "closed", "The 'status' parameter of QueueQuery must be one of 'open'"),
    ("limit", 0, "The 'limit' parameter of QueueQuery must be an int in the range [1, inf) or None. Got 0"),
    ("today", "30/09/2024", "The 'today' parameter of QueueQuery must be an ISO date"),
    ("typology", "smurfing", "The 'typology' parameter of QueueQuery must be one of 'bipartite'"),
])
def test_queue_query_refuses_bad_parameters(field, value, expected):
    with pytest.raises(ConfigError) as err:
        QueueQuery(**{field: value})
    assert str(err.value).startswith(expected)


def test_alerts_command_formats_and_logged_real_ids(store_path, capsys):
    args = ["alerts", "--store", str(store_path), "--today", "2024-09-30"]
    assert main(args + ["--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 5 and {"alert_id", "customer", "score", "typologies", "status", "age_days"} <= set(rows[0])
    assert main(args + ["--format", "csv", "--typology", "cycle"]) == 0
    csv = capsys.readouterr().out
    assert csv.startswith("alert_id,customer,score") and csv.count("\n") == 2 and not REAL_ID.search(csv)
    assert main(args) == 0
    table = capsys.readouterr().out
    assert "5 alert(s)" in table and "flowgraph show" in table and not REAL_ID.search(table)
    assert main(args + ["--reveal-ids", "--format", "csv"]) == 0
    assert "CURA0001" in capsys.readouterr().out
    audit = Store(store_path, create=False).query("SELECT action, detail FROM audit")
    assert list(audit["action"]) == ["show_real_ids"] and json.loads(audit["detail"][0])["command"] == "alerts"


def test_alerts_command_errors_exit_2(store_path, tmp_path, capsys):
    assert main(["alerts", "--store", str(store_path), "--typology", "smurfing"]) == 2
    err = capsys.readouterr().err
    assert "--typology must be one of" in err and "QueueQuery" not in err  # the option, not the class
    assert main(["alerts", "--store", str(store_path), "--min-score", "nan"]) == 2
    assert "--min-score must be" in capsys.readouterr().err
    # an ISO week date was a traceback; 20241201 read as a year 20241201
    for today in ("tomorrow", "2024-W48-1", "20241201"):
        assert main(["alerts", "--store", str(store_path), "--today", today]) == 2
        assert "--today" in (err := capsys.readouterr().err) and "YYYY-MM-DD" in err and "Traceback" not in err
    assert main(["alerts", "--store", str(tmp_path / "missing.sqlite")]) == 2


def test_scan_keeps_the_case_transactions_of_raised_alerts(store_path):
    store = Store(store_path, create=False)
    kept = case_transactions(store)
    # the cycle and the deposits are evidence; the subjects' own days around their windows
    # hold nothing else; the ordinary RX -> RY traffic is no alert's
    assert sorted(kept["txn_id"]) == ["cy0", "cy1", "cy2", "cy3", "st0", "st1", "st2", "st3"]
    row = kept.set_index("txn_id").loc["st0"]
    assert row["amount"] == 46_000 and row["channel"] == "cash" and row["currency"] == "CNY"
    assert pd.isna(row["src_account"]) or row["src_account"] == ""
    parties = case_accounts(store).set_index("account_id")
    assert parties.loc["RA0001", "party_type"] == "person" and parties.loc["RA0001", "customer_id"] == "CURA0001"


def test_show_unknown_alert_names_it_and_how_to_list(store_path, tmp_path, capsys):
    assert main(["show", "feedfacefeedface", "--store", str(store_path), "--out", str(tmp_path / "c.html")]) == 2
    err = capsys.readouterr().err
    assert "feedfacefeedface" in err and "flowgraph alerts" in err and "Traceback" not in err
    assert not (tmp_path / "c.html").exists()


def test_find_alert_takes_a_unique_prefix(store_path):
    store = Store(store_path, create=False)
    full = alert_of(store, "RA0001")
    assert find_alert(store, full[:8])["alert_id"] == full
    with pytest.raises(ConfigError, match="no alert"):
        find_alert(store, full[:3])  # shorter than the least prefix


def test_case_file_is_self_contained_and_deidentified(store_path):
    store = Store(store_path, create=False)
    alert_id = alert_of(store, "RA0001")
    store.dispose(alert_id, "case", "analyst-2", "ring of four; RA0001 pays RB0002")
    page = case_file(store, alert_id)
    assert not REAL_ID.search(page)
    assert "<script" not in page and not re.search(r"""(?:src|href)=["'](?!data:)""", page)
    assert page.count('<img src="data:image/png;base64,') >= 4  # utilisation, subgraph, path, daily flows
    name = Pseudonymizer(load_key())
    assert name("RA0001") in page and name("CURA0001", "customer") in page
    # the explanation's indicators, each with its contribution, as stored
    explanation = json.loads(store.query("SELECT explanation FROM alerts WHERE alert_id = ?", [alert_id])["explanation"][0])
    for indicator in explanation["indicators"]:
        assert f"<td>{indicator['indicator']}</td>" in page
    # the evidence transactions with dates, amounts, directions and channels
    assert "cy0" in page and "2024-09-10 10:00" in page and "450,000.00" in page and "transfer" in page
    assert ">out<" in page and ">in<" in page
    assert "path of the money (cycle)" in page and "analyst-2" in page
    assert f"ring of four; {name('RA0001')} pays {name('RB0002')}" in page
    assert store.query("SELECT COUNT(*) AS n FROM audit")["n"][0] == 0


def test_case_file_draws_the_band_of_the_structuring_hit_account(store_path):
    store = Store(store_path, create=False)
    page = case_file(store, alert_of(store, "RS0005"))
    assert f"near-threshold band of {Pseudonymizer(load_key())('RS0005')} (cash" in page


def test_case_file_daily_flows_draw_the_threshold_of_the_lead_hits_method(store_path, monkeypatch):
    """The daily flows of a cash structuring subject drew the transfer Φ (500,000), ten
    times the cash Φ its hits are about (found by a hostile sweep)."""
    from flowgraph import plot

    drawn = []
    daily_flows = plot.daily_flows
    monkeypatch.setattr(plot, "daily_flows", lambda *a, **k: drawn.append(daily_flows(*a, **k)) or drawn[-1])
    store = Store(store_path, create=False)
    page = case_file(store, alert_of(store, "RS0005"))
    assert "threshold Φ and 0.8 Φ of cash (the lead hit&#x27;s method)" in page
    assert sorted(line.get_ydata()[0] for line in drawn[0].axes[0].lines) == [40_000.0, 50_000.0]
    drawn.clear()
    case_file(store, alert_of(store, "RA0001"))  # the ring's transfers
    assert sorted(line.get_ydata()[0] for line in drawn[0].axes[0].lines) == [400_000.0, 500_000.0]


def test_case_file_of_large_value_hits_only_says_no_hit_counts_toward_utilisation(tmp_path):
    """An alert of one large-value hit (u 0.5 in the hits table) showed "highest
    utilisation u 0.000": the alert's u leaves large-value hits out (reportable facts, not
    evidence of a typology), and the page now says so (found by a hostile sweep)."""
    rows = [("lv0", "2024-09-18 10:00:00", "RL0001", "RM0002", 520_000, "CNY", "transfer")]
    store = Store(scan_bank(tmp_path, rows) / "out" / "store.sqlite", create=False)
    alert_id = alert_of(store, "RL0001")
    assert set(store.query("SELECT typology FROM hits")["typology"]) <= {"large_value_single", "large_value_daily"}
    page = case_file(store, alert_id)
    assert "no hit counted toward utilisation (large-value reports only;" in page and "<td>0.000</td>" not in page


def test_case_file_utilisation_names_the_large_value_hits_it_leaves_out(store_path):
    from flowgraph.desk.casefile import _utilisation_shown

    store = Store(store_path, create=False)
    alert = find_alert(store, alert_of(store, "RA0001"))
    ring = pd.DataFrame({"typology": ["cycle"]})
    assert _utilisation_shown(alert, ring) == f"{alert['utilisation']:.3f}"
    both = pd.DataFrame({"typology": ["cycle", "large_value_single"]})
    assert _utilisation_shown(alert, both) == f"{alert['utilisation']:.3f} (large-value hits not counted)"


def test_show_command_reveal_ids_is_logged_and_owner_only(store_path, tmp_path, capsys):
    store = Store(store_path, create=False)
    alert_id = alert_of(store, "RA0001")
    out = tmp_path / "case.html"
    assert main(["show", alert_id, "--store", str(store_path), "--out", str(out)]) == 0
    assert not REAL_ID.search(out.read_text())
    assert main(["show", alert_id, "--store", str(store_path), "--out", str(out), "--reveal-ids"]) == 0
    assert "RA0001" in out.read_text() and oct(out.stat().st_mode & 0o777) == "0o600"
    audit = store.query("SELECT action, detail FROM audit")
    assert list(audit["action"]) == ["show_real_ids"] and alert_id in audit["detail"][0]


def test_case_file_of_a_store_without_case_transactions(store_path):
    """Stores written before scans kept case transactions: the page lists the evidence ids
    and says how to get the rest."""
    shutil.rmtree(case_folder(Store(store_path, create=False)))
    store = Store(store_path, create=False)
    page = case_file(store, alert_of(store, "RA0001"))
    assert "4 of 4 evidence transactions are not kept" in page and "cy0" in page and not REAL_ID.search(page)
    assert page.count("<img ") == 1  # the utilisation needs only the hit


def test_case_file_names_the_scans_home_currency(tmp_path):
    """Under a USD rule set the case file's amounts are USD, not CNY: the hits' A, the
    evidence table's converted column and the pictures' captions (a currency-less file
    is read in the rule set's home currency)."""
    ring = ["RA0001", "RB0002", "RC0003", "RD0004"]
    rows = [(f"cy{k}", f"2024-09-{10 + k} 10:00:00", u, v, 9_000 - 90 * k, "USD", "transfer")
            for k, (u, v) in enumerate(zip(ring, ring[1:] + ring[:1]))]
    tx, accounts = bank_tables(rows)
    tx.to_csv(tmp_path / "tx.csv", index=False)
    accounts.to_csv(tmp_path / "accounts.csv", index=False)
    (tmp_path / "usd.toml").write_text('rule_set = "US-BSA"\n')
    assert main(["scan", str(tmp_path / "tx.csv"), "--accounts", str(tmp_path / "accounts.csv"), "--config",
                 str(tmp_path / "usd.toml"), "--out", str(tmp_path / "out")]) == 0
    store = Store(tmp_path / "out" / "store.sqlite", create=False)
    cycle = store.query("SELECT alert_id FROM alerts WHERE raised = 1")["alert_id"]
    assert len(cycle)
    page = case_file(store, cycle.iloc[0])
    assert "moved A (USD)" in page and "<th>USD</th>" in page and "amount (USD)" in page
    text = re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "", page)  # (base64 may spell anything)
    assert "CNY" not in text, text[max(text.find("CNY") - 300, 0):text.find("CNY") + 100]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.integers(0, 3), st.integers(0, 3)), max_size=12),
       st.lists(st.integers(0, 6), min_size=3, max_size=3), st.lists(st.integers(0, 6), min_size=3, max_size=3))
def test_case_rows_let_go_while_counting_are_none_of_those_kept(rows, counts_then, counts_more):
    """A part's rows held while subjects are counted (:func:`keep_case_transactions_from_store`):
    letting go of those near only subjects already busy (a count over the limit, which only
    grows) keeps, in order, exactly the rows the final counts keep: evidence, or a side near
    a subject that is not busy (subject number 3 is the extra slot: near none)."""
    from flowgraph.desk import evidence

    limit = evidence.MAX_CONTEXT_TRANSACTIONS
    table = pa.table({"n": list(range(len(rows)))})
    part = evidence._Candidates(table, np.array([r[0] for r in rows], bool), np.array([r[1] for r in rows], np.int64),
                                np.array([r[2] for r in rows], np.int64))
    earlier = np.array(counts_then) + limit - 3  # some at or under the limit, some over
    final = earlier + np.array(counts_more)
    expected = [i for i, (ev, s, d) in enumerate(rows)
                if ev or (s < 3 and final[s] <= limit) or (d < 3 and final[d] <= limit)]
    assert part.kept(evidence._quiet(final))["n"].to_pylist() == expected
    assert part.without_busy(evidence._quiet(earlier)).kept(evidence._quiet(final))["n"].to_pylist() == expected
    let_go = [i for i, (ev, s, d) in enumerate(rows)
              if not (ev or (s < 3 and earlier[s] <= limit) or (d < 3 and earlier[d] <= limit))]
    assert len(part.without_busy(evidence._quiet(earlier)).table) == len(rows) - len(let_go)


def test_decisions_on_alerts_of_another_configuration_are_said(store_path, scanned, tmp_path, capsys):
    """A scan with another configuration (the weights learn writes, a forgotten --config)
    made the desk show its alerts only: every decision vanished from alerts, report and
    learn without a word (found by a hostile sweep). They stay in the store; the scan and
    the desk now say so."""
    alert = Store(store_path, create=False).query("SELECT alert_id FROM alerts WHERE raised = 1")["alert_id"][0]
    assert main(["dispose", alert, "--store", str(store_path), "--as", "case", "--analyst", "alice"]) == 0
    assert main(["alerts", "--store", str(store_path), "--status", "disposed", "--today", "2024-09-30"]) == 0
    assert "decision(s)" not in capsys.readouterr().err
    (tmp_path / "other.toml").write_text("[model]\nalert_threshold = 3.0\n")
    assert main(["scan", str(scanned / "tx.csv"), "--accounts", str(scanned / "accounts.csv"), "--out",
                 str(tmp_path / "o"), "--store", str(store_path), "--config", str(tmp_path / "other.toml")]) == 0
    assert "1 analyst decision(s)" in capsys.readouterr().err
    for command in (["alerts", "--status", "all", "--today", "2024-09-30"], ["report"]):
        assert main([command[0], "--store", str(store_path), *command[1:]]) == 0
        err = capsys.readouterr().err
        assert "1 analyst decision(s)" in err and "1 other configuration(s)" in err


def test_a_decided_alert_a_rescan_no_longer_finds_is_not_raised_and_said(store_path, scanned, tmp_path, capsys):
    """Corrected data (the ring's four transfers withdrawn) retracts a decided alert's hits:
    it stayed "raised" in the queue and the report, and report-draft drafted an STR of no
    transaction (found by a hostile sweep). It is kept for its decision, no longer raised,
    and said so everywhere."""
    ring = Store(store_path, create=False).query("SELECT alert_id FROM alerts WHERE subject LIKE 'RA%' "
                                                 "OR customer LIKE 'CURA%'")["alert_id"][0]
    assert main(["dispose", ring, "--store", str(store_path), "--as", "case", "--analyst", "alice"]) == 0
    tx = pd.read_csv(scanned / "tx.csv")
    tx[~tx["txn_id"].str.startswith("cy")].to_csv(tmp_path / "corrected.csv", index=False)
    assert main(["scan", str(tmp_path / "corrected.csv"), "--accounts", str(scanned / "accounts.csv"), "--out",
                 str(tmp_path / "o"), "--store", str(store_path)]) == 0
    queue = alert_queue(Store(store_path, create=False), QueueQuery(status="all", today="2024-09-30"))
    row = queue.set_index("alert_id").loc[ring]
    assert row["status"] == "no longer found" and row["disposition"] == "case"
    assert ring not in set(alert_queue(Store(store_path, create=False), QueueQuery(status="raised"))["alert_id"])
    assert main(["report-draft", "--store", str(store_path), "--out", str(tmp_path / "d"), "--today",
                 "2024-09-30"]) == 0
    assert not (tmp_path / "d" / f"str-{ring}.json").exists()
    assert "no longer finds this alert" in pd.read_csv(tmp_path / "d" / "skipped.csv").set_index("alert_id").loc[
        ring, "reason"]
    assert main(["show", ring, "--store", str(store_path), "--out", str(tmp_path / "case.html")]) == 0
    assert "no longer finds this alert" in (tmp_path / "case.html").read_text()


def test_report_draft_skips_each_alert_once_with_its_true_reason(store_path, scanned, tmp_path):
    """An alert decided excluded that a re-scan no longer finds was listed in skipped.csv
    twice, the second time as "decided a case" (found by a hostile sweep)."""
    store = Store(store_path, create=False)
    ring, cash = alert_of(store, "RA0001"), alert_of(store, "RS0005")
    assert main(["dispose", ring, "--store", str(store_path), "--as", "excluded", "--analyst", "ana"]) == 0
    assert main(["dispose", cash, "--store", str(store_path), "--as", "case", "--analyst", "ana"]) == 0
    tx = pd.read_csv(scanned / "tx.csv")
    tx[~tx["txn_id"].str.startswith("cy")].to_csv(tmp_path / "corrected.csv", index=False)
    assert main(["scan", str(tmp_path / "corrected.csv"), "--accounts", str(scanned / "accounts.csv"), "--out",
                 str(tmp_path / "o"), "--store", str(store_path)]) == 0
    assert ring in set(store.query("SELECT alert_id FROM gone_alerts")["alert_id"])
    assert main(["report-draft", "--store", str(store_path), "--out", str(tmp_path / "d"), "--today",
                 "2024-09-30"]) == 0
    skipped = pd.read_csv(tmp_path / "d" / "skipped.csv")
    assert list(skipped["alert_id"]) == [ring]
    assert skipped["reason"][0].startswith("latest decision 'excluded' by ana")
    assert "no longer finds" not in skipped["reason"][0]
    assert (tmp_path / "d" / f"str-{cash}.json").exists()


def test_dispose_takes_a_unique_prefix_and_a_reader_that_goes_away_ends_the_output_quietly(store_path, monkeypatch,
                                                                                          capsys):
    """dispose needed the whole id where show and report-draft take a unique prefix; and
    `flowgraph alerts | head -1` ended in exit 1 (found by a hostile sweep)."""
    alert = Store(store_path, create=False).query("SELECT alert_id FROM alerts WHERE raised = 1")["alert_id"][0]
    assert main(["dispose", alert[:8], "--store", str(store_path), "--as", "excluded", "--analyst", "bo"]) == 0
    assert f"alert {alert}: excluded" in capsys.readouterr().out

    class GoneReader(io.StringIO):
        def write(self, text):
            raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(sys, "stdout", GoneReader())
    assert main(["alerts", "--store", str(store_path), "--status", "all", "--today", "2024-09-30"]) == 0
    err = capsys.readouterr().err
    assert "error" not in err and "Broken pipe" not in err


def test_a_store_copied_without_its_case_folder_says_so(store_path, tmp_path):
    """The case file said the evidence was "not kept … from scans made since flowgraph kept
    them", when the store had been copied without its case folder (found by a hostile sweep)."""
    alert = Store(store_path, create=False).query("SELECT alert_id FROM alerts WHERE raised = 1")["alert_id"][0]
    bare = tmp_path / "bare" / "store.sqlite"
    bare.parent.mkdir()
    shutil.copy(store_path, bare)
    assert main(["show", alert, "--store", str(bare), "--out", str(tmp_path / "case.html")]) == 0
    page = (tmp_path / "case.html").read_text()
    assert "its case folder store.sqlite.cases is missing" in page and "since flowgraph kept them" not in page


def _scan_again(scanned, tmp_path, store_path, extra_rows: list[tuple], name: str) -> None:
    """Scan the tiny bank's file with ``extra_rows`` added, into the run store ``store_path``
    (a later scan of the same customers, as a nightly run would be)."""
    tx = pd.concat([pd.read_csv(scanned / "tx.csv"), bank_tables(extra_rows)[0]], ignore_index=True)
    tx.to_csv(tmp_path / f"{name}.csv", index=False)
    assert main(["scan", str(tmp_path / f"{name}.csv"), "--accounts", str(scanned / "accounts.csv"), "--out",
                 str(tmp_path / name), "--store", str(store_path)]) == 0


def test_an_alert_that_grows_after_its_decision_is_reopened(store_path, scanned, tmp_path, capsys):
    """An excluded alert whose customer goes on (a fifth cash deposit just under the
    threshold the next business day) stayed excluded and out of the work list under the same
    id (found by a hostile sweep). It is reopened: back in the open queue, its earlier
    decision shown, the hit that joined it counted; a new decision closes it again."""
    store = Store(store_path, create=False)
    cash = alert_of(store, "RS0005")
    before = store.query("SELECT hit_ids, window_end FROM alerts WHERE alert_id = ?", [cash]).iloc[0]
    assert main(["dispose", cash, "--store", str(store_path), "--as", "excluded", "--analyst", "ann"]) == 0
    _scan_again(scanned, tmp_path, store_path, [], "same")  # the same data again: nothing grew
    assert cash not in set(alert_queue(Store(store_path, create=False), QueueQuery(today="2024-09-30"))["alert_id"])

    _scan_again(scanned, tmp_path, store_path, [("st4", "2024-09-20 11:00:00", "", "RS0005", 48_000, "CNY", "cash")],
                "more")
    store = Store(store_path, create=False)
    after = store.query("SELECT hit_ids, window_end FROM alerts WHERE alert_id = ?", [cash]).iloc[0]
    joined = set(json.loads(after["hit_ids"])) - set(json.loads(before["hit_ids"]))
    assert after["window_end"] == "2024-09-20" > before["window_end"] and joined  # the same alert, grown
    row = alert_queue(store, QueueQuery(today="2024-09-30")).set_index("alert_id").loc[cash]
    assert (row["status"], row["disposition"], row["new_hits"]) == ("reopened", "excluded", len(joined))
    others = alert_queue(store, QueueQuery(status="all", today="2024-09-30")).query("alert_id != @cash")
    assert others["status"].eq("raised").all() and others["new_hits"].eq(0).all()
    capsys.readouterr()
    assert main(["alerts", "--store", str(store_path), "--today", "2024-09-30"]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith(cash))
    assert "reopened" in line and f"(+{len(joined)} new)" in line
    page = case_file(store, cash)
    assert f"excluded, reopened: {len(joined)} hit(s) joined it since that decision" in page
    draft = str_draft(store, cash)
    assert any("The alert grew after the decision of " in n and f"({len(joined)} hit(s) joined it)" in n
               for n in draft["notes"])

    assert main(["dispose", cash, "--store", str(store_path), "--as", "excluded", "--analyst", "ann"]) == 0
    row = alert_queue(Store(store_path, create=False), QueueQuery(status="all", today="2024-09-30")).set_index(
        "alert_id").loc[cash]
    assert (row["status"], row["new_hits"]) == ("raised", 0)


def test_a_window_that_goes_on_reopens_and_an_old_decision_does_not(store_path, scanned, tmp_path):
    """A decided alert whose run of days goes on under the same hit (no hit joins it) is
    reopened too. A decision recorded by a version that did not keep what the alert held
    (no hit ids with it) reopens nothing: what was decided on is not known."""
    store = Store(store_path, create=False)
    ring, cash = alert_of(store, "RA0001"), alert_of(store, "RS0005")
    store.dispose(cash, "reported", "ann")
    with store.transaction() as c:  # as an earlier version stored it
        c.execute("INSERT INTO dispositions (alert_id, disposition, analyst, decided_at, note) VALUES "
                  "(?, 'excluded', 'bob', '2024-09-21T09:00:00+00:00', '')", (ring,))
    # a day's end moved by hand: the alert as decided ended a day earlier than it does now
    with store.transaction() as c:
        c.execute("UPDATE dispositions SET decided_hit_ids = (SELECT hit_ids FROM alerts WHERE alert_id = ?), "
                  "decided_window_end = '2024-09-18' WHERE alert_id = ?", (cash, cash))
    queue = alert_queue(store, QueueQuery(status="all", today="2024-09-30")).set_index("alert_id")
    assert (queue.loc[cash, "status"], queue.loc[cash, "new_hits"]) == ("reopened", 0)
    assert (queue.loc[ring, "status"], queue.loc[ring, "disposition"]) == ("raised", "excluded")
    assert "reopened: its window went on" in case_file(store, cash)
    assert ring not in set(alert_queue(store, QueueQuery(today="2024-09-30"))["alert_id"])

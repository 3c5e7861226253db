"""report-draft over days scanned under several configurations (a holidays file added, a
rule set changed): each day's large-value reports are those of the configuration whose
scan had the latest word on it, none lost and none twice (003 二㈢: the reports are
mandatory), each naming its configuration and rule set, its deadline counted on that
configuration's calendar (:func:`flowgraph.desk.day_owners.day_owners`)."""

import shutil
import sqlite3

import numpy as np
import pandas as pd
import pytest

from flowgraph.cli import main
from flowgraph.desk.day_owners import day_owners
from flowgraph.desk.large_value import large_value_reports
from flowgraph.store import Store

COLUMNS = "txn_id,timestamp,src_account,dst_account,amount,currency,channel"
#: A HYPOTHETICAL 2027 schedule (not the State Council's): New Year 1-3 January, and Friday
#: 8 January a holiday too, so that its deadlines differ from the estimated calendar's; the
#: Spring Festival break (5-11 February) makes the file give 2027 (flowgraph.calendar).
HOLIDAYS_2027 = """date,kind,note
2027-01-01,holiday,New Year
2027-01-02,holiday,New Year
2027-01-03,holiday,New Year
2027-01-08,holiday,hypothetical
""" + "".join(f"2027-02-{d:02d},holiday,Spring Festival\n" for d in range(5, 12))


def write_bank(folder, rows: list[str]) -> None:
    """The transactions (CSV lines) and a configuration adding the holidays file."""
    (folder / "tx.csv").write_text("\n".join([COLUMNS, *rows]) + "\n")
    (folder / "h2027.csv").write_text(HOLIDAYS_2027)
    (folder / "official.toml").write_text('[calendar]\nholidays_file = "h2027.csv"\n')
    (folder / "pboc2003.toml").write_text('rule_set = "PBOC-2003"\n')


def scan(folder, *args: str) -> None:
    assert main(["scan", str(folder / "tx.csv"), "--out", str(folder / "run"), "--store",
                 str(folder / "store.sqlite"), *args]) == 0


def config_hashes(store_path) -> list[str]:
    """The configuration hashes of the store's runs, in the order they ran."""
    with sqlite3.connect(store_path) as conn:
        return list(dict.fromkeys(h for (h,) in conn.execute("SELECT config_hash FROM runs ORDER BY rowid")))


def draft(capsys, store_path, out, *args: str) -> tuple[pd.DataFrame, str, str, str]:
    """report-draft's CSV, Markdown, stdout and stderr (the command must succeed)."""
    capsys.readouterr()
    assert main(["report-draft", "--store", str(store_path), "--out", str(out), *args]) == 0
    said = capsys.readouterr()
    return (pd.read_csv(out / "large-value-reports.csv", keep_default_na=False),
            (out / "large-value-reports.md").read_text(), said.out, said.err)


def test_adding_the_holidays_file_keeps_the_reports_of_days_scanned_before(tmp_path, monkeypatch, capsys):
    """The tester's repro (sweep A §4): a 60,000 cash deposit on Wednesday 6 January 2027
    scanned under the default (estimated 2027) calendar, the next day scanned with the
    holidays file the scan asked for: the draft of 4-8 January still lists its report, of
    the first configuration and on its calendar, and says two configurations speak for the
    range (before the fix: 0 reports, exit 0, no word)."""
    monkeypatch.setenv("FLOWGRAPH_KEY_FILE", str(tmp_path / "key"))
    write_bank(tmp_path, ["T1,2027-01-06 10:00:00,,C1,60000,CNY,cash", "T2,2027-01-07 10:00:00,A,B,100,CNY,transfer"])
    scan(tmp_path, "--as-of", "2027-01-06")
    scan(tmp_path, "--as-of", "2027-01-07", "--config", str(tmp_path / "official.toml"))
    estimated, official = config_hashes(tmp_path / "store.sqlite")
    reports, text, out, err = draft(capsys, tmp_path / "store.sqlite", tmp_path / "drafts", "--from", "2027-01-04",
                                    "--to", "2027-01-08", "--today", "2027-01-07")
    assert reports["txn_ids"].tolist() == ["T1"]  # before the fix: none
    assert reports[["txn_ids", "rule", "config_hash", "rule_set"]].values.tolist() == [
        ["T1", "LV-CASH", estimated, "PBOC-2016"]]
    # on the estimated calendar it was found on: 7, 8, 11, 12, 13 (the holidays file's 8th aside)
    assert reports[["deadline", "deadline_calendar", "business_days_left"]].values.tolist() == [
        ["2027-01-13", "estimated", 4]]
    assert f"large-value reports: 1 (0 overdue; of 2 configurations: {official} 0, {estimated} 1)" in out
    assert f"- {official} (rule set PBOC-2016): 0 report(s); the latest word on day 2027-01-07" in text
    assert f"- {estimated} (rule set PBOC-2016): 1 report(s); the latest word on day 2027-01-06" in text
    assert "thresholds" not in err + text  # one rule set: nothing to say of it


@pytest.fixture(scope="module")
def two_configurations(tmp_path_factory):
    """Cash deposits of 60,000-90,000 to five accounts on 5, 6, 7, 8 and 11 January 2027:
    5-8 January scanned under the estimated calendar; then, with the holidays file (8
    January a holiday), the 6th again and Monday the 11th, whose scan counts the 8th's
    deposit toward the 11th."""
    folder = tmp_path_factory.mktemp("two_configurations")
    mp = pytest.MonkeyPatch()
    mp.setenv("FLOWGRAPH_KEY_FILE", str(folder / "key"))
    try:
        write_bank(folder, ["T0,2027-01-05 10:00:00,,C0,60000,CNY,cash", "T1,2027-01-06 10:00:00,,C1,60000,CNY,cash",
                            "T3,2027-01-07 10:00:00,,C3,70000,CNY,cash", "T5,2027-01-08 10:00:00,,C5,80000,CNY,cash",
                            "T4,2027-01-11 10:00:00,,C4,90000,CNY,cash"])
        scan(folder, "--from", "2027-01-05", "--to", "2027-01-08")
        scan(folder, "--as-of", "2027-01-06", "--config", str(folder / "official.toml"))
        # a range of the 11th alone (a T+1 would scan the 7th too, never scanned under this configuration)
        scan(folder, "--from", "2027-01-11", "--to", "2027-01-11", "--config", str(folder / "official.toml"))
    finally:
        mp.undo()
    return folder


@pytest.fixture
def store_path(two_configurations, tmp_path, monkeypatch):
    monkeypatch.setenv("FLOWGRAPH_KEY_FILE", str(two_configurations / "key"))
    shutil.copy(two_configurations / "store.sqlite", tmp_path / "store.sqlite")
    shutil.copytree(two_configurations / "store.sqlite.cases", tmp_path / "store.sqlite.cases")
    return tmp_path / "store.sqlite"


def test_a_day_rescanned_by_the_new_configuration_is_listed_once_by_its_word(store_path):
    """Both configurations found the 6th's and the 8th's deposits (four hits in the store):
    each is listed once, the new configuration's (it rescanned the 6th; its scan of Monday
    the 11th counted the 8th, a holiday on its calendar, toward the 11th), deadlines on its
    calendar; the days only the first configuration scanned keep its reports."""
    estimated, official = config_hashes(store_path)
    store = Store(store_path, create=False)
    found = store.query("SELECT config_hash, txn_ids FROM hits WHERE typology LIKE 'large_value%'")
    twice = found.loc[found["txn_ids"].isin(['["T1"]', '["T5"]']), "config_hash"]
    assert sorted(twice) == sorted([estimated, official] * 2)
    reports = large_value_reports(store, "2027-01-04", "2027-01-08", today="2027-01-07")
    assert sorted(reports["txn_ids"]) == ["T0", "T1", "T3"]
    got = reports.set_index("txn_ids")[["business_day", "config_hash", "deadline", "deadline_calendar"]]
    assert got.to_dict("index") == {
        "T0": {"business_day": "2027-01-05", "config_hash": estimated, "deadline": "2027-01-12",
               "deadline_calendar": "estimated"},
        # the holidays file's 8 January is no business day: 7, 11, 12, 13, 14
        "T1": {"business_day": "2027-01-06", "config_hash": official, "deadline": "2027-01-14",
               "deadline_calendar": "official"},
        "T3": {"business_day": "2027-01-07", "config_hash": estimated, "deadline": "2027-01-14",
               "deadline_calendar": "estimated"}}
    # the 8th's deposit is the new configuration's, on its business day the 11th: in the
    # range of the 11th, once, and in no other
    later = large_value_reports(store, "2027-01-09", "2027-01-11", today="2027-01-07")
    assert later[["txn_ids", "business_day", "transaction_date", "config_hash", "deadline"]].values.tolist() == [
        ["T5", "2027-01-11", "2027-01-08", official, "2027-01-15"],
        ["T4", "2027-01-11", "2027-01-11", official, "2027-01-18"]]
    assert [a["config_hash"] for a in reports.attrs["configurations"]] == [official, estimated]
    assert [a["days"] for a in reports.attrs["configurations"]] == [
        [["2027-01-06", "2027-01-06"], ["2027-01-08", "2027-01-08"]],
        [["2027-01-05", "2027-01-05"], ["2027-01-07", "2027-01-07"]]]


def test_without_a_range_every_scanned_day_is_listed(store_path, tmp_path, capsys):
    """No --from/--to: every day any configuration scanned, each report once (five
    deposits, five reports), the summary line naming both configurations."""
    estimated, official = config_hashes(store_path)
    reports, text, out, _ = draft(capsys, store_path, tmp_path / "drafts", "--today", "2027-01-07")
    assert sorted(reports["txn_ids"]) == ["T0", "T1", "T3", "T4", "T5"]
    assert sorted(zip(reports["txn_ids"], reports["config_hash"])) == [
        ("T0", estimated), ("T1", official), ("T3", estimated), ("T4", official), ("T5", official)]
    assert f"large-value reports: 5 (0 overdue; of 2 configurations: {official} 3, {estimated} 2)" in out
    assert "| config_hash | rule_set |" in text and text.count(f"| {official} | PBOC-2016 |") == 3


def test_an_unfinished_run_speaks_for_the_days_it_committed(store_path):
    """Runs killed after committing their chunk (left 'running': the new configuration has
    no finished run) still have the latest word on their chunks' days: their hits there
    are stored, and falling back to the earlier configuration would list what the new one
    judged otherwise."""
    _, official = config_hashes(store_path)
    with sqlite3.connect(store_path) as conn:
        conn.execute("UPDATE runs SET status = 'running', finished_at = NULL WHERE config_hash = ?", (official,))
    reports = large_value_reports(Store(store_path, create=False), "2027-01-06", "2027-01-06", today="2027-01-07")
    assert reports["deadline"].tolist() == ["2027-01-14"]  # on the holidays file's calendar
    assert reports[["txn_ids", "config_hash"]].values.tolist() == [["T1", official]]


def test_day_owners_cover_the_days_rolled_onto_a_scan(store_path):
    """The scan of Monday 11 January on the holidays file's calendar speaks for Friday the
    8th (a holiday there) and the weekend: their transactions count toward the 11th."""
    estimated, official = config_hashes(store_path)
    owners = day_owners(Store(store_path, create=False))
    days = np.arange(np.datetime64("2027-01-04"), np.datetime64("2027-01-12"))
    named = [owners.configurations[k].config_hash if k >= 0 else None for k in owners.of(days)]
    # no scan spoke for Monday the 4th; the range scan of 5-8 January for the 5th to the 8th
    assert named == [None, estimated, official, estimated, official, official, official, official]


def test_rule_sets_with_other_thresholds_are_noted(tmp_path, monkeypatch, capsys):
    """5 January scanned under PBOC-2016 (cash from 50,000), the 6th under PBOC-2003 (cash
    from 200,000): the 5th's 60,000 deposit is reported, the 6th's is not under the rule
    set that judged its day, and the draft says that the range mixes thresholds, and the fix."""
    monkeypatch.setenv("FLOWGRAPH_KEY_FILE", str(tmp_path / "key"))
    write_bank(tmp_path, ["T0,2027-01-05 10:00:00,,C0,60000,CNY,cash", "T1,2027-01-06 10:00:00,,C1,60000,CNY,cash"])
    scan(tmp_path, "--as-of", "2027-01-05")
    scan(tmp_path, "--as-of", "2027-01-06", "--config", str(tmp_path / "pboc2003.toml"))
    pboc2016, pboc2003 = config_hashes(tmp_path / "store.sqlite")
    reports, text, out, err = draft(capsys, tmp_path / "store.sqlite", tmp_path / "drafts", "--today", "2027-01-07")
    assert reports["txn_ids"].tolist() == ["T0"]
    assert reports[["txn_ids", "config_hash", "rule_set"]].values.tolist() == [["T0", pboc2016, "PBOC-2016"]]
    assert f"of 2 configurations: {pboc2003} 0, {pboc2016} 1" in out
    note = ("the days of this range were judged by rule sets with different large-value thresholds: "
            f"PBOC-2003 (configuration {pboc2003}, day 2027-01-06); PBOC-2016 (configuration {pboc2016}, day "
            "2027-01-05)")
    assert err.startswith(f"note: {note}") and "Fix: to report every day by PBOC-2003, re-scan" in err
    assert "> Note: the days of this range were judged by rule sets with different large" in text


def test_a_calendar_that_cannot_be_rebuilt_stops_only_its_own_reports(tmp_path, monkeypatch, capsys):
    """The holidays file of the configuration that speaks for the 6th has moved: a draft
    with the 6th's report cannot count its deadline and says so, naming the configuration
    and the fix (exit 2, no traceback); a draft of the 5th only, the other configuration's,
    does not need that calendar."""
    monkeypatch.setenv("FLOWGRAPH_KEY_FILE", str(tmp_path / "key"))
    write_bank(tmp_path, ["T0,2027-01-05 10:00:00,,C0,60000,CNY,cash", "T1,2027-01-06 10:00:00,,C1,60000,CNY,cash"])
    scan(tmp_path, "--as-of", "2027-01-05")
    scan(tmp_path, "--as-of", "2027-01-06", "--config", str(tmp_path / "official.toml"))
    estimated, official = config_hashes(tmp_path / "store.sqlite")
    (tmp_path / "h2027.csv").rename(tmp_path / "moved.csv")
    capsys.readouterr()
    assert main(["report-draft", "--store", str(tmp_path / "store.sqlite"), "--out", str(tmp_path / "all"),
                 "--today", "2027-01-07"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: configuration {official} has the latest word on 1 large-value report(s) of the "
                          "range (from 2027-01-06)") and "does not exist" in err and "Fix: run report-draft" in err
    assert "Traceback" not in err and not (tmp_path / "all").exists()
    reports, _, _, _ = draft(capsys, tmp_path / "store.sqlite", tmp_path / "fifth", "--to", "2027-01-05",
                             "--today", "2027-01-07")
    assert reports[["txn_ids", "config_hash"]].values.tolist() == [["T0", estimated]]

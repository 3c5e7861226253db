"""The bank's time zone is a setting of the rule set (``RuleSet.bank_timezone``: Beijing
under the PBOC rule sets, New York under US-BSA; ``[calendar] bank_timezone`` overrides it):
a time stamp with a UTC offset is dated by the bank's clock there, in a file scanned, in a
transaction store, and in an STR draft's case decision. Found by a sweep: a US bank's
export with New York offsets was dated by Beijing time, so two cash deposits of one New
York business day made no CTR (31 CFR 1010.313(b)), a Friday-evening deposit was dated on
Saturday with its 15-day deadline (1010.306(a)(1)) a day late, and a case decided at 17:04
in New York was dated the next day (1020.320(b)(3))."""

import json

import numpy as np
import pandas as pd
import pytest

from flowgraph.cli import main
from flowgraph.config import RULE_SETS
from flowgraph.desk.large_value import large_value_reports
from flowgraph.desk.str_draft import decision_day, str_draft
from flowgraph.io import load_dataset
from flowgraph.scan_config import ScanConfig, load_config
from flowgraph.schema import validate_transactions
from flowgraph.store import Store
from flowgraph.txstore import TransactionStore

HEADER = "txn_id,timestamp,src_account,dst_account,amount,currency,channel\n"
#: A US bank's export with New York offsets (EST, -05:00): two cash deposits into N1 on
#: Monday 2 November 2026 (09:00 and 20:00 in New York; 20:00 is 09:00 on the 3rd in
#: Beijing) that sum to USD 10,000.01, the CTR's "more than $10,000"; one into N2 at 19:30
#: on Friday 6 November (Saturday 08:30 in Beijing).
NEW_YORK_ROWS = ("Z1,2026-11-02T09:00:00-05:00,,N1,6000.00,USD,cash\n"
                 "Z2,2026-11-02T20:00:00-05:00,,N1,4000.01,USD,cash\n"
                 "Z3,2026-11-06T19:30:00-05:00,,N2,12000.00,USD,cash\n")


@pytest.fixture
def us_files(tmp_path, monkeypatch):
    monkeypatch.setenv("FLOWGRAPH_KEY_FILE", str(tmp_path / "key"))
    data = tmp_path / "tx.csv"
    data.write_text(HEADER + NEW_YORK_ROWS)
    config = tmp_path / "bsa.toml"
    config.write_text('rule_set = "US-BSA"\n')
    return data, config


@pytest.fixture
def us_scan(us_files, tmp_path):
    data, config = us_files
    assert main(["scan", str(data), "--config", str(config), "--out", str(tmp_path / "run"), "--reveal-ids"]) == 0
    return tmp_path / "run"


def _large_value_hits(run) -> pd.DataFrame:
    hits = pd.read_parquet(run / "hits.parquet")
    hits = hits[hits["typology"].str.startswith("large_value")]
    return hits.assign(txn_ids=hits["txn_ids"].map(list)).sort_values("typology").reset_index(drop=True)


def test_us_bsa_dates_transactions_in_new_york(us_scan):
    """Under US-BSA the two deposits of 2 November in New York are one business day's and
    make one CTR of USD 10,000.01 (1010.313(b)); the Friday deposit is Friday's."""
    hits = _large_value_hits(us_scan)
    assert hits[["typology", "subject", "txn_ids"]].to_dict("records") == [
        {"typology": "large_value_daily", "subject": "N1", "txn_ids": ["Z1", "Z2"]},
        {"typology": "large_value_single", "subject": "N2", "txn_ids": ["Z3"]}]
    assert [str(d.date()) for d in hits["window_start"]] == ["2026-11-02", "2026-11-06"]
    assert hits["amount"].tolist() == [10_000.01, 12_000.00]
    manifest = json.loads((us_scan / "manifest.json").read_text())
    assert manifest["bank_timezone"] == "America/New_York"
    assert manifest["rule_set"]["bank_timezone"] == "America/New_York"


def test_us_ctr_is_dated_and_due_by_the_new_york_day(us_scan):
    """The Friday 19:30 deposit is a transaction of Friday 6 November, due 15 calendar days
    later on Saturday 21 November (1010.306(a)(1)); the daily sum of Monday 2 November is
    due on the 17th."""
    store = Store(us_scan / "store.sqlite", create=False)
    reports = large_value_reports(store, today="2026-11-20", reveal_ids=True).sort_values("customer")
    assert reports[["customer", "transaction_date", "deadline"]].astype(str).to_dict("records") == [
        {"customer": "N1", "transaction_date": "2026-11-02", "deadline": "2026-11-17"},
        {"customer": "N2", "transaction_date": "2026-11-06", "deadline": "2026-11-21"}]


def test_us_str_decision_is_dated_in_new_york(us_scan):
    """A case decided at 22:04 UTC on Saturday 5 December 2026 (17:04 in New York) was
    decided on the 5th under US-BSA: its SAR is due 30 calendar days later, on 4 January."""
    store = Store(us_scan / "store.sqlite", create=False)
    alert_id = store.query("SELECT alert_id FROM alerts ORDER BY score DESC, alert_id LIMIT 1")["alert_id"].iloc[0]
    store.dispose(alert_id, "case", "examiner", force=True)
    store.conn.execute("UPDATE dispositions SET decided_at = '2026-12-05T22:04:00+00:00'")
    deadline = str_draft(store, alert_id, reveal_ids=True)["deadline"]
    assert deadline["date"] == "2027-01-04" and "(2026-12-05)" in deadline["basis"]


def test_decision_day_is_the_date_in_the_zone_given():
    assert decision_day("2026-12-05T22:04:00+00:00", "America/New_York") == np.datetime64("2026-12-05")
    assert decision_day("2026-12-05T22:04:00+00:00", "Asia/Shanghai") == np.datetime64("2026-12-06")
    assert decision_day("2026-12-05T22:04:00", "Asia/Shanghai") == np.datetime64("2026-12-05")  # the bank's already


def _times(frame: pd.DataFrame, **options) -> list[str]:
    table = validate_transactions(frame, **options).table
    return [str(t) for t in table["timestamp"]]


def test_pboc_default_still_dates_in_beijing():
    """The PBOC rule sets keep Beijing time: 23:30 UTC is 07:30 the next day there, as
    before; under US-BSA's zone it is 19:30 the same day (EDT). Times without an offset are the
    bank's local time under either and are kept."""
    frame = pd.DataFrame({"txn_id": ["a", "b"], "timestamp": ["2024-09-12T23:30:00+00:00", "2024-09-12 23:30:00"],
                          "src_account": ["A", "A"], "dst_account": ["B", "B"], "amount": [1.0, 1.0]})
    assert all(rule_set.bank_timezone == "Asia/Shanghai" for name, rule_set in RULE_SETS.items()
               if name.startswith("PBOC"))
    assert ScanConfig().timezone() == "Asia/Shanghai"
    assert _times(frame) == ["2024-09-13 07:30:00", "2024-09-12 23:30:00"]
    assert _times(frame, bank_timezone=ScanConfig(rule_set="US-BSA").timezone()) == [
        "2024-09-12 19:30:00", "2024-09-12 23:30:00"]


def test_scan_configuration_overrides_the_rule_sets_zone(tmp_path):
    """A US bank in Chicago keeps US-BSA and sets its zone under [calendar]: 00:30 on 3
    November in New York is 23:30 on 2 November in Chicago. The override changes the
    configuration's hash; naming the rule set's own zone does not."""
    data = tmp_path / "tx.csv"
    data.write_text(HEADER + "C1,2026-11-03T00:30:00-05:00,,N1,6000.00,USD,cash\n")
    chicago = tmp_path / "chicago.toml"
    chicago.write_text('rule_set = "US-BSA"\n[calendar]\nbank_timezone = "America/Chicago"\n')
    config = load_config(chicago)
    assert config.timezone() == "America/Chicago"
    table = load_dataset(data, bank_timezone=config.timezone()).transactions.table
    assert str(table["timestamp"].iloc[0]) == "2026-11-02 23:30:00"
    same = ScanConfig(rule_set="US-BSA", bank_timezone="America/New_York")
    assert same.config_hash == ScanConfig(rule_set="US-BSA").config_hash != config.config_hash
    bad = tmp_path / "bad.toml"
    bad.write_text('rule_set = "US-BSA"\n[calendar]\nbank_timezone = "EST-ish"\n')
    with pytest.raises(Exception, match="bank_timezone.*IANA time-zone name.*EST-ish"):
        load_config(bad)


def test_store_records_its_zone_and_refuses_another(us_files, tmp_path, capsys):
    """A store keeps local times, not the offsets: one ingested under the PBOC default
    (Beijing) is refused by a US-BSA scan and a US-BSA ingest (exit 2, naming both zones and
    the fix) instead of mixing two zones' days; ingested under US-BSA, its scan finds the
    New York day's CTR."""
    data, config = us_files
    beijing = tmp_path / "beijing"
    assert main(["ingest", str(data), "--into", str(beijing)]) == 0
    assert TransactionStore.open(beijing).ingest_timezones() == {"Asia/Shanghai": ["000001"]}
    capsys.readouterr()
    assert main(["scan", str(beijing), "--config", str(config), "--out", str(tmp_path / "o1")]) == 2
    err = capsys.readouterr().err
    assert "Asia/Shanghai" in err and "America/New_York" in err and "US-BSA" in err
    assert "ingest the input again into a new store" in err and "Traceback" not in err
    assert main(["ingest", str(data), "--into", str(beijing), "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert "Asia/Shanghai" in err and "America/New_York" in err
    assert TransactionStore.open(beijing).ingest_timezones() == {"Asia/Shanghai": ["000001"]}  # nothing added

    new_york = tmp_path / "new_york"
    assert main(["ingest", str(data), "--into", str(new_york), "--config", str(config)]) == 0
    manifest = json.loads((new_york / "ingests" / "000001" / "manifest.json").read_text())
    assert manifest["bank_timezone"] == "America/New_York"
    run = tmp_path / "o2"
    assert main(["scan", str(new_york), "--config", str(config), "--out", str(run), "--reveal-ids"]) == 0
    hits = _large_value_hits(run)
    assert hits[["typology", "subject", "txn_ids"]].to_dict("records")[0] == {
        "typology": "large_value_daily", "subject": "N1", "txn_ids": ["Z1", "Z2"]}


def test_store_ingested_before_zones_were_recorded_is_beijing(us_files, tmp_path, capsys):
    """An ingest made before stores recorded their zone converted into Beijing time, the
    only zone flowgraph had: a US-BSA scan of it is refused too."""
    data, config = us_files
    store = tmp_path / "old"
    assert main(["ingest", str(data), "--into", str(store)]) == 0
    path = store / "ingests" / "000001" / "manifest.json"
    manifest = json.loads(path.read_text())
    del manifest["bank_timezone"]
    path.write_text(json.dumps(manifest))
    assert TransactionStore.open(store).ingest_timezones() == {"Asia/Shanghai": ["000001"]}
    capsys.readouterr()
    assert main(["scan", str(store), "--config", str(config), "--out", str(tmp_path / "o")]) == 2
    assert "Asia/Shanghai" in capsys.readouterr().err

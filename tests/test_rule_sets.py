"""Rule sets as configuration (issue 13): a TOML-defined rule set end to end, ``scale``
and overrides, a non-CNY home currency, the US federal calendar, the packaged US-BSA
example, and bad values failing with the TOML key."""

import dataclasses
import json
from decimal import ROUND_HALF_EVEN, Decimal

import numpy as np
import pandas as pd
import pytest

from flowgraph.cli import main
from flowgraph.config import PBOC_2016, RULE_SETS, get_rule_set
from flowgraph.detectors import FanParams
from flowgraph.errors import ConfigError, DataError
from flowgraph.hits import params_fingerprint
from flowgraph.money import default_rates, read_rates
from flowgraph.scan import run_scan
from flowgraph.scan_config import ScanConfig, load_config
from flowgraph.store import Store

COLUMNS = ["txn_id", "timestamp", "src_account", "dst_account", "amount", "currency", "channel"]

CUSTOM = """
[rule_set]
name = "ACME-CN"
description = "an institution's own thresholds (test)"
home_currency = "CNY"
calendar = "prc"
large_fraction = 0.9

[[rule_set.rules]]
code = "LV-CASH"
channels = ["cash"]
parties = "anyone"
threshold_home = 30_000
threshold_foreign = 4_000
source = "internal policy 7.1"

[[rule_set.rules]]
code = "LV-PERSON"
channels = ["transfer", "cross_border"]
parties = "any_person"
threshold_home = 100_000
threshold_foreign = 15_000
source = "internal policy 7.2"

[[rule_set.rules]]
code = "LV-ENTITY"
channels = ["transfer", "cross_border"]
parties = "both_entity"
threshold_home = 1_000_000
threshold_foreign = 150_000
source = "internal policy 7.3"
"""


@pytest.fixture(autouse=True)
def key_file(tmp_path, monkeypatch):
    monkeypatch.setenv("FLOWGRAPH_KEY_FILE", str(tmp_path / "keys" / "pseudonym.key"))


def _csv(tmp_path, rows, name="t.csv"):
    path = tmp_path / name
    pd.DataFrame(rows, columns=COLUMNS).to_csv(path, index=False)
    return path


def _toml(tmp_path, text, name="c.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_user_rule_set_from_toml_end_to_end(tmp_path, capsys):
    # cash deposits at the new CNY 30,000 threshold, a cent under it, and a personal transfer
    # at the new 100,000 (both far under PBOC-2016's 50,000 and 500,000)
    data = _csv(tmp_path, [("t1", "2024-09-24 10:00", "", "A", "30000.00", "CNY", "cash"),
                           ("t2", "2024-09-24 11:00", "", "B", "29999.99", "CNY", "cash"),
                           ("t3", "2024-09-25 10:00", "C", "D", "100000.00", "CNY", "transfer"),
                           ("t4", "2024-09-25 11:00", "", "E", "4000.00", "USD", "cash")])
    config = _toml(tmp_path, CUSTOM)
    assert main(["scan", str(data), "--out", str(tmp_path / "new"), "--config", str(config)]) == 0
    err = capsys.readouterr().err
    assert "rule set: ACME-CN (home currency CNY" in err and "calendar: PRC" in err
    assert "ILLUSTRATIVE" in err  # the packaged rate table, and the scan says so
    manifest = json.loads((tmp_path / "new" / "manifest.json").read_text())
    assert manifest["rule_set"]["name"] == "ACME-CN" and manifest["rates"]["illustrative"] is True
    hits = pd.read_parquet(tmp_path / "new" / "hits.parquet")
    single = hits[hits["typology"] == "large_value_single"]
    # t1 (LV-CASH), t3 (LV-PERSON: C's payment and D's receipt, every account its own customer
    # without an accounts file), t4 (USD 4,000 cash, foreign threshold)
    assert sorted(t for ids in single["txn_ids"] for t in ids) == ["t1", "t3", "t3", "t4"]
    assert single["subject"].nunique() == 4
    # the same data under PBOC-2016: nothing is large
    assert main(["scan", str(data), "--out", str(tmp_path / "old")]) == 0
    old = pd.read_parquet(tmp_path / "old" / "hits.parquet")
    assert not (old["typology"] == "large_value_single").any()
    assert json.loads((tmp_path / "old" / "manifest.json").read_text())["rule_set"]["name"] == "PBOC-2016"


def test_rule_set_file_and_a_changed_number_changes_the_config_hash(tmp_path):
    _toml(tmp_path, CUSTOM.replace("[rule_set]\n", "").replace("[[rule_set.rules]]", "[[rules]]"),
          "acme.toml")
    by_file = load_config(_toml(tmp_path, 'rule_set_file = "acme.toml"\n'))
    by_table = load_config(_toml(tmp_path, CUSTOM, "d.toml"))
    assert by_file.rules == by_table.rules and by_file.config_hash == by_table.config_hash
    assert by_file.detector_params["fan"].rule_set == by_file.rules
    changed = load_config(_toml(tmp_path, CUSTOM.replace("threshold_foreign = 15_000", "threshold_foreign = 15_001"),
                                "e.toml"))
    assert changed.config_hash != by_table.config_hash
    # the built-in names keep their hash (stored runs stay comparable)
    assert load_config(_toml(tmp_path, 'rule_set = "PBOC-2016"\n', "f.toml")).config_hash == ScanConfig().config_hash


def test_scale_and_overrides_of_a_built_in(tmp_path):
    config = load_config(_toml(tmp_path, """
[rule_set]
based_on = "PBOC-2016"
scale = 0.1
large_fraction = 0.7

[[rule_set.rules]]
code = "LV-PERSON-XB"
threshold_home = 12_345.67
source = "test override"
"""))
    rules = config.rules
    assert rules.name == "PBOC-2016x0.1" and rules.large_fraction == 0.7
    assert rules.rule("LV-CASH").threshold_home == pytest.approx(5_000) and \
        rules.rule("LV-CASH").threshold_foreign == pytest.approx(1_000)
    # an override is an exact number (not scaled); the fields it leaves out keep the scaled base
    assert rules.rule("LV-PERSON-XB").threshold_home == 12_345.67
    assert rules.rule("LV-PERSON-XB").threshold_foreign == pytest.approx(1_000)
    assert rules.rule("LV-PERSON-XB").channels == ("cross_border",)
    assert load_config(_toml(tmp_path, '[rule_set]\nbased_on = "PBOC-2016"\nscale = 0.2\n', "g.toml")).config_hash \
        != config.config_hash
    # a CNY 5,000.00 cash deposit meets the scaled threshold, 4,999.99 does not
    rows = [("t1", "2024-09-24 10:00", "", "A", "5000.00", "CNY", "cash"),
            ("t2", "2024-09-24 11:00", "", "B", "4999.99", "CNY", "cash")]
    result = run_scan(_csv(tmp_path, rows), tmp_path / "out", config, progress=False)
    single = result.hits[result.hits["typology"] == "large_value_single"]
    assert single["txn_ids"].map(list).tolist() == [["t1"]]


def test_us_bsa_usd_home_currency(tmp_path):
    us = get_rule_set("US-BSA")
    assert (us.home_currency, us.foreign_currency, us.calendar) == ("USD", "USD", "us_federal")
    assert all(r.source for r in us.rules)
    # 31 CFR 1010.311: currency "of more than $10,000" -- at or above 10,000.01 in cents
    rows = [("t1", "2026-03-03 10:00", "", "A", "10000.01", "USD", "cash"),
            ("t2", "2026-03-03 10:05", "", "B", "10000.00", "USD", "cash"),
            ("t3", "2026-03-03 10:10", "", "C", "9999.99", "USD", "cash"),
            # EUR 9,300 at the packaged 1.0834 USD/EUR is USD 10,075.62: over the CTR threshold
            ("t4", "2026-03-03 10:15", "", "D", "9300.00", "EUR", "cash"),
            # funds transfers of USD 3,000 or more (31 CFR 1020.410(a))
            ("t5", "2026-03-04 10:00", "E", "F", "3000.00", "USD", "transfer"),
            ("t6", "2026-03-04 10:05", "G", "H", "2999.99", "USD", "transfer")]
    result = run_scan(_csv(tmp_path, rows), tmp_path / "out", ScanConfig(rule_set="US-BSA"), progress=False)
    single = result.hits[result.hits["typology"] == "large_value_single"]
    # t5 twice: E's transfer out and F's in (every account its own customer without an accounts file)
    assert sorted(t for ids in single["txn_ids"] for t in ids) == ["t1", "t4", "t5", "t5"]
    assert result.manifest["rule_set"]["home_currency"] == "USD"
    assert json.loads(result.manifest["calendar"])["name"] == "US-federal"


# a bank export without a currency column: its amounts are in the rule set's home currency
NO_CURRENCY = [("t1", "2026-03-03 10:00", "", "A", "10000.01", "cash"),    # CTR: more than USD 10,000
               ("t2", "2026-03-03 10:05", "", "B", "10000.00", "cash"),    # not more than 10,000
               ("t3", "2026-03-03 10:10", "", "C", "9999.99", "cash"),
               ("t4", "2026-03-04 10:00", "E", "F", "3000.00", "transfer"),  # funds transfer of 3,000
               ("t5", "2026-03-04 10:05", "G", "H", "2999.99", "transfer")]


def _no_currency_csv(tmp_path):
    path = tmp_path / "no_currency.csv"
    pd.DataFrame(NO_CURRENCY, columns=[c for c in COLUMNS if c != "currency"]).to_csv(path, index=False)
    return path


def _single_hit_txns(hits):
    return sorted(t for ids in hits.loc[hits["typology"] == "large_value_single", "txn_ids"] for t in ids)


def test_amounts_without_a_currency_column_are_in_the_home_currency(tmp_path, capsys):
    """Read as CNY (the old default), USD 10,000.01 would be about USD 1,380 and nothing
    would be hit; read as USD, the CTR and funds-transfer thresholds fall where US-BSA puts them."""
    data = _no_currency_csv(tmp_path)
    config = _toml(tmp_path, 'rule_set = "US-BSA"\n')
    assert main(["scan", str(data), "--out", str(tmp_path / "cli"), "--config", str(config)]) == 0
    captured = capsys.readouterr()
    assert "no currency column: amounts read as USD, the rule set's home currency (US-BSA)" in captured.err
    # t4 twice: E's transfer out and F's in (every account its own customer without an accounts file)
    assert _single_hit_txns(pd.read_parquet(tmp_path / "cli" / "hits.parquet")) == ["t1", "t4", "t4"]
    report = json.loads((tmp_path / "cli" / "validation.json").read_text())["transactions"]
    assert report["assumed_currency"] == "USD"
    assert any("amounts read as USD, the rule set's home currency" in n for n in report["notes"])

    result = run_scan(data, tmp_path / "api", ScanConfig(rule_set="US-BSA"), progress=False)
    assert _single_hit_txns(result.hits) == ["t1", "t4", "t4"]

    assert main(["ingest", str(data), "--out", str(tmp_path / "ingested"), "--config", str(config)]) == 0
    assert "amounts read as USD" in capsys.readouterr().err
    table = pd.read_parquet(tmp_path / "ingested" / "transactions.parquet")
    assert set(table["currency"]) == {"USD"}
    assert table["amount_usd"].tolist() == [10000.01, 10000.00, 9999.99, 3000.00, 2999.99]
    # no configuration: the PBOC rule sets' CNY, as before
    assert main(["ingest", str(data), "--out", str(tmp_path / "cny")]) == 0
    assert "amounts read as CNY" in capsys.readouterr().err
    assert set(pd.read_parquet(tmp_path / "cny" / "transactions.parquet")["currency"]) == {"CNY"}


def test_a_home_currency_outside_the_rate_columns_converts_through_cny():
    rates = default_rates()
    table = pd.DataFrame({"timestamp": pd.to_datetime(["2025-01-02", "2025-01-02", "2025-01-02"]),
                          "currency": ["USD", "EUR", "GBP"], "amount": [1083.40, 1000.00, 500.00],
                          "amount_cny": [0.0] * 3, "amount_usd": [0.0] * 3})
    got = rates.amounts_in(table, "EUR")
    cny = {"USD": Decimal("7.2460"), "EUR": Decimal("7.8500"), "GBP": Decimal("9.2100")}
    want = [float((Decimal(str(a)) * (cny[c] / cny["EUR"])).quantize(Decimal("0.01"), ROUND_HALF_EVEN))
            for c, a in zip(table["currency"], table["amount"])]
    assert got.tolist() == want and got[1] == 1000.00
    with pytest.raises(DataError, match=r"no XYZ rate on or before 2025-01-02.*Fix: add XYZ rows"):
        rates.amounts_in(table, "XYZ")


def test_us_federal_calendar():
    calendar = ScanConfig(rule_set="US-BSA").calendar()
    assert not calendar.is_business_day("2026-11-11")  # Veterans Day: the Reserve Banks close
    assert not calendar.is_business_day("2027-11-25")  # Thanksgiving 2027
    assert not calendar.is_business_day("2027-01-18")  # Martin Luther King Jr. Day 2027
    assert calendar.is_business_day("2026-04-03")      # Good Friday: banks open (NYSE closed)
    # Independence Day 2026 falls on a Saturday: the Reserve Banks open on Friday the 3rd
    assert calendar.is_business_day("2026-07-03")
    assert str(calendar.next_business_day("2026-11-11")) == "2026-11-12"
    # 2027: 261 weekdays less 9 weekday closures (Jan 1, 18, Feb 15, May 31, Jul 5 for the Sunday
    # Independence Day, Sep 6, Oct 11, Nov 11, 25); Juneteenth and Christmas fall on Saturdays
    assert calendar.is_business_day("2027-06-18") and not calendar.is_business_day("2027-07-05")
    assert len(calendar.business_days("2027-01-01", "2027-12-31")) == 252
    assert calendar.coverage_note("2027-01-01", "2027-12-31") is None  # computed, never estimated
    weekdays = ScanConfig(rule_set=dataclasses.replace(RULE_SETS["US-BSA"], name="W", calendar="weekdays")).calendar()
    assert weekdays.is_business_day("2026-11-11")


def test_simulate_and_ingest_use_the_configuration_calendar(tmp_path):
    """Independence Day 2024 (Thursday 4 July) is a business day in the PRC calendar and not
    in US-BSA's: with --config, simulate plants no business-day activity on it (cash only
    moves on business days; card payments still do, as on weekends) and ingest counts it
    toward the next business day."""
    config = _toml(tmp_path, 'rule_set = "US-BSA"\n')
    cash_days = {}
    for name, extra in (("prc", []), ("us", ["--config", str(config)])):
        assert main(["simulate", "--seed", "1", "--customers", "1000", "--days", "10", "--start", "2024-07-01",
                     "--out", str(tmp_path / name), *extra]) == 0
        table = pd.read_parquet(tmp_path / name / "transactions.parquet", columns=["timestamp", "channel"])
        cash_days[name] = set(table.loc[table["channel"] == "cash", "timestamp"].dt.strftime("%Y-%m-%d"))
    assert "2024-07-04" in cash_days["prc"] and "2024-07-04" not in cash_days["us"]
    assert max(cash_days["prc"]) == "2024-07-12" and max(cash_days["us"]) == "2024-07-15"  # 10 business days
    # streamed into a store, the same bank on the same calendar (recorded with the ground truth)
    assert main(["simulate", "--seed", "1", "--customers", "1000", "--days", "10", "--start", "2024-07-01",
                 "--into", str(tmp_path / "store"), "--config", str(config)]) == 0
    assert json.loads((tmp_path / "store" / "simulation" / "params.json").read_text())["calendar"] == "US-federal"
    stored = pd.read_parquet(tmp_path / "store" / "transactions")
    assert "2024-07-04" not in set(stored.loc[stored["channel"] == "cash", "timestamp"].dt.strftime("%Y-%m-%d"))

    rows = [("t1", "2024-07-03 10:00", "A", "B", "100.00", "transfer"),
            ("t2", "2024-07-04 10:00", "A", "B", "100.00", "transfer"),
            ("t3", "2024-07-05 10:00", "A", "B", "100.00", "transfer")]
    data = tmp_path / "july.csv"
    pd.DataFrame(rows, columns=[c for c in COLUMNS if c != "currency"]).to_csv(data, index=False)
    for name, extra, days, calendar in (("prc", [], 3, "PRC"), ("us", ["--config", str(config)], 2, "US-federal")):
        assert main(["ingest", str(data), "--out", str(tmp_path / f"ingest_{name}"), *extra]) == 0
        summary = json.loads((tmp_path / f"ingest_{name}" / "graph_summary.json").read_text())
        assert (summary["business_days"], summary["calendar"]) == (days, calendar)
        assert summary["last_business_day"] == "2024-07-05"


@pytest.mark.parametrize("text, message", [
    ('[rule_set]\nbased_on = "PBOC-2016"\nscale = 0\n', r"\[rule_set\]\.scale: must be a number in the range \(0, inf\)"),
    ('[rule_set]\nbased_on = "FATF"\n', r"\[rule_set\]\.based_on: must be a built-in rule set among \["),
    ('[rule_set]\nbased_on = "PBOC-2016"\nhome_currency = "usd1"\nname = "X"\n',
     r"\[rule_set\]\.home_currency: The 'home_currency' parameter of RuleSet must be an ISO 4217 code"),
    ('[rule_set]\nbased_on = "PBOC-2016"\ncalendar = "mars"\nname = "X"\n', r"\[rule_set\]\.calendar: .*Got 'mars'"),
    ('[rule_set]\nbased_on = "PBOC-2016"\nlarge_fraction = 1.5\nname = "X"\n', r"\[rule_set\]\.large_fraction"),
    ('[rule_set]\nbased_on = "PBOC-2016"\nlarge_fraction = 0.5\n',
     r"\[rule_set\]\.name: 'PBOC-2016' is a built-in rule set, and yours differs"),
    ('[rule_set]\nbased_on = "PBOC-2016"\nthreshold = 5\n', r"\[rule_set\]: unknown key\(s\) \['threshold'\]"),
    ('[rule_set]\nname = "X"\n', r"\[rule_set\]: a rule set defined from scratch needs \['rules'\]"),
    ('[rule_set]\nbased_on = "PBOC-2016"\nname = "X"\n[[rule_set.rules]]\ncode = "LV-CASH"\nthreshold_home = -5\n',
     r"\[rule_set\]\.rules\[0\]\.threshold_home: .*range \(0, 1e\+13\]\. Got -5 instead"),
    ('[rule_set]\nbased_on = "PBOC-2016"\nname = "X"\n[[rule_set.rules]]\ncode = "LV-CASH"\nthreshold_home = 1e14\n',
     r"rules\[0\]\.threshold_home: .*Got 100000000000000.0 instead"),
    ('[rule_set]\nbased_on = "PBOC-2016"\nscale = 1e8\n', r"\[rule_set\]\.scale: 100000000.0 takes a threshold out of range"),
    ('[rule_set]\nbased_on = "PBOC-2016"\nname = "X"\n[[rule_set.rules]]\ncode = "LV-CASH"\n[[rule_set.rules]]\n'
     'code = "LV-CASH"\n', r"rules\[1\]\.code: 'LV-CASH' is given twice"),
    ('[rule_set]\nbased_on = "US-BSA"\nname = "NZ"\nhome_currency = "NZD"\n',
     r"rule_set home_currency: the rate table .* has no NZD rates"),
    ('[rule_set]\nbased_on = "PBOC-2016"\nname = "X"\n[[rule_set.rules]]\ncode = "LV-CASH"\nthreshold_home = nan\n',
     r"rules\[0\]\.threshold_home: .*Got nan instead"),
    ('[rule_set]\nbased_on = "PBOC-2016"\nname = "X"\n[[rule_set.rules]]\ncode = "LV-CASH"\nchannels = "cash"\n',
     r"rules\[0\]\.channels: must be an array"),
    ('[rule_set]\nbased_on = "PBOC-2016"\nname = "X"\n[[rule_set.rules]]\ncode = "LV-NEW"\nthreshold_home = 5\n',
     r"rules\[0\]: rule 'LV-NEW' lacks \['channels', 'parties', 'threshold_foreign', 'source'\]"),
    (CUSTOM.replace('code = "LV-ENTITY"', 'code = "LV-ORG"'), r"lacks the rule\(s\) \['LV-ENTITY'\]"),
    ('rule_set = "US-BSA"\nrule_set_file = "x.toml"\n', r"both rule_set and rule_set_file"),
    ('rule_set_file = "missing.toml"\n', r"rule_set_file '.*missing.toml': not found"),
    ('rule_set = "US-BSA"\n[calendar]\nholidays_file = "h.csv"\n', r"holidays_file: is for the PRC calendar"),
    ('rates = "no-rates.csv"\n', r"rates .*no-rates.csv.: cannot be read \(No such file or directory\)"),
    ('[rule_set]\nbased_on = "PBOC-2016"\nname = "X"\nreport_deadline_days = 10\n',
     r"\[rule_set\]\.report_deadline_source: a rule set that sets its report deadline must cite"),
    ('[rule_set]\nbased_on = "PBOC-2016"\nname = "X"\nreport_deadline_unit = "weeks"\nreport_deadline_source = "s"\n',
     r"\[rule_set\]\.report_deadline_unit: .*among \['business', 'calendar'\]\. Got 'weeks' instead"),
    ('[rule_set]\nbased_on = "PBOC-2016"\nname = "X"\nreport_deadline_days = 0\nreport_deadline_source = "s"\n',
     r"\[rule_set\]\.report_deadline_days: .*must be an int in the range \[1, inf\)\. Got 0 instead"),
    ('[rule_set]\nbased_on = "PBOC-2016"\nname = "X"\n[[rule_set.rules]]\ncode = "LV-CASH"\nrecord_only = "yes"\n',
     r"rules\[0\]\.record_only: The 'record_only' parameter of LargeValueRule 'LV-CASH' must be a bool"),
])
def test_bad_rule_set_values_name_the_key(tmp_path, text, message):
    with pytest.raises(ConfigError, match=message):
        load_config(_toml(tmp_path, text))


def test_a_rule_set_file_with_a_table_header_says_how_to_write_it(tmp_path):
    _toml(tmp_path, '[rule_set]\nbased_on = "US-BSA"\n', "mine.toml")
    with pytest.raises(ConfigError, match=r"mine.toml': has a \[rule_set\] table. Fix: write the rule set's keys"):
        load_config(_toml(tmp_path, 'rule_set_file = "mine.toml"\n'))


def test_bad_rule_set_exits_2_naming_the_key(tmp_path, capsys):
    data = _csv(tmp_path, [("t1", "2024-09-24 10:00", "", "A", "1.00", "CNY", "cash")])
    bad = _toml(tmp_path, '[rule_set]\nbased_on = "PBOC-2016"\nscale = -1\n')
    assert main(["scan", str(data), "--out", str(tmp_path / "o"), "--config", str(bad)]) == 2
    assert "[rule_set].scale" in capsys.readouterr().err


def test_rates_from_the_configuration_are_used_and_recorded(tmp_path):
    (tmp_path / "rates.csv").write_text("date,currency,cny_per_unit,usd_per_unit\n"
                                        "2020-01-01,CNY,1.0,0.125\n2020-01-01,USD,8.0,1.0\n")
    config = load_config(_toml(tmp_path, 'rates = "rates.csv"\n'))
    assert config.rates().illustrative is False and config.config_hash != ScanConfig().config_hash
    # USD 6,250 at 8 CNY/USD is CNY 50,000: LV-CASH under PBOC-2016, but foreign-currency cash
    # compares its USD amount (6,250 < 10,000): no hit; CNY 50,000 hits
    rows = [("t1", "2024-09-24 10:00", "", "A", "6250.00", "USD", "cash"),
            ("t2", "2024-09-24 11:00", "", "B", "50000.00", "CNY", "cash")]
    result = run_scan(_csv(tmp_path, rows), tmp_path / "out", config, progress=False)
    assert result.manifest["rates"]["source"].endswith("rates.csv")
    assert result.manifest["rates"]["illustrative"] is False
    single = result.hits[result.hits["typology"] == "large_value_single"]
    assert [list(ids) for ids in single["txn_ids"]] == [["t2"]]
    assert read_rates(tmp_path / "rates.csv").currencies == {"CNY", "USD"}


def test_pboc_numbers_unchanged():
    assert {r.code: (r.threshold_home, r.threshold_foreign) for r in PBOC_2016.rules} == {
        "LV-CASH": (50_000, 10_000), "LV-ENTITY": (2_000_000, 200_000),
        "LV-PERSON": (500_000, 100_000), "LV-PERSON-XB": (200_000, 10_000)}
    assert (PBOC_2016.home_currency, PBOC_2016.foreign_currency, PBOC_2016.calendar) == ("CNY", "USD", "prc")
    assert np.isclose(get_rule_set("PBOC-2003").rule("LV-CASH").threshold_home, 200_000)


# -- the configuration hash is of the effective configuration, not of its spelling --------
#: ``ScanConfig().config_hash`` as run stores hold it. Stores key hits and alerts (and so
#: analysts' decisions) by it: a change re-keys every store on its next scan. Change this
#: value only with a default you meant to change.
DEFAULT_CONFIG_HASH = "f38f484efa35"


def test_the_default_configuration_keeps_its_stored_hash():
    assert ScanConfig().config_hash == DEFAULT_CONFIG_HASH


@pytest.mark.parametrize("name", ["PBOC-2016", "PBOC-2003", "US-BSA"])
def test_based_on_a_built_in_without_overrides_is_that_built_in(tmp_path, name):
    derived = load_config(_toml(tmp_path, f'[rule_set]\nbased_on = "{name}"\n'))
    by_name = ScanConfig(rule_set=name)
    assert derived.config_hash == by_name.config_hash
    assert derived.rule_set == name and derived.to_dict() == by_name.to_dict()
    # the parameter ids in hit ids too
    assert all(params_fingerprint(derived.detector_params[d]) == params_fingerprint(by_name.detector_params[d])
               for d in by_name.detector_params)


def test_a_rule_set_object_equal_to_a_built_in_is_that_built_in():
    assert ScanConfig(rule_set=PBOC_2016).config_hash == DEFAULT_CONFIG_HASH
    same = ScanConfig(rule_set=dataclasses.replace(PBOC_2016, description="my copy"),
                      detector_params={"fan": FanParams(rule_set=PBOC_2016, window_days=7)})
    assert same.rule_set == "PBOC-2016" and same.detector_params["fan"].rule_set == "PBOC-2016"
    assert same.config_hash == ScanConfig(detector_params={"fan": {"window_days": 7}}).config_hash


def test_overrides_equal_to_the_base_keep_the_hash_and_a_changed_number_changes_it(tmp_path):
    base = '[rule_set]\nbased_on = "PBOC-2016"\n'
    same = (base + "large_fraction = 0.8\nshort_term_days = 10\n"
            '[[rule_set.rules]]\ncode = "LV-CASH"\nthreshold_home = 50_000\nthreshold_foreign = 10000.0\n'
            '[detectors.pass_through]\ntolerance = 0.05\n[model]\nalert_threshold = 1.1\n')
    assert load_config(_toml(tmp_path, same)).config_hash == DEFAULT_CONFIG_HASH
    # a changed number needs a name of its own (a built-in's name with other numbers is refused)
    mine = base + 'name = "MINE"\n'
    assert load_config(_toml(tmp_path, mine)).config_hash != DEFAULT_CONFIG_HASH  # hits record the name
    changed = {"a threshold": mine + '[[rule_set.rules]]\ncode = "LV-CASH"\nthreshold_home = 50_001\n',
               "a vocabulary number": mine + "large_fraction = 0.75\n",
               "scale": mine + "scale = 2\n",
               "a detector's parameter": base + "[detectors.pass_through]\ntolerance = 0.06\n",
               "the model": base + "[model]\nalert_threshold = 1.2\n",
               "the calendar": base + '[calendar]\nextra_holidays = ["2024-10-09"]\n'}
    hashes = {what: load_config(_toml(tmp_path, text)).config_hash for what, text in changed.items()}
    hashes["unchanged, named"] = load_config(_toml(tmp_path, mine)).config_hash
    assert DEFAULT_CONFIG_HASH not in hashes.values() and len(set(hashes.values())) == len(hashes), hashes


def test_calendar_dates_hash_as_a_set(tmp_path):
    listed = load_config(_toml(tmp_path, '[calendar]\nextra_holidays = ["2024-10-08", "2024-10-09"]\n'))
    reordered = load_config(_toml(tmp_path, '[calendar]\nextra_holidays = ["2024-10-09", 2024-10-08, "2024-10-09"]\n'))
    assert reordered.extra_holidays == ("2024-10-08", "2024-10-09")
    assert reordered.config_hash == listed.config_hash != DEFAULT_CONFIG_HASH


def test_scanning_again_with_based_on_adds_no_hits_to_the_store(tmp_path):
    data = _csv(tmp_path, [("c1", "2024-09-24 10:00", "", "A", "50000.00", "CNY", "cash"),
                           ("c2", "2024-09-25 10:00", "", "A", "49000.00", "CNY", "cash"),
                           ("c3", "2024-09-26 10:00", "", "A", "48000.00", "CNY", "cash"),
                           ("p1", "2024-09-25 11:00", "C", "D", "500000.00", "CNY", "transfer")])
    out = tmp_path / "same"
    assert main(["scan", str(data), "--out", str(out)]) == 0
    store = Store(out / "store.sqlite")
    before = store.query("SELECT config_hash, hit_id FROM hits ORDER BY hit_id")
    alerts_before = store.query("SELECT alert_id FROM alerts ORDER BY alert_id")
    store.close()
    assert len(before) >= 2 and len(alerts_before) >= 1 and set(before["config_hash"]) == {DEFAULT_CONFIG_HASH}
    config = _toml(tmp_path, '[rule_set]\nbased_on = "PBOC-2016"\n', "base.toml")
    assert main(["scan", str(data), "--out", str(out), "--config", str(config)]) == 0
    after = Store(out / "store.sqlite")
    assert after.query("SELECT config_hash, hit_id FROM hits ORDER BY hit_id").equals(before)
    assert after.query("SELECT alert_id FROM alerts ORDER BY alert_id").equals(alerts_before)
    assert set(after.query("SELECT config_hash FROM runs")["config_hash"]) == {DEFAULT_CONFIG_HASH}
    after.close()


def test_report_deadline_and_record_only_rules(tmp_path):
    """The shipped US-BSA: CTRs due 15 calendar days after the transaction (31 CFR
    1010.306(a)(1)), the funds-transfer rules record-only (31 CFR 1020.410(a)); a rule set
    derived from it keeps both unless it says otherwise, with its own source."""
    us = get_rule_set("US-BSA")
    assert (us.report_deadline_days, us.report_deadline_unit, us.report_deadline_source) == (
        15, "calendar", "31 CFR 1010.306(a)(1)")
    assert {r.code: r.record_only for r in us.rules} == {"LV-CASH": False, "LV-PERSON": True, "LV-ENTITY": True}
    derived = load_config(_toml(tmp_path, '[rule_set]\nbased_on = "US-BSA"\nname = "US-X"\n')).rules
    assert (derived.report_deadline_days, derived.report_deadline_unit) == (15, "calendar")
    assert [r.code for r in derived.rules if r.record_only] == ["LV-PERSON", "LV-ENTITY"]
    own = load_config(_toml(tmp_path, '[rule_set]\nbased_on = "US-BSA"\nname = "US-Y"\nreport_deadline_days = 10\n'
                                      'report_deadline_source = "bank policy 4.2"\n[[rule_set.rules]]\n'
                                      'code = "LV-PERSON"\nrecord_only = false\n')).rules
    assert (own.report_deadline_days, own.report_deadline_unit, own.report_deadline_source) == (
        10, "calendar", "bank policy 4.2")
    assert [r.code for r in own.rules if r.record_only] == ["LV-ENTITY"]
    # a rule set from scratch without them: 003's 5 business days, every rule reported
    custom = load_config(_toml(tmp_path, CUSTOM)).rules
    assert (custom.report_deadline_days, custom.report_deadline_unit) == (5, "business")
    assert not any(r.record_only for r in custom.rules)


def test_a_run_recorded_before_rule_sets_had_deadlines_reads_as_003(tmp_path):
    """A store written before rule sets carried a deadline recorded a user-defined rule set
    without those keys: it reads back with the PBOC default, as it was drafted then; a
    built-in recorded by name reads as the built-in is now."""
    from flowgraph.desk.evidence import run_rule_set

    # at their defaults the keys are left out of what a run records (RuleSet.to_dict), as
    # before they existed: the rule set's hash, hit ids and alert ids stay as they were
    recorded = load_config(_toml(tmp_path, CUSTOM)).rules.to_dict()
    assert not {"report_deadline_days", "report_deadline_unit", "report_deadline_source"} & set(recorded)
    assert not any("record_only" in rule for rule in recorded["rules"])
    old = run_rule_set({"rule_set": recorded})
    assert (old.name, old.report_deadline_days, old.report_deadline_unit) == ("ACME-CN", 5, "business")
    assert not any(r.record_only for r in old.rules)
    assert run_rule_set({"rule_set": "US-BSA"}).report_deadline_unit == "calendar"


def test_a_user_defined_rule_set_keeps_the_hash_it_had_before_rule_sets_had_deadlines(tmp_path):
    """Fields added to rule sets later (the report deadline, record_only) enter neither the
    configuration hash nor the detectors' parameter ids at their defaults: a store scanned
    with a scaled PBOC rule set keeps its hit and alert ids (the hash as session 28 made it)."""
    config = load_config(_toml(tmp_path, '[rule_set]\nbased_on = "PBOC-2016"\nscale = 0.01\n'))
    assert config.config_hash == "dfd6fa5c59ab"

import dataclasses

import pandas as pd
import pytest

from flowgraph import build_graph, validate_accounts, validate_transactions
from flowgraph.alerts import DEFAULT_WEIGHTS, ModelConfig
from flowgraph.config import PBOC_2003, PBOC_2016, RULE_SETS, LargeValueRule, RuleSet, get_rule_set
from flowgraph.detectors import REGISTRY, FanParams, PassThroughParams, StructuringParams
from flowgraph.errors import ConfigError
from flowgraph.scan import scan_hits
from flowgraph.scan_config import ScanConfig, load_config


def test_2016_thresholds_match_spec_section_2():
    expected = {"LV-CASH": (50_000, 10_000), "LV-ENTITY": (2_000_000, 200_000),
                "LV-PERSON": (500_000, 100_000), "LV-PERSON-XB": (200_000, 10_000)}
    got = {r.code: (r.threshold_home, r.threshold_foreign) for r in PBOC_2016.rules}
    assert got == expected
    assert all(r.source for r in PBOC_2016.rules)
    assert (PBOC_2016.large_fraction, PBOC_2016.short_term_days, PBOC_2016.frequent_txns_per_day,
            PBOC_2016.frequent_consecutive_days) == (0.8, 10, 3, 3)


def test_2003_rule_set_is_selectable():
    assert get_rule_set("PBOC-2003") is PBOC_2003
    assert PBOC_2003.rule("LV-ENTITY").threshold_home == 1_000_000
    assert PBOC_2003.rule("LV-CASH").threshold_home == 200_000
    assert set(RULE_SETS) == {"PBOC-2016", "PBOC-2003", "US-BSA"}
    with pytest.raises(ConfigError, match=r"unknown rule set 'FATF-1990'; known: \['PBOC-2003', 'PBOC-2016', 'US-BSA'\]"):
        get_rule_set("FATF-1990")


def test_scaled_rule_set_for_small_amount_data():
    small = PBOC_2016.scaled(0.001)
    assert small.rule("LV-CASH").threshold_home == pytest.approx(50.0)
    assert small.name == "PBOC-2016x0.001"


@pytest.mark.parametrize("kwargs, message", [
    ({"channels": ("wire",)}, "'channels' parameter of LargeValueRule"),
    ({"parties": "everyone"}, "'parties' parameter"),
    ({"threshold_home": 0.0}, r"'threshold_home' parameter of LargeValueRule 'X' must be a float in the range \(0, 1e\+13\]. Got 0.0 instead."),
])
def test_bad_rule_names_parameter_range_and_value(kwargs, message):
    base = dict(code="X", channels=("cash",), parties="anyone", threshold_home=1.0, threshold_foreign=1.0, source="s")
    with pytest.raises(ValueError, match=message):
        LargeValueRule(**{**base, **kwargs})


def test_bad_rule_set_parameters():
    with pytest.raises(ValueError, match=r"'short_term_days' parameter of RuleSet must be an int in the range \[1, inf\). Got 0 instead."):
        RuleSet("x", PBOC_2016.rules, short_term_days=0)
    with pytest.raises(ValueError, match="repeated rule codes"):
        RuleSet("x", PBOC_2016.rules + PBOC_2016.rules[:1])


# -- ScanConfig: one validation path for Python and TOML ---------------------------------------

def _toml(tmp_path, text):
    path = tmp_path / "c.toml"
    path.write_text(text)
    return load_config(path)


def test_rule_set_reaches_every_detector_from_python_and_toml(tmp_path):
    from_python = ScanConfig(rule_set="PBOC-2003")
    from_toml = _toml(tmp_path, 'rule_set = "PBOC-2003"\n')
    assert {name: p.rule_set for name, p in from_python.detector_params.items()} == \
        {name: "PBOC-2003" for name in REGISTRY}
    assert from_toml == from_python and from_toml.config_hash == from_python.config_hash
    assert from_python.config_hash != ScanConfig().config_hash


def test_rule_set_changes_what_a_scan_finds():
    # a 300,000 CNY personal transfer: reportable under 2003 (200,000), not under 2016 (500,000)
    rows = pd.DataFrame([("t1", "2024-09-24 10:00:00", "A", "B", "300000.00", "CNY", "transfer")],
                        columns=["txn_id", "timestamp", "src_account", "dst_account", "amount", "currency",
                                 "channel"], dtype=str)
    accounts = pd.DataFrame([("A", "c-A", "person"), ("B", "c-B", "person")],
                            columns=["account_id", "customer_id", "party_type"])
    graph = build_graph(validate_transactions(rows, "t.csv").table, validate_accounts(accounts).table)
    single = lambda config: set(scan_hits(graph, config, (0, graph.n_days - 1)).hits.query(
        "typology == 'large_value_single'")["subject"])
    assert single(ScanConfig(rule_set="PBOC-2003")) == {"A", "B"}  # the payer's and the payee's (both customers)
    assert single(ScanConfig()) == set()


def test_detector_params_must_agree_with_the_scan_rule_set(tmp_path):
    with pytest.raises(ConfigError, match=r"\[detectors.fan\]: its rule_set 'PBOC-2016' differs from the "
                                          r"scan's rule_set 'PBOC-2003'. Fix: "):
        ScanConfig(rule_set="PBOC-2003", detector_params={"fan": FanParams(window_days=7)})
    # a dict takes the scan's rule set; detectors left out get their defaults under it
    config = ScanConfig(rule_set="PBOC-2003", detector_params={"fan": {"window_days": 7}})
    assert config.detector_params["fan"] == FanParams(window_days=7, rule_set="PBOC-2003")
    assert config.detector_params["structuring"] == StructuringParams(rule_set="PBOC-2003")
    with pytest.raises(ConfigError, match="differs from the scan's rule_set 'PBOC-2016'"):
        _toml(tmp_path, '[detectors.fan]\nrule_set = "PBOC-2003"\n')
    assert _toml(tmp_path, 'rule_set = "PBOC-2003"\n[detectors.fan]\nrule_set = "PBOC-2003"\n') == \
        ScanConfig(rule_set="PBOC-2003")
    # replacing the rule set of a built configuration must not keep detectors on the old one
    with pytest.raises(ConfigError, match="differs"):
        dataclasses.replace(ScanConfig(), rule_set="PBOC-2003")


def test_a_registered_rule_set_is_known(monkeypatch):
    small = PBOC_2016.scaled(0.001)
    monkeypatch.setitem(RULE_SETS, small.name, small)
    assert ScanConfig(rule_set=small.name).detector_params["fan"].rule_set == small.name


@pytest.mark.parametrize("detector_params, message", [
    ({"fann": {}}, r"\[detectors\] has unknown detector\(s\) \['fann'\]; known: \[.*'fan', .*'large_value'"),
    ({"fan": PassThroughParams()}, r"\[detectors.fan\]: must be a FanParams or a dict of its parameters"),
    ({"fan": {"windw_days": 3}}, r"\[detectors.fan\]: unknown key\(s\) \['windw_days'\]; known: \["),
    ({"structuring": {"daily": "yes"}}, r"'daily' parameter of StructuringParams must be a bool"),
    ({"fan": {"window_days": 100_000}}, r"'window_days' parameter of FanParams must be an int in the range \[1, 250\]"),
])
def test_bad_detector_params_from_python(detector_params, message):
    with pytest.raises(ConfigError, match=message):
        ScanConfig(detector_params=detector_params)


@pytest.mark.parametrize("text, message", [
    ("[model.weights]\nfan_inn = 1.0\n", r"\[model\]: The 'weights' parameter of ModelConfig has unknown "
                                        r"indicator\(s\) \['fan_inn'\]; known: \["),
    ("[model]\nalert_treshold = 1.0\n", r"\[model\]: unknown key\(s\) \['alert_treshold'\]"),
    ("[model]\nweights = 5\n", r"'weights' parameter of ModelConfig must be a dict"),
    ("model = 5\n", r"'model' parameter of ScanConfig must be a ModelConfig or a dict"),
    ("[detectors.structuring]\ndaily = \"yes\"\n", r"\[detectors.structuring\]: The 'daily' parameter"),
    ("[detectors.fan]\nwindow_days = 100000\n", r"'window_days' parameter of FanParams .* Got 100000 instead"),
    ("[detectors.fan]\nwindow_days = 7.0\n", r"'window_days' parameter of FanParams must be an int"),
    ("detectors = 5\n", r"'detector_params' parameter of ScanConfig must be a dict"),
    ("[detectors]\nfan = 5\n", r"\[detectors.fan\]: must be a FanParams"),
    ("chunk_days = 0\n", r"'chunk_days' parameter of ScanConfig must be an int in the range \[1, 10000\]. Got 0"),
    ("chunk_days = 10001\n", r"'chunk_days' parameter of ScanConfig .* Got 10001 instead"),
    ("rule_set = 2016\n", r"'rule_set' parameter of ScanConfig must be a str among \['PBOC-2003', 'PBOC-2016', 'US-BSA'\] or a RuleSet"),
    ("calendar = 5\n", r"calendar must be a table"),
    ("[calendar]\nextra_holidays = \"2024-10-09\"\n", r"'extra_holidays' parameter of ScanConfig must be a list"),
    ("[calendar]\nextra_workdays = [\"2024-02-30\"]\n", r"'extra_workdays' parameter .* Got \['2024-02-30'\]"),
])
def test_bad_toml_names_file_key_range_and_value(tmp_path, text, message):
    with pytest.raises(ConfigError, match=message) as info:
        _toml(tmp_path, text)
    assert str(info.value).startswith(str(tmp_path / "c.toml") + ": ")


def test_toml_and_python_agree_on_weights_and_numbers(tmp_path):
    from_toml = _toml(tmp_path, "[model.weights]\nfan_in = 1\n[detectors.pass_through]\ntolerance = 0\n"
                                "[calendar]\nextra_holidays = [2024-10-09]\n")
    from_python = ScanConfig(model=ModelConfig(weights={"fan_in": 1.0}), extra_holidays=("2024-10-09",),
                             detector_params={"pass_through": PassThroughParams(tolerance=0.0)})
    assert from_toml == from_python and from_toml.config_hash == from_python.config_hash
    assert from_toml.model.weights["pass_through_chain"] == DEFAULT_WEIGHTS["pass_through_chain"]  # the others keep theirs


def test_unreadable_config_files_are_config_errors(tmp_path):
    with pytest.raises(ConfigError, match="is a folder"):
        load_config(tmp_path)
    latin = tmp_path / "latin.toml"
    latin.write_bytes('rule_set = "PBOC-2016" # caf\xe9\n'.encode("latin-1"))
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_config(latin)
    # a byte-order mark, as Windows editors write: was "Invalid statement (line 1, column 1)"
    marked = tmp_path / "notepad.toml"
    marked.write_bytes("\ufeffchunk_days = 3\n".encode("utf-8"))
    assert load_config(marked).chunk_days == 3


def test_python_construction_is_validated_too():
    with pytest.raises(ConfigError, match="'chunk_days'"):
        dataclasses.replace(ScanConfig(), chunk_days=0)
    with pytest.raises(ConfigError, match=r"\[calendar\]: dates both in extra_holidays and extra_workdays"):
        ScanConfig(extra_holidays=["2024-10-12"], extra_workdays=["2024-10-12"])
    assert ScanConfig(extra_holidays=["2024-10-09"]).extra_holidays == ("2024-10-09",)

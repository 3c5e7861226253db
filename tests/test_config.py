import pytest

from flowgraph.errors import ConfigError
from flowgraph.config import PBOC_2003, PBOC_2016, RULE_SETS, LargeValueRule, RuleSet, get_rule_set


def test_2016_thresholds_match_spec_section_2():
    expected = {"LV-CASH": (50_000, 10_000), "LV-ENTITY": (2_000_000, 200_000),
                "LV-PERSON": (500_000, 100_000), "LV-PERSON-XB": (200_000, 10_000)}
    got = {r.code: (r.threshold_cny, r.threshold_usd) for r in PBOC_2016.rules}
    assert got == expected
    assert all(r.source for r in PBOC_2016.rules)
    assert (PBOC_2016.large_fraction, PBOC_2016.short_term_days, PBOC_2016.frequent_txns_per_day,
            PBOC_2016.frequent_consecutive_days) == (0.8, 10, 3, 3)


def test_2003_rule_set_is_selectable():
    assert get_rule_set("PBOC-2003") is PBOC_2003
    assert PBOC_2003.rule("LV-ENTITY").threshold_cny == 1_000_000
    assert PBOC_2003.rule("LV-CASH").threshold_cny == 200_000
    assert set(RULE_SETS) == {"PBOC-2016", "PBOC-2003"}
    with pytest.raises(ConfigError, match=r"unknown rule set 'FATF-1990'; known: \['PBOC-2003', 'PBOC-2016'\]"):
        get_rule_set("FATF-1990")


def test_scaled_rule_set_for_small_amount_data():
    small = PBOC_2016.scaled(0.001)
    assert small.rule("LV-CASH").threshold_cny == pytest.approx(50.0)
    assert small.name == "PBOC-2016x0.001"


@pytest.mark.parametrize("kwargs, message", [
    ({"channels": ("wire",)}, "'channels' parameter of LargeValueRule"),
    ({"parties": "everyone"}, "'parties' parameter"),
    ({"threshold_cny": 0.0}, r"'threshold_cny' parameter of LargeValueRule 'X' must be a float in the range \(0, inf\). Got 0.0 instead."),
])
def test_bad_rule_names_parameter_range_and_value(kwargs, message):
    base = dict(code="X", channels=("cash",), parties="anyone", threshold_cny=1.0, threshold_usd=1.0, source="s")
    with pytest.raises(ValueError, match=message):
        LargeValueRule(**{**base, **kwargs})


def test_bad_rule_set_parameters():
    with pytest.raises(ValueError, match=r"'short_term_days' parameter of RuleSet must be an int in the range \[1, inf\). Got 0 instead."):
        RuleSet("x", PBOC_2016.rules, short_term_days=0)
    with pytest.raises(ValueError, match="repeated rule codes"):
        RuleSet("x", PBOC_2016.rules + PBOC_2016.rules[:1])

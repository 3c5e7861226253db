"""Every parameter of every parameters class has a constraint: a wrong type and a value
out of range each raise ConfigError naming the parameter (scikit-learn's
``check_param_validation`` is the model)."""

import dataclasses
import math
import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from flowgraph.alerts import DEFAULT_WEIGHTS, ModelConfig
from flowgraph.detectors import (REGISTRY, ChainParams, CycleParams, FanParams, LargeValueParams, PassThroughParams,
                                 LayeredParams, ScatterParams, StructuringParams)
from flowgraph.detectors._params import Interval
from flowgraph.detectors.trafficking import (CashDepositParams, LivelihoodParams, NightCashParams, RemittanceParams,
                                             SmallCashParams)
from flowgraph.detectors.trafficking_accounts import ManyAccountsParams, SharedContactParams
from flowgraph.errors import ConfigError
from flowgraph.hits import params_fingerprint
from flowgraph.scan_config import ScanConfig

#: class -> field -> (a value of the wrong type, a value of the right type out of range;
#: None where the type is the whole constraint). A field missing here fails
#: test_every_field_has_a_constraint_and_bad_values.
BAD = {
    FanParams: {
        "window_days": ("10", 251), "min_counterparties": (5.0, 1), "max_concentrated": ("2", 5),
        "material_fraction": ("0.8", 1.5), "min_amount_fraction": (None, -0.01),
        "rule_set": (2016, "FATF-1990"),
    },
    PassThroughParams: {
        "run_days": (3.0, 0), "tolerance": ("5%", 0.6), "material_fraction": ([0.8], -0.1),
        "link_chains": ("yes", None), "link_fraction": ("0.25", 1.01), "rule_set": (None, "PBOC-2017"),
    },
    StructuringParams: {
        "window_days": ("10", 100_000), "band_low": ("0.8", 1.0), "min_band": (2.5, 0),
        "min_share": ("0.8", 1.0), "sigma_max": ("0.05", 0.0), "daily": (1, None), "rule_set": (["PBOC-2016"], ""),
    },
    LargeValueParams: {
        "rule_set": (b"PBOC-2016", "pboc-2016"), "large_fraction": ("0.8", 0.0), "per_day": (3.5, 0),
        "consecutive": ("3", 251),
    },
    CycleParams: {
        "window_days": ("10", 0), "window_unit": (7, "weeks"), "max_hops": (6.0, 13), "min_forward_share": ("0.9", 1.1),
        "forward_tolerance": ("0", -0.1), "min_amount_fraction": (None, 2.0), "search_budget": ("1e4", 0),
        "max_links_per_edge": (32.0, 0), "rule_set": (2016, "FATF-1990"),
    },
    ChainParams: {
        "hop_days": ("3", -1), "window_unit": (None, "Business"), "min_hops": (3.5, 1), "min_forward_share": ([0.9], -0.5),
        "forward_tolerance": ("0.05", 1.5), "min_amount_fraction": ("0.01", -1.0), "max_links_per_edge": ("32", 10_001),
        "rule_set": (None, "PBOC-2017"),
    },
    ScatterParams: {
        "window_days": (10.0, 251), "window_unit": (b"calendar", ""), "min_intermediaries": ("3", 1),
        "min_counterparties": (5.5, 1_001), "min_forward_share": ("1", 1.01), "forward_tolerance": (None, -0.01),
        "min_amount_fraction": ("1%", 1.01), "max_links_per_edge": (True, 0), "rule_set": (2016, "x"),
    },
    LayeredParams: {
        "window_days": ("10", 0), "window_unit": (1, "day"), "min_sources": (2.0, 1), "min_middle": ("2", 0),
        "min_sinks": (None, 1_001), "min_forward_share": ("0.9", 1.5), "forward_tolerance": ([0.05], -0.5),
        "min_amount_fraction": ("0", 1.5), "max_links_per_edge": (3.5, 0), "rule_set": (2016, "FATF-1990"),
    },
    SmallCashParams: {
        "rule_set": (2016, "FATF-1990"), "window_days": ("10", 251), "min_count": (3.0, 1), "band_low": ("0.5", 1.0),
    },
    RemittanceParams: {
        "rule_set": (None, "x"), "countries": ("KP", ["Myanmar"]), "window_days": (10.5, 0), "min_count": ("3", 0),
    },
    CashDepositParams: {"rule_set": (2016, ""), "window_days": ([10], 251), "min_branches": (5.0, 1)},
    NightCashParams: {
        "rule_set": (2016, "pboc"), "window_days": ("20", 0), "min_events": (6.0, 0), "night_share": ("0.5", 0.0),
        "night_start_hour": ("0", 24), "night_end_hour": (5.0, -1),
    },
    ManyAccountsParams: {"rule_set": (2016, "x"), "window_days": ("20", 0), "min_accounts": (4.0, 1)},
    SharedContactParams: {"rule_set": (None, ""), "window_days": (20.5, 251), "min_customers": ("5", 1_001)},
    LivelihoodParams: {"rule_set": (2016, "x"), "window_days": ([25], 0), "min_cash_turnover": ("50000", 0.0),
                       "min_cash_movements": (5.0, 0)},
    ModelConfig: {
        "weights": ([("fan_in", 1.0)], {"fan_in": -1.0}), "alert_threshold": ("1", -0.5),
        "tolerance_band": ("0.2", 0.95), "band_weight": (True, 1.5), "utilisation_weight": ("0.5", math.inf),
        "closeness_weight": ("4", -4.0),
        "amount_weight": ("1", -0.1), "families_weight": (None, -1), "repetition_weight": ([1], math.nan),
        "reach_weight": ("0", math.inf), "size_weight": ("1", -0.5), "recurrence_weight": ("-1", math.inf),
        "recurrence_weeks": (13.0, 0), "alert_days": ("92", -1),
    },
    ScanConfig: {
        "rule_set": (2016, "FATF-1990"), "detector_params": ([("fan", {})], {"fan": {"window_days": 251}}),
        "model": (5, {"alert_threshold": -1}), "extra_holidays": ("2024-10-09", ["2024-13-01"]),
        "extra_workdays": (20241012, ["2024-02-30"]), "chunk_days": ("5", 10_001), "holidays_file": (5, ""), "beyond_coverage": (True, "guess"),
        "rates_file": (5, ""), "bank_timezone": (8, "UTC+8"),
    },
}

#: Where the message names a nested key rather than the field itself.
NAMED_AS = {(ScanConfig, "detector_params"): r"'detector_params'|\[detectors\.fan\]: The 'window_days'",
            (ScanConfig, "model"): r"'model'|\[model\]: The 'alert_threshold'",
            (ModelConfig, "weights"): r"'weights'|indicator 'fan_in'"}

CASES = [(cls, name, value) for cls, fields in BAD.items() for name, values in fields.items()
         for value in values if value is not None]


@pytest.mark.parametrize("cls", list(BAD), ids=lambda c: c.__name__)
def test_every_field_has_a_constraint_and_bad_values(cls):
    fields = {f.name for f in dataclasses.fields(cls)}
    assert set(cls._parameter_constraints) == fields
    assert set(BAD[cls]) == fields, "give every new field a wrong-type and an out-of-range value in BAD"


def test_every_detector_params_class_is_covered():
    assert {d.params for d in REGISTRY.values()} <= set(BAD)


@pytest.mark.parametrize("cls, name, value", CASES, ids=lambda x: getattr(x, "__name__", repr(x)))
def test_bad_value_names_the_parameter(cls, name, value):
    with pytest.raises(ConfigError, match=NAMED_AS.get((cls, name), f"'{name}'")) as info:
        cls(**{name: value})
    constraint = cls._parameter_constraints[name]
    if isinstance(constraint, Interval):
        assert re.fullmatch(rf"The '{name}' parameter of {cls.__name__} must be (an int|a float) in the range "
                            rf"[\[(]\S+, \S+[\])]\. Got {re.escape(repr(value))} instead\.", str(info.value))


@pytest.mark.parametrize("value", [float("nan"), math.inf, True, np.bool_(True)])
def test_nan_inf_and_bools_are_not_numbers(value):
    with pytest.raises(ConfigError, match="'tolerance'"):
        PassThroughParams(tolerance=value)
    with pytest.raises(ConfigError, match="'window_days'"):
        FanParams(window_days=value)


def test_upper_bounds_are_inclusive_where_stated():
    assert FanParams(window_days=250).window_days == 250
    assert PassThroughParams(tolerance=0.5, material_fraction=1.0).tolerance == 0.5
    assert StructuringParams(sigma_max=0.5).sigma_max == 0.5
    assert LargeValueParams(large_fraction=1.0, consecutive=250).consecutive == 250
    assert ModelConfig(tolerance_band=0.9).tolerance_band == 0.9


def test_numbers_are_normalised_so_fingerprints_do_not_depend_on_spelling():
    a = FanParams(window_days=np.int64(10), material_fraction=1)
    b = FanParams(window_days=10, material_fraction=1.0)
    assert type(a.window_days) is int and type(a.material_fraction) is float
    assert a == b and params_fingerprint(a) == params_fingerprint(b)
    assert StructuringParams(daily=np.bool_(False)).daily is False


def test_fan_few_side_stays_below_the_many_side():
    assert FanParams(min_counterparties=3, max_concentrated=2).max_concentrated == 2
    with pytest.raises(ConfigError, match=r"'max_concentrated' parameter of FanParams must be an int in the "
                                          r"range \[1, 2\]. Got 3 instead."):
        FanParams(min_counterparties=3, max_concentrated=3)


def test_weights_unknown_indicator_and_partial_override():
    with pytest.raises(ConfigError, match=r"unknown indicator\(s\) \['fan_inn'\]; known: \['bipartite', 'concentrated_in"):
        ModelConfig(weights={"fan_inn": 1.0})
    model = ModelConfig(weights={"fan_in": 0.5, "pass_through": 0})
    assert model.weights == {**DEFAULT_WEIGHTS, "fan_in": 0.5, "pass_through": 0.0}
    given_weights = {"fan_in": 0.5}
    model = ModelConfig(weights=given_weights)
    given_weights["fan_in"] = 9.0  # the model keeps its own copy
    assert model.weights["fan_in"] == 0.5


def _valid_kwargs(cls):
    """A strategy of valid keyword arguments for ``cls``, drawn from its constraint table."""
    fields = {}
    for name, constraint in cls._parameter_constraints.items():
        if not isinstance(constraint, Interval):
            continue
        high = min(constraint.high, 1_000)
        if constraint.kind is int:
            fields[name] = st.integers(constraint.low + (not constraint.low_closed),
                                       high - (not constraint.high_closed))
        else:
            fields[name] = st.floats(constraint.low, high, exclude_min=not constraint.low_closed,
                                     exclude_max=not constraint.high_closed)
    return st.fixed_dictionaries(fields)


@pytest.mark.parametrize("cls", [d.params for d in REGISTRY.values()], ids=lambda c: c.__name__)
@given(data=st.data(), band=st.floats(0.0, 0.9))
def test_relaxed_parameters_of_any_valid_parameters_are_valid(cls, data, band):
    kwargs = data.draw(_valid_kwargs(cls))
    if cls is FanParams:
        kwargs["max_concentrated"] = min(kwargs["max_concentrated"], kwargs["min_counterparties"] - 1)
    if cls is NightCashParams:  # an empty night is refused
        kwargs["night_end_hour"] = (kwargs["night_start_hour"] + 1 + kwargs["night_end_hour"] % 23) % 24
    params = cls(**kwargs)
    relaxed = params.relaxed(band)  # constructing it validates it
    assert type(relaxed) is cls and relaxed.rule_set == params.rule_set

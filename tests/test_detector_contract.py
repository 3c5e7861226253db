"""Every registered detector keeps the contract of flowgraph.detectors._contract
(scikit-network's test_API, scikit-learn's check_param_validation are the models)."""

import dataclasses

import numpy as np
import pandas as pd
import pytest

from flowgraph import build_graph, validate_accounts, validate_transactions
from flowgraph.alerts import DEFAULT_WEIGHTS, FAMILIES
from flowgraph.deid import Pseudonymizer, deidentify, id_columns
from flowgraph.detectors import REGISTRY, TYPOLOGIES, run_detectors
from flowgraph.errors import ConfigError
from flowgraph.evaluate import MATCHING
from flowgraph.hits import HIT_COLUMNS, HitTable
from flowgraph.simulate import LOOKALIKES, TYPOLOGIES as PLANTED, simulate

DETECTORS = list(REGISTRY.values())


@pytest.fixture(scope="module")
def bank_graph():
    # four pass-through patterns: the chain hit checked below comes from the typology meant to make it
    bank = simulate(seed=11, n_customers=700, n_days=24, patterns_per_typology=2, lookalikes_per_kind=1,
                    recruit_pool_share=0.4, typology_mix={"pass_through": 4}, trafficking_per_typology=1)
    v = validate_transactions(bank.transactions, "bank")
    return build_graph(v.table, validate_accounts(bank.accounts).table)


def _empty_graph():
    cols = ["txn_id", "timestamp", "src_account", "dst_account", "amount"]
    v = validate_transactions(pd.DataFrame(columns=cols, dtype=str), "empty")
    return build_graph(v.table, None)


@pytest.mark.parametrize("detector", DETECTORS, ids=lambda d: d.name)
def test_params_are_validated_and_relax_to_their_own_class(detector):
    params = detector.default
    constraints = type(params)._parameter_constraints
    assert {f.name for f in dataclasses.fields(params)} == set(constraints), "a field without a constraint"
    assert "rule_set" in constraints
    with pytest.raises(ConfigError, match="rule_set"):
        dataclasses.replace(params, rule_set="no-such-rules")
    for band in (0.0, 0.2, 0.9):
        assert type(params.relaxed(band)) is type(params)


@pytest.mark.parametrize("detector", DETECTORS, ids=lambda d: d.name)
def test_empty_graph_and_empty_range_give_empty_tables(detector, bank_graph):
    for graph, days in ((_empty_graph(), None), (bank_graph, (bank_graph.n_days + 5, bank_graph.n_days + 9))):
        table = detector.detect(graph, detector.default, days)
        assert isinstance(table, HitTable) and len(table) == 0
        assert list(table.frame.columns[:len(HIT_COLUMNS)]) == list(HIT_COLUMNS)


@pytest.mark.parametrize("detector", DETECTORS, ids=lambda d: d.name)
def test_hits_follow_the_schema_and_declared_typologies(detector, bank_graph):
    frame = detector.detect(bank_graph, detector.default).frame
    assert len(frame) and list(frame.columns[:len(HIT_COLUMNS)]) == list(HIT_COLUMNS)
    assert set(frame["typology"]) <= {t.name for t in detector.typologies}
    assert (frame["detector"] == detector.name).all() and frame["hit_id"].is_unique
    assert (frame["run_first"] <= frame["run_last"]).all() and (frame["n_accounts"] >= 1).all()
    assert frame["txn_ids"].map(len).gt(0).all()


def test_every_typology_is_weighted_grouped_matched_and_deidentified(bank_graph):
    assert set(DEFAULT_WEIGHTS) == set(FAMILIES) == set(TYPOLOGIES)
    planted = {p for t in TYPOLOGIES.values() for p in t.finds}
    assert planted <= set(PLANTED) and {p for t in TYPOLOGIES.values() for p in t.imitated_by} <= set(LOOKALIKES)
    assert all(set(t.finds) <= set(MATCHING) for t in TYPOLOGIES.values())
    ids = id_columns()
    hits = run_detectors(bank_graph).frame
    pseudo = deidentify(hits, Pseudonymizer(b"k" * 32))
    for t in TYPOLOGIES.values():
        for measure in t.id_measures:
            assert ids[measure] == ids[f"m_{measure}"] == ("contact" if measure == "contact_id" else "account")
            rows = hits["typology"] == t.name
            if rows.any():  # no real id is left in the measures of any typology
                real = {a for ms in hits.loc[rows, f"m_{measure}"] for a in ([ms] if isinstance(ms, str) else ms)}
                shown = " ".join(pseudo.loc[rows, "measures"]) + " ".join(map(str, pseudo.loc[rows, f"m_{measure}"]))
                assert not any(a in shown for a in real)
    assert "pass_through_chain" in set(hits["typology"])  # the id-bearing measure above was exercised


def test_run_detectors_refuses_unknown_names(bank_graph):
    with pytest.raises(KeyError, match="known"):
        run_detectors(bank_graph, ["fan", "nonsense"])
    assert np.array_equal(run_detectors(bank_graph, ["fan"]).frame["hit_id"],
                          REGISTRY["fan"].detect(bank_graph, REGISTRY["fan"].default).frame["hit_id"])

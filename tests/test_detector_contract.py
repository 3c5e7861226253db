"""Every registered detector keeps the contract of flowgraph.detectors._contract
(scikit-network's test_API, scikit-learn's check_param_validation are the models)."""

import dataclasses

import numpy as np
import pandas as pd
import pytest

import flowgraph.scan
from flowgraph import build_graph, validate_accounts, validate_transactions
from flowgraph.alerts import DEFAULT_WEIGHTS, FAMILIES
from flowgraph.deid import Pseudonymizer, deidentify, id_columns
from flowgraph.detectors import REGISTRY, TYPOLOGIES, run_detectors
from flowgraph.detectors._common import _cache, detector_scope, forget, memo, narrowed
from flowgraph.errors import ConfigError
from flowgraph.evaluate import MATCHING
from flowgraph.hits import HIT_COLUMNS, HitTable
from flowgraph.scan_config import ScanConfig
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


@pytest.mark.parametrize("detector", [d for d in DETECTORS if d.first_day_selects_runs], ids=lambda d: d.name)
def test_a_first_day_that_selects_runs_is_a_filter_on_run_last(detector, bank_graph):
    """What ``first_day_selects_runs`` promises the scan: the hits of days ``first..last``
    are those of an earlier first day whose run ends on ``first`` or later, row for row."""
    last = bank_graph.n_days - 1
    filtered = compared = 0
    for params in (detector.default, detector.default.relaxed(0.2)):
        for first, earlier in ((21, 0), (14, 2), (12, 11), (last, 10)):
            table = detector.detect(bank_graph, params, (first, last))
            wide = detector.detect(bank_graph, params, (earlier, last))
            reaching = (wide.frame["run_last"] >= bank_graph.business_days[first]).to_numpy(dtype=bool)
            assert table.dropped.empty and wide.dropped.empty
            filtered += int((~reaching).sum())
            if not reaching.any():
                assert table.frame.empty
                continue
            kept = wide.frame.loc[reaching].reset_index(drop=True)
            # the rows and every column the direct table has; a measure column only of
            # rows filtered out stays, empty (measures of a typology the table lacks)
            pd.testing.assert_frame_equal(table.frame, kept[list(table.frame.columns)])
            assert kept.drop(columns=table.frame.columns).isna().all().all()
            compared += 1
    assert filtered and compared, "no case where the earlier first day found more, or none with hits"


@pytest.mark.parametrize("name", [d.name for d in DETECTORS
                                  if d.first_day_selects_runs and d.default.relaxed(0.2) != d.default])
def test_a_scan_finds_the_same_part_in_one_strict_pass(name, bank_graph, monkeypatch):
    """The scan's one strict pass from the band's earliest day (``first_day_selects_runs``)
    gives the detector's part of the scan that the two passes give."""
    config = ScanConfig()
    assert config.model.tolerance_band > 0
    last, entry, saved = bank_graph.n_days - 1, REGISTRY[name], 0
    passes = []
    counted = lambda *args: passes.append(args) or entry.detect(*args)
    for first in (12, 16, 21):
        with monkeypatch.context() as mp:
            mp.setitem(REGISTRY, name, dataclasses.replace(entry, detect=counted))
            one = flowgraph.scan._detector_hits(bank_graph, config, name, (first, last))
            n_one = len(passes)
            mp.setitem(REGISTRY, name, dataclasses.replace(entry, detect=counted, first_day_selects_runs=False))
            two = flowgraph.scan._detector_hits(bank_graph, config, name, (first, last))
            saved += len(passes) - 2 * n_one
            passes.clear()
        assert one.retract_ids == two.retract_ids and one.earliest == two.earliest
        assert len(one.frames) == len(two.frames)
        for mine, theirs in zip(one.frames, two.frames):
            pd.testing.assert_frame_equal(mine[list(theirs.columns)], theirs)
        for mine, theirs in zip(one.traced, two.traced):
            pd.testing.assert_frame_equal(mine, theirs)
    assert saved, "the one strict pass never ran (no band hit started before a first day)"


def _names(keys) -> set:
    """The names of memo keys (a key's first element, or the key)."""
    return {k[0] if isinstance(k, tuple) else k for k in keys}


def test_a_detector_scope_lets_go_of_what_its_detector_kept_for_itself():
    class Graph:  # any object a weak reference can name
        pass

    graph = Graph()
    with detector_scope(graph):
        memo(graph, "shared", lambda: 1)
        assert memo(graph, "own", lambda: 2, own=True) == 2
        assert narrowed(graph, ("rows",), (1.0,), lambda: [3], lambda rows: rows) == [3]
        assert set(_cache(graph)) == {"shared", "own", ("narrowed", "rows")}
    assert set(_cache(graph)) == {"shared"}
    memo(graph, "own", lambda: 2, own=True)  # asked outside a scope (a detector run on its own): kept
    assert set(_cache(graph)) == {"shared", "own"}
    forget(graph)
    assert not _cache(graph)


OWN = {"narrowed", "band", "daily_series", "edge_sides", "rule_edges", "material_running_cents"}


def test_a_detectors_own_arrays_go_when_its_part_is_done_and_shared_ones_stay(bank_graph):
    """In a scan each detector's part is found in a detector scope: the arrays it alone
    derives (both passes of the tolerance band share them) go when it is done; those other
    detectors derive from too stay until the scan forgets the graph; the parts are the same."""
    config, days = ScanConfig(), (0, bank_graph.n_days - 1)
    names = ["structuring", "large_value", "fan", "pass_through", "layered"]
    forget(bank_graph)
    unscoped = {name: flowgraph.scan._detector_hits(bank_graph, config, name, days) for name in names}
    kept = _names(_cache(bank_graph))
    assert OWN | {"edge_phi_cents"} <= kept
    forget(bank_graph)
    for name in names:
        with detector_scope(bank_graph):
            part = flowgraph.scan._detector_hits(bank_graph, config, name, days)
        assert len(part.frames) == len(unscoped[name].frames)
        for mine, theirs in zip(part.frames, unscoped[name].frames):
            pd.testing.assert_frame_equal(mine, theirs)
    left = _names(_cache(bank_graph))
    assert not left & OWN and "edge_phi_cents" in left
    forget(bank_graph)

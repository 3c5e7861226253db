"""A scan compares its own hits' evidence as edge ids of its graph (``EDGE_IDS``), not as
transaction-id text: the large-value cross-check and the case
transactions kept for the desk must come out exactly as the text comparison gives them —
on the simulator's bank and on an AMLSim bank (data we did not make)."""

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from flowgraph.alerts import _units, build_alerts, hit_spans
from flowgraph.desk.evidence import CONTEXT_DAYS, case_edges, evidence_mask
from flowgraph.detectors import REGISTRY
from flowgraph.graph import build_graph
import flowgraph.hits as hits_module
from flowgraph.hits import EDGE_IDS, HitTable
from flowgraph.io import load_dataset
from flowgraph.scan import large_value_checks, scan_hits
from flowgraph.scan_config import ScanConfig, load_config
from flowgraph.simulate import simulate, write_simulation
from flowgraph.store import LARGE_VALUE_TYPOLOGIES, as_stored

from conftest import AMLSIM_DIR
from reference.context import kept_edges_reference


def _scanned(dataset, config: ScanConfig):
    rates = config.rates()
    graph = build_graph(dataset.transactions.table, dataset.accounts.table, config.calendar(),
                        config.rules.home_currency, config.rules.foreign_currency, rates)
    return graph, scan_hits(graph, config, (0, len(graph.business_days) - 1))


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bank")
    write_simulation(simulate(seed=5, n_customers=700, n_days=25, patterns_per_typology=2, lookalikes_per_kind=1,
                              recruit_pool_share=0.4), folder)
    config = ScanConfig()
    return (*_scanned(load_dataset(folder, rates=config.rates()), config), config)


@pytest.fixture(scope="module")
def amlsim(tmp_path_factory):
    if not AMLSIM_DIR.is_dir():
        pytest.skip(f"AMLSim samples not found at {AMLSIM_DIR}")
    toml = tmp_path_factory.mktemp("config") / "amlsim.toml"
    toml.write_text('[rule_set]\nbased_on = "PBOC-2016"\nscale = 0.001\n')
    config = load_config(toml)
    return (*_scanned(load_dataset(AMLSIM_DIR / "20K_fanin200cycle200", rates=config.rates()), config), config)


@pytest.fixture(params=["simulated", pytest.param("amlsim", marks=pytest.mark.amlsim)])
def scan(request):
    return request.getfixturevalue(request.param)


def test_edge_ids_name_the_evidence_transactions(scan):
    graph, scanned, _ = scan
    assert scanned.evidence_edges is not None and EDGE_IDS not in scanned.hits.columns
    assert len(scanned.evidence_edges) == len(scanned.hits) > 0
    edges = scanned.evidence_edges.to_pylist()
    texts = graph.txn_id_arrow.to_numpy(zero_copy_only=False)
    for ids, hit_edges in zip(scanned.hits["txn_ids"], edges):
        assert list(ids) == [texts[graph.txn_pos[e]] for e in hit_edges]


def test_the_hits_arrow_columns_are_one_chunk_each(scan):
    """pandas puts the detectors' Arrow columns (evidence lists, ids as text) together as a
    chunk per detector table, and would join them again on every take of rows (the store's
    commits take the hits chunk by chunk): the scan's hits hold each in one chunk."""
    _, scanned, _ = scan
    arrow = [c for c in scanned.hits.columns if isinstance(scanned.hits[c].array, pd.arrays.ArrowExtensionArray)]
    assert {"accounts", "txn_ids", "hit_id"} <= set(arrow)
    assert scanned.hits["detector"].nunique() > 1  # tables of several detectors were put together
    assert {c: pa.chunked_array(pa.array(scanned.hits[c].array)).num_chunks for c in arrow} == dict.fromkeys(arrow, 1)


def test_the_scan_keeps_the_measures_in_their_json_without_a_column_each(scan):
    """A detector's table has a column per measure (``m_*``) beside the measures' JSON; a
    scan keeps only the JSON, which the store and the exports take: its rows are built
    without those columns, and are otherwise the rows of the tables built whole — a table
    not built yet, a selection of it, and a table built whole."""
    graph, scanned, config = scan
    prefix = hits_module.MEASURE_PREFIX
    assert len(scanned.hits) and not [c for c in scanned.hits.columns if c.startswith(prefix)]
    days = (0, len(graph.business_days) - 1)
    checked = 0
    for name in ("fan", "large_value", "pass_through"):
        entry = REGISTRY[name]
        table = entry.detect(graph, config.detector_params[name], days)
        if not len(table):
            continue
        keep = np.arange(len(table)) % 3 != 1
        lean, lean_kept = table.frame_without_measure_columns(), table.select(keep).frame_without_measure_columns()
        whole = table.frame  # built now, with a column per measure
        measured = [c for c in whole.columns if c.startswith(prefix)]
        assert measured and not [c for c in lean.columns if c.startswith(prefix)]
        pd.testing.assert_frame_equal(lean, whole.drop(columns=measured))
        kept = whole.loc[keep].reset_index(drop=True).drop(columns=measured)
        pd.testing.assert_frame_equal(lean_kept, kept)
        pd.testing.assert_frame_equal(HitTable(whole).frame_without_measure_columns(), whole.drop(columns=measured))
        assert table.frame is whole  # asking for the rows without them built nothing to keep
        checked += 1
    assert checked >= 2


def test_hits_sharing_a_transaction_have_overlapping_spans(scan):
    """Alerts group hits by overlapping spans alone (flowgraph.alerts): hits of one unit
    that share a transaction must overlap — every pair, on the simulator's bank and on
    AMLSim's — so sharing needs no test of its own."""
    _, scanned, config = scan
    hits = as_stored(scanned.hits, config.config_hash, "run", "2026-12-01")
    start, end = hit_spans(hits)
    rows = pd.DataFrame({"unit": _units(hits), "start": start, "end": end, "txn": hits["txn_ids"]}).explode("txn")
    by_txn = rows.dropna(subset=["txn"]).groupby(["unit", "txn"]).agg(n=("start", "size"), latest_start=("start", "max"),
                                                                      earliest_end=("end", "min"))
    shared = by_txn[by_txn["n"] > 1]
    assert len(shared) > 0
    assert (shared["latest_start"] <= shared["earliest_end"]).all()
    alerts = build_alerts(hits, config.model, config.config_hash)
    assert (alerts["n_hits"] > 1).any()  # hits were grouped


def test_large_value_cross_check_from_edge_ids_equals_text(simulated):
    # (the AMLSim bank has no hit over its ceiling: nothing to check there)
    _, scanned, config = simulated
    hits = as_stored(scanned.hits, config.config_hash, "run", "2026-12-01")
    first = str(hits["window_start"].min().date())  # every large-value hit of the data is known
    by_text = large_value_checks(None, config.config_hash, hits, first, hits)
    by_edges = large_value_checks(None, config.config_hash, hits, first, hits, evidence_edges=scanned.evidence_edges)
    assert by_text["u_above_1_not_checked"]["n_hits"] == 0
    assert by_text == by_edges
    # the check has something to decide: hits over their ceiling, some of them reported
    over = hits[(hits["utilisation"] > 1) & (hits["detector"] != "large_value")]
    assert len(over) > len(by_text)


def test_case_evidence_from_edge_ids_equals_text(scan):
    graph, scanned, config = scan
    hits = scanned.hits
    large = hits["typology"].isin(LARGE_VALUE_TYPOLOGIES).to_numpy()
    some = np.arange(len(hits)) % 3 == 0
    by_text = evidence_mask(graph, hits.loc[some, "txn_ids"], hits.loc[large, "txn_ids"])
    by_edges = np.zeros(graph.n_edges, bool)
    by_edges[scanned.evidence_edges.filter(pa.array(some | large)).flatten().to_numpy()] = True
    assert by_text.any() and np.array_equal(by_text, by_edges)
    np.testing.assert_array_equal(case_edges(graph, hits[some], by_text), case_edges(graph, hits[some], by_edges))



@pytest.mark.parametrize("max_context", [5, 1_000])
def test_case_edges_keep_what_the_edge_by_edge_reference_keeps(scan, max_context):
    """The case file's edges of some hits (:func:`case_edges`, two parallel kernels) are the
    evidence and every edge within CONTEXT_DAYS business days of a subject's hits, but for
    subjects near more than ``max_context`` edges: as the plain reference finds them."""
    graph, scanned, _ = scan
    hits = scanned.hits[np.arange(len(scanned.hits)) % 2 == 0]
    is_evidence = np.zeros(graph.n_edges, bool)
    is_evidence[::97] = True
    intervals = {}
    for subject, start, end in zip(hits["subject"], hits["window_start"], hits["window_end"]):
        account = int(np.searchsorted(graph.account_ids, subject))
        first, last = (int(graph.day_index_of(np.array([d], "datetime64[D]"))[0]) for d in (start, end))
        lo, hi = intervals.get(account, (first - CONTEXT_DAYS, last + CONTEXT_DAYS))
        intervals[account] = (min(lo, first - CONTEXT_DAYS), max(hi, last + CONTEXT_DAYS))
    expected = kept_edges_reference(graph.src.tolist(), graph.dst.tolist(), graph.day.tolist(), intervals,
                                    is_evidence.tolist(), max_context)
    kept = case_edges(graph, hits, is_evidence, max_context=max_context)
    assert len(kept) > is_evidence.sum() and kept.tolist() == expected


def test_the_band_pass_builds_rows_only_for_the_band_hits_it_keeps(scan, monkeypatch):
    """A band hit a strict hit covers is left out (flowgraph.scan._detector_hits): its row of
    the band table is never built, and the scan's hits are those of a scan that builds every
    table whole — on the simulator's bank and on AMLSim's."""
    graph, scanned, config = scan
    built = {}
    build = hits_module._HitRows.build

    def counted(rows_of, rows, *how):
        key = (rows_of.detector, rows_of.params_id)
        built[key] = built.get(key, 0) + len(rows)
        return build(rows_of, rows, *how)

    monkeypatch.setattr(hits_module._HitRows, "build", counted)
    days = (0, len(graph.business_days) - 1)
    lazy = scan_hits(graph, config, days).hits
    band = lazy[lazy["in_band"].astype(bool)].groupby(["detector", "params_id"]).size()
    # the fan's band table is one hit table, built only for the band hits kept
    (fan_band, kept), = band[band.index.get_level_values("detector") == "fan"].items()
    assert kept > 0 and built[fan_band] == kept
    lazy_built = sum(built.values())
    built.clear()
    whole = lambda table, keep: HitTable(table.frame.loc[np.asarray(keep, bool)].reset_index(drop=True), table.dropped)
    monkeypatch.setattr(HitTable, "select", whole)
    eager = scan_hits(graph, config, days).hits
    assert sum(built.values()) > lazy_built  # covered band hits were there to leave out
    pd.testing.assert_frame_equal(lazy, eager)

"""A scan run: configuration -> graph -> detectors -> hits -> alerts -> store and exports.

``run_scan`` scans a whole date range (or ``first_day`` .. ``last_day`` of it), or with
``as_of`` the one new business day (T+1, 004 ch.3), with their trailing windows. Every hit of the scan is computed once (runs traced
from the first day of the data), then committed to the store in chunks of ``chunk_days``
(by the day each hit's run ends), each in one transaction with a mark that it is done; a
run that is killed leaves every committed chunk and nothing half-written, and the next
run over the same data, configuration and days resumes after the last committed chunk.
How the days are cut changes no hit. Re-running adds nothing twice: a hit's id is fixed
by its run's start; a new version of a stored hit replaces it, and a stored hit the
re-scanned days no longer show is retracted (both kept in ``hit_versions``), as is a
stored pass-through chain one of whose member runs the scan traced again and that it did
not find again (its members joined another chain or parted). A band hit a stored strict
cluster covered comes back when a later day's cluster absorbs that one
(:func:`stored_restorations`).

After the chunks, the alerts the run changed are rebuilt: a monitoring unit's alerts from
the first one its new, changed or retracted hits reach, from their stored hits and the
weeks before them (so a T+1 hit joins yesterday's alert; :func:`_alerts_from_store`), hits
with utilisation u > 1 are cross-checked against the large-value hits on their evidence
transactions, whichever party those hits name (SPEC §4: a flow above its ceiling must have
triggered a large-value rule; any that did not point at a bug or a missing rule), and
de-identified exports are written:
``hits.parquet``, ``alerts.parquet``, ``manifest.json`` (:mod:`flowgraph.exports`), with every
column even when nothing was found.

One scan at a time writes to a store (a lock file beside it); failures a user can cause
(a bad ``as_of``, an unwritable folder, a damaged store, a full disk) raise
:class:`~flowgraph.errors.ConfigError` or :class:`~flowgraph.errors.DataError` with the fix,
and leave every committed chunk in place for the next run to resume from.
"""

from __future__ import annotations

import collections
import dataclasses
import functools
import hashlib
import json
import os
import sys
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import closing, contextmanager
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Callable, NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ._arrow import columns_in_one_chunk, one_array, text_buffers
from .alerts import build_alerts, hit_spans
from .calendar import parse_iso_day
from .deid import store_pseudonymizer
from .desk.evidence import keep_case_transactions
from .detectors import REGISTRY, disabled_detectors
from .detectors._common import detector_scope, forget
from .detectors._params import MAX_WINDOW_DAYS, Interval
from .detectors.flows import plan_links
from .detectors.pass_through import MEMBER_TYPOLOGIES, member_runs, stale_chains
from .errors import ConfigError, DataError
from .exports import export_tables, staged_exports, write_exports, write_tables
from .graph import GRAPH_COLUMNS, GRAPH_DICTIONARY_COLUMNS, TransactionGraph, build_graph
from .hits import EDGE_IDS, HitTable, empty_hits
from .io import Dataset, load_dataset
from .money import RateTable
from .rescans import say, settled_first_day
from .scan_config import ScanConfig
from .store import HIT_STORE_COLUMNS, LARGE_VALUE_TYPOLOGIES, Store, as_stored, hit_rows, id_list_array, now, \
    parse_json_lists
from .txstore import TransactionStore, is_store


class Stopwatch:
    """Wall time per stage of a scan, recorded in its manifest (``timings_s``). Stages may
    overlap: into a store with no other run of the configuration, the hits are committed
    on a thread while the alerts are built, and a scan in blocks commits a block while the
    next one is scanned."""

    def __init__(self):
        self.seconds: dict[str, float] = {}

    @contextmanager
    def __call__(self, stage: str):
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[stage] = round(self.seconds.get(stage, 0.0) + time.perf_counter() - start, 3)


@dataclass
class ScanResult:
    """What a scan run produced (real ids; exports on disk are de-identified). ``hits`` and
    ``alerts`` may be given as functions that read them (a scan in blocks does not hold its
    hits: :mod:`flowgraph.block_run`); they are read when first asked for."""

    run_id: str
    _hits: pd.DataFrame | Callable[[], pd.DataFrame]
    _alerts: pd.DataFrame | Callable[[], pd.DataFrame]
    manifest: dict
    paths: dict

    @property
    def hits(self) -> pd.DataFrame:
        if callable(self._hits):
            self._hits = self._hits()
        return self._hits

    @property
    def alerts(self) -> pd.DataFrame:
        if callable(self._alerts):
            self._alerts = self._alerts()
        return self._alerts


def data_fingerprint(table: pd.DataFrame) -> str:
    """A hash of the accepted transactions (ids, times, parties, amounts, currency,
    channel), read from their Arrow buffers: the same rows in the same order give the same
    fingerprint, at memory speed (columns hashed on parallel threads; hashlib lets go of
    the GIL on large buffers)."""
    columns = [c for c in FINGERPRINT_COLUMNS if c in table.columns]
    with ThreadPoolExecutor(max_workers=min(len(columns), os.cpu_count() or 1) or 1) as pool:
        digests = list(pool.map(lambda c: _column_digest(table[c], c), columns))
    return f"{len(table)}-{hashlib.blake2b(b''.join(digests), digest_size=16).hexdigest()}"


FINGERPRINT_COLUMNS = ("txn_id", "timestamp", "src_account", "dst_account", "amount", "currency", "channel")


def _column_digest(values: pd.Series, name: str) -> bytes:
    digest = hashlib.blake2b(name.encode(), digest_size=16)
    if isinstance(values.dtype, pd.CategoricalDtype):  # codes, and the names they stand for
        digest.update(json.dumps(list(map(str, values.cat.categories))).encode())
        values = pd.Series(values.cat.codes)
    array = pa.array(values, from_pandas=True)
    array = one_array(array)  # e.g. read from Parquet in row groups
    if pa.types.is_string(array.type) or pa.types.is_large_string(array.type):
        array = array.cast(pa.large_string())
        # a null and "" differ; offsets rebased so slices of one buffer hash alike
        digest.update(np.asarray(array.is_null()).view(np.uint8))
        offsets, data = text_buffers(array)
        digest.update(offsets - offsets[0])
        digest.update(data[offsets[0]:offsets[-1]])
    else:
        digest.update(np.ascontiguousarray(values.to_numpy()).view(np.uint8))
    return digest.digest()


@dataclass
class ScannedHits:
    """The hits of a scan, the band hits it set aside and the pass-through runs it traced
    (see :func:`scan_hits`); ``evidence_edges``: each hit's evidence as edge ids of the
    scanned graph (:data:`~flowgraph.hits.EDGE_IDS`, an Arrow list array in the order of
    ``hits``), None when the hits were found on other graphs (a Dask scan's workers)."""

    hits: pd.DataFrame
    #: ids of hits the scan knows to be out of date: band hits strict hits cover, and
    #: hits a detector traced further and found no longer qualify (``HitTable.dropped``)
    retract_ids: list
    member_runs: pd.DataFrame
    evidence_edges: pa.Array | None = None
    #: evidence of every hit of a cluster detector (``Detector.clusters``) the scan traced,
    #: band hits set aside included: ``detector, in_band`` (the pass), ``hit_id``, ``txn_id``
    cluster_evidence: pd.DataFrame | None = None
    #: the first day of the earliest run of any hit the scan traced — band hits set aside,
    #: strict hits that cover them and dropped hits included (None: no hit): where a read
    #: of a store must reach (:func:`store_window`)
    earliest_run_first: pd.Timestamp | None = None
    #: band hits of a cluster detector whose runs end before the scan's days, on the days of
    #: a strict cluster it traced, that no strict hit covers (columns of ``hits``, no edge
    #: ids; None: none): a stored strict cluster that covered one may be absorbed now, and
    #: the store gives such a band hit back (:func:`stored_restorations`)
    restorable: pd.DataFrame | None = None


#: Detectors run at once by a scan (:func:`scan_hits`); their kernels are parallel too.
DETECTOR_THREADS = 2


def scan_hits(graph: TransactionGraph, config: ScanConfig, days: tuple[int, int]) -> ScannedHits:
    """Every registered detector's hits whose runs reach ``days`` (business-day indices),
    plus the tolerance band: hits found only with the relaxed parameters, marked
    ``in_band``. A band hit that a strict hit of the same typology and subject covers
    (their runs overlap) is left out, and its id listed so a stored copy is retracted.

    Runs are traced from the first day of the data and every strict hit a band hit could
    overlap is looked at, so the result does not depend on where ``days`` starts. The
    pass-through runs of every hit, band hits set aside included, are listed
    (:func:`~flowgraph.detectors.pass_through.member_runs`): stored chains made of them are
    recomputed.
    """
    return scanned_hits(detector_parts(graph, config, days, list(REGISTRY)))


def detector_parts(graph: TransactionGraph, config: ScanConfig, days: tuple[int, int],
                   names: list[str]) -> dict[str, _DetectorPart]:
    """The parts of :func:`scan_hits` that the detectors ``names`` find on ``graph``."""
    plan_links(graph, param_versions(config))  # a shorter hop's forwarding links filter a longer one's
    # two detectors at a time: one's Python (hit tables) runs while the other's kernels,
    # which let go of the GIL, run
    def part(name: str) -> _DetectorPart:
        with detector_scope(graph):  # the arrays it alone derives go as soon as it is done
            return _detector_hits(graph, config, name, days)

    with ThreadPoolExecutor(max_workers=DETECTOR_THREADS) as pool:
        parts = dict(zip(names, pool.map(part, names)))
    forget(graph)
    return parts


def scanned_hits(parts: dict[str, _DetectorPart]) -> ScannedHits:
    """Every detector's part of a scan (found on one graph) put together in registry order."""
    per_detector = [parts[name] for name in REGISTRY if name in parts]
    frames = [f for part in per_detector for f in part.frames]
    clusters = [c for part in per_detector for c in part.clusters]
    earliest = [part.earliest for part in per_detector if part.earliest is not None]
    # the tables of detectors that found nothing have untyped (object) columns: concatenated,
    # they would turn the evidence lists of every hit into Python objects
    found = [f for f in frames if len(f)]
    columns = list(dict.fromkeys(c for f in frames for c in f.columns))
    hits = pd.concat(found, ignore_index=True).reindex(columns=columns) if found else \
        pd.concat(frames, ignore_index=True)
    hits["w"] = _w_column(hits)
    edges = hits.pop(EDGE_IDS) if EDGE_IDS in hits.columns else None
    hits = columns_in_one_chunk(hits)  # taken from many times: by the store's commits, alerts and exports
    if edges is not None and (edges.isna().any() or not isinstance(edges.dtype, pd.ArrowDtype)):
        edges = None  # a detector's table without them (built in Python): the ids are compared as text
    restorable = [part.restorable for part in per_detector if part.restorable is not None]
    restorable = pd.concat(restorable, ignore_index=True).reindex(columns=hits.columns) if restorable else None
    if restorable is not None:
        restorable["w"] = _w_column(restorable)
    return ScannedHits(hits, [i for part in per_detector for i in part.retract_ids],
                       pd.concat([t for part in per_detector for t in part.traced], ignore_index=True),
                       None if edges is None else id_list_array(edges),
                       pd.concat(clusters, ignore_index=True) if clusters else None,
                       min(earliest) if earliest else None, restorable)


class _DetectorPart(NamedTuple):
    """One detector's part of :func:`scan_hits`."""

    #: its hit tables: band hits not covered, then strict hits
    frames: list[pd.DataFrame]
    #: ids of hits to retract: band hits strict hits cover, hits either pass dropped
    retract_ids: list[str]
    #: the pass-through runs it traced
    traced: list[pd.DataFrame]
    #: for a cluster detector, the evidence of every hit of both passes
    clusters: list[pd.DataFrame]
    #: the first day of the earliest run of any hit it traced (``ScannedHits.earliest_run_first``)
    earliest: pd.Timestamp | None
    #: band hits ending before the scan's days that no strict hit covers (``ScannedHits.restorable``)
    restorable: pd.DataFrame | None = None


def _detector_hits(graph: TransactionGraph, config: ScanConfig, name: str, days: tuple[int, int]) -> _DetectorPart:
    """One detector's part of :func:`scan_hits`."""
    first, last = days
    entry, params = REGISTRY[name], config.detector_params[name]
    band = config.model.tolerance_band
    relaxed_params = params.relaxed(band) if band > 0 else params
    strict_table, earlier = None, None
    if relaxed_params != params and entry.clusters:  # band hits of the traced clusters' days too
        strict_table = entry.detect(graph, params, (first, last))
        tables, earlier = _band_pass_of_clusters(graph, entry, relaxed_params, strict_table.frame, first, last)
    else:
        tables = [entry.detect(graph, relaxed_params, (first, last))] if relaxed_params != params else []
    # the band pass's hits as keys: its rows are built only for the hits no strict hit covers
    relaxed = tables[0].keys if tables else None
    # a strict hit covers a band hit only if its run reaches the band hit's run
    starts = [f["run_first"].min() for f in (relaxed, earlier) if f is not None and len(f)]
    reach = min([first] + [int(graph.day_index_of([day])[0]) for day in starts])
    if reach < first and entry.first_day_selects_runs:  # one strict pass from there covers both
        wide = entry.detect(graph, params, (reach, last))
        covering = wide.keys
        reaching = (covering["run_last"] >= graph.business_days[first]).to_numpy(dtype=bool)
        tables.append(wide.select(reaching) if reaching.any() else HitTable(empty_hits(), wide.dropped))
    else:  # strict hits of the scan days; a band hit starting earlier needs a pass from its day
        tables.append(strict_table if strict_table is not None else entry.detect(graph, params, (first, last)))
        covering = tables[-1].keys if reach == first else entry.detect(graph, params, (reach, last)).keys
    retract_ids = [i for t in tables for i in t.dropped["hit_id"]]
    # the hits' rows as the scan keeps them: the measures in their JSON, no column each
    rows_of = HitTable.frame_without_measure_columns
    strict = rows_of(tables[-1])
    # every hit either pass traced, reported or not (its run's first day: earliest_run_first)
    seen = [t.keys for t in tables] + [t.dropped for t in tables]
    # a cluster detector's evidence, both passes, band hits set aside and clusters dropped
    # included (absorbed_clusters): its band table is built whole, here, before any selection
    passes = []
    if entry.clusters:
        if relaxed is not None:
            band = rows_of(tables[0])
            tables[0] = HitTable(band, tables[0].dropped)
            passes = [(band, True), (tables[0].dropped, True)]
        passes += [(strict, False), (tables[-1].dropped, False)]
    clusters = [_evidence_rows(name, frame, in_band) for frame, in_band in passes if len(frame)]
    frames, traced = [], []
    if relaxed is not None and len(relaxed):
        seen.append(covering)
        covered = _covered(relaxed, covering)
        retract_ids += relaxed.loc[covered, "hit_id"].tolist()
        frames.append(rows_of(tables[0].select(~covered)).assign(in_band=True))
        members = relaxed["typology"].isin(MEMBER_TYPOLOGIES).to_numpy()
        traced.append(member_runs(rows_of(tables[0].select(members)) if members.any() else empty_hits()))
    frames.append(strict.assign(in_band=False))
    traced.append(member_runs(strict))
    restorable = None
    if earlier is not None and len(earlier):
        seen.append(earlier)
        restorable = earlier[~_covered(earlier, covering)].drop(columns=[EDGE_IDS], errors="ignore")
    starts = [f["run_first"].min() for f in seen if len(f)]
    return _DetectorPart(frames, retract_ids, traced, clusters, min(starts) if starts else None,
                         None if restorable is None or restorable.empty else restorable.assign(in_band=True))


def _band_pass_of_clusters(graph: TransactionGraph, entry, relaxed_params, strict: pd.DataFrame, first: int,
                           last: int) -> tuple[list[HitTable], pd.DataFrame | None]:
    """A cluster detector's band pass (:func:`_detector_hits`): its hit table of the band
    hits reaching the scan's days, and the band hits that end before them on the days of
    the strict clusters the scan traced (None: the strict clusters start in the scan).

    A strict cluster a later day absorbs into a larger one of another typology (a
    ``bipartite`` flow that turns out a ``stack``) is retracted (:func:`absorbed_clusters`);
    a band hit it covered is then covered by nothing, and a scan of all the days reports it.
    Its run ended before the scan's days, but it overlaps the absorbed cluster's, which lie
    within the absorbing one's, and its subject, the absorbed cluster's, is an account of
    the absorbing one's evidence. So the band hits ending on the days of a strict cluster
    starting before the scan whose subject is one of that cluster's accounts are traced
    too (only those: their runs decide how far back a store is read), and the uncovered
    ones handed to the store as restorable (``ScannedHits.restorable``)."""
    scan_first = graph.business_days[first]
    early = strict.loc[(strict["run_first"] < scan_first).to_numpy(dtype=bool)]
    if early.empty:
        return [entry.detect(graph, relaxed_params, (first, last))], None
    band = entry.detect(graph, relaxed_params, (int(graph.day_index_of([early["run_first"].min()])[0]), last))
    reaching = (band.frame["run_last"] >= scan_first).to_numpy(dtype=bool)
    earlier = band.frame.loc[~reaching].reset_index(drop=True)
    return [HitTable(band.frame.loc[reaching].reset_index(drop=True), band.dropped)], \
        earlier.loc[_within_clusters(earlier, early)].reset_index(drop=True)


def _within_clusters(hits: pd.DataFrame, clusters: pd.DataFrame) -> np.ndarray:
    """Which ``hits`` have a subject among the evidence accounts of one of ``clusters``
    whose run overlaps theirs."""
    if hits.empty:
        return np.zeros(0, bool)
    lists = id_list_array(clusters["accounts"])
    owner = np.asarray(pc.list_parent_indices(lists))
    return _overlapping(hits["subject"], hits["run_first"], hits["run_last"],
                        lists.flatten().to_numpy(zero_copy_only=False),
                        clusters["run_first"].to_numpy()[owner], clusters["run_last"].to_numpy()[owner])


def _evidence_rows(detector: str, hits: pd.DataFrame, in_band: bool) -> pd.DataFrame:
    """One row per evidence transaction of each hit: ``detector, in_band, hit_id, txn_id``."""
    lists = id_list_array(hits["txn_ids"])
    owner = np.asarray(pc.list_parent_indices(lists))
    return pd.DataFrame({"detector": detector, "in_band": in_band,
                         "hit_id": hits["hit_id"].to_numpy(dtype=object)[owner],
                         "txn_id": lists.flatten().to_numpy(zero_copy_only=False)})


def absorbed_clusters(earlier: pd.DataFrame, scanned: ScannedHits, found: pa.Array | None = None) -> list[str]:
    """Ids of ``earlier`` hits (``hit_id, detector, in_band, txn_ids``) that a later cluster
    absorbed: hits of a cluster detector that ``scanned`` did not find again, every evidence
    transaction of which one cluster it traced in the same pass (strict or band) holds. A
    scan of the whole range never finds them (their links are part of the larger cluster),
    so a store or a block merge retracts them."""
    evidence = scanned.cluster_evidence
    if evidence is None or evidence.empty or earlier.empty:
        return []
    found = pa.array(scanned.hits["hit_id"], pa.string(), from_pandas=True) if found is None else found
    earlier = earlier[earlier["detector"].isin(set(evidence["detector"])).to_numpy(dtype=bool)
                      & ~_isin(earlier["hit_id"], found)]
    holders: dict[tuple, list] = {}  # (detector, pass, transaction) -> the clusters holding it
    for key in zip(evidence["detector"], evidence["in_band"].astype(bool), evidence["txn_id"], evidence["hit_id"]):
        holders.setdefault(key[:3], []).append(key[3])
    absorbed = []
    for hit_id, detector, band, ids in zip(earlier["hit_id"], earlier["detector"], earlier["in_band"].astype(bool),
                                           earlier["txn_ids"]):
        ids = set(ids)
        held = collections.Counter(c for t in ids for c in holders.get((detector, band, t), ()))
        if ids and len(ids) in held.values():
            absorbed.append(hit_id)
    return absorbed


def _covered(relaxed: pd.DataFrame, strict: pd.DataFrame) -> np.ndarray:
    """Relaxed hits that a strict hit of the same typology and subject already covers:
    their runs overlap. Runs only grow as days are added, so once covered, always covered
    (a T+1 sequence and a range scan agree) — but for a strict cluster a larger one of
    another typology absorbs: a band hit it covered is given back
    (:func:`_band_pass_of_clusters`, :func:`stored_restorations`)."""
    if strict.empty:
        return np.zeros(len(relaxed), bool)
    # (typology, subject) as one integer key: a merge on integers, not on two text columns
    both = pd.concat([relaxed[["typology", "subject"]], strict[["typology", "subject"]]], ignore_index=True)
    typology, subject = (pd.factorize(both[c])[0].astype(np.int64) for c in ("typology", "subject"))
    key = typology * (int(subject.max()) + 1) + subject
    return _overlapping(key[:len(relaxed)], relaxed["run_first"], relaxed["run_last"],
                        key[len(relaxed):], strict["run_first"], strict["run_last"])


def _overlapping(key, first, last, other_key, other_first, other_last) -> np.ndarray:
    """For each run (``key``, days ``first`` .. ``last``): whether a run of the others with
    the same key overlaps it (a merge on the key, not a loop)."""
    runs = lambda k, f, l: pd.DataFrame({"key": np.asarray(k), "first": np.asarray(f), "last": np.asarray(l)})
    merged = runs(key, first, last).reset_index().merge(runs(other_key, other_first, other_last), on="key",
                                                        suffixes=("", "_o"))
    overlap = (merged["first"] <= merged["last_o"]) & (merged["first_o"] <= merged["last"])
    out = np.zeros(len(np.asarray(key)), bool)
    out[merged.loc[overlap, "index"].to_numpy()] = True
    return out


def lookback_days(config: ScanConfig) -> int:
    """How many business days before a scanned day D the transactions that decide D's
    results reach: the largest day parameter of the registered detectors (strict and
    tolerance-band versions). Whether D qualifies, and the evidence of its window, use
    only the days D - lookback .. D.

    A hit's run of qualifying days can reach further back than that (runs are traced from
    the first day of the data, and a hit's id is fixed by its run's first day), so a scan
    of a store reads more only where a run needs it (:func:`store_window`)."""
    days = [0]
    for version in param_versions(config):
        days += [int(getattr(version, f)) for f in day_fields(type(version))]
    return max(days)


def param_versions(config: ScanConfig) -> list:
    """Every detector's parameters a scan runs: the strict ones and, with a tolerance band,
    the relaxed ones (:func:`_detector_hits`)."""
    band = config.model.tolerance_band
    return [version for params in config.detector_params.values()
            for version in ((params, params.relaxed(band)) if band > 0 else (params,))]


def day_fields(params_type: type) -> tuple[str, ...]:
    """The day-valued parameters of a detector's parameter class: those its validation
    table bounds by :data:`~flowgraph.detectors._params.MAX_WINDOW_DAYS` (windows, runs,
    hop gaps), so a new detector's windows count without being listed anywhere."""
    return tuple(name for name, c in params_type._parameter_constraints.items()
                 if isinstance(c, Interval) and c.high == MAX_WINDOW_DAYS)


@dataclass
class StoreWindow:
    """The days a scan of a store read, its graph, its hits and the scan's day indices."""

    dataset: Dataset
    graph: TransactionGraph
    scanned: ScannedHits
    days: tuple[int, int]
    files: list
    mode: str

    def fingerprint(self) -> str:
        """What a run over this window is known by (a killed run resumes only over the same
        data): the rows it read and a digest of the partition files (day, size and
        modification time, :meth:`TransactionStore.files_digest`), as a scan in blocks is
        known (:func:`flowgraph.block_run.store_files_fingerprint`): no hash of the rows."""
        return f"files-{self.graph.n_edges}-{TransactionStore.files_digest(self.files)}"


#: Windows (:func:`lookback_days`) a range scan of a store reads before the trusted start
#: of its first read (:func:`store_window`). A T+1 scan reads none. On the 1e8 bank, 9 of 14
#: days sampled in September and October 2026 read twice (the second read runs only the
#: layered detector again): 22-24 s end to end, and 14 s for a day that reads once. With
#: this window too, every day read once, in 17-19 s, with 0.5-1 GiB more at its peak.
RANGE_FIRST_READ_EXTRA_WINDOWS = 1


def store_window(store: TransactionStore, config: ScanConfig, as_of: str | None = None,
                 clock: "Stopwatch | None" = None, first_day: str | None = None,
                 last_day: str | None = None, rates: RateTable | None = None) -> StoreWindow:
    """Read from ``store`` only the days a scan of ``as_of``, or of the range ``first_day``
    .. ``last_day`` (default: every stored day), needs, and find its hits: the same hits as
    a scan of the whole history (amounts converted with ``rates``, default the configuration's).
    Once the graph is built, the window's table keeps only the columns the graph keeps
    (``TransactionGraph.transactions``): the rest is let go before the detectors run (a
    run over a store is known by its files, :meth:`StoreWindow.fingerprint`, not by a hash
    of their rows).

    A first read takes ``2 L + 1`` business days before the earliest first day a hit
    reaching the scan can have (L = :func:`lookback_days`): the first business day of the
    scan's first month (runs never go on from one month into the next:
    :mod:`flowgraph._kernels.runs`) or L business days before the scan (a cluster's or a
    chain's days), whichever is earlier. Days in the first L of them are
    computed from a cut window and may be wrong; day ``L`` onward is exact. A hit is
    trusted when its run starts at day ``2 L + 1`` or later: the day before its run is
    then exact (so the run truly starts there), and everything its evidence or a chain
    link reads (one window, L days) is exact too. When some hit's run starts earlier (of
    every hit the scan traced: a band hit set aside as covered or a dropped cluster
    decides what the scan retracts, ``ScannedHits.earliest_run_first``), the
    read goes back to ``2 L + 1`` business days before that run, and a window further
    (what the wider read finds may start a little earlier again), until no run starts
    untrusted or the store's first day is reached (a safety net: the month cut keeps
    every run of a reported hit after the first read's trusted start). Only the detectors
    that traced an untrusted run run again on the wider read: a detector whose every
    traced run was trusted found what any wider read finds, and keeps its part (its
    evidence moved to the wider graph's edge ids, :func:`_parts_moved`). On the 1e8 bank,
    the layered flows' clusters alone made a T+1 read twice.
    A T+1 scan thus reads ``3 L + 1`` business days before its day (76 at the default
    windows, where L = 25 exceeds a month's business days so far), however long the history.

    A range (a block of a long one) reads one window, L business days, further back at
    first (:data:`RANGE_FIRST_READ_EXTRA_WINDOWS`): over months, some layered flow's
    cluster (its links keep joining it from window to window) almost always starts a few
    days before the trusted start, and a second read would load and build the wider days
    again and run the layered detector on them (on the 1e8 bank, every block but the first,
    which starts at the store's first day, and the last read twice; when every detector
    ran again, that was 70 s of detection where one pass is 37 s). Where the first read
    starts decides only the cost, never the hits: the loop above reads further until they
    are exact.
    """
    clock = clock or Stopwatch()
    rates = rates or config.rates()
    calendar = config.calendar()
    check_store_timezone(store, config)
    stored = store.days()
    scan_first, scan_last, mode = store_scan_days(store, calendar, as_of, first_day, last_day)
    first_stored = calendar.next_business_day(stored[0])
    # calendar days up to the scanned day roll into it or earlier; if none rolls into it,
    # the next stored day carries the graph's days to it (the kernels stop at the scanned day)
    end_day = str(scan_last)
    if not store.day_files(str(_business_day_before(calendar, scan_last, 1) + 1), end_day):
        end_day = next(d for d in stored if d > end_day)
    lookback = lookback_days(config)
    margin = 2 * lookback + 1
    start = first_read_start(calendar, scan_first, lookback, mode)
    exact: dict[str, _DetectorPart] = {}  # the parts of detectors whose every run an earlier read traced was trusted
    n_edges_before = 0
    while True:
        complete = start <= first_stored
        read_from = read_from_day(calendar, start, stored[0])
        with clock("load"):
            dataset = store.dataset(read_from, end_day, columns=GRAPH_COLUMNS,
                                    dictionary_columns=GRAPH_DICTIONARY_COLUMNS)
        with clock("graph"):
            graph = build_graph(dataset.transactions.table, dataset.accounts.table if len(dataset.accounts.table)
                                else None, calendar, config.rules.home_currency, config.rules.foreign_currency, rates)
            table = dataset.transactions.table
            kept = [c for c in table.columns if c in graph.transactions.columns]
            dataset.transactions.table = table[kept]
            del table
        days = (graph.day_index(scan_first), graph.day_index(scan_last))
        with clock("detect"):
            exact = _parts_moved(exact, graph, graph.n_edges - n_edges_before)
            parts = {**exact, **detector_parts(graph, config, days, [n for n in REGISTRY if n not in exact])}
        untrusted = {name for name, part in parts.items()
                     if part.earliest is not None and len(calendar.business_days(start, part.earliest)) <= margin}
        if complete or not untrusted:
            return StoreWindow(dataset, graph, scanned_hits(parts), days, store.day_files(read_from, end_day), mode)
        earliest = min(parts[name].earliest for name in untrusted)
        exact = {name: part for name, part in parts.items() if name not in untrusted}
        n_edges_before = graph.n_edges
        del dataset, graph, parts  # let this read go before the wider one is made
        start = _business_day_before(calendar, np.datetime64(earliest, "D"), margin + lookback)


def first_read_start(calendar, scan_first: np.datetime64, lookback: int, mode: str) -> np.datetime64:
    """The first business day :func:`store_window`'s first read of a scan from ``scan_first``
    takes (``lookback`` = :func:`lookback_days`, ``mode`` "range" or "t+1"): ``2 L + 1``
    business days before the earliest first day a hit reaching the scan can have, its
    month's first business day (a run) or L business days back (a cluster's or a chain's
    days); a range one window more (:data:`RANGE_FIRST_READ_EXTRA_WINDOWS`)."""
    month_first = calendar.next_business_day(scan_first.astype("datetime64[M]").astype("datetime64[D]"))
    anchor = min(month_first, _business_day_before(calendar, scan_first, lookback) if lookback else scan_first)
    extra = RANGE_FIRST_READ_EXTRA_WINDOWS * lookback if mode == "range" else 0
    return _business_day_before(calendar, anchor, 2 * lookback + 1 + extra)


def read_from_day(calendar, start: np.datetime64, first_stored: str) -> str:
    """The first calendar day (ISO) a read starting at business day ``start`` takes from a
    store whose first day is ``first_stored``: the day after the business day before
    ``start`` (calendar days roll into the next business day), or the store's first day."""
    if start <= calendar.next_business_day(first_stored):
        return first_stored
    return str(_business_day_before(calendar, start, 1) + 1)


def _parts_moved(parts: dict[str, _DetectorPart], graph: TransactionGraph,
                 n_added: int) -> dict[str, _DetectorPart]:
    """Detector parts found on the graph of a read that ``graph``'s reaches further back
    (by ``n_added`` earlier transactions), with their evidence as edge ids of ``graph``:
    the same transactions, ``n_added`` edges later (a graph's edges are in time order).
    A part some evidence transaction of which is not there (or without edge ids) is left
    out, so its detector runs again on ``graph``."""
    moved = {}
    for name, part in parts.items():
        frames = [_edges_moved(frame, graph, n_added) for frame in part.frames]
        if all(frame is not None for frame in frames):
            moved[name] = part._replace(frames=frames)
    return moved


def _edges_moved(frame: pd.DataFrame, graph: TransactionGraph, n_added: int) -> pd.DataFrame | None:
    """``frame`` (a hit table) with its edge ids ``n_added`` later, when ``graph`` holds its
    evidence transactions there; else None."""
    if not len(frame):
        return frame
    if EDGE_IDS not in frame.columns or frame[EDGE_IDS].isna().any():
        return None
    lists = id_list_array(frame[EDGE_IDS])
    edges = np.asarray(lists.flatten(), dtype=np.int64) + n_added
    if len(edges) and (edges.min() < 0 or edges.max() >= graph.n_edges):
        return None
    txn_ids = id_list_array(frame["txn_ids"]).flatten().cast(pa.large_string())
    there = graph.txn_id_arrow.take(graph.txn_pos[edges]).cast(pa.large_string())
    if len(edges) != len(txn_ids) or (len(edges) and not pc.all(pc.equal(there, txn_ids)).as_py()):
        return None
    offsets = np.concatenate([[0], np.cumsum(np.asarray(pc.list_value_length(lists), dtype=np.int64))])
    moved = pa.LargeListArray.from_arrays(pa.array(offsets), pa.array(edges).cast(lists.type.value_type))
    return frame.assign(**{EDGE_IDS: pd.arrays.ArrowExtensionArray(moved.cast(lists.type))})


def _settled_store_days(store: TransactionStore, config: ScanConfig, store_path, as_of: str | None,
                        first_day: str | None, last_day: str | None) -> tuple[str | None, str | None, str | None,
                                                                               list[str]]:
    """``as_of, first_day, last_day`` of a scan of ``store`` into the run store at
    ``store_path``: as given, or the range it scans instead, starting earlier
    (:mod:`flowgraph.rescans`: a range re-scanning stored days, a T+1 of a day already
    scanned or after days never scanned); and the notes to say."""
    check_store_timezone(store, config)
    first, last, mode = store_scan_days(store, config.calendar(), as_of, first_day, last_day)
    settled, notes = settled_first_day(store_path, config, first, last, mode, store)
    if settled == first:
        return as_of, first_day, last_day, notes
    return None, str(settled), str(last), notes


def _store_plan(store: TransactionStore, config: ScanConfig, as_of: str | None, first_day: str | None,
                last_day: str | None, memory_bytes: int | None):
    """How a scan of ``store`` would read its days in ``memory_bytes`` (default: this
    machine's share): :func:`flowgraph.blocks.plan_blocks` for its range, or for its T+1 day."""
    from .blocks import plan_blocks

    calendar = config.calendar()
    first, last, mode = store_scan_days(store, calendar, as_of, first_day, last_day)
    return plan_blocks(store, config, calendar.business_days(first, last), memory_bytes, mode=mode)


def check_store_timezone(store: TransactionStore, config: ScanConfig) -> None:
    """A ConfigError when ``store`` was ingested with times converted into another time
    zone than the one ``config`` dates transactions in
    (:meth:`~flowgraph.txstore.TransactionStore.check_bank_timezone`)."""
    whose = ("the configuration's [calendar] bank_timezone" if config.bank_timezone is not None
             else f"rule set {config.rules.name!r}")
    store.check_bank_timezone(config.timezone(), whose)


def store_scan_days(store: TransactionStore, calendar, as_of: str | None = None, first_day: str | None = None,
                    last_day: str | None = None) -> tuple[np.datetime64, np.datetime64, str]:
    """:func:`resolve_scan_days` for the days ``store`` holds; a DataError when it holds none
    or an ingest into it stopped partway (:meth:`TransactionStore.check_whole`)."""
    store.check_whole()
    stored = store.days()
    if not stored:
        raise DataError(f"{store.root}: the store holds no transaction yet. Fix: flowgraph ingest INPUT "
                        f"--into {store.root}.")
    data_days = (calendar.next_business_day(stored[0]), calendar.next_business_day(stored[-1]))
    return resolve_scan_days(calendar, data_days, as_of, first_day, last_day, f"the store {store.root}",
                             "ingest that day's transactions first")


def _business_day_before(calendar, day: np.datetime64, n: int) -> np.datetime64:
    """The business day ``n`` business days before ``day``."""
    span = 2 * n + 30
    while True:
        found = calendar.business_days(day - span, day - 1)
        if len(found) >= n:
            return found[-n]
        span *= 2


def _chunks(first: int, last: int, size: int) -> list[tuple[int, int]]:
    return [(d, min(d + size - 1, last)) for d in range(first, last + 1, size)]


def large_value_checks(store: Store, config_hash: str, hits: pd.DataFrame, known_from: str | None,
                       written: pd.DataFrame | None = None, run_id: str | None = None,
                       evidence_edges: pa.Array | None = None) -> dict:
    """A run's ``checks``: hits above their ceiling (u > 1) none of whose evidence
    transactions is in a large-value hit (single or daily cumulative, of either party, from
    this run or an earlier one): SPEC §4 says such a flow must have triggered a report.
    Large-value hits are known from business day ``known_from`` on
    (:func:`large_value_known_from`): a hit whose window starts earlier (a T+1 or a range
    into a new run store, its evidence reaching back before the first scanned day) cannot be
    checked, and is counted, not reported (``u_above_1_not_checked``). ``written``: the hits
    run ``run_id`` stored, held in memory, so only other runs' are read from the store.
    ``evidence_edges``: the evidence of ``hits`` as edge ids of one graph, when ``hits``
    are every hit there is (nothing else stored): compared as integers, not text."""
    over = ((hits["utilisation"] > 1) & (hits["detector"] != "large_value")).to_numpy(dtype=bool)
    unchecked = over & (hits["window_start"] < pd.Timestamp(known_from)).to_numpy(dtype=bool) if known_from else \
        np.zeros(len(hits), dtype=bool)
    return {"u_above_1_without_large_value": _large_value_cross_check(store, config_hash, hits, over & ~unchecked,
                                                                      written, run_id, evidence_edges),
            "u_above_1_not_checked": {"n_hits": int(unchecked.sum()), "large_value_hits_known_from": known_from}}


def large_value_known_from(store: Store, config_hash: str, run_id: str) -> str | None:
    """The first business day (ISO) whose large-value hits run ``run_id`` or an earlier
    complete run of the same configuration found (the earliest first scanned day; None when
    no run recorded one)."""
    day = store.query("SELECT MIN(scan_first) AS day FROM runs WHERE config_hash = ? AND (run_id = ? OR "
                      "status = 'complete')", [config_hash, run_id])["day"].iloc[0]
    return None if day is None or pd.isna(day) else str(day)


def _large_value_cross_check(store: Store | None, config_hash: str, hits: pd.DataFrame, over: np.ndarray,
                             written: pd.DataFrame | None, run_id: str | None,
                             evidence_edges: pa.Array | None) -> list[dict]:
    """The hits ``over`` (a mask of ``hits``) none of whose evidence transactions is in a
    large-value hit (:func:`large_value_checks`)."""
    if not over.any():
        return []
    if evidence_edges is not None:
        any_reported = _in_large_value_hits(hits, evidence_edges)[over]
    else:
        any_reported = _in_stored_large_value_hits(store, config_hash, hits[over], written, run_id)
    late = hits.loc[over].loc[~any_reported]
    return [{"hit_id": h, "typology": t, "utilisation": round(float(u), 4)}
            for h, t, u in zip(late["hit_id"], late["typology"], late["utilisation"])]


def _in_large_value_hits(hits: pd.DataFrame, evidence_edges: pa.Array) -> np.ndarray:
    """Which hits have an evidence edge that a large-value hit among ``hits`` has too."""
    edge = evidence_edges.flatten().to_numpy()
    owner = np.asarray(pc.list_parent_indices(evidence_edges))
    large = hits["typology"].isin(LARGE_VALUE_TYPOLOGIES).to_numpy(dtype=bool)
    reported = np.zeros(int(edge.max(initial=-1)) + 1, bool)
    reported[edge[large[owner]]] = True
    return np.bincount(owner, weights=reported[edge], minlength=len(hits)) > 0


def _in_stored_large_value_hits(store: Store | None, config_hash: str, over: pd.DataFrame,
                                written: pd.DataFrame | None, run_id: str | None) -> np.ndarray:
    """Which of the hits ``over`` have an evidence transaction in a large-value hit that
    ``written`` holds or another run stored."""
    first, last = over["window_start"].min().normalize(), over["window_end"].max().normalize()
    reported = [] if store is None else store.large_value_evidence(
        config_hash, str(first.date()), str(last.date()), written_by_other_than=run_id).chunks
    if written is not None:
        large = written[["txn_ids"]][(written["detector"] == "large_value")
                                     & written["typology"].isin(LARGE_VALUE_TYPOLOGIES)
                                     & (written["window_end"] >= first) & (written["window_start"] <= last)]
        reported.append(id_list_array(large["txn_ids"]).flatten().cast(pa.string()))
    evidence = id_list_array(over["txn_ids"])
    evidence_ids = evidence.flatten().cast(pa.string())
    # the hits above their ceiling are few and the reported ids many (every large-value
    # hit of their days): the reported ids are looked up in the evidence, not the other way
    wanted = pc.unique(evidence_ids)
    found = [chunk.filter(pc.is_in(chunk, value_set=wanted)) for chunk in reported]
    is_reported = np.asarray(pc.is_in(evidence_ids, value_set=pa.chunked_array(found, pa.string())))
    return np.bincount(np.asarray(pc.list_parent_indices(evidence)), weights=is_reported,
                       minlength=len(over)) > 0


def output_folder(out: str | Path) -> Path:
    """The ``--out`` folder, created if absent and checked writable before any work."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out}: is a file, not a folder. Fix: name a folder (it is created if absent).")
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / f".flowgraph-write-test-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise ConfigError(f"--out {out}: cannot write there ({exc.strerror}). Fix: choose a folder you can "
                          "write to, or fix its permissions or free space.") from None
    return out


def resolve_scan_days(calendar, data_days: tuple[np.datetime64, np.datetime64], as_of: str | None,
                      first_day: str | None, last_day: str | None, where: str, fix: str
                      ) -> tuple[np.datetime64, np.datetime64, str]:
    """The first and last business day of a scan and its mode: ``as_of`` alone (T+1, one
    day), or the range ``first_day`` .. ``last_day`` (``--from``/``--to``; either defaults
    to the end of ``data_days``, the first and last business day of the data). A weekend or
    holiday counts as the next business day; a day outside ``data_days`` is a ConfigError
    naming ``where`` the data is and ``fix``."""
    if as_of is not None and (first_day is not None or last_day is not None):
        raise ConfigError(f"--as-of {as_of} scans one business day and --from/--to a range of them. Fix: give "
                          "--as-of alone, or --from and/or --to.")
    asked = {"--as-of": as_of} if as_of is not None else {"--from": first_day, "--to": last_day}
    days = {}
    for option, value in asked.items():
        if value is None:
            continue
        day = days[option] = calendar.next_business_day(parse_iso_day(value, option))
        if not data_days[0] <= day <= data_days[1]:
            raise ConfigError(f"{option} {value} (business day {day}): outside {where}, whose transactions fall on "
                              f"business days {data_days[0]} .. {data_days[1]}. Fix: give a day inside that range, "
                              f"or {fix}.")
    if as_of is not None:
        return days["--as-of"], days["--as-of"], "t+1"
    first, last = days.get("--from", data_days[0]), days.get("--to", data_days[1])
    if first > last:
        raise ConfigError(f"--from {first_day} (business day {first}) is after --to {last_day} (business day "
                          f"{last}). Fix: give --from a day on or before --to.")
    return first, last, "range"


def _scan_days(graph: TransactionGraph, as_of: str | None, first_day: str | None = None,
               last_day: str | None = None) -> tuple[int, int, str]:
    """Business-day indices (first, last) and the mode of a scan."""
    first, last, mode = resolve_scan_days(graph.calendar, (graph.business_days[0], graph.business_days[-1]), as_of,
                                          first_day, last_day, "the data", "add that day's transactions to INPUT")
    return graph.day_index(first), graph.day_index(last), mode


def run_scan(dataset: Dataset | str | Path, out: str | Path, config: ScanConfig | None = None,
             as_of: str | None = None, store_path: str | Path | None = None, reveal_ids: bool = False,
             key_file: str | Path | None = None, progress: bool = True, wait_s: float = 0.0,
             on_chunk: Callable[[int], None] | None = None, stopwatch: Stopwatch | None = None,
             first_day: str | None = None, last_day: str | None = None,
             rates: RateTable | None = None, release_input: bool = False,
             block_memory: int | None = None) -> ScanResult:
    """Run a scan and write its store rows and exports.

    Parameters
    ----------
    dataset : Dataset or path
        Validated input, or anything :func:`flowgraph.io.load_dataset` reads. A
        transaction store (:mod:`flowgraph.txstore`) is read a window at a time: only the
        days the scan needs (:func:`store_window`).
    out : path
        Folder for ``hits.parquet``, ``alerts.parquet``, ``manifest.json`` (and the store,
        by default ``OUT/store.sqlite``).
    config : ScanConfig, optional
        Default: every SPEC default.
    as_of : str, optional
        T+1: scan only this business day (YYYY-MM-DD; a weekend or holiday counts as the
        next business day) with its trailing windows.
    store_path : path, optional
        The run store; default ``OUT/store.sqlite``.
    reveal_ids : bool
        Write real account and customer ids into the exports (logged in the store's
        audit table). Default: keyed pseudonyms.
    key_file : path, optional
        Pseudonym key (see :mod:`flowgraph.deid`).
    progress : bool
        Show a progress bar on a terminal.
    wait_s : float
        How long to wait for another scan that holds the same store (default: refuse at once).
    on_chunk : callable, optional
        Called with the chunk number after each chunk is committed to the store (progress
        reporting; the tests use it to kill a scan between chunks).
    stopwatch : Stopwatch, optional
        Times the stages (a caller may have timed loading with it already); the manifest
        records them as ``timings_s``.
    first_day, last_day : str, optional
        A range scan of the business days ``first_day`` .. ``last_day`` (YYYY-MM-DD; each
        defaults to the end of the data), with the trailing windows before ``first_day``
        (``--from``/``--to``; not with ``as_of``).
    rates : RateTable, optional
        The exchange rates ``dataset`` was (or, given as a path, is) validated with; they
        also convert amounts into the rule set's home currency. Default: the
        configuration's (``config.rates()``). The manifest records which (``rates``).
    release_input : bool
        Once the graph is built, replace the transaction table of ``dataset`` (a Dataset)
        with the few columns the scan still reads (``TransactionGraph.transactions``), so
        the rest can be let go while the scan runs (the CLI does: at 10^7 transactions it
        is about a gigabyte). Default: ``dataset`` is left as it was given.
    block_memory : int, optional
        Bytes of memory a range scan of a transaction store may use (``--block-memory``;
        default: :data:`~flowgraph.blocks.MEMORY_SHARE` of this machine's). A range whose
        read does not fit runs in blocks that do, one after another
        (:func:`flowgraph.dask_scan.block_scan`): the same hits.

    Raises
    ------
    ConfigError
        Bad ``as_of``, an unwritable ``out``, a store held by another scan.
    DataError
        No accepted transaction, a damaged store.
    """
    config = config or ScanConfig()
    rates = rates or config.rates()
    clock = stopwatch or Stopwatch()
    out = output_folder(out)
    window, given, in_place = None, isinstance(dataset, Dataset), None
    if not isinstance(dataset, Dataset) and is_store(dataset):  # only the days the scan needs
        txstore = TransactionStore.open(dataset, "INPUT")
        as_of, first_day, last_day, notes = _settled_store_days(txstore, config, store_path or out / "store.sqlite",
                                                                as_of, first_day, last_day)
        plan = _store_plan(txstore, config, as_of, first_day, last_day, block_memory)
        if len(plan.blocks) > 1:  # a range that does not fit at once (a T+1 day is one block)
            from .dask_scan import block_scan  # no Dask: the blocks run one after another here

            # the block scan settles them again, and says the notes (rescans)
            return block_scan(dataset, out, config, first_day=first_day, last_day=last_day, store_path=store_path,
                              reveal_ids=reveal_ids, key_file=key_file, progress=progress, wait_s=wait_s,
                              stopwatch=clock, rates=rates, block_memory=block_memory)
        say(notes)
        plan.say_note()  # a T+1 window (or a one-day range) too large for the memory
        window = store_window(txstore, config, as_of, clock, first_day, last_day, rates)
        dataset, in_place = window.dataset, txstore.root  # large-value evidence stays there
    elif not isinstance(dataset, Dataset):
        with clock("load"):
            dataset = load_dataset(dataset, rates=rates, home_currency=config.rules.home_currency,
                                   calendar=config.calendar(), bank_timezone=config.timezone())
    table = dataset.transactions.table
    if len(table) == 0:
        report = dataset.transactions.report
        if report.n_input == 0:
            raise DataError(f"{report.source}: no transaction rows (a header only), nothing to scan. Fix: give a file "
                            "with its transactions.")
        raise DataError(f"{report.source}: no accepted transaction, nothing to scan. "
                        "Fix: see the rejected rows and their reasons (flowgraph ingest INPUT --out DIR).")
    if window is None:
        with clock("graph"):
            graph = build_graph(table, dataset.accounts.table, config.calendar(), config.rules.home_currency,
                                config.rules.foreign_currency, rates)
        first, last, mode = _scan_days(graph, as_of, first_day, last_day)
        days = graph.business_days
        settled, notes = settled_first_day(store_path or out / "store.sqlite", config, days[first], days[last], mode,
                                           data_first=days[0])
        say(notes)
        if settled != days[first]:  # a range now (a T+1 of a day already scanned, or after days never scanned)
            first, mode, as_of = int(np.searchsorted(days, settled)), "range", None
    else:
        graph, (first, last), mode = window.graph, window.days, window.mode
    warnings = [w for w in [unlisted_accounts_warning(graph)] if w]
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    with clock("fingerprint"):
        fingerprint = data_fingerprint(table) if window is None else window.fingerprint()
    scanned, window = None if window is None else window.scanned, None
    if release_input or not given:
        # from here on the scan reads the graph, which keeps the few columns it needs (not
        # copied): the table's other columns (account ids, times, ...) are let go
        dataset.transactions.table = graph.transactions
    del table, dataset
    store = Store(store_path or out / "store.sqlite")
    try:
        with store.lock(wait_s):
            return _run(store, graph, config, out, first, last, mode, as_of, reveal_ids, key_file,
                        progress, on_chunk, clock, rates, scanned, fingerprint, in_place=in_place,
                        warnings=warnings)
    finally:
        store.close()


def _run(store, graph, config, out, first, last, mode, as_of, reveal_ids, key_file, progress,
         on_chunk, clock, rates, scanned: ScannedHits | None, fingerprint: str,
         in_place: Path | None = None, warnings: list[str] | None = None) -> ScanResult:
    # of the graph only its days, calendar and size are used: a Dask scan, whose graphs were
    # built on the workers, passes those (flowgraph.dask_scan) with its hits and fingerprint
    scan_first, scan_last = str(graph.business_days[first]), str(graph.business_days[last])
    data_range = (graph.business_days[0], graph.business_days[-1])
    # the store's key, checked (and recorded, for a new store) before anything is stored
    pseudonymizer = None if reveal_ids else store_pseudonymizer(store, key_file)
    run_id = store.incomplete_run(fingerprint, config.config_hash, scan_first, scan_last)
    resumed = run_id is not None
    chunks = _chunks(first, last, config.chunk_days)
    if not resumed:
        run_id = uuid.uuid4().hex[:16]
        store_ingest = None if in_place is None else TransactionStore(in_place).latest_ingest()
        store.start_run({
            "run_id": run_id, "started_at": now(), "status": "running", "mode": mode, "as_of": as_of,
            "scan_first": scan_first, "scan_last": scan_last,
            "data_first": str(graph.business_days[0]), "data_last": str(graph.business_days[-1]),
            "data_fingerprint": fingerprint, "n_transactions": int(graph.n_edges),
            "config_hash": config.config_hash, "config": json.dumps(config.to_dict(), sort_keys=True),
            "calendar": json.dumps(graph.calendar.describe(*data_range)), "code_version": metadata.version("flowgraph"),
            "n_chunks": len(chunks), "store_ingest": store_ingest,
            "disabled_detectors": json.dumps(disabled_detectors(graph), sort_keys=True)
            if isinstance(graph, TransactionGraph) else None},
            _day_transactions(graph, first, last))
    done = store.done_chunks(run_id)
    # every hit of the scan at once, then committed chunk by chunk (by the day its run
    # ends): how the days are cut changes no hit, and fixed costs are paid once
    with clock("detect"):
        if len(done) == len(chunks):
            scanned = None
        elif scanned is None:  # a scan of a store found its hits while choosing the days to read
            scanned = scan_hits(graph, config, (first, last))
    from_memory = scanned is not None and not store.has_other_runs(config.config_hash, run_id)
    if scanned is not None and not from_memory:
        scanned = stored_restorations(store, config.config_hash, scanned)
    commit = functools.partial(_commit_chunks, store, run_id, graph, chunks, done, scanned, config, scan_last,
                               progress, on_chunk, clock)
    # what `flowgraph show` lists and draws (flowgraph.desk.evidence)
    keep_cases = functools.partial(keep_case_transactions, store, graph, run_id, in_place=in_place) \
        if isinstance(graph, TransactionGraph) else None
    # the exports are staged and moved into place only once the run is recorded complete: a
    # failure before leaves the run to be resumed and none of its exports in `out`
    with staged_exports(out) as exports:
        if from_memory:
            run_hits, alerts, checks, tables = _alerts_while_committing(
                store, config, run_id, scanned, scan_last, commit, exports, out, reveal_ids, pseudonymizer, clock,
                keep_cases)
            found = set(run_hits["hit_id"])
        else:
            commit()
            with clock("alerts"):
                run_hits, alerts, checks, found = _alerts_from_store(store, config, run_id, scanned, scan_last)
        touched = np.array([not found.isdisjoint(ids) for ids in alerts["hit_ids"]], dtype=bool)
        run_alerts = alerts.loc[touched].reset_index(drop=True)
        n_raised = int(run_alerts["raised"].sum())
        if keep_cases is not None and not from_memory:
            with clock("case_transactions"):
                keep_cases(run_hits, run_alerts)
        manifest = run_manifest(store, run_id, config, rates, graph.calendar, data_range, resumed, checks,
                                reveal_ids, clock, hit_counts(run_hits), len(run_alerts), n_raised,
                                disabled_detectors(graph) if isinstance(graph, TransactionGraph) else None,
                                None if in_place is None else TransactionStore(in_place), warnings)
        with clock("exports"):
            if not from_memory:
                tables = export_tables(run_hits, run_alerts, reveal_ids, key_file, pseudonymizer)
            paths = write_exports(store, exports, out, tables, manifest, reveal_ids)
        store.finish_run(run_id, manifest["finished_at"], len(run_hits), n_raised, checks)
        exports.commit()
    return ScanResult(run_id, run_hits, run_alerts, manifest, paths)


def run_manifest(store: Store, run_id: str, config: ScanConfig, rates: RateTable, calendar, data_range: tuple,
                 resumed: bool, checks: dict, reveal_ids: bool, clock: Stopwatch,
                 counts: dict[str, int], n_alert_groups: int, n_raised: int, disabled: dict | None,
                 txstore: TransactionStore | None = None, warnings: list[str] | None = None) -> dict:
    """A complete run's ``manifest.json``: its row of the run store, then what it found
    (``counts``: hits per ``detector/typology``, :func:`hit_counts`), what its thresholds,
    amounts and business days came from, the hits it added, updated and retracted (every
    chunk's, a resumed run's earlier process's too), and its stage timings. A scan of the
    transaction store ``txstore`` read amounts its ingests converted into CNY and USD: the
    rates of those ingests are recorded too (``rates_at_ingest``), beside the scan's own
    (``rates``: every other currency). ``warnings``: what the scan warned of on stderr
    (:func:`unlisted_warning`; a scan in blocks, of its blocks' graphs together)."""
    return {**store.query("SELECT * FROM runs WHERE run_id = ?", [run_id]).iloc[0].to_dict(),
            "status": "complete", "finished_at": now(), "n_hits": sum(counts.values()), "n_alerts": n_raised,
            "n_alert_groups": n_alert_groups, "hits_by_typology": counts,
            "resumed": resumed, "checks": checks, "deidentified": not reveal_ids,
            # the id of the key the exports are pseudonymised with (flowgraph.deid.key_id)
            "pseudonym_key_id": None if reveal_ids else (store.pseudonym_key() or {}).get("key_id"),
            # what the thresholds, amounts and business days came from (issue 13)
            "rule_set": {"name": config.rules.name, "description": config.rules.description,
                         "home_currency": config.rules.home_currency,
                         "foreign_currency": config.rules.foreign_currency,
                         "calendar": config.rules.calendar, "bank_timezone": config.rules.bank_timezone},
            # the time zone times with a UTC offset were dated in: the rule set's, or [calendar]'s
            "bank_timezone": config.timezone(),
            "rates": rates.describe(),
            **({"rates_at_ingest": txstore.ingest_rates()} if txstore is not None else {}),
            # business days whose holidays were estimated, not taken from an official notice
            "calendar_note": calendar.coverage_note(*data_range),
            "estimated_business_days": [str(d) for d in calendar.estimated_days(*data_range)],
            # detectors an absent optional column turned off (the trafficking pack); None
            # when the graphs were built elsewhere (blocks on Dask workers) and are not known here
            "disabled_detectors": disabled,
            "warnings": warnings,
            "hit_changes": store.run_changes(run_id), "timings_s": clock.seconds}


def unlisted_accounts_warning(graph: TransactionGraph) -> str | None:
    """The warning a scan prints (and records in its manifest) when accounts that are the
    bank's are missing from the accounts table (:mod:`flowgraph.graph`, "Which accounts are
    the bank's own"): a count, never the ids (SPEC §7); None when there are none (every such
    account listed, or no accounts table given: then every account is its own customer)."""
    return unlisted_warning(*graph.unlisted_bank_accounts())


def unlisted_warning(n: int, at_cash: int, where: str = "") -> str | None:
    """:func:`unlisted_accounts_warning`'s text for ``n`` such accounts, ``at_cash`` of them
    with a cash transaction (``where``: what was counted, when not every day the scan read);
    None for none."""
    if not n:
        return None
    return (f"{n:,} account(s) that transact{where} are missing from the accounts table ({at_cash:,} with a cash deposit "
            f"or withdrawal, {n - at_cash:,} in transfers that name no listed account): they are scanned as the "
            "bank's, each its own customer, with an unknown party type (the natural-person thresholds), and their "
            "large-value reports cannot name a customer. Fix: add them to the accounts file (--accounts), with "
            "their customer and party type, and scan again")


def _day_transactions(graph: TransactionGraph, first: int, last: int) -> dict[str, int]:
    """Transactions counted toward each business day ``first .. last`` (indices) of ``graph``."""
    counts = np.bincount(graph.day, minlength=len(graph.business_days))[first:last + 1]
    return {str(day): int(n) for day, n in zip(graph.business_days[first:last + 1], counts)}


def hit_counts(hits: pd.DataFrame, into: dict[str, int] | None = None) -> dict[str, int]:
    """Hits per ``detector/typology`` (sorted), added to ``into`` if given."""
    counts = dict(into or {})
    if len(hits):
        for (detector, typology), n in hits.groupby(["detector", "typology"]).size().items():
            counts[f"{detector}/{typology}"] = counts.get(f"{detector}/{typology}", 0) + int(n)
    return dict(sorted(counts.items()))


def _commit_chunks(store, run_id, graph, chunks, done, scanned, config, scan_last, progress, on_chunk,
                   clock) -> None:
    """Commit the scan's hits chunk by chunk (by the day each run ends), skipping chunks an
    earlier process committed (each chunk's added, updated and retracted hits are stored
    with it: :meth:`Store.run_changes`)."""
    # a chain that lost a member may end before the scan's days: it goes in the first chunk
    ends = None if scanned is None else np.maximum(graph.day_index_of(scanned.hits["run_last"]), chunks[0][0])
    retract_ids = () if scanned is None else stored_retractions(store, config.config_hash, scanned)
    if scanned is not None:  # hits in order of end day: a chunk's rows are a slice of that order, taken when its
        # rows are made (taking them all at once held a second copy of every hit's evidence, 1.08 GiB of the
        # 1e8 bank's range, while the chunks were committed); only the columns the store keeps, not each
        # measure's own (68 on that range)
        by_end = np.argsort(ends, kind="stable")
        kept = [c for c in scanned.hits.columns if c in HIT_STORE_COLUMNS]
        hits, ends_in_order = scanned.hits[kept], ends[by_end]  # hits as found; their end days sorted
    days = graph.business_days
    # the ids tell a later chunk's hit from a stored one to retract (Store.scan_found): only
    # another run of this configuration can have stored one
    found = () if scanned is None or not store.has_other_runs(config.config_hash, run_id) else hits["hit_id"]
    todo = [(i, c) for i, c in enumerate(chunks) if i not in done]

    def rows_of(days_of_chunk: tuple[int, int]):
        lo, hi = np.searchsorted(ends_in_order, [days_of_chunk[0], days_of_chunk[1] + 1])
        return hit_rows(hits.take(by_end[lo:hi]), config.config_hash, run_id, scan_last)

    # a chunk's rows are made on another thread while the one before is committed: SQLite
    # lets go of the GIL, and this thread alone ends a range scan (its last 10 s on the 1e8
    # bank's range, the other core idle)
    with store.bulk_insert(0 if scanned is None else len(hits)), store.scan_found(found), \
            closing(_made_ahead(rows_of, [c for _, c in todo])) as made:
        for i, (d0, d1) in _progress(todo, progress, f"scan {days[chunks[0][0]]}..{scan_last}"):
            rows = next(made)
            with clock("store"):
                store.commit_rows(run_id, i, str(days[d0]), str(days[d1]), rows, config.config_hash, scan_last,
                                  retract_ids=retract_ids if i == len(chunks) - 1 else ())
            if on_chunk is not None:
                on_chunk(i)


def _made_ahead(make: Callable, items: list, ahead: int = 2):
    """``make(item)`` of each of ``items``, in order, each made on a worker thread up to
    ``ahead`` items before it is asked for (at most ``ahead`` + 1 made and not yet asked for:
    the memory of a few chunks, not of all)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = collections.deque(pool.submit(make, item) for item in items[:ahead])
        for k in range(len(items)):
            if k + ahead < len(items):
                pending.append(pool.submit(make, items[k + ahead]))
            yield pending.popleft().result()


def stored_retractions(store: Store, config_hash: str, scanned: ScannedHits) -> list[str]:
    """Ids of the hits a scan's hits retract: those it names (``ScannedHits.retract_ids``)
    and the stored ones it makes out of date (stale chains, absorbed clusters, covered band
    hits), each asked of the scan's hit ids as one Arrow array."""
    found = pa.array(scanned.hits["hit_id"], pa.string(), from_pandas=True)
    return scanned.retract_ids + _stale_chains(store, config_hash, scanned, found) \
        + _absorbed(store, config_hash, scanned, found) + _covered_stored(store, config_hash, scanned, found)


def stored_restorations(store: Store, config_hash: str, scanned: ScannedHits) -> ScannedHits:
    """``scanned`` with the band hits it may give back (``ScannedHits.restorable``) among
    its hits: those the store does not hold although a run of this configuration (an
    earlier block of this one included) committed the day their run ends. A strict cluster
    covered them then, and the scan found it absorbed since (:func:`_band_pass_of_clusters`);
    a scan of all the days reports them. One whose last day no run committed (before a
    range scan's first day) is no hit of the scanned days, and is not added."""
    restorable = scanned.restorable
    if restorable is None or restorable.empty:
        return scanned
    last_days = np.datetime_as_string(restorable["run_last"].to_numpy(dtype="datetime64[D]")).tolist()
    back = store.withheld_hits(config_hash, restorable["hit_id"].tolist(), last_days)
    if not back:
        return scanned
    hits = pd.concat([scanned.hits, restorable[restorable["hit_id"].isin(back).to_numpy(dtype=bool)]],
                     ignore_index=True)
    return dataclasses.replace(scanned, hits=hits, evidence_edges=None, restorable=None)


def _stale_chains(store: Store, config_hash: str, scanned: ScannedHits, found: pa.Array) -> list[str]:
    """Stored chain hits a member run of which the scan traced again and that it did not
    find again (:func:`~flowgraph.detectors.pass_through.stale_chains`). Such a chain
    lasts at least to that member's first day, so only chains lasting to the earliest
    traced member's first day are read, not every chain of the history."""
    if scanned.member_runs.empty:
        return []
    stored = store.query("SELECT hit_id, typology, params_id, subject, run_first, measures FROM hits WHERE "
                         "config_hash = ? AND detector = 'pass_through' AND typology = 'pass_through_chain' "
                         "AND run_last >= ?", [config_hash, str(scanned.member_runs["run_first"].min())])
    return stale_chains(stored, scanned.member_runs, found)


def _covered_stored(store: Store, config_hash: str, scanned: ScannedHits, found: pa.Array) -> list[str]:
    """Stored band hits a strict hit of this scan covers (:func:`_covered`) that the scan
    did not find: a band run that ended before the scan's days (yesterday's T+1, an
    earlier block) and that a strict run reaching them now overlaps. A scan of all the
    days at once leaves such a band hit out (:func:`scan_hits`)."""
    strict = scanned.hits.loc[~scanned.hits["in_band"].astype(bool), ["typology", "subject", "run_first", "run_last"]]
    if strict.empty:
        return []
    since = str(pd.Timestamp(strict["run_first"].min()).date())
    stored = store.query("SELECT hit_id, typology, subject, run_first, run_last FROM hits WHERE config_hash = ? "
                         "AND in_band = 1 AND run_last >= ?", [config_hash, since])
    stored = stored[~_isin(stored["hit_id"], found)].reset_index(drop=True)
    if stored.empty:
        return []
    for frame in (stored, strict):
        for col in ("run_first", "run_last"):
            frame[col] = pd.to_datetime(frame[col]).to_numpy(dtype="datetime64[D]")
    return stored.loc[_covered(stored, strict), "hit_id"].tolist()


def _absorbed(store: Store, config_hash: str, scanned: ScannedHits, found: pa.Array) -> list[str]:
    """Stored hits a cluster this scan traced absorbed (:func:`absorbed_clusters`). Their
    evidence is the traced clusters', which lies on or after the earliest traced run's
    first day; so only hits lasting to that day are read, not every cluster of the history."""
    if scanned.cluster_evidence is None or scanned.cluster_evidence.empty:
        return []
    detectors = sorted(set(scanned.cluster_evidence["detector"]))
    since = "" if scanned.earliest_run_first is None else str(pd.Timestamp(scanned.earliest_run_first).date())
    stored = store.query(f"SELECT hit_id, detector, in_band, txn_ids FROM hits WHERE config_hash = ? AND detector IN "
                         f"({', '.join('?' * len(detectors))}) AND run_last >= ?", [config_hash, *detectors, since])
    stored["txn_ids"] = parse_json_lists(stored["txn_ids"].tolist())
    return absorbed_clusters(stored, scanned, found)


def _alerts_while_committing(store, config, run_id, scanned, scan_last, commit, exports, out, reveal_ids,
                             pseudonymizer, clock, keep_cases=None):
    """Nothing of this configuration is stored but this run's own hits: alerts, checks and
    export tables are built from the hits in memory while a worker thread runs ``commit``
    (SQLite lets go of the GIL while it writes), and pseudonymised tables are staged for
    ``out`` too (into ``exports``, :func:`flowgraph.exports.staged_exports`; returned as
    None), as are the case transactions (``keep_cases(run_hits, alerts)``, which needs no
    stored hit here); the alerts are stored once every chunk is, by the same worker (after a
    range's last chunk this thread still has exports and case transactions to make), and the
    pseudonymised tables are written on another while the case transactions are kept."""
    known_from = large_value_known_from(store, config.config_hash, run_id)
    built = Future()  # the alerts and their monitoring units, for the worker to store

    def commit_then_store_alerts():
        commit()
        alerts, units = built.result()  # raises what building them raised
        with clock("alerts"):
            store.replace_alerts(config.config_hash, units, alerts, run_id)

    with ThreadPoolExecutor(max_workers=1) as pool, ThreadPoolExecutor(max_workers=1) as writer:
        committed = pool.submit(commit_then_store_alerts)
        try:
            with clock("alerts"):
                run_hits = as_stored(scanned.hits, config.config_hash, run_id, scan_last)
                edges = scanned.evidence_edges  # the run's hits are all there is: evidence compared as edge ids
                alerts = build_alerts(run_hits, config.model, config.config_hash)
                checks = large_value_checks(None, config.config_hash, run_hits, known_from, run_hits,
                                            evidence_edges=edges)
                units = _monitoring_units(run_hits)
        except BaseException as exc:  # the worker, done committing, must not wait for them
            built.set_exception(exc)
            raise
        built.set_result((alerts, units))
        written = None
        with clock("exports"):  # every alert holds hits of this run
            tables = export_tables(run_hits, alerts, reveal_ids, None, pseudonymizer)
            if not reveal_ids:  # real ids wait for their audit record, which needs the store
                written = writer.submit(write_tables, exports, out, tables, private=False)
                tables = None
        try:
            if keep_cases is not None:
                with clock("case_transactions"):
                    keep_cases(run_hits, alerts, edges)
        finally:  # an error writing the exports is told first, as when they were written before
            if written is not None:
                with clock("exports"):
                    written.result()
        committed.result()
    return run_hits, alerts, checks, tables


def _alerts_from_store(store, config, run_id, scanned, scan_last):
    """The alerts a run changes, rebuilt from the stored hits they need; the run's hits,
    those alerts, the checks and the ids of the run's hits.

    A monitoring unit's alerts are a sequence (:mod:`flowgraph.alerts`: hits in order of
    span start, each joining the open alert or opening the next) whose scores look only
    back. A run's new, changed and retracted hits of a unit start no earlier than the
    day ``first`` (their spans'); a stored alert ending before ``first`` can gain no hit
    and, while every alert before it in the sequence also does, loses none. So the
    alerts from the unit's first one ending on or after ``first`` are rebuilt from their
    hits and the new ones, with the hits of the ``recurrence_weeks`` weeks before them as
    history; the alerts before them stay as stored. What is read is bounded by the
    window a run rescans, ``alert_days`` and ``recurrence_weeks``, not by the history."""
    found = store.run_hit_ids(run_id)
    # the hits this process computed and stored are not read back; a run whose chunks were
    # all committed by an earlier process (resumed before its exports) reads them all
    mine = None if scanned is None else run_id
    own = None if scanned is None else as_stored(
        scanned.hits[_isin(scanned.hits["hit_id"], store.hit_ids_written_by(config.config_hash, run_id))],
        config.config_hash, run_id, scan_last)
    # the run's hits whose stored version it left in place (a later scan saw more days)
    kept = store.hits(config.config_hash, run_id=run_id, written_by_other_than=mine)
    changed = [f for f in (own, kept, store.replaced_versions(run_id)) if f is not None and not f.empty]
    if not changed:  # a quiet day: no hit found, none retracted
        alerts = store.keep_decided_ids(config.config_hash, build_alerts(kept, config.model, config.config_hash))
        return kept, alerts, {"u_above_1_without_large_value": []}, found
    first = _first_changed(pd.concat([f[["customer", "subject", "window_start", "window_end", "run_first",
                                         "run_last"]] for f in changed], ignore_index=True))
    _, start = _rebuilt_alerts(store.unit_alerts(config.config_hash, _iso_days(first)), first)
    history = _iso_days(start - pd.Timedelta(weeks=config.model.recurrence_weeks + 1))
    # every alert holding a hit read; the rebuilt ones again from them (one that starts
    # after the first rebuilt one but ended before ``first`` is rebuilt too)
    stored = store.unit_alerts(config.config_hash, history)
    rebuilt, _ = _rebuilt_alerts(stored, first)
    # the hits of alerts that stay count only by week: read from the index, not their rows
    days = store.hit_days(config.config_hash, history)
    staying = stored.loc[~stored["alert_id"].isin(rebuilt), "hit_ids"]
    settled = _isin(days["hit_id"], pa.array([h for ids in staying for h in ids], pa.string()))
    regrouped = days["hit_id"][~settled]
    if own is not None:  # the run's own versions are in memory
        regrouped = regrouped[~_isin(regrouped, pa.array(own["hit_id"], pa.string()))]
    read = store.hits(config.config_hash, ids=regrouped.tolist(), written_by_other_than=mine)
    unit_hits = read if own is None else own if read.empty else \
        pd.concat([own, read.astype({c: own[c].dtype for c in ("accounts", "txn_ids")})], ignore_index=True)
    alerts = store.keep_decided_ids(config.config_hash,
                                    build_alerts(unit_hits, config.model, config.config_hash, earlier=days[settled]))
    store.replace_alerts(config.config_hash, set(first.index), alerts, run_id, replaced=sorted(rebuilt))
    run_hits = unit_hits[_isin(unit_hits["hit_id"], found)].reset_index(drop=True)
    checks = large_value_checks(store, config.config_hash, run_hits,
                                large_value_known_from(store, config.config_hash, mine), own, mine)
    return run_hits, alerts, checks, found


def _first_changed(changed: pd.DataFrame) -> pd.Series:
    """Monitoring unit -> the first day of the spans of its changed hits."""
    start, _ = hit_spans(changed)
    return pd.Series(pd.to_datetime(start)).groupby(_unit_ids(changed)).min()


def _rebuilt_alerts(stored: pd.DataFrame, first: pd.Series) -> tuple[set[str], pd.Series]:
    """Of a unit's stored alerts (``stored``, at least those ending on or after its
    ``first`` day), those from the first one in sequence (window start, first hit) that
    ends on or after that day, and per unit the day its rebuilt alerts start from (the
    earlier of that alert's start and ``first``)."""
    if stored.empty:
        return set(), first
    stored = stored.assign(lead=stored["hit_ids"].map(lambda ids: ids[0] if ids else ""),
                           first=stored["unit"].map(first))
    stored = stored.sort_values(["unit", "window_start", "lead"], kind="stable")
    reaches = (stored["window_end"] >= stored["first"]).astype(int)
    from_here = reaches.groupby(stored["unit"]).cummax().astype(bool)
    rebuilt = stored[from_here]
    start = pd.concat([first, rebuilt.groupby("unit")["window_start"].min()], axis=1).min(axis=1)
    return set(rebuilt["alert_id"]), start


def _unit_ids(hits: pd.DataFrame) -> np.ndarray:
    """Each hit's monitoring unit as the store names it: its customer, else its subject."""
    customer = hits["customer"].fillna("").astype(str).to_numpy(dtype=object)
    return np.where(customer != "", customer, hits["subject"].astype(str).to_numpy(dtype=object))


def _iso_days(days: pd.Series) -> dict[str, str]:
    """Unit -> its day as an ISO date."""
    return dict(zip(days.index, pd.to_datetime(days).dt.strftime("%Y-%m-%d")))


def _isin(ids: pd.Series, wanted: set[str] | pa.Array) -> np.ndarray:
    """Which ids are in ``wanted`` (Arrow's hash set: pandas' isin of a string column
    against a Python set costs seconds at 10^5 ids). A caller asking of one large set
    many times passes it as an Arrow string array, made once (2 s at 2.2 M ids)."""
    if not len(ids):  # nothing asked: ``wanted`` is not hashed (1.5 s for the 890 k ids of a range's hits)
        return np.zeros(0, bool)
    value_set = wanted if isinstance(wanted, pa.Array) else pa.array(list(wanted), pa.string())
    return np.asarray(pc.is_in(pa.array(ids, type=pa.string(), from_pandas=True), value_set=value_set), dtype=bool)


def _monitoring_units(hits: pd.DataFrame | None) -> set[str]:
    """Customers of hits, subject accounts of hits without a customer."""
    if hits is None or hits.empty:
        return set()
    return set(_unit_ids(hits).tolist())


def _w_column(hits: pd.DataFrame) -> pd.Series:
    from .ceiling import W

    if hits.empty:
        return pd.Series([], dtype=float)
    return pd.Series(W(hits["n_accounts"].clip(lower=1).to_numpy(), hits["n_days"].clip(lower=1).to_numpy()),
                     index=hits.index)


def _progress(items, enabled: bool, desc: str):
    if not enabled:
        return items
    from tqdm import tqdm

    return tqdm(items, desc=desc, unit="chunk", disable=None)

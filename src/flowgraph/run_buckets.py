"""A block run's alerts and exports, bucket by bucket, on several processes
(:meth:`flowgraph.block_run.BlockRun.finish`).

A bucket of monitoring units is a task: read its units' stored hits, build their alerts,
de-identify the hits the run found and the alerts holding one, and say what the run's
checks and case files need of them (:func:`bucket_part`). Buckets share nothing but
the run store they read, so ``processes`` of them run at once, each in its own process
(building alerts and export tables is Python holding the GIL: on threads, a 1e8 range's
finish ran on one core for 70 s). The driver takes the parts in bucket order (the
exports come out in that order, as from one process), stores each bucket's alerts and
appends its hits to the export; only the driver writes.

Processes are started with ``spawn`` (the driver has threads and an open SQLite
connection, which a fork would copy mid-use). Spawning imports the driver's main
module again, which is safe for ``flowgraph`` itself (the command line) but not for a
script without an ``if __name__ == "__main__"`` guard: library calls use threads unless
the caller asks for processes. With one process, the buckets are built here, one
after another, the next one's hits read on a thread meanwhile (by SQLite, without the GIL).
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from .alerts import ModelConfig, build_alerts
from .deid import Pseudonymizer
from .errors import ConfigError
from .exports import HIT_SCHEMA, export_tables
from .scan import _isin, hit_counts
from .store import Store

#: The columns of a hit the case transactions need (:mod:`flowgraph.desk.evidence`).
CASE_COLUMNS = ["hit_id", "subject", "txn_ids", "window_start", "window_end", "typology"]
#: The columns of a hit the large-value cross-check needs (:func:`flowgraph.scan._large_value_cross_check`).
CHECK_COLUMNS = ["hit_id", "detector", "typology", "utilisation", "txn_ids", "window_start", "window_end"]


@dataclass(frozen=True)
class Bucket:
    """One bucket of a block run's finish: what :func:`bucket_part` needs to know."""

    store_path: Path
    config_hash: str
    model: ModelConfig
    #: the monitoring units (customers, else subject accounts) whose hits it reads
    units: frozenset
    #: the ids of the hits the run found among them
    found_ids: pa.Array
    #: the pseudonym key; None: real ids are exported
    key: bytes | None


@dataclass
class BucketPart:
    """What one bucket gives the driver."""

    #: every alert of the bucket's units (stored, replacing theirs)
    unit_alerts: pd.DataFrame
    #: exported hits the run found (:data:`flowgraph.exports.HIT_SCHEMA`)
    hits: pa.Table
    #: exported alerts holding a hit the run found
    alerts: pa.Table
    #: hits the run found above their ceiling, not large-value (:data:`CHECK_COLUMNS`)
    above: pd.DataFrame
    #: hits of raised alerts (:data:`CASE_COLUMNS`), and those alerts' hit ids
    case_hits: pd.DataFrame
    case_alerts: pd.DataFrame
    #: hits the run found per detector/typology (:func:`flowgraph.scan.hit_counts`)
    counts: dict
    n_groups: int
    n_raised: int
    #: seconds spent building alerts and export tables
    seconds: dict


def bucket_part(bucket: Bucket) -> BucketPart:
    """Read a bucket's stored hits and build its part of the run's alerts and exports (in
    a worker process)."""
    started = time.perf_counter()
    return _built(bucket, _read(bucket), started, _worker_pseudonymizer(bucket.key))


def _read(bucket: Bucket) -> pd.DataFrame:
    """The stored hits of a bucket's units (every run's)."""
    store = Store(bucket.store_path, create=False)
    try:
        return store.hits(bucket.config_hash, units=set(bucket.units))
    finally:
        store.close()


def _built(bucket: Bucket, unit_hits: pd.DataFrame, started: float,
           pseudonymizer: Pseudonymizer | None) -> BucketPart:
    """A bucket's part from its units' hits (``started``: when its work began, for the
    timings), de-identified by ``pseudonymizer`` (one for every bucket it builds: an id met
    in several is keyed once) unless the bucket has no key."""
    run_hits = unit_hits[_isin(unit_hits["hit_id"], bucket.found_ids)].reset_index(drop=True)
    found_here = set(bucket.found_ids.to_pylist())
    unit_alerts = build_alerts(unit_hits, bucket.model, bucket.config_hash)
    above = run_hits.loc[(run_hits["utilisation"] > 1).to_numpy(dtype=bool)
                         & (run_hits["detector"] != "large_value").to_numpy(dtype=bool), CHECK_COLUMNS]
    touched = np.array([not found_here.isdisjoint(ids) for ids in unit_alerts["hit_ids"]], dtype=bool)
    alerts = unit_alerts.loc[touched].reset_index(drop=True)
    built = time.perf_counter()
    tables = export_tables(run_hits, alerts, bucket.key is None, None, pseudonymizer)
    raised = alerts.loc[alerts["raised"], ["hit_ids"]].assign(raised=True)
    # a case file shows raised alerts' hits (large-value evidence stays in the store)
    in_case = _isin(run_hits["hit_id"], {h for ids in raised["hit_ids"] for h in ids})
    return BucketPart(unit_alerts, tables["hits"].select(HIT_SCHEMA.names).cast(HIT_SCHEMA), tables["alerts"],
                      above, run_hits.loc[in_case, CASE_COLUMNS], raised, hit_counts(run_hits), len(alerts),
                      len(raised), {"alerts": built - started, "exports": time.perf_counter() - built})


def _worker_pseudonymizer(key: bytes | None) -> Pseudonymizer | None:
    """The worker process's pseudonymizer of ``key`` (the process lives for one run's finish)."""
    if key is not None and key not in _PSEUDONYMIZERS:
        _PSEUDONYMIZERS[key] = Pseudonymizer(key)
    return None if key is None else _PSEUDONYMIZERS[key]


_PSEUDONYMIZERS: dict[bytes, Pseudonymizer] = {}


def usable_cores() -> int:
    """The cores this process may run on (its affinity; a container's CPU set)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def bucket_parts(buckets: list[Bucket], processes: int) -> Iterator[BucketPart]:
    """The parts of ``buckets``, in their order: built ``processes`` at a time in worker
    processes, or here with the next bucket's hits read on a thread meanwhile. No read of
    the run store is under way when a part is handed over, so the driver may write to it
    (Python's SQLite and the ADBC driver's are two copies of SQLite: in one process they
    do not see each other's locks, and a read beside a write fails or worse). At most one
    more bucket than run at once waits for the driver, so memory holds a few buckets
    however many there are."""
    if processes > 1 and len(buckets) > 1:
        yield from _on_processes(buckets, min(processes, len(buckets)))
        return
    pseudonymizer = None if not buckets or buckets[0].key is None else Pseudonymizer(buckets[0].key)
    with ThreadPoolExecutor(max_workers=1) as reader:
        coming = reader.submit(_read, buckets[0]) if buckets else None
        for k, bucket in enumerate(buckets):
            started = time.perf_counter()
            unit_hits = coming.result()
            coming = reader.submit(_read, buckets[k + 1]) if k + 1 < len(buckets) else None
            part = _built(bucket, unit_hits, started, pseudonymizer)
            if coming is not None:
                wait([coming])
            yield part


def _on_processes(buckets: list[Bucket], n_workers: int) -> Iterator[BucketPart]:
    """:func:`bucket_parts` on ``n_workers`` worker processes."""
    pool = ProcessPoolExecutor(n_workers, mp_context=multiprocessing.get_context("spawn"), initializer=_worker_start)
    ahead = n_workers + 1
    try:
        coming = [pool.submit(bucket_part, b) for b in buckets[:ahead]]
        for k in range(len(buckets)):
            part = _result(coming.pop(0))
            if k + ahead < len(buckets):
                coming.append(pool.submit(bucket_part, buckets[k + ahead]))
            yield part
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _worker_start() -> None:
    """A worker lets the driver alone answer Ctrl-C (the terminal sends it to every process
    of the command): the driver stops, and its workers end with the bucket they are on."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _result(future: Future) -> BucketPart:
    """A worker's part, or the error it raised; a worker that died, said with the fix."""
    try:
        return future.result()
    except BrokenProcessPool:
        raise ConfigError("A process building this run's alerts and exports died (the machine most likely ran out "
                          "of memory). Every block of the run is stored. Fix: run the same command again; it builds "
                          "the alerts and exports again without scanning.") from None

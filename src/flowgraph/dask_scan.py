"""Scans of a transaction store on a Dask cluster (issue 14): the distributed variant of
:func:`flowgraph.scan.run_scan`, beside it as stumpy's ``stumped(client, ...)`` is beside
``stump``. Dask is an optional extra (``pip install 'flowgraph[dask]'``); this module
imports Dask only inside :func:`connect` and :func:`_run_blocks` with a client, so a scan
in one process may use it without Dask: :func:`block_scan` runs the same blocks one after
another (a long range of a store in bounded memory).

**How the work is split.** The scan's business days are cut into blocks of ``block_days``
(by default :func:`cluster_blocks`: two blocks per worker thread, shorter where a block's
read would not fit in a worker thread's memory, :mod:`flowgraph.blocks`). Each block is one
Dask task, given only the store's path, the configuration and the block's first and last
day: on a worker it reads from the store the
block plus the window before it (:func:`~flowgraph.scan.store_window`: 4 L + 1 business
days at the default windows, as no run goes on from one month into the next and a range
reads one window more at first), builds the graph, runs the detectors' numba
kernels for the block's days (:func:`~flowgraph.scan.scan_hits`) and returns its hit table
(pandas, evidence in list columns), the ids of the band hits it set aside, the pass-through
runs it traced and a digest of each partition file it read. The driver commits the blocks'
hits to the run store in block order as they arrive, then builds the alerts and writes the
exports bucket by bucket of monitoring units (:mod:`flowgraph.block_run`): it holds one
block's hits and one bucket at a time, however long the range.

**Runs crossing a block boundary.** A hit's id is fixed by the first day of its run, and
every block traces runs back as far as they go, so a run that crosses from one block into
the next is found by both under one id: the earlier block sees it cut at its last day, the
later one whole. The blocks are committed in day order and a later block's word on a hit
wins, as a T+1 scan of the next day wins over the stored version: its version replaces the
earlier one, a band hit it finds covered by a strict hit is retracted, a chain one of whose
member runs it traced and that it did not find again is retracted
(:func:`~flowgraph.detectors.pass_through.stale_chains`), and so is a cluster a larger one
of it absorbs (:func:`~flowgraph.scan.absorbed_clusters`); a band hit that absorbed cluster
covered, retracted by an earlier block, is given back (:func:`~flowgraph.scan.stored_restorations`).
The hits are those of the single-process scan, whatever the blocks.

**Nothing lost when a worker dies.** The scheduler runs the tasks of a lost worker again on
another (up to ``distributed.scheduler.allowed-failures`` times); a task that raised is
retried ``retries`` times (a store on a network file system may fail a read). Tasks only
read the store and only the driver writes (run store, exports), so a task run twice
changes nothing. A cluster left without a worker (none started yet, or the last one died)
is waited for, up to ``WORKER_WAIT_S`` and saying so on stderr; a scheduler that goes away
ends the scan with a :class:`~flowgraph.errors.ConfigError`: the blocks committed so far
are kept, and the same command, once a scheduler runs again, resumes after them.

**Data fingerprint.** The run records a fingerprint of the store's day files it may read
(:func:`flowgraph.block_run.store_files_fingerprint`), not of their rows; a scan of a store
in one window is known by the files of that window (:meth:`flowgraph.scan.StoreWindow.fingerprint`):
the two are separate runs in the run store (each resumes only itself); their hits and
alerts are the same. A killed run resumes after its last committed block.

**Committing while the next block runs.** The driver commits block ``i`` on a thread while
block ``i + 1`` is scanned (in this process, or waited for from the cluster): a block's
graph and most of its Python run on one core, the commit (SQLite, which lets go of the GIL)
on the other. Block ``i + 1`` is committed only once block ``i`` is; a failed commit ends
the run with its error, every block before it committed.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import functools
import hashlib
import logging
import math
import sys
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from .block_run import BlockRun
from .blocks import BlockPlan, default_memory_bytes, plan_blocks
from .deid import store_pseudonymizer
from .desk.evidence import keep_case_transactions_from_store
from .detectors import disabled_detectors
from .errors import ConfigError
from .money import RateTable
from .rescans import say, settled_first_day
from .scan import (ScannedHits, ScanResult, Stopwatch, check_store_timezone, lookback_days, output_folder,
                   store_scan_days, store_window, unlisted_warning)
from .scan_config import ScanConfig
from .store import Store
from .txstore import TransactionStore

PIP_COMMAND = "pip install 'flowgraph[dask]'"
#: How long to wait for a scheduler at ``--dask ADDRESS`` to answer.
CONNECT_TIMEOUT_S = 10
#: How long a scan waits for a worker when its cluster has none (none started yet, or the
#: last one died) before it gives up.
WORKER_WAIT_S = 60
#: How often a scan waiting for its blocks checks that its cluster still has a worker.
CHECK_WORKERS_S = 5


@dataclass
class BlockResult:
    """What one block's task returns to the driver (no transaction, only hits)."""

    scanned: ScannedHits
    #: calendar day (ISO) -> (rows, hash of its partition file), for every file the block read
    files: dict[str, tuple[int, str]]
    #: first and last business day of the block's graph
    read_days: tuple[np.datetime64, np.datetime64]
    #: detector -> why it could not run on the block's graph (:func:`flowgraph.detectors.disabled_detectors`)
    disabled: dict[str, str]
    #: ids of the bank's accounts missing from the accounts table, all and at cash, in the
    #: block's graph (:meth:`flowgraph.graph.TransactionGraph.unlisted_bank_account_ids`)
    unlisted: tuple[np.ndarray, np.ndarray] = (np.zeros(0, object), np.zeros(0, object))


def scan_block(store_root: str, config: ScanConfig, first_day: str, last_day: str,
               rates: RateTable | None = None) -> BlockResult:
    """The hits of business days ``first_day .. last_day`` of the store at ``store_root``,
    read straight from the store on the worker that runs this (one Dask task), amounts
    converted with ``rates`` (default: the configuration's)."""
    window = store_window(TransactionStore.open(store_root, "the store"), config, first_day=first_day,
                          last_day=last_day, rates=rates)
    files = {f.parent.name.removeprefix("day="): (pq.read_metadata(f).num_rows, _file_digest(f))
             for f in window.files}
    days = window.graph.business_days
    return BlockResult(window.scanned, files, (days[0], days[-1]), disabled_detectors(window.graph),
                       window.graph.unlisted_bank_account_ids())


def _file_digest(path: Path) -> str:
    """A hash of a partition file's bytes (SHA-256, its first 16 bytes as hex: twice
    BLAKE2b's speed where the processor hashes SHA), once per version of the file in this
    process: consecutive blocks read the same window days, and the 1e8 range hashed its
    files 9 s of CPU doing each again."""
    stat = path.stat()
    key = (str(path), stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns)
    if key not in _FILE_DIGESTS:
        with open(path, "rb") as file:
            _FILE_DIGESTS[key] = hashlib.file_digest(file, "sha256").hexdigest()[:32]
    return _FILE_DIGESTS[key]


#: :func:`_file_digest`'s digests by (path, inode, size, modification and change times)
_FILE_DIGESTS: dict[tuple, str] = {}


def cluster_blocks(client, txstore: TransactionStore, config: ScanConfig, days: np.ndarray,
                   memory_bytes: int | None, mode: str = "range") -> BlockPlan:
    """The blocks of ``days`` when the user gives no ``block_days``. Without a client
    (:func:`block_scan`): the longest that fit in ``memory_bytes`` (default: this
    machine's share, :func:`flowgraph.blocks.default_memory_bytes`). On a cluster: two
    blocks per worker thread, so workers that finish early find another block while a slow
    one runs, but at least ``2 L + 1`` days (each block re-reads ``4 L + 1`` days or more
    before its first day: shorter blocks would spend more time re-reading the trailing
    window than scanning their own days), and shorter where a block's read would not fit in
    a worker thread's memory (its worker's memory limit over its threads; ``memory_bytes``
    when given, or this machine's share when the workers have no limit). ``mode``: as for
    :func:`flowgraph.blocks.plan_blocks`."""
    if client is None:
        return plan_blocks(txstore, config, days, memory_bytes, mode=mode)
    workers = _workers(client)
    threads = sum(w["nthreads"] for w in workers)
    if memory_bytes is None:
        limits = [w.get("memory_limit") or 0 for w in workers]
        memory_bytes = min(limit // max(w["nthreads"], 1) for limit, w in zip(limits, workers)) \
            if all(limits) else default_memory_bytes() // max(max(w["nthreads"] for w in workers), 1)
    most_days = max(2 * lookback_days(config) + 1, math.ceil(len(days) / (2 * max(threads, 1))))
    return plan_blocks(txstore, config, days, memory_bytes, most_days, mode=mode)


def dask_scan(client, txstore: str | Path, out: str | Path, config: ScanConfig | None = None,
              as_of: str | None = None, first_day: str | None = None, last_day: str | None = None,
              block_days: int | None = None, store_path: str | Path | None = None, reveal_ids: bool = False,
              key_file: str | Path | None = None, progress: bool = True, wait_s: float = 0.0,
              on_block: Callable[[int], None] | None = None, retries: int = 2,
              stopwatch: Stopwatch | None = None, rates: RateTable | None = None,
              block_memory: int | None = None) -> ScanResult:
    """Scan a transaction store on a Dask cluster: the hits, alerts, run store rows and
    exports of :func:`flowgraph.scan.run_scan` for the same days.

    Parameters
    ----------
    client : distributed.Client or None
        The cluster (:func:`connect`). Its workers need flowgraph installed and the store's
        path readable. None: the blocks run one after another in this process, which then
        holds one block's days at a time (:func:`block_scan`).
    txstore : path
        A transaction store (``flowgraph ingest INPUT --into STORE``).
    out, config, as_of, first_day, last_day, store_path, reveal_ids, key_file, progress, wait_s
        As for :func:`flowgraph.scan.run_scan`.
    block_days : int, optional
        Business days per task (default :func:`cluster_blocks`). Any size gives the same
        hits.
    block_memory : int, optional
        Bytes of memory a block may use (``--block-memory``): in this process, or in one
        worker thread (default: a worker's memory limit over its threads). The default
        blocks are the longest whose reads fit (:mod:`flowgraph.blocks`).
    on_block : callable, optional
        Called with the block number as each block's hits reach the driver (progress
        reporting; the tests use it to kill a worker mid-scan).
    retries : int
        How many times a task that raised is run again.
    stopwatch : Stopwatch, optional
        Times the stages (``timings_s`` in the manifest; ``blocks`` is the cluster's part).
    rates : RateTable, optional
        Exchange rates (default: the configuration's), sent to every block.

    Raises
    ------
    ConfigError
        Bad days or ``block_days``, an unwritable ``out``, a store held by another scan.
    DataError
        Not a store, an empty store, a damaged partition.
    """
    config = config or ScanConfig()
    clock = stopwatch or Stopwatch()
    out = output_folder(out)
    tx = TransactionStore.open(txstore, "INPUT")
    check_store_timezone(tx, config)
    calendar = config.calendar()
    first, last, mode = store_scan_days(tx, calendar, as_of, first_day, last_day)
    store_path = Path(store_path or out / "store.sqlite")
    settled, notes = settled_first_day(store_path, config, first, last, mode, tx)
    say(notes)
    if settled != first:  # a range now (a T+1 of a day already scanned, or after days never scanned)
        first, mode, as_of = settled, "range", None
    days = calendar.business_days(first, last)
    if block_days is not None and (isinstance(block_days, bool) or not isinstance(block_days, int) or block_days < 1):
        raise ConfigError(f"The 'block_days' parameter of dask_scan must be an int in the range [1, inf). "
                          f"Got {block_days!r} instead.")
    rates = rates or config.rates()
    store = Store(store_path)
    try:
        with store.lock(wait_s):
            if not reveal_ids:  # the store's key, checked (recorded, for a new store) before any block runs
                store_pseudonymizer(store, key_file)
            # a killed run keeps the blocks it committed; only the days after them are cut
            # (with the memory or block days given now: the same hits however they are cut)
            done = BlockRun.committed_blocks(store, tx, config, str(days[0]), str(days[-1]))
            rest = days[days > np.datetime64(done[-1][1])] if done else days
            plan = cluster_blocks(client, tx, config, rest, block_memory, mode) if block_days is None else \
                plan_blocks(tx, config, rest, block_memory, block_days, fixed=True, mode=mode)
            blocks = done + plan.blocks
            plan.say_note()
            run = BlockRun.open(store, tx, config, blocks, mode, as_of, calendar)
            run.plan = {**plan.describe(), "n_blocks": len(blocks), "kept_blocks": len(done)}
            todo = run.todo()
            unlisted, at_cash = set(), set()  # the bank's accounts missing from the accounts table
            if todo:
                with contextlib.ExitStack() as bulk:
                    with clock("store"):  # into a (nearly) empty store: the lookup indexes built once
                        bulk.enter_context(store.bulk_insert(None))
                    # a block is committed on a thread while the next one is scanned (its load
                    # and graph are mostly on one core); the thread waits for every commit, even
                    # when a block fails, so nothing half-done is left behind
                    committer = bulk.enter_context(ThreadPoolExecutor(max_workers=1))
                    committing = None
                    for i, result in _run_blocks(client, str(Path(txstore).resolve()), config, blocks, todo,
                                                 retries, progress, on_block, rates, clock):
                        _committed(committing, client)
                        unlisted, at_cash = unlisted.union(result.unlisted[0]), at_cash.union(result.unlisted[1])
                        committing = committer.submit(_commit_block, run, i, result, clock)
                        del result
                    _committed(committing, client)
                    with clock("store"):
                        bulk.close()
            # of the blocks this process scanned (a resumed run's earlier blocks are not read again)
            warnings = [w for w in [unlisted_warning(len(unlisted), len(at_cash),
                                                     " in the blocks this process scanned" if run.resumed else "")]
                        if w]
            for warning in warnings:
                print(f"warning: {warning}", file=sys.stderr)
            keep_cases = functools.partial(keep_case_transactions_from_store, txstore=tx, config=config, rates=rates)
            return run.finish(out, reveal_ids, key_file, clock, rates, calendar, keep_cases, store_path, tx,
                              warnings=warnings)
    finally:
        store.close()


def _commit_block(run: BlockRun, i: int, result: BlockResult, clock: Stopwatch) -> None:
    """Commit block ``i`` of ``run`` (on the committing thread)."""
    with clock("store"):
        run.commit(i, result.scanned, result.files, result.disabled)


def _committed(committing: Future | None, client) -> None:
    """Wait for the block being committed (raising its error), then give its memory back."""
    if committing is None:
        return
    committing.result()
    if client is None:
        _give_back_memory()


def block_scan(txstore: str | Path, out: str | Path, config: ScanConfig | None = None, **options) -> ScanResult:
    """:func:`dask_scan` without a cluster: a range of a transaction store scanned in blocks
    of business days one after another in this process, so memory holds one block (its days
    and the window before them) however long the range; the same hits, alerts and exports
    as a scan of the whole range at once. :func:`flowgraph.scan.run_scan` takes
    this path for a store range whose read does not fit in the memory a scan may use
    (:mod:`flowgraph.blocks`); ``flowgraph scan STORE --block-days N`` chooses the block.
    Imports no Dask."""
    return dask_scan(None, txstore, out, config, **options)


def _run_blocks(client, store_root: str, config: ScanConfig, blocks: list[tuple[str, str]], todo: list[int],
                retries: int, progress: bool, on_block: Callable[[int], None] | None, rates: RateTable,
                clock: Stopwatch) -> Iterator[tuple[int, BlockResult]]:
    """The results of blocks ``todo`` (block numbers, in order), each yielded in block
    order as soon as it and those before it are in (the driver commits them in that order);
    a task's error is raised here. Without a client, the blocks run one after another in
    this process (not in a child process per block: spawning would import the caller's
    main script again). Time spent waiting for blocks counts as the ``blocks`` stage."""
    bar = _progress_bar(len(todo), progress, f"scan {blocks[todo[0]][0]}..{blocks[-1][1]}")
    try:
        if client is None:
            for i in todo:
                with clock("blocks"):
                    result = scan_block(store_root, config, *blocks[i], rates)
                bar.update(1)
                if on_block is not None:
                    on_block(i)
                yield i, result
            return
        from distributed import CancelledError, KilledWorker, wait

        _workers(client)  # a cluster without a worker is waited for (and said so) before any task
        def submit(i: int, attempt: int = 0):
            return client.submit(scan_block, store_root, config, *blocks[i], rates, retries=retries, pure=False,
                                 key=f"flowgraph-block-{blocks[i][0]}-{blocks[i][1]}-{i}"
                                     + (f"-again{attempt}" if attempt else ""))

        futures = [submit(i) for i in todo]
        number = {f.key: i for i, f in zip(todo, futures)}
        again = 0  # blocks submitted again (their results lost with a worker)
        waiting: dict[int, BlockResult] = {}  # arrived before an earlier block
        pending = list(todo)
        running = set(futures)
        try:
            while pending:
                with clock("blocks"):
                    try:
                        arrived = wait(running, timeout=CHECK_WORKERS_S, return_when="FIRST_COMPLETED").done
                    except TimeoutError:  # still running, or no worker left to run them
                        _workers(client)
                        continue
                for future in sorted(arrived, key=lambda f: number[f.key]):
                    i = number[future.key]
                    running.discard(future)
                    try:
                        waiting[i] = future.result()
                    except KilledWorker:
                        raise ConfigError(_killed_message(*blocks[i])) from None
                    except RuntimeError as exc:
                        # the worker holding a finished block died while its result was
                        # gathered: distributed reschedules the task, but its future then
                        # raises this from its own event loop (seen in CI). The block runs
                        # again under a new key, once a worker is there (or the wait ends).
                        if "different event loop" not in str(exc):
                            raise
                        again += 1
                        futures.append(submit(i, again))
                        number[futures[-1].key] = i
                        running.add(futures[-1])
                        continue
                    future.release()
                    bar.update(1)
                    if on_block is not None:
                        on_block(i)
                while pending and pending[0] in waiting:
                    j = pending.pop(0)
                    yield j, waiting.pop(j)
        except (CancelledError, OSError) as exc:
            # the client cancels every future when it loses the scheduler, then reconnects
            if client.status != "running" or "scheduler-connection-lost" in str(exc):
                raise ConfigError(_lost_message(client)) from None
            raise
        finally:
            if client.status == "running":
                client.cancel(futures)
    finally:
        bar.close()


def _workers(client) -> list[dict]:
    """The workers of ``client``'s cluster; when it has none, wait for one up to
    ``WORKER_WAIT_S``, saying so on stderr (a ConfigError naming the fix if none comes). A
    client that lost its scheduler (it tries to reconnect, and would wait on) is a
    ConfigError at once."""
    if client.status != "running":
        raise ConfigError(_lost_message(client))
    try:  # every worker: some Dask versions list only the first five unless asked
        workers = list(client.scheduler_info(n_workers=-1)["workers"].values())
    except TypeError:  # older ones list all and take no n_workers
        workers = list(client.scheduler_info()["workers"].values())
    if workers:
        return workers
    address = client.scheduler.address
    print(f"the Dask scheduler at {address} has no worker: waiting up to {WORKER_WAIT_S} s for one "
          f"(dask worker {address})", file=sys.stderr, flush=True)
    try:
        client.wait_for_workers(1, timeout=WORKER_WAIT_S)
    except TimeoutError:  # Dask's is asyncio's, the built-in one since Python 3.11
        raise ConfigError(f"{_option(client)}: the scheduler has no workers (waited {WORKER_WAIT_S} s for one). "
                          f"Fix: start one on each machine that can read the store at its path: dask worker "
                          f"{address} (with flowgraph installed), then run the same command again (a scan "
                          "resumes after the blocks it committed).") from None
    return _workers(client)


def _option(client) -> str:
    """The option that chose ``client``'s cluster, for messages."""
    return "--workers" if client.cluster is not None else f"--dask {client.scheduler.address}"


def _lost_message(client) -> str:
    """What to do when the scheduler went away mid-scan."""
    return (f"{_option(client)}: the Dask scheduler at {client.scheduler.address} went away mid-scan; the blocks "
            "committed so far are kept in the run store. Fix: start a scheduler there again (and its workers), "
            "then run the same command again: the scan resumes after the last committed block.")


def _give_back_memory() -> None:
    """Return free memory to the system: Arrow's pool's unused pages, and the C heap's
    (glibc's ``malloc_trim``; nothing elsewhere). A block's graph and tables are freed as
    many allocations whose pages the allocators keep: without this, a process scanning
    blocks one after another held 2.1 GiB after three blocks of a 2 M-transaction store
    whose results hold 0.13 GiB; with it, 0.6 GiB."""
    pa.default_memory_pool().release_unused()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _killed_message(first: str, last: str) -> str:
    """Why the workers running one block died, and what to change (a worker killed on every
    attempt is almost always one out of memory)."""
    return (f"the scan's block {first}..{last} killed every Dask worker that ran it (the scheduler gave up "
            "after distributed.scheduler.allowed-failures deaths); most often a worker ran out of memory: a block "
            "holds its days, the business days of the detectors' windows before them and, further back, the "
            "runs of qualifying days its hits continue. Fix: give each worker more memory (fewer --workers on one "
            "machine, whose workers share its memory; larger workers on a cluster), or fewer days per task "
            "(--block-days).")


def _close(client) -> None:
    """Close ``client``; quietly when it lost its scheduler (the scan has said so): Dask
    would log the reconnection it gives up as an error with a traceback."""
    log = logging.getLogger("distributed.client")
    was_disabled, log.disabled = log.disabled, log.disabled or client.status != "running"
    try:
        client.close()
    finally:
        log.disabled = was_disabled


async def _server_type(address: str) -> str:
    """What the Dask server at ``address`` is ("Scheduler", "Worker", ...), asked within
    ``CONNECT_TIMEOUT_S`` (a TimeoutError after it)."""
    from distributed.core import rpc

    async with asyncio.timeout(CONNECT_TIMEOUT_S), rpc(address, timeout=CONNECT_TIMEOUT_S) as server:
        return (await server.identity()).get("type", "server")


def _progress_bar(total: int, enabled: bool, desc: str):
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="block", disable=None if enabled else True)


@contextmanager
def connect(address: str | None = None, n_workers: int | None = None) -> Iterator:
    """A Dask client: of the scheduler at ``address`` (``--dask``), or of a local cluster of
    ``n_workers`` single-threaded worker processes (``--workers``), closed on exit.

    Raises
    ------
    ConfigError
        Dask is not installed (the message gives the pip command), both or neither of
        ``address`` and ``n_workers`` given, a bad worker count, or no scheduler at ``address``.
    """
    try:
        import distributed
    except ImportError:
        raise ConfigError(f"--dask/--workers need Dask, which is not installed. Fix: {PIP_COMMAND}") from None
    if (address is None) == (n_workers is None):
        raise ConfigError("Give either --dask SCHEDULER_ADDRESS (a running cluster) or --workers N (a local "
                          "cluster of N processes), not both. Fix: drop one of them.")
    if address is not None:
        fix = ("Fix: give the address 'dask scheduler' printed (e.g. tcp://10.0.0.5:8786), check that the scheduler "
               "runs and is reachable, or use --workers N for a local cluster.")
        try:
            # asked first within a bounded time: the client waits without end for the handshake
            # of a service that accepts the connection and never answers (an HTTP server)
            with ThreadPoolExecutor(max_workers=1) as thread:  # in a thread: the caller may run an event loop
                kind = thread.submit(asyncio.run, _server_type(address)).result()
            client = distributed.Client(address, timeout=CONNECT_TIMEOUT_S) if kind == "Scheduler" else None
        except (OSError, ValueError, TypeError) as exc:
            why = (f"none within {CONNECT_TIMEOUT_S} s: nothing listens there, or it is not a Dask scheduler"
                   if isinstance(exc, TimeoutError) else exc)
            raise ConfigError(f"--dask {address}: no Dask scheduler answered there ({why}). {fix}") from None
        if client is None:
            raise ConfigError(f"--dask {address}: a Dask {kind}, not a scheduler, answered there. {fix}")
        try:
            yield client
        finally:
            _close(client)
        return
    if isinstance(n_workers, bool) or not isinstance(n_workers, int) or n_workers < 1:
        raise ConfigError(f"The 'n_workers' parameter of connect must be an int in the range [1, inf). "
                          f"Got {n_workers!r} instead.")
    # one thread per process: the numba kernels hold a core each; more threads only contend
    with distributed.LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                                  dashboard_address=None, env={"NUMBA_NUM_THREADS": "1"}) as cluster, \
            distributed.Client(cluster) as client:
        yield client

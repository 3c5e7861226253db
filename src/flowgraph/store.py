"""The run store: hits, alerts, run manifests and dispositions in one SQLite file.

Why SQLite rather than DuckDB: the store is the bank's system of record and is written
a chunk at a time by scheduled scans, so what matters is transactions that either land
whole or not at all (a scan killed mid-run leaves it consistent), and a file any
investigator can open with the ``sqlite3`` shell, pandas or a BI tool without installing
anything: SQLite ships with Python. Analytics over the store are small (hits and alerts,
not transactions), where DuckDB's speed would not show. Hits are read back into Arrow
by SQLite's ADBC driver (Apache Arrow's, :meth:`Store._hits_arrow`), written by ``sqlite3``.

The store keeps real ids (it is the record); it is created owner-only (mode 0600). Tables:

- ``runs``: one row per scan run: data range and fingerprint, scanned days, configuration
  (JSON) and its hash, calendar, code version, status (running / complete), counts;
- ``run_days``: the transactions counted toward each business day a run scanned (the
  alert rate's denominator, :mod:`flowgraph.report`);
- ``run_chunks``: the chunks of business days a run has committed (resume point);
- ``hits``: every hit, keyed by its deterministic id (re-scanning adds nothing), and
  ``run_hits``: which run found which hit;
- ``alerts``: alerts keyed by their deterministic id, with score and explanation;
- ``dispositions``: an analyst's decision on an alert (excluded / reported / case), who
  and when, and the alert's hits and window end as they were then (what reopens it);
- ``audit``: explicit acts such as exporting real ids;
- ``pseudonym_key``: the id of the key the store's pseudonyms are made with (never the
  key), recorded the first time they are made (:func:`flowgraph.deid.store_pseudonymizer`).
"""

from __future__ import annotations

import datetime as dt
import functools
import getpass
import glob
import json
import os
import sqlite3
import tempfile
import weakref
from contextlib import closing, contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pajson

from ._arrow import one_array, text_buffers
from ._json import dumps_each
from ._kernels.strings import FNV_OFFSET, fnv_feed, fnv_finish
from .errors import ConfigError, DataError

#: SQLite page cache of a store connection, KiB.
PAGE_CACHE_KIB = 65536
#: SQLite page size of a new store (SQLite's default is 4096) and of a staging file.
PAGE_SIZE_BYTES = 16384
#: How much of a staging file (:meth:`Store._staged`) a commit reads through a memory map,
#: not a read call per page (a chunk's rows are some 10-100 MB). The staging file's larger
#: pages and the map: committing a 240-day range's 890,804 hit rows in 48 chunks into a new
#: store took 16.5-17.7 s against 17.8-19.0 s (session 39, ``/tmp/s39/mb.py``).
STAGING_MMAP_BYTES = 1 << 30
#: Indexes looked up by customer or subject: their keys arrive in random order, so a
#: scan storing many hits drops them and builds them once at the end (:meth:`Store.bulk_insert`).
#: With the run's last day: a daily scan reads a customer's hits of its last weeks, not all;
#: and the typology and id, so the hits it needs only by week (:meth:`Store.hit_days`) are
#: read from the index alone, without their rows' evidence lists.
LOOKUP_INDEXES = {"hits_customer_days": "hits (config_hash, customer, run_last, typology, hit_id)",
                  "hits_subject_days": "hits (config_hash, subject, run_last, customer, typology, hit_id)"}
#: Indexes of earlier versions, dropped when a store is opened (their successors end in the
#: run's last day: what a daily run reads is bounded by days, not by the history).
OLD_INDEXES = ("hits_customer", "hits_subject", "hits_detector", "hits_customer_last", "hits_subject_last",
               "hits_run_last")
#: A scan with at least this many hits, and more than are stored, stores them in bulk.
BULK_MIN_HITS = 10_000
#: SQLite's page cache (KiB) and helper threads while a bulk store builds its lookup
#: indexes: the sorter then sorts runs of this size on the threads and merges them. With
#: the connection's 64 MB (PAGE_CACHE_KIB) it sorted in one run on one thread: the two
#: indexes of the 1e8 bank's range (890,804 hits) took 3.0-3.2 s, against 1.4-2.2 s.
INDEX_SORT_CACHE_KIB = 8192
INDEX_SORT_THREADS = 2

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY, started_at TEXT, finished_at TEXT, status TEXT,
    mode TEXT, as_of TEXT, scan_first TEXT, scan_last TEXT, data_first TEXT, data_last TEXT,
    data_fingerprint TEXT, n_transactions INTEGER, config_hash TEXT, config TEXT, calendar TEXT,
    code_version TEXT, n_chunks INTEGER, n_hits INTEGER, n_alerts INTEGER, checks TEXT,
    store_ingest TEXT, disabled_detectors TEXT
);
-- store_ingest: the latest ingest of the transaction store a run scanned when it started
-- (its id; NULL for a file): which of the store's changed days the run saw (flowgraph.rescans);
-- disabled_detectors: JSON, detector -> why the run could not run it (an optional column
-- absent), for report's ``disabled`` (NULL: recorded by an earlier version)
-- transactions counted toward each business day a run scanned (its window's earlier days
-- not counted): what report's alert rate divides by, each day once however many runs
CREATE TABLE IF NOT EXISTS run_days (run_id TEXT, day TEXT, n_transactions INTEGER, PRIMARY KEY (run_id, day));
CREATE TABLE IF NOT EXISTS run_chunks (
    run_id TEXT, chunk INTEGER, first_day TEXT, last_day TEXT, n_hits INTEGER, committed_at TEXT, changes TEXT,
    PRIMARY KEY (run_id, chunk)
);
CREATE TABLE IF NOT EXISTS hits (
    hit_id TEXT, config_hash TEXT, run_id TEXT, detector TEXT, typology TEXT, params_id TEXT,
    subject TEXT, customer TEXT, accounts TEXT, txn_ids TEXT, window_start TEXT, window_end TEXT,
    n_accounts INTEGER, n_days INTEGER, amount REAL, phi TEXT, w REAL, ceiling REAL, utilisation REAL,
    in_band INTEGER, measures TEXT, run_first TEXT, run_last TEXT, seen_through TEXT, content TEXT,
    PRIMARY KEY (config_hash, hit_id)
);
-- a commit's retraction of hits ending on its days reads them from this index alone: the
-- rows, whose seen_through comes after their evidence lists, are not read (1.2 s -> 0.03 s
-- for a block of 2.2 M stored hits)
CREATE INDEX IF NOT EXISTS hits_run_last_seen ON hits (config_hash, run_last, seen_through, hit_id);
CREATE INDEX IF NOT EXISTS hits_detector_last ON hits (config_hash, detector, typology, run_last);
CREATE TABLE IF NOT EXISTS hit_versions (
    hit_id TEXT, config_hash TEXT, run_id TEXT, detector TEXT, typology TEXT, params_id TEXT,
    subject TEXT, customer TEXT, accounts TEXT, txn_ids TEXT, window_start TEXT, window_end TEXT,
    n_accounts INTEGER, n_days INTEGER, amount REAL, phi TEXT, w REAL, ceiling REAL, utilisation REAL,
    in_band INTEGER, measures TEXT, run_first TEXT, run_last TEXT, seen_through TEXT, content TEXT,
    superseded_by_run TEXT, superseded_at TEXT, reason TEXT
);
CREATE INDEX IF NOT EXISTS hit_versions_run ON hit_versions (superseded_by_run, hit_id);
CREATE TABLE IF NOT EXISTS run_hits (run_id TEXT, hit_id TEXT, PRIMARY KEY (run_id, hit_id));
CREATE TABLE IF NOT EXISTS alerts (
    alert_id TEXT PRIMARY KEY, config_hash TEXT, customer TEXT, subject TEXT, score REAL, raised INTEGER,
    window_start TEXT, window_end TEXT, n_hits INTEGER, hit_ids TEXT, utilisation REAL, explanation TEXT,
    first_run TEXT, last_run TEXT
);
CREATE INDEX IF NOT EXISTS alerts_customer ON alerts (config_hash, customer, window_end);
CREATE INDEX IF NOT EXISTS alerts_subject ON alerts (config_hash, subject, window_end);
-- decided alerts that a later scan no longer produced (its data corrected, its hits
-- regrouped): kept for their decisions, no longer raised (Store.replace_alerts)
CREATE TABLE IF NOT EXISTS gone_alerts (alert_id TEXT PRIMARY KEY, run_id TEXT);
-- decided_hit_ids / decided_window_end: the alert as the analyst saw it when deciding (a
-- later scan that adds hits to it, or extends its window, reopens it: desk.queue)
CREATE TABLE IF NOT EXISTS dispositions (
    alert_id TEXT, disposition TEXT, analyst TEXT, decided_at TEXT, note TEXT, decided_hit_ids TEXT,
    decided_window_end TEXT
);
CREATE TABLE IF NOT EXISTS audit (at TEXT, who TEXT, action TEXT, detail TEXT);
-- one row: the id of the pseudonym key (flowgraph.deid.key_id, which reveals nothing of the
-- key) every display and export of this store is pseudonymised with, where it was read
-- from and by whom; adopted = 1 when the store held complete runs already (an earlier
-- version's store, which recorded none)
CREATE TABLE IF NOT EXISTS pseudonym_key (
    key_id TEXT NOT NULL, key_file TEXT, recorded_at TEXT, recorded_by TEXT, adopted INTEGER
);
""" + "".join(f"CREATE INDEX IF NOT EXISTS {name} ON {on};\n" for name, on in LOOKUP_INDEXES.items())

DISPOSITIONS = ("excluded", "reported", "case")
HIT_STORE_COLUMNS = ("hit_id", "config_hash", "run_id", "detector", "typology", "params_id", "subject", "customer",
                     "accounts", "txn_ids", "window_start", "window_end", "n_accounts", "n_days", "amount", "phi",
                     "w", "ceiling", "utilisation", "in_band", "measures", "run_first", "run_last", "seen_through",
                     "content")
#: The columns of ``alerts``, in order (:func:`alert_rows`).
ALERT_STORE_COLUMNS = ("alert_id", "config_hash", "customer", "subject", "score", "raised", "window_start",
                       "window_end", "n_hits", "hit_ids", "utilisation", "explanation", "first_run", "last_run")
#: Where :meth:`Store.commit_chunk` copies a chunk's hit rows from: a table of the
#: staging file (:meth:`Store._staged`) attached to the store's connection.
STAGED_SCHEMA, STAGED_TABLE = "staged", "hits"
STAGED = f"{STAGED_SCHEMA}.{STAGED_TABLE}"
#: The Arrow type a hit column is staged as, by its declared SQLite type (a column of
#: nulls only has none of its own).
STAGED_TYPES = {"TEXT": pa.string(), "INTEGER": pa.int64(), "REAL": pa.float64()}
#: A literal of each declared SQLite column type (:meth:`Store._hits_arrow`'s first row; text
#: for any other).
TYPE_LITERALS = {"TEXT": "''", "INTEGER": "0", "REAL": "0.0"}
#: Large-value hits that count as reported (single and daily cumulative, SPEC §2).
LARGE_VALUE_TYPOLOGIES = ("large_value_single", "large_value_daily")
#: What makes two versions of a hit differ (the id is fixed by the run's start).
HIT_CONTENT_COLUMNS = ("subject", "customer", "accounts", "txn_ids", "window_start", "window_end", "run_last",
                       "amount", "in_band", "measures")




def now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


#: How long a write waits for another connection's transaction before giving up (a
#: disposition recorded while a scan commits a chunk waits; two scans never share a store:
#: see :meth:`Store.lock`).
BUSY_TIMEOUT_MS = 30_000


def _database_errors(method):
    """Turn SQLite's errors into messages that name the store and the fix."""
    @functools.wraps(method)
    def guarded(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except sqlite3.DatabaseError as exc:
            raise _translate(self.path, exc) from None
    return guarded


def _translate(path: Path, exc: Exception) -> Exception:
    """A message naming the store and the fix for an error of ``sqlite3`` or of the
    ADBC driver (:meth:`Store._hits_arrow`)."""
    text = str(exc)
    if "locked" in text or "busy" in text:
        return ConfigError(f"{path}: the run store is busy ({text}): another process held it for more than "
                           f"{BUSY_TIMEOUT_MS // 1000} s. Fix: wait for that process and run the command again.")
    if "readonly" in text:  # a read-only file, folder or mount: nothing is damaged
        return ConfigError(f"{path}: the run store is read-only ({text}), and this command writes to it: dispose "
                           "records the decision there, --reveal-ids the audit entry of the real ids shown, a scan "
                           "its results. Fix: work on a writable copy (cp the store, then --store COPY), or get "
                           "write permission on the file and its folder.")
    if "full" in text:
        return ConfigError(f"{path}: the run store cannot grow ({text}). Fix: free disk space, then run the same "
                           "command again: every chunk committed before is kept and the scan resumes after it.")
    return DataError(f"{path}: the run store is damaged or is not a flowgraph store ({text}). Fix: restore it "
                     "from a backup, or give a new --store path (a new store is created there).")


class Store:
    """A connection to the run store (owner-only).

    Parameters
    ----------
    path : path
        The SQLite file.
    create : bool
        Create the store if absent (a scan); False to open only an existing store (report,
        dispose), so a mistyped path, an empty file or another file is an error instead of
        a new empty store. Either way an existing store lacking a table or column is refused.
    """

    def __init__(self, path: str | Path, create: bool = True):
        self.path = Path(path)
        if self.path.is_dir():
            raise ConfigError(f"{self.path}: is a folder; a run store is a file. Fix: name the store file, "
                              f"e.g. {self.path / 'store.sqlite'}.")
        new = not self.path.exists()
        if new and not create:
            raise ConfigError(f"{self.path}: no run store here. Fix: check the path; a scan writes its store to "
                              "OUT/store.sqlite unless --store says otherwise.")
        if new:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o600))
        self._staging: Path | None = None  # a chunk's rows before commit (:meth:`_staged`)
        self._open(new, create)

    @_database_errors
    def _open(self, new: bool, create: bool) -> None:
        # explicit transactions below; a scan may commit from a worker thread while its
        # main thread does not use the store (see flowgraph.scan)
        self.conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self.conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        # read before anything writes: only a scan makes an existing file a store
        tables = {r[0] for r in self.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if not new and not tables and not create:
            what = "an empty file" if self.path.stat().st_size == 0 else "an SQLite file without tables"
            raise DataError(f"{self.path}: not a flowgraph run store ({what}; left as it is). Fix: give the "
                            "--store a scan wrote (OUT/store.sqlite unless the scan's --store said otherwise).")
        if not new and tables and "runs" not in tables:
            raise DataError(f"{self.path}: an SQLite file, but not a flowgraph run store (it has tables "
                            f"{sorted(tables)[:5]}). Fix: give the store.sqlite a scan wrote, or a new path.")
        if new:  # hit rows carry evidence lists of KiBs: larger pages mean fewer overflow pages
            self.conn.execute(f"PRAGMA page_size={PAGE_SIZE_BYTES}")
        # A rollback journal, not WAL: a scan mostly appends, and pages appended in a
        # transaction are written once (WAL writes them twice, to the log and back); a reader
        # waits (busy_timeout) only while a commit writes. Stores written by earlier
        # versions in WAL mode switch when nothing else has them open.
        self.conn.execute("PRAGMA journal_mode=DELETE")
        self.conn.execute("PRAGMA synchronous=FULL")
        # a scan inserts 10^5 hits into four B-trees: SQLite's default 2 MB page cache
        # re-reads index pages; 64 MB holds them (memory taken only as pages are used)
        self.conn.execute(f"PRAGMA cache_size=-{PAGE_CACHE_KIB}")
        if tables:
            _migrate(self.conn)
            _check_schema(self.conn, self.path)
            self.conn.executescript(SCHEMA)
        else:  # a new store's tables in one transaction: a second process opening it at the
            # same moment (two scans into one --store) sees all of them or none, never a part
            self.conn.executescript(f"BEGIN IMMEDIATE;\n{SCHEMA}\nCOMMIT;")
        # each column of ``hits`` and ``alerts`` and its declared type, read once: another
        # thread may read hits (:meth:`_hits_arrow`) while this connection writes
        self._declared = {table: {r[1]: r[2].upper() for r in self.conn.execute(f"PRAGMA table_info({table})")}
                          for table in (STAGED_TABLE, "alerts")}

    @contextmanager
    def lock(self, wait_s: float = 0.0):
        """Hold the store for one scan: a second scan on the same store waits up to
        ``wait_s`` seconds, then refuses (ConfigError), so two runs never interleave their
        chunks. The lock is a file beside the store, released when the process ends."""
        from filelock import FileLock, Timeout

        lock = FileLock(f"{self.path}.lock", timeout=wait_s, mode=0o600)
        try:
            lock.acquire()
        except Timeout:
            raise ConfigError(f"{self.path}: another scan is writing to this run store (lock {lock.lock_file}). "
                              "Fix: wait for it to finish, or pass --wait SECONDS to queue behind it.") from None
        try:
            self._sweep_staging()
            yield self
        finally:
            lock.release()

    def _staging_prefix(self, pid: int | None = None) -> str:
        """The name a staging file of this store begins with; of process ``pid``'s if given."""
        return f".{self.path.name}.staging-" + ("" if pid is None else f"{pid}-")

    def _sweep_staging(self) -> list[Path]:
        """Remove the staging files (:meth:`_staged`) a killed scan left beside the store
        (each holds one chunk's hits, real ids included); the paths removed. Called holding
        the scan lock, so no other process is committing to the store; this process's own
        files (another ``Store`` of it may be using one) are kept."""
        own = self._staging_prefix(os.getpid())
        left = [f for f in self.path.parent.glob(glob.escape(self._staging_prefix()) + "*.sqlite")
                if not f.name.startswith(own)]
        for f in left:
            f.unlink(missing_ok=True)
        return left

    @_database_errors
    def close(self) -> None:
        self.conn.close()
        if self._staging is not None:
            self._remove_staging()
            self._staging = None

    @contextmanager
    def transaction(self):
        """All writes inside land together or not at all. When a statement fails so that
        SQLite has rolled the transaction back itself (a disk full while a large statement
        spilled to a temporary file), there is nothing left to roll back: the statement's
        own error is raised, not ROLLBACK's "no transaction is active", which read as a
        damaged store."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise
        else:
            self.conn.execute("COMMIT")

    @_database_errors
    def query(self, sql: str, params=()) -> pd.DataFrame:
        return pd.read_sql_query(sql, self.conn, params=params)

    # -- runs ----------------------------------------------------------------------------
    @_database_errors
    def incomplete_run(self, fingerprint: str, config_hash: str, scan_first: str, scan_last: str) -> str | None:
        """The id of an unfinished run over the same data, configuration and days."""
        row = self.conn.execute(
            "SELECT run_id FROM runs WHERE status = 'running' AND data_fingerprint = ? AND config_hash = ? "
            "AND scan_first = ? AND scan_last = ? ORDER BY started_at DESC LIMIT 1",
            (fingerprint, config_hash, scan_first, scan_last)).fetchone()
        return row[0] if row else None

    @_database_errors
    def note_disabled(self, run_id: str, disabled: dict[str, str]) -> None:
        """Record the detectors a part of run ``run_id`` (a block) could not run: those no
        part before it could run either, so the run lists the detectors disabled throughout."""
        row = self.conn.execute("SELECT disabled_detectors FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        before = json.loads(row[0]) if row and row[0] else None
        kept = disabled if before is None else {k: v for k, v in before.items() if k in disabled}
        with self.transaction() as c:
            c.execute("UPDATE runs SET disabled_detectors = ? WHERE run_id = ?", (json.dumps(kept, sort_keys=True),
                                                                                 run_id))

    @_database_errors
    def latest_scanned_day(self, config_hash: str) -> str | None:
        """The last day of the latest-ending run of ``config_hash`` that stored something (a
        chunk): what its hits were seen through (``flowgraph.rescans``); None when none did."""
        row = self.conn.execute(
            "SELECT MAX(r.scan_last) FROM runs r WHERE r.config_hash = ? AND EXISTS "
            "(SELECT 1 FROM run_chunks c WHERE c.run_id = r.run_id)", (config_hash,)).fetchone()
        return row[0] if row else None

    @_database_errors
    def earliest_scanned_day(self, config_hash: str) -> str | None:
        """The first day of the earliest-starting run of ``config_hash`` that stored something
        (a chunk); None when none did."""
        row = self.conn.execute(
            "SELECT MIN(r.scan_first) FROM runs r WHERE r.config_hash = ? AND EXISTS "
            "(SELECT 1 FROM run_chunks c WHERE c.run_id = r.run_id)", (config_hash,)).fetchone()
        return row[0] if row else None

    @_database_errors
    def earliest_run_reaching(self, config_hash: str, day: str) -> str | None:
        """The first day of the earliest stored run of ``config_hash`` that began before
        ``day`` (ISO) and reaches it, stored by a finished run; None when there is none."""
        row = self.conn.execute(
            "SELECT MIN(h.run_first) FROM hits h WHERE h.config_hash = ? AND h.run_last >= ? AND h.run_first < ? "
            "AND h.run_id NOT IN (SELECT run_id FROM runs WHERE status = 'running')",
            (config_hash, day, day)).fetchone()
        return row[0] if row else None

    @_database_errors
    def start_run(self, run: dict, day_transactions: dict[str, int] | None = None) -> None:
        """Record a new run (``run``: columns of ``runs``) and the transactions counted toward
        each business day it scans (ISO day -> count; a scan gives them, report's alert rate
        divides by them)."""
        with self.transaction() as c:
            cols = ", ".join(run)
            c.execute(f"INSERT INTO runs ({cols}) VALUES ({', '.join('?' * len(run))})", tuple(run.values()))
            c.executemany("INSERT INTO run_days VALUES (?, ?, ?)",
                          [(run["run_id"], day, int(n)) for day, n in (day_transactions or {}).items()])

    @_database_errors
    def scanned_transactions(self, config_hash: str) -> int:
        """Transactions the complete runs of ``config_hash`` scanned: those counted toward
        each business day they scanned, each day once, as the latest run that scanned it
        counted them (a re-scan of corrected data recounts). Runs recorded by a version that
        kept no count per day add the most transactions one of them read."""
        rows = self.conn.execute(
            "SELECT d.day, d.n_transactions FROM run_days d JOIN runs r USING (run_id) "
            "WHERE r.status = 'complete' AND r.config_hash = ? ORDER BY r.finished_at, r.rowid", (config_hash,))
        per_day = dict(rows.fetchall())
        uncounted = self.conn.execute(
            "SELECT MAX(r.n_transactions) FROM runs r WHERE r.status = 'complete' AND r.config_hash = ? "
            "AND NOT EXISTS (SELECT 1 FROM run_days d WHERE d.run_id = r.run_id)", (config_hash,)).fetchone()[0]
        return sum(per_day.values()) + int(uncounted or 0)

    @_database_errors
    def done_chunks(self, run_id: str) -> set[int]:
        return {r[0] for r in self.conn.execute("SELECT chunk FROM run_chunks WHERE run_id = ?", (run_id,))}

    def commit_chunk(self, run_id: str, chunk: int, first_day: str, last_day: str, hits: pd.DataFrame,
                     config_hash: str, seen_through: str, retract_ids=(), in_blocks: bool = False) -> dict:
        """Store a chunk's hits and mark the chunk done, in one transaction.

        A new hit is added. A stored hit with the same id is replaced by this version when
        it differs and this scan saw as many days or more (``seen_through``, an ISO date);
        the earlier version moves to ``hit_versions``. A stored hit whose run ends on the
        chunk's days, made from no more days than this scan saw, and not found again — or
        named in ``retract_ids`` (e.g. a band hit a strict hit now covers) — is retracted:
        moved to ``hit_versions`` with the reason.

        ``in_blocks``: the run commits its hits block by block as a scan in blocks finds
        them (:mod:`flowgraph.block_run`), and a later block's word on a hit wins, as in one
        scan of all the days: a version an earlier block of this run stored is replaced
        without a version kept, and one it retracts is taken out of the run (``run_hits``);
        the counts are those the whole run makes (a hit added by an earlier block and now
        retracted uncounts its addition). Chunks are then blocks.

        Returns
        -------
        dict
            Counts: ``added``, ``updated``, ``retracted``.
        """
        return self.commit_rows(run_id, chunk, first_day, last_day, hit_rows(hits, config_hash, run_id, seen_through),
                                config_hash, seen_through, retract_ids, in_blocks)

    @_database_errors
    def commit_rows(self, run_id: str, chunk: int, first_day: str, last_day: str, rows: pa.Table,
                    config_hash: str, seen_through: str, retract_ids=(), in_blocks: bool = False) -> dict:
        """:meth:`commit_chunk` of the rows :func:`hit_rows` made of its hits, with the same
        ``run_id``, ``config_hash`` and ``seen_through`` (a scan makes the next chunk's rows
        on another thread while this one is committed: :func:`flowgraph.scan._commit_chunks`)."""
        # the chunk and its done-mark land in one transaction: a chunk lost to a crash is
        # simply scanned again on resume
        with self._staged(rows), self.transaction() as c:
            if len(retract_ids) and not in_blocks and not self.has_other_runs(config_hash, run_id):
                retract_ids = ()  # no other run stored hits of this configuration
            stale_days = c.execute("SELECT 1 FROM hits WHERE config_hash = ? AND run_last >= ? AND run_last <= ? "
                                   "LIMIT 1", (config_hash, first_day, last_day)).fetchone() is not None
            inserted = self._insert_staged(c)
            counts = {}
            # an id already stored, a stored hit ending on these days or a band hit to retract:
            # set earlier versions aside (a fresh store, the bulk of a range scan, never needs it)
            if stale_days or inserted < rows.num_rows or len(retract_ids) or in_blocks:
                counts = self._supersede(c, retract_ids, config_hash, seen_through, first_day, last_day, run_id,
                                         in_blocks)
                # the chunk's versions of the hits just set aside (the rest are stored)
                inserted += self._insert_staged(c)
            c.execute(f"INSERT OR IGNORE INTO run_hits SELECT ?, hit_id FROM {STAGED}", (run_id,))
            updated = counts.get("updated", 0)
            delta = counts.get("delta", {})  # a block run's corrections (_drop_own)
            changes = {"added": inserted - updated + delta.get("added", 0),
                       "updated": updated + delta.get("updated", 0),
                       "retracted": counts.get("retracted", 0) + delta.get("retracted", 0)}
            c.execute("INSERT INTO run_chunks (run_id, chunk, first_day, last_day, n_hits, committed_at, changes) "
                      "VALUES (?, ?, ?, ?, ?, ?, ?)",
                      (run_id, chunk, first_day, last_day, rows.num_rows, now(), json.dumps(changes)))
        return changes

    @_database_errors
    def run_changes(self, run_id: str) -> dict:
        """The hits run ``run_id`` added, updated and retracted, over every chunk it
        committed (a resumed run's earlier process's too)."""
        totals = {"added": 0, "updated": 0, "retracted": 0}
        for (changes,) in self.conn.execute("SELECT changes FROM run_chunks WHERE run_id = ?", (run_id,)):
            for key, value in json.loads(changes or "{}").items():
                totals[key] = totals.get(key, 0) + value
        return totals

    @contextmanager
    def scan_found(self, hit_ids):
        """Around the chunk commits of one scan: the ids of every hit it found (a temporary
        table), so a stored hit whose run ended on an earlier chunk's days and that the
        scan finds again ending later is updated by the later chunk, not retracted by the
        earlier one — the same changes however the days are cut into chunks."""
        self.conn.execute("CREATE TEMP TABLE IF NOT EXISTS scan_found (hit_id TEXT PRIMARY KEY)")
        self.conn.execute("DELETE FROM scan_found")
        self.conn.execute("INSERT OR IGNORE INTO scan_found SELECT value FROM json_each(?)",
                          (json.dumps(list(hit_ids)),))
        try:
            yield
        finally:
            self.conn.execute("DELETE FROM scan_found")

    @contextmanager
    def bulk_insert(self, n_hits: int | None):
        """Around the commits of a scan with ``n_hits`` hits: when that is many
        (:data:`BULK_MIN_HITS`) and more than are stored, the customer and subject indexes
        (:data:`LOOKUP_INDEXES`) are dropped first and built once after the last commit,
        which is faster than growing them hit by hit. Nothing looks hits up by them
        meanwhile; should the process die first, the next open of the store builds them.
        ``n_hits`` None: not known yet (a scan in blocks); bulk when the store holds fewer
        than :data:`BULK_MIN_HITS`."""
        stored = self._n_hits_estimate()
        bulk = stored < BULK_MIN_HITS if n_hits is None else n_hits >= BULK_MIN_HITS and n_hits > stored
        if bulk:
            self._lookup_indexes(build=False)
        yield
        if bulk:
            self._lookup_indexes(build=True)

    @_database_errors
    def _n_hits_estimate(self) -> int:
        return self.conn.execute("SELECT MAX(rowid) FROM hits").fetchone()[0] or 0

    @_database_errors
    def _lookup_indexes(self, build: bool) -> None:
        # built with SQLite's sorter in small runs that helper threads sort, not in one run
        # of the page cache's size sorted by this thread alone (INDEX_SORT_CACHE_KIB)
        if build:
            self.conn.execute(f"PRAGMA cache_size=-{INDEX_SORT_CACHE_KIB}")
            self.conn.execute(f"PRAGMA threads={INDEX_SORT_THREADS}")
        try:
            with self.transaction() as c:
                for name, on in LOOKUP_INDEXES.items():
                    c.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {on}" if build else f"DROP INDEX IF EXISTS {name}")
        finally:
            self.conn.execute(f"PRAGMA cache_size=-{PAGE_CACHE_KIB}")
            self.conn.execute("PRAGMA threads=0")

    @contextmanager
    def _staged(self, rows: pa.Table, table: str = STAGED_TABLE):
        """Around a transaction that copies a chunk's hit rows (:func:`hit_rows`) from
        :data:`STAGED` (or the alert rows of :func:`alert_rows` from ``staged.alerts``,
        ``table`` "alerts"): the rows written into the staging file by SQLite's ADBC driver,
        which binds them from Arrow in C (``executemany`` made a Python tuple per hit and
        bound it value by value holding the GIL: a third of a long range scan's CPU,
        taken from its detectors), and that file attached to the store's connection.
        The staging file is scratch (no journal, no sync), owner-only like the store,
        beside it, one per connection (named with the process id), and removed when the
        store is closed; a crash can lose nothing of the store there, and the next scan of
        the store removes what a killed one left (:meth:`_sweep_staging`)."""
        import adbc_driver_manager
        import adbc_driver_sqlite.dbapi as adbc

        if self._staging is None:
            fd, name = tempfile.mkstemp(dir=self.path.parent, prefix=self._staging_prefix(os.getpid()),
                                        suffix=".sqlite")
            os.close(fd)
            self._staging = Path(name)
            self._remove_staging = weakref.finalize(self, _unlink, self._staging)
        os.close(os.open(self._staging, os.O_WRONLY | os.O_CREAT, 0o600))  # owner-only, also if deleted since
        try:
            with adbc.connect(str(self._staging), autocommit=True) as conn, conn.cursor() as cursor:
                cursor.execute(f"PRAGMA page_size={PAGE_SIZE_BYTES}")  # a new file's: as the store's
                cursor.execute("PRAGMA journal_mode=OFF")
                cursor.execute("PRAGMA synchronous=OFF")
                cursor.adbc_ingest(table, _typed(rows, self._declared[table]), mode="replace")
        except (adbc_driver_manager.Error, OSError) as exc:
            error = _translate(self.path, exc)  # busy or full: as for the store itself
            if isinstance(error, DataError):
                error = DataError(f"{self._staging}: the staging file of the run store {self.path} cannot be "
                                  f"used ({' '.join(str(exc).split())}). Fix: delete it and run the same command "
                                  "again: every chunk committed before is kept.")
            raise error from None
        self.conn.execute(f"ATTACH DATABASE ? AS {STAGED_SCHEMA}", (str(self._staging),))
        self.conn.execute(f"PRAGMA {STAGED_SCHEMA}.mmap_size={STAGING_MMAP_BYTES}")
        try:
            yield
        finally:
            self.conn.execute(f"DETACH DATABASE {STAGED_SCHEMA}")

    def _insert_staged(self, c) -> int:
        """Insert the staged hit rows whose id is not stored yet; the number inserted. A
        row whose id is stored is passed over by its id alone (its evidence is not read):
        after :meth:`_supersede`, only the rows it set aside are inserted again.

        The ids already stored are found first (a temporary table): an insert whose rows
        are selected with a look into ``hits`` itself makes SQLite copy every selected row
        into a temporary table before inserting any (so the insert cannot change what it
        selects), which took 4.3 s where the copy takes 2.4 (446,067 hits onto 411,071)."""
        c.execute("CREATE TEMP TABLE IF NOT EXISTS staged_stored (hit_id TEXT PRIMARY KEY)")
        c.execute("DELETE FROM staged_stored")
        c.execute(f"INSERT INTO staged_stored SELECT s.hit_id FROM {STAGED} s WHERE EXISTS (SELECT 1 FROM hits h "
                  "WHERE h.config_hash = s.config_hash AND h.hit_id = s.hit_id)")
        before = self.conn.total_changes
        c.execute(f"INSERT OR IGNORE INTO hits ({', '.join(HIT_STORE_COLUMNS)}) "
                  f"SELECT {', '.join('s.' + x for x in HIT_STORE_COLUMNS)} FROM {STAGED} s "
                  "WHERE s.hit_id NOT IN (SELECT hit_id FROM staged_stored) ORDER BY s.rowid")
        return self.conn.total_changes - before

    def _supersede(self, c, retract_ids, config_hash, seen_through, first_day, last_day,
                   run_id, in_blocks: bool = False) -> dict:
        """Move stored hits that this chunk updates or retracts to ``hit_versions`` (see
        :meth:`commit_chunk`); counts per reason. The chunk's new hits may already be
        inserted: they equal the chunk's rows, so they are neither updated nor retracted.
        ``in_blocks``: versions this run stored are dropped instead (:meth:`_drop_own`)."""
        c.execute("CREATE TEMP TABLE IF NOT EXISTS chunk_hits (hit_id TEXT PRIMARY KEY, content TEXT)")
        c.execute("CREATE TEMP TABLE IF NOT EXISTS chunk_retract (hit_id TEXT PRIMARY KEY)")
        c.execute("CREATE TEMP TABLE IF NOT EXISTS scan_found (hit_id TEXT PRIMARY KEY)")
        c.execute("DELETE FROM chunk_hits")
        c.execute("DELETE FROM chunk_retract")
        c.execute(f"INSERT INTO chunk_hits SELECT hit_id, content FROM {STAGED}")
        c.executemany("INSERT OR IGNORE INTO chunk_retract VALUES (?)", [(i,) for i in retract_ids])
        # stored hits to set aside, with why
        c.execute("CREATE TEMP TABLE IF NOT EXISTS chunk_old (hit_id TEXT PRIMARY KEY, reason TEXT)")
        c.execute("DELETE FROM chunk_old")
        # the temporary tables are small and ``hits`` is large (evidence lists of megabytes):
        # CROSS JOIN makes SQLite loop over the small side and look ``hits`` up by its key,
        # not read the whole table (at 2.2 M stored hits, 20 s a statement)
        c.execute("INSERT INTO chunk_old SELECT h.hit_id, 'updated' FROM chunk_hits n CROSS JOIN hits h "
                  "ON h.config_hash = ? AND h.hit_id = n.hit_id WHERE h.content IS NOT n.content "
                  "AND h.seen_through <= ?", (config_hash, seen_through))
        retract = ("INSERT OR IGNORE INTO chunk_old SELECT h.hit_id, 'retracted' FROM {} WHERE h.config_hash = ? "
                   "AND h.seen_through <= ? AND h.hit_id NOT IN (SELECT hit_id FROM chunk_hits){}")
        # a hit the scan finds in a later chunk (its run went on past this chunk's days) is
        # updated there, not retracted here
        c.execute(retract.format("hits h", " AND h.run_last >= ? AND h.run_last <= ? "
                                 "AND h.hit_id NOT IN (SELECT hit_id FROM scan_found)"),
                  (config_hash, seen_through, first_day, last_day))
        c.execute(retract.format("chunk_retract r CROSS JOIN hits h ON h.config_hash = ? AND h.hit_id = r.hit_id", ""),
                  (config_hash, config_hash, seen_through))
        delta = self._drop_own(c, config_hash, run_id) if in_blocks else {}
        c.execute(f"INSERT INTO hit_versions SELECT {', '.join('h.' + x for x in HIT_STORE_COLUMNS)}, ?, ?, o.reason "
                  "FROM chunk_old o CROSS JOIN hits h ON h.config_hash = ? AND h.hit_id = o.hit_id",
                  (run_id, now(), config_hash))
        c.execute("DELETE FROM hits WHERE config_hash = ? AND hit_id IN (SELECT hit_id FROM chunk_old)", (config_hash,))
        return {**dict(c.execute("SELECT reason, COUNT(*) FROM chunk_old GROUP BY reason").fetchall()),
                "delta": delta}

    @staticmethod
    def _drop_own(c, config_hash: str, run_id: str) -> dict:
        """For a run committed block by block (:meth:`commit_chunk` with ``in_blocks``):
        make this chunk's changes those of one scan of all the run's days, and say how the
        chunk's counts differ from what ``chunk_old`` and the inserts show.

        - An earlier run's version an earlier block set aside (``hit_versions``, superseded
          by this run) that this chunk finds again unchanged is put back, as if never
          touched (an earlier block saw its run cut at the block's end, or not yet).
        - One set aside as retracted that this chunk finds again changed was updated.
        - A version an earlier block of this run wrote is dropped, not kept: replaced by
          this chunk's, or retracted and taken out of the run's hits (if it had replaced an
          earlier run's version, that one is now the retracted one).

        Called within :meth:`_supersede` once ``chunk_hits`` and ``chunk_old`` are filled;
        returns count corrections per kind (``added``, ``updated``, ``retracted``)."""
        delta = {"added": 0, "updated": 0, "retracted": 0}
        columns = ", ".join(HIT_STORE_COLUMNS)
        c.execute("CREATE TEMP TABLE IF NOT EXISTS own_back (vid INTEGER PRIMARY KEY, hit_id TEXT, reason TEXT)")
        c.execute("DELETE FROM own_back")
        c.execute("INSERT INTO own_back SELECT v.rowid, v.hit_id, v.reason FROM hit_versions v JOIN chunk_hits n "
                  "ON v.hit_id = n.hit_id WHERE v.config_hash = ? AND v.superseded_by_run = ? AND "
                  "v.content IS n.content", (config_hash, run_id))
        back = dict(c.execute("SELECT reason, COUNT(*) FROM own_back GROUP BY reason").fetchall())
        delta["updated"] -= back.get("updated", 0)
        delta["retracted"] -= back.get("retracted", 0)
        delta["added"] -= back.get("retracted", 0)  # this chunk inserted it as new
        c.execute("DELETE FROM hits WHERE config_hash = ? AND run_id = ? AND hit_id IN (SELECT hit_id FROM own_back)",
                  (config_hash, run_id))
        c.execute(f"INSERT INTO hits ({columns}) SELECT {columns} FROM hit_versions WHERE rowid IN "
                  "(SELECT vid FROM own_back)")
        c.execute("DELETE FROM hit_versions WHERE rowid IN (SELECT vid FROM own_back)")
        c.execute("DELETE FROM chunk_old WHERE hit_id IN (SELECT hit_id FROM own_back)")
        found_changed = c.execute(
            "UPDATE hit_versions SET reason = 'updated' WHERE config_hash = ? AND superseded_by_run = ? AND "
            "reason = 'retracted' AND hit_id IN (SELECT hit_id FROM chunk_hits)", (config_hash, run_id)).rowcount
        delta["retracted"] -= found_changed
        delta["updated"] += found_changed
        delta["added"] -= found_changed
        own = "SELECT o.hit_id FROM chunk_old o CROSS JOIN hits h ON h.config_hash = ? AND h.hit_id = o.hit_id " \
              "WHERE h.run_id = ? AND o.reason = ?"
        delta["added"] -= c.execute(f"SELECT COUNT(*) FROM ({own})", (config_hash, run_id, "updated")).fetchone()[0]
        c.execute("CREATE TEMP TABLE IF NOT EXISTS own_gone (hit_id TEXT PRIMARY KEY)")
        c.execute("DELETE FROM own_gone")
        c.execute(f"INSERT INTO own_gone {own}", (config_hash, run_id, "retracted"))
        c.execute("DELETE FROM run_hits WHERE run_id = ? AND hit_id IN (SELECT hit_id FROM own_gone)", (run_id,))
        turned = c.execute("UPDATE hit_versions SET reason = 'retracted' WHERE config_hash = ? AND "
                           "superseded_by_run = ? AND reason = 'updated' AND hit_id IN (SELECT hit_id FROM own_gone)",
                           (config_hash, run_id)).rowcount
        n_gone = c.execute("SELECT COUNT(*) FROM own_gone").fetchone()[0]
        delta["added"] -= n_gone - turned
        delta["updated"] -= turned
        delta["retracted"] += turned
        c.execute("DELETE FROM hits WHERE config_hash = ? AND run_id = ? AND hit_id IN (SELECT hit_id FROM chunk_old)",
                  (config_hash, run_id))
        c.execute("DELETE FROM chunk_old WHERE NOT EXISTS (SELECT 1 FROM hits h WHERE h.config_hash = ? "
                  "AND h.hit_id = chunk_old.hit_id)", (config_hash,))
        return delta

    @_database_errors
    def run_hit_units(self, run_id: str) -> pa.Table:
        """The hits a run found and their monitoring units (customer, else subject
        account): ``hit_id, unit`` (Arrow strings), in no particular order. Read as Arrow
        (:meth:`_hits_arrow`): a Python tuple per hit took 1.8 s of a 10^6-hit run's finish."""
        return self._units_of([("run_hits r CROSS JOIN hits h ON h.config_hash = (SELECT config_hash FROM runs "
                                "WHERE run_id = ?) AND h.hit_id = r.hit_id WHERE r.run_id = ?", (run_id, run_id))],
                              ["hit_id"])

    @_database_errors
    def hit_units(self, config_hash: str) -> pa.Table:
        """Every stored hit of a configuration without its evidence: ``hit_id, typology,
        unit`` (its monitoring unit: the customer, else the subject account; Arrow strings)."""
        return self._units_of([("hits h WHERE h.config_hash = ?", (config_hash,))], ["hit_id", "typology"])

    def _units_of(self, sources: list[tuple[str, tuple]], columns: list[str]) -> pa.Table:
        """``columns`` of the hits ``sources`` select (:meth:`_hits_arrow`) and their
        monitoring ``unit``: the customer, else the subject account."""
        table = self._hits_arrow(sources, [*columns, "customer", "subject"])
        has_customer = pc.fill_null(pc.not_equal(table["customer"], ""), False)
        return table.select(columns).append_column("unit", pc.if_else(has_customer, table["customer"],
                                                                      table["subject"]))

    @_database_errors
    def retracted_units(self, run_id: str) -> set[str]:
        """Monitoring units (customer, else subject account) of the hits a run retracted."""
        rows = self.conn.execute("SELECT customer, subject FROM hit_versions WHERE superseded_by_run = ? "
                                 "AND reason = 'retracted'", (run_id,))
        return {c if c else s for c, s in rows}

    @_database_errors
    def replaced_versions(self, run_id: str) -> pd.DataFrame:
        """The stored versions a run replaced or retracted (``customer, subject,
        window_start, window_end, run_first, run_last``; dates decoded): the alerts that
        held them change."""
        frame = self._frame("SELECT customer, subject, window_start, window_end, run_first, run_last "
                            "FROM hit_versions WHERE superseded_by_run = ?", (run_id,))
        for col in ("window_start", "window_end", "run_first", "run_last"):
            frame[col] = pd.to_datetime(frame[col])
        return frame

    @_database_errors
    def hit_days(self, config_hash: str, since: dict[str, str]) -> pd.DataFrame:
        """Stored hits of monitoring units (``since``: unit -> an ISO date) whose run lasts
        to the unit's date or later, as ``hit_id, customer, subject, typology, last_day``
        (the run's last day, a date): read from the lookup indexes alone."""
        self._wanted_units(since)
        frame = self._frame(
            "SELECT h.hit_id, h.customer, '' AS subject, h.typology, h.run_last AS last_day FROM wanted_units u "
            "CROSS JOIN hits h ON h.config_hash = ? AND h.customer = u.unit "
            "AND h.run_last >= u.since UNION ALL "
            "SELECT h.hit_id, h.customer, h.subject, h.typology, h.run_last AS last_day FROM wanted_units u "
            "CROSS JOIN hits h ON h.config_hash = ? AND h.subject = u.unit "
            "AND h.customer = '' AND h.run_last >= u.since", (config_hash, config_hash))
        if frame.empty:
            frame = pd.DataFrame(columns=["hit_id", "customer", "subject", "typology", "last_day"])
        frame["last_day"] = pd.to_datetime(frame["last_day"])
        return frame

    @_database_errors
    def unit_alerts(self, config_hash: str, since: dict[str, str]) -> pd.DataFrame:
        """Stored alerts of monitoring units (``since``: unit -> an ISO date) whose window
        ends on the unit's date or later: ``alert_id, unit, window_start, window_end,
        hit_ids`` (a list)."""
        self._wanted_units(since)
        columns = "a.alert_id, u.unit, a.window_start, a.window_end, a.hit_ids"
        frame = self._frame(
            f"SELECT {columns} FROM wanted_units u CROSS JOIN alerts a "
            "ON a.config_hash = ? AND a.customer = u.unit AND a.window_end >= u.since UNION ALL "
            f"SELECT {columns} FROM wanted_units u CROSS JOIN alerts a "
            "ON a.config_hash = ? AND a.subject = u.unit AND a.customer = '' AND a.window_end >= u.since",
            (config_hash, config_hash))
        if frame.empty:
            frame = pd.DataFrame(columns=["alert_id", "unit", "window_start", "window_end", "hit_ids"])
        frame["hit_ids"] = parse_json_lists(frame["hit_ids"].tolist())
        for col in ("window_start", "window_end"):
            frame[col] = pd.to_datetime(frame[col])
        return frame

    @_database_errors
    def finish_run(self, run_id: str, finished_at: str, n_hits: int, n_alerts: int, checks: dict) -> None:
        with self.transaction() as c:
            c.execute("UPDATE runs SET status = 'complete', finished_at = ?, n_hits = ?, n_alerts = ?, checks = ? "
                      "WHERE run_id = ?", (finished_at, n_hits, n_alerts, json.dumps(checks), run_id))

    # -- hits and alerts -----------------------------------------------------------------
    @_database_errors
    def hits(self, config_hash: str, units: set[str] | None = None, run_id: str | None = None,
             written_by_other_than: str | None = None, ids: list[str] | None = None) -> pd.DataFrame:
        """Stored hits of a configuration — all, only those a run found, only those of
        some monitoring units (customers; subject accounts for hits without a customer), or
        those with the given ``ids`` — with lists and dates decoded. Units are selected in
        SQL, so a block run reads only the history of the customers it touched.
        ``written_by_other_than`` (a run id) leaves out the versions that run wrote (a scan
        holds those in memory already)."""
        other = "" if written_by_other_than is None else " AND h.run_id != ?"
        extra = () if written_by_other_than is None else (written_by_other_than,)
        # CROSS JOIN: a loop over the few wanted keys looking their hits up by index, not a
        # read of every stored hit probing the keys (SQLite's choice: at 2.2 M stored hits,
        # 10 s for a bucket of 200,000 hits instead of 2 s, and a T+1 run read the whole history)
        if ids is not None:
            table = self._hits_arrow([("json_each(?) w CROSS JOIN hits h ON h.config_hash = ? AND h.hit_id = w.value"
                                       + other, (json.dumps(list(dict.fromkeys(ids))), config_hash, *extra))])
        elif run_id is not None:
            table = self._hits_arrow([("run_hits r CROSS JOIN hits h ON h.config_hash = ? AND h.hit_id = r.hit_id "
                                       f"WHERE r.run_id = ?{other}", (config_hash, run_id, *extra))])
        elif units is not None:
            wanted = json.dumps(sorted(units))
            table = self._hits_arrow([
                (f"json_each(?) u CROSS JOIN hits h ON h.config_hash = ? AND h.customer = u.value{other}",
                 (wanted, config_hash, *extra)),
                (f"json_each(?) u CROSS JOIN hits h ON h.config_hash = ? AND h.subject = u.value AND h.customer = ''"
                 f"{other}", (wanted, config_hash, *extra))])
        else:
            table = self._hits_arrow([(f"hits h WHERE h.config_hash = ?{other}", (config_hash, *extra))])
        lists = {col: json_list_array(table[col]) for col in ("accounts", "txn_ids")}
        frame = table.drop_columns(list(lists)).to_pandas()
        for col, values in lists.items():
            frame.insert(HIT_STORE_COLUMNS.index(col), col, pd.arrays.ArrowExtensionArray(values))
        frame["in_band"] = frame["in_band"].astype(bool)
        for col in ("window_start", "window_end", "run_first", "run_last"):
            frame[col] = pd.to_datetime(frame[col])
        return frame.drop(columns=["content"]).reset_index(drop=True)

    @_database_errors
    def run_hit_ids_above_ceiling(self, config_hash: str, run_id: str) -> list[str]:
        """Ids of the hits a run found above their ceiling (utilisation > 1), large-value
        hits left out (what :func:`flowgraph.scan.large_value_checks` checks), in no
        particular order; read on the caller's thread (its own read-only connection)."""
        table = self._hits_arrow([("run_hits r CROSS JOIN hits h ON h.config_hash = ? AND h.hit_id = r.hit_id "
                                   "WHERE r.run_id = ? AND h.utilisation > 1 "
                                   "AND (h.detector IS NULL OR h.detector != 'large_value')", (config_hash, run_id))],
                                 ["hit_id"])
        return table["hit_id"].to_pylist()

    @_database_errors
    def run_hit_ids(self, run_id: str) -> set[str]:
        """Ids of the hits a run found."""
        return {r[0] for r in self.conn.execute("SELECT hit_id FROM run_hits WHERE run_id = ?", (run_id,))}

    @_database_errors
    def has_other_runs(self, config_hash: str, run_id: str) -> bool:
        """Whether a run other than ``run_id`` was made with this configuration (so stored
        hits and alerts of it may exist that this run does not hold)."""
        return self.conn.execute("SELECT 1 FROM runs WHERE config_hash = ? AND run_id != ? LIMIT 1",
                                 (config_hash, run_id)).fetchone() is not None

    @_database_errors
    def withheld_hits(self, config_hash: str, hit_ids: list[str], last_days: list[str]) -> set[str]:
        """Of the hits ``hit_ids`` whose runs end on ``last_days`` (ISO dates), the ids of
        those not stored although a run of this configuration committed a chunk holding
        that day: a scan of it left them out, or a later one retracted them."""
        rows = self.conn.execute(
            "SELECT json_extract(a.value, '$[0]') FROM json_each(?) a WHERE NOT EXISTS (SELECT 1 FROM hits h "
            "WHERE h.config_hash = ? AND h.hit_id = json_extract(a.value, '$[0]')) AND EXISTS (SELECT 1 FROM "
            "run_chunks c JOIN runs r ON r.run_id = c.run_id WHERE r.config_hash = ? AND "
            "c.first_day <= json_extract(a.value, '$[1]') AND json_extract(a.value, '$[1]') <= c.last_day)",
            (json.dumps([list(pair) for pair in zip(hit_ids, last_days)]), config_hash, config_hash))
        return {r[0] for r in rows}

    @_database_errors
    def hit_ids_written_by(self, config_hash: str, run_id: str) -> set[str]:
        """Ids of the hits a run found whose stored version is the one that run wrote (not
        an earlier version it left in place, nor one retracted since)."""
        return {r[0] for r in self.conn.execute(
            "SELECT r.hit_id FROM run_hits r JOIN hits h ON h.config_hash = ? AND h.hit_id = r.hit_id "
            "WHERE r.run_id = ? AND h.run_id = r.run_id", (config_hash, run_id))}

    def _frame(self, sql: str, params) -> pd.DataFrame:
        """A query's rows as a DataFrame (columns from the cursor; faster than read_sql)."""
        cursor = self.conn.execute(sql, params)
        return pd.DataFrame.from_records(cursor.fetchall(), columns=[d[0] for d in cursor.description])

    @_database_errors
    def _hits_arrow(self, sources: list[tuple[str, tuple]], columns: list[str] | None = None) -> pa.Table:
        """Columns (default all, :data:`HIT_STORE_COLUMNS` order) of the stored hits ``h``
        each ``(FROM clause, its parameters)`` of ``sources`` selects, one after another, as
        an Arrow table read by SQLite's ADBC driver: the rows go from SQLite to Arrow in C,
        without a Python object per value (three times faster than ``sqlite3`` for a bucket
        of hits). It opens its own read-only connection for this one statement, so it holds
        no lock once read.

        The driver takes each column's type from the first rows it reads, and fails on a
        later value of another type (an all-NULL start reads as integers): a first row of
        literals of the types the store's ``hits`` table declares, read and then dropped,
        sets every column's type."""
        import adbc_driver_manager
        import adbc_driver_sqlite.dbapi as adbc

        columns = list(HIT_STORE_COLUMNS) if columns is None else columns
        declared = self._declared[STAGED_TABLE]
        literals = ", ".join(f"{TYPE_LITERALS.get(declared[c], TYPE_LITERALS['TEXT'])} AS {c}" for c in columns)
        picked = ", ".join(f"h.{c}" for c in columns)
        sql = f"SELECT 0 AS _read, {literals}" + "".join(f" UNION ALL SELECT 1, {picked} FROM {source}"
                                                        for source, _ in sources)
        params = tuple(p for _, ps in sources for p in ps)
        try:
            with adbc.connect(f"{self.path.resolve().as_uri()}?mode=ro", autocommit=True) as conn, \
                    conn.cursor() as cursor:
                cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
                cursor.execute(sql, params)
                table = cursor.fetch_arrow_table()
        except (adbc_driver_manager.Error, OSError) as exc:  # OSError: the Arrow stream of a bad page
            raise _translate(self.path, exc) from None
        # the one typed row cut out without copying the rest (a filter copies a GiB of evidence)
        at = pc.index(table["_read"], 0).as_py()
        return pa.concat_tables([table.slice(0, at), table.slice(at + 1)]).drop_columns(["_read"])

    @_database_errors
    def large_value_evidence(self, config_hash: str, first_day: str, last_day: str,
                             written_by_other_than: str | None = None) -> pa.ChunkedArray:
        """Transaction ids (Arrow strings) in the evidence of stored large-value hits whose
        windows touch business days ``first_day..last_day`` (ISO dates), whoever their
        subject is (an id may repeat); ``written_by_other_than`` as in :meth:`hits`."""
        other = "" if written_by_other_than is None else " AND h.run_id != ?"
        table = self._hits_arrow([(
            "hits h WHERE h.config_hash = ? AND h.detector = 'large_value' "
            # run_last >= window_end: the index's last column bounds the read by days
            f"AND h.typology IN {LARGE_VALUE_TYPOLOGIES} AND h.run_last >= ? AND h.window_end >= ? "
            f"AND h.window_start <= ?{other}", (config_hash, first_day, first_day, last_day)
            + (() if written_by_other_than is None else (written_by_other_than,)))], ["txn_ids"])
        return pa.chunked_array([chunk.flatten() for chunk in json_list_array(table["txn_ids"]).chunks], pa.string())

    @_database_errors
    def replace_alerts(self, config_hash: str, units: set[str], alerts: pd.DataFrame, run_id: str,
                       replaced: list[str] | None = None) -> None:
        """Make the stored alerts of these monitoring units (customers, or subject accounts
        for hits without a customer) exactly ``alerts``: new ids are inserted, kept ids
        updated, ids that no longer exist removed unless an analyst already decided on them:
        those stay, no longer raised, listed in ``gone_alerts`` with this run (until a scan
        produces them again). With ``replaced`` (alert ids), only those stored alerts are
        replaced by ``alerts``; the units' other alerts stay."""
        existing = []
        if replaced is not None:
            for lo in range(0, len(replaced), 500):  # SQLite's limit on parameters of one statement
                part = replaced[lo:lo + 500]
                existing += self.conn.execute("SELECT alert_id, first_run FROM alerts WHERE alert_id IN "
                                              f"({', '.join('?' * len(part))})", part).fetchall()
        elif self.conn.execute("SELECT 1 FROM alerts WHERE config_hash = ? LIMIT 1", (config_hash,)).fetchone():
            self._wanted_units(units)
            existing = self.conn.execute(
                "SELECT a.alert_id, a.first_run FROM alerts a JOIN wanted_units u "
                "ON u.unit = CASE WHEN a.customer != '' THEN a.customer ELSE a.subject END WHERE a.config_hash = ?",
                (config_hash,)).fetchall()
        first_run = dict(existing)
        decided = {r[0] for r in self.conn.execute("SELECT DISTINCT alert_id FROM dispositions")}
        rows = alert_rows(alerts, config_hash, run_id, first_run)
        with self._staged(rows, "alerts"), self.transaction() as c:
            gone = set(first_run) - set(alerts["alert_id"])
            c.executemany("DELETE FROM alerts WHERE alert_id = ?", [(a,) for a in gone - decided])
            c.executemany("UPDATE alerts SET raised = 0, last_run = ? WHERE alert_id = ?",
                          [(run_id, a) for a in sorted(gone & decided)])
            c.executemany("INSERT OR REPLACE INTO gone_alerts VALUES (?, ?)", [(a, run_id) for a in sorted(gone & decided)])
            if c.execute("SELECT 1 FROM gone_alerts LIMIT 1").fetchone():  # most stores have none
                c.executemany("DELETE FROM gone_alerts WHERE alert_id = ?", [(a,) for a in alerts["alert_id"]])
            c.execute(f"INSERT OR REPLACE INTO alerts ({', '.join(ALERT_STORE_COLUMNS)}) "
                      f"SELECT {', '.join(ALERT_STORE_COLUMNS)} FROM {STAGED_SCHEMA}.alerts ORDER BY rowid")

    @_database_errors
    def keep_decided_ids(self, config_hash: str, alerts: pd.DataFrame) -> pd.DataFrame:
        """``alerts`` (as :func:`flowgraph.alerts.build_alerts` makes them), each holding a
        hit of a decided alert whose id none of them has taken that alert's id instead of
        its own.

        An alert is named by its first hit (:mod:`flowgraph.alerts`). A later scan that adds
        a hit starting earlier (a fan's window reaching back), or that joins two alerts,
        names the group by another hit: without this, the analyst's decision would stay on
        an alert no longer found while the same activity came back as a new, undecided one
        (and a case's STR draft would be skipped). With it, the alert keeps its id, and the
        queue shows it reopened with its new hits (:mod:`flowgraph.desk.queue`). Alerts of
        a configuration nobody decided on keep the ids their hits give them, so a store
        without decisions holds the alerts of one scan of every day. When one alert holds
        hits of several decided alerts, it takes the id decided first; the others stay no
        longer found, with their decisions."""
        if alerts.empty or not self.conn.execute("SELECT 1 FROM dispositions LIMIT 1").fetchone():
            return alerts
        decided = self.query(
            "SELECT a.alert_id, a.hit_ids FROM alerts a JOIN (SELECT alert_id, MIN(rowid) AS first FROM dispositions "
            "GROUP BY alert_id) d ON d.alert_id = a.alert_id WHERE a.config_hash = ? ORDER BY d.first",
            [config_hash])
        named = set(alerts["alert_id"])
        owner: dict[str, str] = {}  # hit id -> the first-decided alert not named that held it
        for alert_id, hit_ids in zip(decided["alert_id"], parse_json_lists(decided["hit_ids"].tolist())):
            if alert_id not in named:
                for hit_id in hit_ids:
                    owner.setdefault(hit_id, alert_id)
        if not owner:
            return alerts
        order = {alert_id: k for k, alert_id in enumerate(decided["alert_id"])}
        decided_ids, taken, ids = set(order), set(), alerts["alert_id"].tolist()
        for k, (alert_id, hit_ids) in enumerate(zip(ids, alerts["hit_ids"])):
            if alert_id in decided_ids:
                continue
            held = sorted({owner[h] for h in hit_ids if h in owner} - taken, key=order.get)
            if held:
                ids[k] = held[0]
                taken.add(held[0])
        return alerts.assign(alert_id=ids)

    def _wanted_units(self, units) -> None:
        """The temporary table ``wanted_units`` holds ``units`` (for joins): a set, or a
        dict of unit -> its ``since`` (an ISO date; '' for a set)."""
        self.conn.execute("CREATE TEMP TABLE IF NOT EXISTS wanted_units (unit TEXT PRIMARY KEY, since TEXT)")
        self.conn.execute("DELETE FROM wanted_units")
        rows = units.items() if isinstance(units, dict) else ((u, "") for u in units)
        self.conn.executemany("INSERT OR IGNORE INTO wanted_units VALUES (?, ?)", rows)

    @_database_errors
    def alerts(self, config_hash: str | None = None) -> pd.DataFrame:
        sql = "SELECT * FROM alerts" + (" WHERE config_hash = ?" if config_hash else "")
        frame = self.query(sql, [config_hash] if config_hash else [])
        frame["hit_ids"] = parse_json_lists(frame["hit_ids"].tolist())
        frame["raised"] = frame["raised"].astype(bool)
        return frame

    # -- analysts ------------------------------------------------------------------------
    @_database_errors
    def dispose(self, alert_id: str, disposition: str, analyst: str, note: str = "", force: bool = False) -> str | None:
        """Record an analyst's decision on an alert (SPEC §6: exclusion, report, case).

        Every decision is kept (the history); the latest counts. An alert that was never
        raised is refused unless ``force`` (a decision on it says the model missed it). The
        alert's hit ids and window end are kept with the decision: a later scan that adds a
        hit to the alert or extends its window reopens it (:mod:`flowgraph.desk.queue`).

        Returns
        -------
        str or None
            A warning when the decision conflicts with an earlier one on the alert.
        """
        if disposition not in DISPOSITIONS:
            raise ConfigError(f"disposition must be one of {list(DISPOSITIONS)}, got {disposition!r}")
        if not analyst:
            raise ConfigError("an analyst name is required for a disposition")
        row = self.conn.execute("SELECT raised, hit_ids, window_end FROM alerts WHERE alert_id = ?",
                                (alert_id,)).fetchone()
        if row is None:
            raise ConfigError(f"no alert {alert_id!r} in {self.path}. Fix: copy the id from the queue, "
                              f"`flowgraph alerts --store {self.path}` (or the alert list of `flowgraph report`, "
                              "or the alert_id column of the scan's alerts.parquet).")
        if not row[0] and not force:
            raise ConfigError(f"alert {alert_id!r} was never raised (its score is below the threshold). Fix: "
                              "give --force to record a decision on it anyway (e.g. a case the model missed).")
        earlier = self.conn.execute("SELECT disposition, analyst, decided_at FROM dispositions WHERE alert_id = ? "
                                    "ORDER BY rowid DESC LIMIT 1", (alert_id,)).fetchone()
        with self.transaction() as c:
            c.execute("INSERT INTO dispositions (alert_id, disposition, analyst, decided_at, note, decided_hit_ids, "
                      "decided_window_end) VALUES (?, ?, ?, ?, ?, ?, ?)",
                      (alert_id, disposition, analyst, now(), note, row[1], row[2]))
        if earlier is not None and earlier[0] != disposition:
            return (f"alert {alert_id!r} was decided {earlier[0]!r} by {earlier[1]} at {earlier[2]}; now "
                    f"{disposition!r} by {analyst} counts (both are kept in the dispositions history)")
        return None

    @_database_errors
    def latest_decision(self, alert_id: str) -> dict | None:
        """The latest decision on an alert (every column of ``dispositions``), or None."""
        cursor = self.conn.execute("SELECT * FROM dispositions WHERE alert_id = ? "
                                   "ORDER BY decided_at DESC, rowid DESC LIMIT 1", (alert_id,))
        row = cursor.fetchone()
        return None if row is None else dict(zip([c[0] for c in cursor.description], row))

    @_database_errors
    def latest_dispositions(self) -> pd.DataFrame:
        """Each decided alert's latest decision (``alert_id, disposition, analyst,
        decided_at, n_decisions``): the one recorded last."""
        return self.query(
            "SELECT d.alert_id, d.disposition, d.analyst, d.decided_at, n.n_decisions FROM dispositions d "
            "JOIN (SELECT alert_id, MAX(rowid) AS last, COUNT(*) AS n_decisions FROM dispositions GROUP BY alert_id) n "
            "ON d.rowid = n.last ORDER BY d.alert_id")

    @_database_errors
    def audit(self, action: str, detail: str) -> None:
        with self.transaction() as c:
            c.execute("INSERT INTO audit VALUES (?, ?, ?, ?)", (now(), getpass.getuser(), action, detail))

    # -- the pseudonym key ---------------------------------------------------------------
    @_database_errors
    def pseudonym_key(self) -> dict | None:
        """The pseudonym key the store recorded (``key_id, key_file, recorded_at,
        recorded_by, adopted``), or None."""
        return _pseudonym_key(self.conn)

    @_database_errors
    def record_pseudonym_key(self, key_id: str, key_file: str) -> dict:
        """Record the id of the key the store's pseudonyms are made with, unless one is
        recorded (by another process since it was read): the record, with ``made_now``
        saying whether it is this call's. ``adopted``: the store held complete runs."""
        with self.transaction() as c:
            record = _pseudonym_key(c)
            if record is None:
                adopted = c.execute("SELECT EXISTS (SELECT 1 FROM runs WHERE status = 'complete')").fetchone()[0]
                c.execute("INSERT INTO pseudonym_key VALUES (?, ?, ?, ?, ?)",
                          (key_id, key_file, now(), getpass.getuser(), int(adopted)))
                return {**_pseudonym_key(c), "made_now": True}
        return {**record, "made_now": False}

    @_database_errors
    def hit_evidence(self, config_hash: str, ids: list[str]) -> pa.Table:
        """``hit_id, typology, txn_ids`` (Arrow; ``txn_ids`` a list of strings, in chunks as
        :func:`json_list_array` parses them) of the stored hits of a configuration with
        these ids, in no particular order: only those columns are read (:meth:`hits` reads
        and decodes every column, the accounts and measures too)."""
        table = self._hits_arrow([("json_each(?) w CROSS JOIN hits h ON h.config_hash = ? AND h.hit_id = w.value",
                                   (json.dumps(list(dict.fromkeys(ids))), config_hash))],
                                 ["hit_id", "typology", "txn_ids"])
        return table.set_column(2, "txn_ids", json_list_array(table["txn_ids"]))


def hit_rows(hits: pd.DataFrame, config_hash: str, run_id: str, seen_through: str) -> pa.Table:
    """Hit rows as SQLite stores them (:data:`HIT_STORE_COLUMNS` order), column by column
    in Arrow: lists as JSON, days as ISO dates, booleans as 0/1, NaN as NULL, the
    configuration, run and ``seen_through`` (an ISO date) of every row as given;
    ``content`` a digest of :data:`HIT_CONTENT_COLUMNS`. In hit-id order: staged in
    primary-key order, the rows are appended to its B-tree, not scattered."""
    constants = {"config_hash": config_hash, "run_id": run_id, "seen_through": seen_through}
    frame = {col: pa.repeat(pa.scalar(value, pa.string()), len(hits)) for col, value in constants.items()}
    for col in HIT_STORE_COLUMNS[:-1]:
        if col in constants:
            continue
        values = hits[col]
        if col in ("accounts", "txn_ids"):
            frame[col] = json_list_texts(values)
        elif col in ("window_start", "window_end", "run_first", "run_last"):
            frame[col] = _day_texts(values)
        elif col == "in_band":
            frame[col] = pa.array(np.asarray(values).astype(np.int64))
        else:
            frame[col] = _values(values)
    frame["content"] = _content_digests([frame[c] for c in HIT_CONTENT_COLUMNS])
    return pa.table({c: frame[c] for c in HIT_STORE_COLUMNS}).sort_by("hit_id")


def alert_rows(alerts: pd.DataFrame, config_hash: str, run_id: str, first_run: dict[str, str]) -> pa.Table:
    """Alert rows as SQLite stores them (:data:`ALERT_STORE_COLUMNS` order), column by
    column in Arrow: hit ids as JSON lists, days as ISO dates, ``raised`` as 0/1, NaN as
    NULL; each alert's first run from ``first_run`` (alert id -> run), else ``run_id``,
    which is every alert's last run."""
    n = len(alerts)
    frame = {"config_hash": pa.repeat(pa.scalar(config_hash, pa.string()), n),
             "score": pa.array(alerts["score"].to_numpy(dtype=float), from_pandas=True),
             "raised": pa.array(alerts["raised"].to_numpy().astype(np.int64)),
             "window_start": _day_texts(alerts["window_start"]), "window_end": _day_texts(alerts["window_end"]),
             "n_hits": pa.array(alerts["n_hits"].to_numpy().astype(np.int64)),
             "hit_ids": json_list_texts(alerts["hit_ids"].tolist()),
             "utilisation": pa.array(alerts["utilisation"].to_numpy(dtype=float), from_pandas=True),
             "first_run": pa.array([first_run.get(a, run_id) for a in alerts["alert_id"].tolist()], pa.string()),
             "last_run": pa.repeat(pa.scalar(run_id, pa.string()), n)}
    for col in ("alert_id", "customer", "subject", "explanation"):
        frame[col] = _values(alerts[col])
    return pa.table({c: frame[c] for c in ALERT_STORE_COLUMNS})


def _values(column: pd.Series) -> pa.Array:
    """A column's values as Arrow (NaN as null); text where they mix types, as SQLite
    would store them in a TEXT column."""
    try:
        return pa.array(column, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pa.array([None if v is None or v != v else str(v) for v in column.astype(object)], pa.string())


def _typed(rows: pa.Table, declared: dict[str, str]) -> pa.Table:
    """``rows`` with each column of nulls only given the type of its declared SQLite type
    (the ADBC driver cannot create a column of Arrow's null type)."""
    for i, field in enumerate(rows.schema):
        if pa.types.is_null(field.type):
            rows = rows.set_column(i, field.name, rows.column(i).cast(
                STAGED_TYPES.get(declared.get(field.name, "TEXT"), pa.string())))
    return rows


def _unlink(path: Path) -> None:
    path.unlink(missing_ok=True)


def _content_digests(columns: list[pa.Array]) -> pa.Array:
    """Per row, 16 hex digits of a 64-bit hash (:func:`flowgraph._kernels.strings.hash_strings`)
    of its values as text, joined by a unit separator (a null as NUL). It is only compared
    with the same hit's stored digest, to tell whether the hit changed. The columns are
    fed to the hash one after another (:func:`~flowgraph._kernels.strings.fnv_feed`), as
    if joined: evidence lists of a gigabyte are not copied into one text."""
    states = np.full(len(columns[0]) if columns else 0, FNV_OFFSET, dtype=np.uint64)
    for k, column in enumerate(columns):
        chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
        text = pa.concat_arrays([c.cast(pa.large_string()) for c in chunks]) if chunks else \
            pa.array([], pa.large_string())
        offsets, data = text_buffers(text)
        valid = np.ones(0, np.bool_) if text.null_count == 0 else text.is_valid().to_numpy(zero_copy_only=False)
        fnv_feed(states, offsets, data, valid, -1 if k == 0 else 0x1F)
    return _hex16(fnv_finish(states))


def _hex16(values: np.ndarray) -> pa.Array:
    """64-bit unsigned integers as 16 lower-case hex digits each (``f"{v:016x}"``)."""
    nibbles = np.asarray(values, np.uint64).astype(">u8").view(np.uint8).reshape(-1, 8)
    digits = np.frombuffer(b"0123456789abcdef", np.uint8)
    text = np.empty((len(nibbles), 16), np.uint8)
    text[:, 0::2], text[:, 1::2] = digits[nibbles >> 4], digits[nibbles & 15]
    return pa.array(text.view("S16").ravel()).cast(pa.string())


def as_stored(hits: pd.DataFrame, config_hash: str, run_id: str, seen_through: str) -> pd.DataFrame:
    """Hits as :meth:`Store.hits` returns them once :meth:`Store.commit_chunk` stored them
    (same columns, days, booleans, empty values), without the round trip: a scan builds
    alerts and exports from the hits it holds. Evidence lists keep their dtype."""
    frame = hits[[c for c in HIT_STORE_COLUMNS if c in hits.columns]].reset_index(drop=True)
    frame = frame.assign(config_hash=config_hash, run_id=run_id, seen_through=seen_through)
    frame = frame[[c for c in HIT_STORE_COLUMNS if c != "content"]]
    for col in ("window_start", "window_end", "run_first", "run_last"):
        frame[col] = frame[col].to_numpy(dtype="datetime64[D]").astype("datetime64[us]")
    frame["in_band"] = frame["in_band"].astype(bool)
    return frame


#: Columns (all TEXT) that stores of earlier versions lack, added when one is opened.
ADDED_COLUMNS = {"runs": ("store_ingest", "disabled_detectors"),
                 "hits": ("run_first", "run_last", "seen_through", "content"), "run_chunks": ("changes",),
                 "dispositions": ("decided_hit_ids", "decided_window_end")}
#: Tables that stores of earlier versions lack, created (by :data:`SCHEMA`) when one is opened.
ADDED_TABLES = ("hit_versions", "run_hits", "gone_alerts", "run_days", "pseudonym_key")


def _pseudonym_key(conn) -> dict | None:
    """The row of ``pseudonym_key`` (the first, should a hand have added another), or None."""
    cursor = conn.execute("SELECT key_id, key_file, recorded_at, recorded_by, adopted FROM pseudonym_key "
                          "ORDER BY rowid LIMIT 1")
    row = cursor.fetchone()
    return None if row is None else dict(zip([c[0] for c in cursor.description], row))


def recorded_pseudonym_key(path: str | Path, must_exist: bool = False) -> dict | None:
    """The pseudonym key the run store at ``path`` recorded (:meth:`Store.pseudonym_key`),
    read without changing or creating anything (a check before a scan, an evaluation);
    None when it recorded none (a store of an earlier version too) or, unless
    ``must_exist``, when there is no store at ``path`` (a scan makes one there).

    Raises
    ------
    ConfigError, DataError
        ``must_exist`` and no run store at ``path``.
    """
    path = Path(path)
    fix = "Fix: give the store.sqlite a scan wrote (OUT/store.sqlite unless the scan's --store said otherwise)."
    if not path.is_file():
        if must_exist:
            raise ConfigError(f"{path}: no run store here. {fix}")
        return None
    try:
        with closing(sqlite3.connect(f"{path.absolute().as_uri()}?mode=ro", uri=True)) as conn:
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            record = _pseudonym_key(conn) if "pseudonym_key" in tables else None
    except sqlite3.Error as exc:  # not a store: the scan that opens it says so
        if must_exist:
            raise _translate(path, exc) from None
        return None
    if must_exist and "runs" not in tables:
        raise DataError(f"{path}: not a flowgraph run store. {fix}")
    return record


def _migrate(conn) -> None:
    """Columns added since a store was created (stores written by earlier versions); a
    table that is missing is left to :func:`_check_schema`."""
    for table, columns in ADDED_COLUMNS.items():
        have = {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}
        for col in columns:
            if have and col not in have:
                conn.execute(f"ALTER TABLE {table} ADD COLUMN {col} TEXT")
    for name in OLD_INDEXES:
        conn.execute(f"DROP INDEX IF EXISTS {name}")


@functools.cache
def _schema_columns() -> dict[str, tuple[str, ...]]:
    """Each table of :data:`SCHEMA` and its columns, as SQLite reads them from a fresh store."""
    with closing(sqlite3.connect(":memory:")) as conn:
        conn.executescript(SCHEMA)
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {t: tuple(r[1] for r in conn.execute(f"PRAGMA table_info({t})")) for t in tables}


def _check_schema(conn, path: Path) -> None:
    """Refuse a store lacking a table or column this version reads or writes (edited by
    hand, or damaged), naming every one, before a command fails on it half-way."""
    missing = []
    for table, columns in _schema_columns().items():
        have = {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}
        if not have and table not in ADDED_TABLES:
            missing.append(f"table {table}")
        missing += [f"column {table}.{c}" for c in columns if have and c not in have]
    if missing:
        raise DataError(f"{path}: the run store lacks {', '.join(missing)}, which this flowgraph version needs (the "
                        "store was edited or damaged). Fix: restore it from a backup, or scan into a new --store "
                        "path.")


def _day_texts(values) -> pa.Array:
    """Timestamps as the ISO dates SQLite stores (NaT as the text "NaT")."""
    days = pa.array(pd.Series(values).to_numpy(dtype="datetime64[D]"))
    return pc.fill_null(days.cast(pa.string()), "NaT")


def json_list_texts(lists) -> pa.Array:
    """Each list of strings as JSON text (``json.dumps(x, ensure_ascii=False)``), without
    a Python call per list: an Arrow list column is joined by Arrow (unless an id needs
    escaping), Python lists go through :func:`flowgraph._json.dumps_each`."""
    if isinstance(getattr(lists, "dtype", None), pd.ArrowDtype):
        arrow = lists.array.__arrow_array__()
        arrow = one_array(arrow)
        flat = arrow.flatten()
        if not _needs_escaping(flat):
            inner = pc.binary_join(arrow, '", "')
            text = pc.binary_join_element_wise('["', inner, '"]', "")
            return pc.if_else(pc.equal(pc.list_value_length(arrow), 0), "[]", text)
    return pa.array(dumps_each([list(x) for x in lists], ensure_ascii=False), pa.string())


def _needs_escaping(texts: pa.Array) -> bool:
    """Whether some text holds a byte JSON escapes (a quote, a backslash, a control
    character; UTF-8 puts no other character's bytes below 0x80), found by comparing the
    bytes a few megabytes at a time (a regular expression per text took 30 times as long:
    1.8 s for the 37 M evidence ids of 600 k hits)."""
    if not len(texts):
        return False
    if not (pa.types.is_string(texts.type) or pa.types.is_large_string(texts.type)):
        texts = texts.cast(pa.large_string())
    offsets, data = text_buffers(texts)
    data = data[int(offsets[0]):int(offsets[-1])]
    for at in range(0, len(data), ESCAPE_SCAN_BYTES):
        part = data[at:at + ESCAPE_SCAN_BYTES]
        if (part < 0x20).any() or (part == ord('"')).any() or (part == ord("\\")).any():
            return True
    return False


#: bytes :func:`_needs_escaping` compares at a time
ESCAPE_SCAN_BYTES = 1 << 22


def id_list_array(lists) -> pa.ListArray:
    """A column of lists of ids (Arrow list dtype, or Python lists) as one Arrow list array."""
    if isinstance(getattr(lists, "dtype", None), pd.ArrowDtype):
        arrow = lists.array.__arrow_array__()
        return one_array(arrow)
    return pa.array([list(x) for x in lists], type=pa.list_(pa.string()))


def json_list_array(texts: list[str] | pa.Array | pa.ChunkedArray) -> pa.ChunkedArray:
    """JSON lists of strings (as :func:`json_list_texts` writes them) as one Arrow list array,
    parsed by Arrow's JSON reader: no Python object per id (a long range reads back millions
    of hits naming tens of millions of transactions)."""
    if not len(texts):
        return pa.chunked_array([], type=pa.list_(pa.string()))
    if isinstance(texts, pa.ChunkedArray):
        texts = one_array(texts.cast(pa.large_string()))
    texts = texts.cast(pa.large_string()) if isinstance(texts, pa.Array) else pa.array(texts, type=pa.large_string())
    # one JSON object per line; JSON text holds no raw newline, so lines are rows
    large = functools.partial(pa.scalar, type=pa.large_string())
    lines = pc.binary_join_element_wise(large('{"v":'), texts, large("}\n"), large(""))
    offsets, data = text_buffers(lines)
    longest = int(np.diff(offsets).max())
    parsed = pajson.read_json(
        pa.BufferReader(pa.py_buffer(data[int(offsets[0]):int(offsets[-1])])),
        read_options=pajson.ReadOptions(block_size=max(1 << 24, 2 * longest)),  # a row is never cut
        parse_options=pajson.ParseOptions(explicit_schema=pa.schema([("v", pa.list_(pa.string()))])))
    return parsed["v"]  # chunks, as read: one array of every id could pass 2 GiB of text


def parse_json_lists(texts: list[str]) -> list:
    """Many JSON lists parsed in one call of the C decoder."""
    return json.loads("[" + ",".join(texts) + "]") if texts else []

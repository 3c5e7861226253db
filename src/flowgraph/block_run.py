"""A scan run whose hits arrive in blocks of business days — a scan of a transaction store
on Dask, or one block after another in this process (:mod:`flowgraph.dask_scan`) — in
memory bounded by a block and a bucket of monitoring units, however many hits the range has.

**Blocks, committed as they arrive.** Block ``i`` is chunk ``i`` of the run: its hits go
into the run store as soon as it and every block before it are in, in one transaction
with the mark that it is done (``Store.commit_chunk(..., in_blocks=True)``). A later
block's word on a hit wins, as in a scan of all the days at once
(:func:`flowgraph.dask_scan.merge_blocks` says why): its version replaces the one an
earlier block stored, and a band hit it covers, a chain it makes stale or a cluster a
larger one of it absorbs is retracted, from this run as from earlier runs. The driver
holds one block's hits at a time.

**Alerts and exports by bucket.** Once every block is in, the run's monitoring units
(customers; subject accounts of hits without one) are cut into buckets of about
:data:`HITS_PER_BUCKET` hits, in order of unit (:mod:`flowgraph.buckets`). Alerts group
hits of one unit, so each bucket's alerts are built from its units' stored hits alone (earlier runs' included, as
for a T+1 scan), its hits and alerts de-identified and appended to the exports, and its
alerts stored; the next bucket's hits are read meanwhile (two buckets in memory). The
exported hits come bucket by bucket, each bucket's in the store's order; the alerts
highest score first, ties by id (they are few beside the hits). The large-value
cross-check of the hits above their ceiling reads only stored hits, which the buckets
leave as they are: it runs on a thread beside the buckets, of the hits the store names,
and is kept if the buckets found those. Case transactions are then read back from the
transaction store once for all raised alerts (large-value evidence is left there,
:mod:`flowgraph.desk.evidence`).

**Resuming.** The run is known by a fingerprint of the store's day files it may read
(:func:`store_files_fingerprint`: name, size and modification time, so it costs no read
of the data), its configuration and days; a killed run resumes after its last committed
block (:meth:`BlockRun.committed_blocks`: the days after it may be cut another way, e.g.
with less memory after running out of it), and rebuilds alerts and exports if it died
after the last block. Every block's files are hashed where they are read
(:class:`flowgraph.dask_scan.BlockResult`); the digest of those read in the run's last
process is kept in the manifest (``read_files_digest``).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from .alerts import build_alerts
from .buckets import HITS_PER_BUCKET, unit_buckets
from .deid import store_pseudonymizer
from .desk.evidence import raised_hits
from .exports import ALERT_SCHEMA, EXPORT_FILES, HIT_SCHEMA, arrow_table, export_tables, staged_exports
from .scan import (ScannedHits, ScanResult, Stopwatch, _business_day_before, _isin, hit_counts, large_value_checks,
                   large_value_known_from, run_manifest, stored_restorations, stored_retractions)
from .scan_config import ScanConfig
from .store import Store, now
from .txstore import TransactionStore

#: The columns of a hit the case transactions need (:mod:`flowgraph.desk.evidence`).
CASE_COLUMNS = ["hit_id", "subject", "txn_ids", "window_start", "window_end", "typology"]
#: The columns of a hit the large-value cross-check needs (:func:`flowgraph.scan.large_value_checks`).
CHECK_COLUMNS = ["hit_id", "detector", "typology", "utilisation", "txn_ids", "window_start", "window_end"]


def store_files_fingerprint(txstore: TransactionStore, last_day: str) -> tuple[str, int, str, str]:
    """The fingerprint of the store's day files up to ``last_day`` and the first one after
    it (what a scan of days up to ``last_day`` may read): a hash of each file's day, size
    and modification time, cheap for any history; with the rows those files hold (their
    Parquet footers) and their first and last calendar day."""
    stored = txstore.days()
    later = [d for d in stored if d > last_day][:1]
    days = [d for d in stored if d <= last_day] + later
    files = txstore.day_files(days[0], days[-1])
    n_rows = sum(pq.read_metadata(f).num_rows for f in files)
    return f"files-{n_rows}-{txstore.files_digest(files)}", n_rows, days[0], days[-1]


def _store_day_transactions(txstore: TransactionStore, calendar, scan_first: str, scan_last: str) -> dict[str, int]:
    """Transactions counted toward each business day ``scan_first .. scan_last`` (ISO) of
    the store: its day files' rows (their footers), each calendar day rolled onto its
    business day as a scan's graph rolls it (:func:`flowgraph.scan._day_transactions`
    counts a graph's)."""
    # the calendar days after the business day before scan_first roll onto scan_first or later
    rows = txstore.day_rows(str(_business_day_before(calendar, np.datetime64(scan_first), 1) + 1), scan_last)
    stored = sorted(rows)
    days, index = calendar.business_day_index(np.array(stored, dtype="datetime64[D]"))
    counts = np.bincount(index, weights=[rows[d] for d in stored], minlength=len(days)).astype(np.int64)
    counted = {str(day): int(n) for day, n in zip(days, counts)}
    return {str(day): counted.get(str(day), 0) for day in calendar.business_days(scan_first, scan_last)}


@dataclass
class BlockRun:
    """A run of the run store that takes a scan's hits block by block (see the module
    docstring): :meth:`open`, :meth:`commit` each block in order, :meth:`finish`."""

    store: Store
    run_id: str
    config: ScanConfig
    blocks: list[tuple[str, str]]
    scan_last: str
    resumed: bool
    #: blocks committed (by an earlier process of a resumed run, or this one)
    done: set[int]
    files: dict[str, tuple[int, str]] = field(default_factory=dict)
    #: how the blocks were cut (:meth:`flowgraph.blocks.BlockPlan.describe`), for the manifest
    plan: dict = field(default_factory=dict)

    @classmethod
    def open(cls, store: Store, txstore: TransactionStore, config: ScanConfig, blocks: list[tuple[str, str]],
             mode: str, as_of: str | None, calendar) -> "BlockRun":
        """The unfinished run over the same store files, configuration, days and blocks,
        or a new one."""
        scan_first, scan_last = blocks[0][0], blocks[-1][1]
        fingerprint, n_rows, data_first, data_last = store_files_fingerprint(txstore, scan_last)
        run_id = store.incomplete_run(fingerprint, config.config_hash, scan_first, scan_last)
        if run_id is not None:
            chunks = store.query("SELECT chunk, first_day, last_day FROM run_chunks WHERE run_id = ?", [run_id])
            same = all(c < len(blocks) and blocks[c] == (f, l)
                       for c, f, l in zip(chunks["chunk"], chunks["first_day"], chunks["last_day"]))
            if same:
                with store.transaction() as c:  # the days after the committed blocks may be cut anew
                    c.execute("UPDATE runs SET n_chunks = ? WHERE run_id = ?", (len(blocks), run_id))
                return cls(store, run_id, config, blocks, scan_last, True, set(chunks["chunk"].tolist()))
        run_id = uuid.uuid4().hex[:16]
        data_range = (calendar.next_business_day(data_first), calendar.next_business_day(data_last))
        store.start_run({
            "run_id": run_id, "started_at": now(), "status": "running", "mode": mode, "as_of": as_of,
            "scan_first": scan_first, "scan_last": scan_last,
            "data_first": str(data_range[0]), "data_last": str(data_range[1]),
            "data_fingerprint": fingerprint, "n_transactions": n_rows,
            "config_hash": config.config_hash, "config": json.dumps(config.to_dict(), sort_keys=True),
            "calendar": json.dumps(calendar.describe(*data_range)), "code_version": metadata.version("flowgraph"),
            "n_chunks": len(blocks), "store_ingest": txstore.latest_ingest()},
            _store_day_transactions(txstore, calendar, scan_first, scan_last))
        return cls(store, run_id, config, blocks, scan_last, False, set())

    @staticmethod
    def committed_blocks(store: Store, txstore: TransactionStore, config: ScanConfig, scan_first: str,
                         scan_last: str) -> list[tuple[str, str]]:
        """The blocks (first, last ISO days) an unfinished run over the same store files,
        configuration and days committed, in order; none when there is no such run. A run
        resumed with another cut (a smaller ``--block-memory`` after running out of memory)
        keeps them and cuts only the days after them: blocks of any sizes, in day order,
        give the same hits."""
        fingerprint = store_files_fingerprint(txstore, scan_last)[0]
        run_id = store.incomplete_run(fingerprint, config.config_hash, scan_first, scan_last)
        if run_id is None:
            return []
        chunks = store.query("SELECT chunk, first_day, last_day FROM run_chunks WHERE run_id = ? ORDER BY chunk",
                             [run_id])
        if chunks["chunk"].tolist() != list(range(len(chunks))):  # blocks are committed in order: never here
            return []
        return list(zip(chunks["first_day"], chunks["last_day"]))

    def todo(self) -> list[int]:
        """The blocks still to scan, in order."""
        return [i for i in range(len(self.blocks)) if i not in self.done]

    def commit(self, i: int, scanned: ScannedHits, files: dict[str, tuple[int, str]],
               disabled: dict[str, str] | None = None) -> None:
        """Store block ``i``'s hits (every block before it is committed), ``files`` the
        digests of the partition files it read, ``disabled`` the detectors it could not run."""
        first, last = self.blocks[i]
        config_hash = self.config.config_hash
        scanned = stored_restorations(self.store, config_hash, scanned)
        hits = scanned.hits  # in any order: they are staged in the order of their ids
        retract = stored_retractions(self.store, config_hash, scanned)
        self.store.commit_chunk(self.run_id, i, first, last, hits, config_hash, self.scan_last,
                                retract_ids=retract, in_blocks=True)
        if disabled is not None:
            self.store.note_disabled(self.run_id, disabled)
        self.files.update(files)
        self.done.add(i)

    def finish(self, out: Path, reveal_ids: bool, key_file, clock: Stopwatch, rates, calendar,
               keep_cases: Callable | None, store_path: Path, txstore: TransactionStore,
               warnings: list[str] | None = None) -> ScanResult:
        """Alerts, checks, exports and case transactions of the committed run (see the
        module docstring) over the transaction store ``txstore``; the run marked complete.
        ``warnings``: what the scan warned of on stderr, for the manifest."""
        store, config_hash = self.store, self.config.config_hash
        found = store.run_hit_units(self.run_id)
        counts: dict[str, int] = {}
        n_groups = n_raised = 0
        above, alert_parts, case_hits, case_alerts = [], [], [], []
        pseudonymizer = None if reveal_ids else store_pseudonymizer(store, key_file)  # every bucket's
        if reveal_ids:
            store.audit("export_real_ids", json.dumps({"out": str(out), "run_id": self.run_id,
                                                       "hits": found.num_rows}))

        def write_hits(path: Path) -> None:
            nonlocal counts, n_groups, n_raised
            # the run's units and those it retracted hits of (their alerts change too)
            buckets = unit_buckets(found, pa.array(sorted(store.retracted_units(self.run_id)), pa.string()),
                                   HITS_PER_BUCKET)
            # the next bucket's hits are read (by SQLite and Arrow, mostly without the GIL)
            # while this bucket's alerts are built and exported; they are stored once that
            # read is done (it holds the store's shared lock, which a commit waits for). A
            # bucket's exported hits are written (by Arrow, without the GIL) while the next
            # bucket's alerts are built, one bucket after another, in order
            with pq.ParquetWriter(path, HIT_SCHEMA) as writer, ThreadPoolExecutor(max_workers=1) as reader, \
                    ThreadPoolExecutor(max_workers=1) as writing:
                coming = reader.submit(store.hits, config_hash, units=buckets[0][0]) if buckets else None
                written = None
                for k, (units, found_ids) in enumerate(buckets):
                    with clock("alerts"):
                        unit_hits = coming.result()
                        coming = reader.submit(store.hits, config_hash, units=buckets[k + 1][0]) \
                            if k + 1 < len(buckets) else None
                        run_hits = unit_hits[_isin(unit_hits["hit_id"], found_ids)].reset_index(drop=True)
                        found_here = set(found_ids.to_pylist())
                        unit_alerts = store.keep_decided_ids(config_hash,
                                                             build_alerts(unit_hits, self.config.model, config_hash))
                        above.append(run_hits.loc[(run_hits["utilisation"] > 1).to_numpy(dtype=bool)
                                                  & (run_hits["detector"] != "large_value").to_numpy(dtype=bool),
                                                  CHECK_COLUMNS])
                        touched = np.array([not found_here.isdisjoint(ids) for ids in unit_alerts["hit_ids"]],
                                           dtype=bool)
                        alerts = unit_alerts.loc[touched].reset_index(drop=True)
                    with clock("exports"):
                        tables = export_tables(run_hits, alerts, reveal_ids, key_file, pseudonymizer)
                        if written is not None:
                            written.result()
                        written = writing.submit(writer.write_table,
                                                 tables["hits"].select(HIT_SCHEMA.names).cast(HIT_SCHEMA))
                        alert_parts.append(tables["alerts"])
                    with clock("alerts"):
                        if coming is not None:
                            wait([coming])
                        store.replace_alerts(config_hash, units, unit_alerts, self.run_id)
                    raised = alerts.loc[alerts["raised"], ["hit_ids"]].assign(raised=True)
                    # a case file shows raised alerts' hits (large-value evidence stays in the store)
                    in_case = _isin(run_hits["hit_id"], {h for ids in raised["hit_ids"] for h in ids})
                    case_hits.append(run_hits.loc[in_case, CASE_COLUMNS])
                    case_alerts.append(raised)
                    counts = hit_counts(run_hits, counts)
                    n_groups += len(alerts)
                    n_raised += len(raised)
                if written is not None:  # the last bucket's hits are in before the file is closed
                    written.result()

        paths = {name: out / file for name, file in EXPORT_FILES.items()}
        known_from = large_value_known_from(store, config_hash, self.run_id)
        # the large-value cross-check needs only stored hits, which the alert buckets do not
        # change: it runs on a thread beside them (its reads mostly in SQLite and Arrow,
        # without the GIL, while the alerts hold it), of the hits above their ceiling the
        # store names, and is kept if those are the ones the buckets found
        # the exports are staged and moved into place only once the run is recorded complete: a
        # failure before leaves the run to be resumed and none of its exports in `out`
        with staged_exports(out) as exports, ThreadPoolExecutor(max_workers=1) as side:
            ahead = side.submit(_timed, clock, "checks", self._checks_ahead, known_from)
            exports.stage(paths["hits"], write_hits, private=reveal_ids)
            with clock("exports"):
                alerts_table = pa.concat_tables(alert_parts).sort_by([("score", "descending"),
                                                                      ("alert_id", "ascending")]) \
                    if alert_parts else arrow_table(pd.DataFrame(), ALERT_SCHEMA)  # no hit: every column, no row
                exports.stage(paths["alerts"], lambda p: pq.write_table(alerts_table, p), private=reveal_ids)
            run = store.query("SELECT data_first, data_last, disabled_detectors FROM runs WHERE run_id = ?",
                              [self.run_id]).iloc[0]
            if keep_cases is not None:
                wanted = raised_hits(store, _concat(case_hits, CASE_COLUMNS), _concat(case_alerts, ["hit_ids", "raised"]))
                _timed(clock, "case_transactions", keep_cases, store, self.run_id, wanted)
            checks = _checks_of(ahead.result(), _concat(above, CHECK_COLUMNS))
            if checks is None:  # the store named other hits than the buckets found: checked again
                with clock("checks"):
                    checks = large_value_checks(store, config_hash, _concat(above, CHECK_COLUMNS), known_from)
            manifest = run_manifest(store, self.run_id, self.config, rates, calendar,
                                    (np.datetime64(run["data_first"]), np.datetime64(run["data_last"])), self.resumed,
                                    checks, reveal_ids, clock, counts, n_groups, n_raised,
                                    json.loads(run["disabled_detectors"]) if isinstance(run["disabled_detectors"], str)
                                    else None,
                                    txstore, warnings)
            manifest["block_plan"] = self.plan
            manifest["read_files_digest"] = hashlib.blake2b("".join(
                f"{d}:{h};" for d, (_, h) in sorted(self.files.items())).encode(), digest_size=16).hexdigest()
            exports.stage(paths["manifest"], lambda p: p.write_text(json.dumps(manifest, indent=2, default=str)),
                          private=False)
            store.finish_run(self.run_id, manifest["finished_at"], manifest["n_hits"], n_raised, checks)
            exports.commit()
        run_id, config_hash = self.run_id, self.config.config_hash
        return ScanResult(run_id, lambda: _read_back(store_path, config_hash, run_id, "hits"),
                          lambda: _read_back(store_path, config_hash, run_id, "alerts"), manifest, paths)

    def _checks_ahead(self, known_from: str | None) -> tuple[pd.DataFrame, dict]:
        """The hits of this run above their ceiling (:data:`CHECK_COLUMNS`), as the store
        names them, and their large-value cross-check (:func:`flowgraph.scan.large_value_checks`);
        read on a thread, by connections of its own. They are few: checked at once, reading
        the stored large-value evidence of their days once."""
        ids = self.store.run_hit_ids_above_ceiling(self.config.config_hash, self.run_id)
        hits = self.store.hits(self.config.config_hash, ids=ids)[CHECK_COLUMNS] if ids else \
            pd.DataFrame(columns=CHECK_COLUMNS)
        return hits, large_value_checks(self.store, self.config.config_hash, hits, known_from)


def _checks_of(ahead: tuple[pd.DataFrame, dict], above: pd.DataFrame) -> dict | None:
    """The checks of the hits ``above`` their ceiling that the buckets found, from those
    made ahead (:meth:`BlockRun._checks_ahead`) of the same hits (by id: the same stored
    rows), listed in the order of ``above`` as a check of ``above`` lists them; None when
    the hits differ."""
    hits, checks = ahead
    if len(hits) != len(above) or set(hits["hit_id"]) != set(above["hit_id"]):
        return None
    at = {h: i for i, h in enumerate(above["hit_id"])}
    late = sorted(checks["u_above_1_without_large_value"], key=lambda c: at[c["hit_id"]])
    return {**checks, "u_above_1_without_large_value": late}


def _timed(clock: Stopwatch, stage: str, work: Callable, *args):
    """``work(*args)``, its wall time recorded as ``stage`` (on whichever thread it runs)."""
    with clock(stage):
        return work(*args)


def _concat(frames: list[pd.DataFrame], columns: list[str]) -> pd.DataFrame:
    frames = [f for f in frames if len(f)]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)


def _read_back(store_path: Path, config_hash: str, run_id: str, what: str) -> pd.DataFrame:
    """A finished block run's hits, or its alerts (those holding a hit it found), read
    from the run store when a caller asks for them."""
    store = Store(store_path, create=False)
    try:
        hits = store.hits(config_hash, run_id=run_id)
        if what == "hits":
            return hits
        alerts = store.alerts(config_hash)
        for col in ("window_start", "window_end"):
            alerts[col] = pd.to_datetime(alerts[col])
        found = set(hits["hit_id"])
        touched = np.array([not found.isdisjoint(ids) for ids in alerts["hit_ids"]], dtype=bool)
        return alerts.loc[touched].reset_index(drop=True)
    finally:
        store.close()

"""Ingest a file larger than memory into a transaction store, a batch of rows at a time.

``flowgraph ingest INPUT --into STORE`` of a canonical CSV (also ``.csv.gz``/``.csv.zst``)
or Parquet file reads it in batches of ``batch_rows`` rows (:func:`~flowgraph.io.readers.iter_raw`),
validates each batch and plans it into the store (:class:`~flowgraph.txstore.IngestPlan`,
which spills the rows to store by day under the ingest's folder); the plan is then applied
a day at a time. Memory holds one batch, the ids of the accounts seen (when no accounts
table is given), and one day or index bucket while the plan is applied; the store, its
rejects, manifest and counts are those of validating and ingesting the whole file at once
(:func:`flowgraph.io.load_dataset` and :meth:`~flowgraph.txstore.TransactionStore.ingest`).

Duplicate ids: validation keeps the first row of an id that no other check rejects and
rejects the other rows of the id (DUPLICATE_TXN_ID, "the same id as row N, which was
kept"), wherever they are in the file. Each batch is validated with the repeats inside
it; the ids of every row, their batch and whether the row passed every other check are
spilled, hashed into buckets, under the ingest's folder. When the read is done, one
bucket at a time shows the ids that occur more than once; if an id repeats across batches
(so that a batch saw only part of its rows), the file is read and planned once more, each
batch told every repeated id and the row kept for it (``validate_transactions(repeated_ids=...)``).
A file whose repeats stay within a batch, the usual case, is read once.

AMLworld files, AMLSim folders, flowgraph folders and stores are read whole
(:func:`flowgraph.io.load_dataset`): they are converted from other formats whose rows
depend on each other (AMLworld's two account columns per bank, AMLSim's step calendar),
and :func:`streams` says which inputs stream.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from .._files import write_atomically
from .._kernels.strings import hash_strings
from .._spreadsheet import spreadsheet_safe
from ..config import BANK_TIMEZONE, HOME_CURRENCY
from ..errors import ConfigError
from ..money import RateTable, default_rates
from ..schema import (ValidationReport, Validated, _buffers, accounts_from_ids, merge_reports,
                      txn_id_text, validate_accounts, validate_transactions)
from ..txstore import WORK, IngestPlan, IngestSummary, TransactionStore
from .csvfile import csv_header
from .readers import Dataset, _rename, iter_raw, read_accounts, table_format, transaction_text_columns

#: Distinct ids :class:`_DistinctIds` holds unmerged at least (a batch's accounts).
MERGE_IDS_FROM = 1_000_000
#: Rows validated and planned at a time: 0.56-0.73 GiB at the peak for 1e6 rows, as fast as larger
#: batches (benchmarks/results/ingest_stream.md).
BATCH_ROWS = 250_000
#: Buckets the ids of a file are spilled into to find its repeated ids one bucket at a time.
N_ID_BUCKETS = 64
# columns that only an AMLworld file has (as flowgraph.io.load)
_AMLWORLD_HEADER_MARKERS = ("Timestamp", "From Bank", "Amount Paid", "Payment Format")


def streams(path: str | Path, columns: dict[str, str] | None = None, encoding: str | None = None,
            delimiter: str | None = None) -> bool:
    """Whether :func:`ingest_file` reads ``path`` in batches: a canonical CSV or Parquet file
    (not an AMLworld CSV, not a folder)."""
    path = Path(path)
    fmt = table_format(path)
    if not path.is_file() or fmt is None:
        return False
    if fmt == "csv" and columns is None and path.stat().st_size > 0:
        header = csv_header(path, encoding, delimiter)
        return not all(c in header for c in _AMLWORLD_HEADER_MARKERS)
    return True


class _IdSpill:
    """The non-empty ids of every row read, with row number, batch and whether the row
    passed every check but the one for repeated ids, in buckets of their hash (one Parquet
    writer per bucket, a row group per batch)."""

    def __init__(self, folder: Path):
        self.folder = folder
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.writers: dict[int, pq.ParquetWriter] = {}

    def add(self, ids: pa.ChunkedArray, source_row: np.ndarray, valid: np.ndarray, batch: int) -> None:
        ids = ids.cast(pa.large_string()).combine_chunks()
        present = np.asarray(pc.fill_null(pc.not_equal(ids, ""), False), bool)
        ids, rows, valid = ids.filter(pa.array(present)), source_row[present], valid[present]
        offsets, data = _buffers(ids)
        bucket = (hash_strings(offsets, data) % np.uint64(N_ID_BUCKETS)).astype(np.int64)
        entries = pa.table({"txn_id": ids, "source_row": pa.array(rows, pa.int64()),
                            "valid_row": pa.array(rows, pa.int64(), mask=~valid),
                            "batch": pa.array(np.full(len(ids), batch, np.int32))})
        for b in np.unique(bucket):
            if b not in self.writers:
                path = self.folder / f"bucket={b:02d}.parquet"
                self.writers[b] = pq.ParquetWriter(path, entries.schema)
                path.chmod(0o600)
            self.writers[b].write_table(entries.filter(pa.array(bucket == b)))

    def repeated(self) -> tuple[pa.Table, bool]:
        """Every id that occurs more than once, with the row kept for it (``txn_id``,
        ``kept_row``: its first row that passed every other check, null when none did),
        and whether any of them occurs in more than one batch."""
        for writer in self.writers.values():
            writer.close()
        found, across = [], False
        for b in sorted(self.writers):
            entries = pq.read_table(self.folder / f"bucket={b:02d}.parquet")
            counts = entries.group_by("txn_id").aggregate([("valid_row", "min"), ("source_row", "count"),
                                                         ("batch", "min"), ("batch", "max")])
            counts = counts.filter(pc.greater(counts.column("source_row_count"), 1))
            across |= bool(len(counts)) and pc.any(pc.not_equal(counts.column("batch_min"),
                                                                counts.column("batch_max"))).as_py()
            found.append(pa.table({"txn_id": counts.column("txn_id"), "kept_row": counts.column("valid_row_min")}))
        empty = pa.table({"txn_id": pa.array([], pa.large_string()), "kept_row": pa.array([], pa.int64())})
        return pa.concat_tables([empty, *found]), across


class _Rejects:
    """Each batch's rejected rows as a work file; written out as one ``rejects.csv`` whose
    columns are those of the whole file's rejects (an input line column appears when some
    batch had a malformed line)."""

    def __init__(self, folder: Path):
        self.folder = folder
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.columns: dict[str, None] = {}
        self.parts: list[Path] = []

    def add(self, rejects: pd.DataFrame) -> None:
        self.columns.update(dict.fromkeys(rejects.columns))
        if len(rejects):
            path = self.folder / f"{len(self.parts):06d}.parquet"
            write_atomically(path, lambda p: rejects.to_parquet(p, index=False))
            self.parts.append(path)

    def write(self, accounts: Validated, report: ValidationReport, out: Path) -> Path:
        """``out/rejects.csv`` and ``out/validation.json``, as :func:`flowgraph.io.write_rejects`
        writes them for the whole file; the path of ``rejects.csv``."""
        accounts_rejects = accounts.rejects.assign(table="accounts")
        columns = ["table", *self.columns, *(c for c in accounts_rejects.columns
                                             if c not in self.columns and c != "table")]

        def write(tmp: Path) -> None:
            with open(tmp, "w", newline="") as f:
                spreadsheet_safe(pd.DataFrame(columns=columns)).to_csv(f, index=False)
                for part in self.parts:
                    frame = pd.read_parquet(part).assign(table="transactions")
                    spreadsheet_safe(frame.reindex(columns=columns)).to_csv(f, index=False, header=False)
                spreadsheet_safe(accounts_rejects.reindex(columns=columns)).to_csv(f, index=False, header=False)
        write_atomically(out / "rejects.csv", write)
        validation = {"transactions": report.to_dict(), "accounts": accounts.report.to_dict()}
        write_atomically(out / "validation.json", lambda p: p.write_text(json.dumps(validation, indent=2)))
        return out / "rejects.csv"


def ingest_file(store: TransactionStore, path: str | Path, columns: dict[str, str] | None = None,
                accounts: str | Path | None = None, rates: RateTable | None = None,
                timestamp_format: str | None = None, channel_map: dict[str, str] | None = None,
                encoding: str | None = None, delimiter: str | None = None, home_currency: str = HOME_CURRENCY,
                batch_rows: int = BATCH_ROWS, on_batch: Callable[[int], None] | None = None,
                on_day_written: Callable[[str], None] | None = None,
                accounts_columns: dict[str, str] | None = None,
                bank_timezone: str = BANK_TIMEZONE) -> tuple[IngestSummary, Dataset]:
    """Validate a canonical CSV or Parquet file in batches and merge it into ``store``
    (module docstring): the result of ``store.ingest(load_dataset(path, ...))`` without
    holding the file.

    Parameters
    ----------
    store : TransactionStore
    path : path
        A file for which :func:`streams` is True.
    columns, accounts, rates, timestamp_format, channel_map, encoding, delimiter, home_currency, accounts_columns
        As for :func:`flowgraph.io.load_dataset`.
    bank_timezone : str
        As for :func:`flowgraph.io.load_dataset`; recorded in the ingest's manifest, and
        refused when the store's earlier ingests converted into another zone
        (:meth:`~flowgraph.txstore.TransactionStore.start_ingest`).
    batch_rows : int
        Rows read, validated and planned at a time (CSV: lines).
    on_batch : callable, optional
        Called with each batch's number (from 0) after it is planned (progress; the tests
        stop an ingest there).
    on_day_written : callable, optional
        Called with each day after its file is replaced.

    Returns
    -------
    summary : IngestSummary
    reports : Dataset
        The validation reports of the transactions (the whole file's) and the accounts,
        with empty tables: for :func:`~flowgraph.io.check_some_accepted` and the user.
    """
    if batch_rows < 1:
        raise ValueError(f"batch_rows must be at least 1, got {batch_rows}")
    if accounts_columns and accounts is None:
        raise ConfigError("--accounts-map renames the columns of the accounts file, and none was given. Fix: "
                          "give it with --accounts FILE (accounts_columns= with accounts= in Python).")
    path = Path(path)
    source = str(path)
    plan = store.start_ingest(source, on_day_written, (rates or default_rates()).describe(), bank_timezone)
    try:
        report, rejects, account_ids, repeated = _read(plan, path, columns, rates, timestamp_format,
                                                       channel_map, encoding, delimiter, home_currency,
                                                       batch_rows, on_batch, None, bank_timezone)
        if repeated is not None:  # an id repeats across batches: again, each batch knowing the file's repeats
            report, rejects, account_ids, _ = _read(plan, path, columns, rates, timestamp_format, channel_map,
                                                    encoding, delimiter, home_currency, batch_rows, on_batch,
                                                    repeated, bank_timezone)
        if accounts is not None:
            accts = read_accounts(accounts, accounts_columns, encoding=encoding, delimiter=delimiter)
        else:
            accts = validate_accounts(accounts_from_ids(account_ids), f"{path} (accounts derived)")
        rejects.write(accts, report, plan.folder)
    except BaseException:
        plan.abandon()  # nothing of this ingest reached the store
        raise
    summary = plan.finish(report, accts, on_day_written)
    empty = pd.DataFrame()
    return summary, Dataset(Validated(empty, empty, report), Validated(empty, empty, accts.report))


def _read(plan: IngestPlan, path: Path, columns, rates, timestamp_format, channel_map, encoding, delimiter,
          home_currency, batch_rows, on_batch, repeated: pa.Table | None, bank_timezone: str):
    """One read of the file into ``plan`` (cleared first): the merged report, the rejects,
    the accounts of the accepted rows, and, on a first read (``repeated`` None) that found
    an id repeated across batches, the file's repeated ids."""
    plan.clear()
    work = plan.folder / WORK
    ids = _IdSpill(work / "ids") if repeated is None else None
    rejects = _Rejects(work / "rejects")
    reports: list[ValidationReport] = []
    account_ids = _DistinctIds()
    categorical = tuple((columns or {}).get(c, c) for c in ("currency", "channel"))
    batches = iter_raw(path, None, encoding, delimiter, categorical, batch_rows, transaction_text_columns(columns))
    for batch, raw in enumerate(batches):
        frame = _rename(raw.frame, columns, path)
        validated = validate_transactions(frame, str(path), rates=rates, timestamp_format=timestamp_format,
                                          channel_map=channel_map, source_row=raw.source_row,
                                          malformed=raw.malformed, home_currency=home_currency,
                                          repeated_ids=repeated, reader_notes=raw.notes,
                                          bank_timezone=bank_timezone)
        if ids is not None:
            ids.add(txn_id_text(frame, str(path), raw.source_row), raw.source_row,
                    _passed_other_checks(validated.rejects, raw.source_row), batch)
        rejects.add(validated.rejects)
        reports.append(validated.report)
        table = validated.table
        account_ids.add(pa.array(table[c].array).cast(pa.large_string()) for c in ("src_account", "dst_account"))
        plan.add(table)
        del raw, frame, validated, table
        pa.default_memory_pool().release_unused()
        if on_batch is not None:
            on_batch(batch)
    found = None
    if ids is not None:
        found, across = ids.repeated()
        found = found if across else None
    return merge_reports(reports), rejects, account_ids.distinct(), found


def _passed_other_checks(rejects: pd.DataFrame, source_row: np.ndarray) -> np.ndarray:
    """Which rows (of ``source_row``) no check rejected but the one for repeated ids: those
    of which the first of an id is kept (:func:`flowgraph.schema.validate_transactions`)."""
    failed = rejects["source_row"].to_numpy()[rejects["reason_codes"].to_numpy() != "DUPLICATE_TXN_ID"]
    return ~np.isin(source_row, failed)


class _DistinctIds:
    """The distinct ids of many batches, merged when the batches' distinct ids not yet
    merged are as many as those merged: each id is hashed a bounded number of times, not
    once per later batch (a 20 M-row file of 10 M accounts spent a third of its ingest
    hashing the ids seen so far again at every batch)."""

    def __init__(self):
        self.merged = pa.array([], pa.large_string())
        self.pending: list[pa.Array] = []
        self.n_pending = 0

    def add(self, columns) -> None:
        batch = pc.unique(pa.chunked_array(list(columns), pa.large_string())).drop_null()
        self.pending.append(batch)
        self.n_pending += len(batch)
        if self.n_pending >= max(len(self.merged), MERGE_IDS_FROM):
            self.merged = self.distinct()
            self.pending, self.n_pending = [], 0

    def distinct(self) -> pa.Array:
        """Every distinct id added, each once (in first-seen order)."""
        if not self.pending:
            return self.merged
        return pc.unique(pa.chunked_array([self.merged, *self.pending], pa.large_string()))

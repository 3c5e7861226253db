"""A day-partitioned transaction store: validated transactions appended ingest by ingest,
read back a window of days at a time (issue 14).

``flowgraph ingest INPUT --into STORE`` validates INPUT as ``--out`` does and merges the
accepted rows into ``STORE``; ``flowgraph scan STORE --as-of D`` reads only the days a scan
of D needs (:func:`flowgraph.scan.lookback_days`). Layout::

    STORE/txstore.json                        marks the folder as a store (format, version)
    STORE/transactions/day=YYYY-MM-DD/part.parquet   one file per calendar day
    STORE/index/bucket=NN.parquet             txn_id -> day, 64 buckets by a hash of txn_id
    STORE/index/parts/bucket=NN/NNNNNN.parquet    entries ingests added since (newest wins),
                                              merged two by two as they grow (a binary counter)
    STORE/accounts/NNNNNN.parquet             the accounts after ingest NNNNNN (latest is used)
    STORE/superseded/NNNNNN.parquet           old versions that ingest NNNNNN replaced
    STORE/ingests/NNNNNN/                     plan, rejects.csv, validation.json, manifest.json
                                              (an append: append.json instead of the plan)
    STORE/rescan.json                         days whose stored data changed after they were stored
    STORE/accounts_seen.parquet               every account id on a side of a stored transaction,
                                              through the ingest its metadata names
    STORE/contents.json                       the days holding a file, the index buckets, the latest
                                              accounts snapshot
    STORE/.writer.lock                        held by the one ingest or append writing

Partitions are **calendar** days (the date of the timestamp), not business days: which
business day a date counts toward is a scan parameter (``[calendar]`` in the configuration,
and the holiday notices of a year arrive late), so a key that depended on it would have to
be rewritten whenever the calendar changed. A scan maps its business days to the calendar
days that roll into them.

Why pyarrow datasets and not DuckDB: the rest of the package already holds its tables in
Arrow and pandas, a window read is a list of partition files that pyarrow opens without a
query planner or a second engine, and the files stay plain Parquet that DuckDB, Spark or
Dask read in place. Deduplication is a hash lookup of the incoming ids in the index
buckets they fall into, which needs no SQL.

Idempotent by txn_id: a row whose id is stored with the same content (id, time, parties,
amount, currency, channel) is *unchanged* and adds nothing; with other content it
*replaces* the stored version, which is moved to ``superseded/``, and both its old and new
days are marked for re-scan, as are days that held data before and got late new rows.

Accounts: an ingest's accounts (its accounts file, or, with none given, derived from its
transactions: every account its own customer) make a new snapshot when they add or change
one. Derived accounts are stored only in a store that never had an accounts file (every
account is then the bank's, as with no accounts table): an account a file does not list is
another bank's where a listed one is on its other side (:mod:`flowgraph.graph`), and a
derived row would make it a monitored customer. An accounts file over derived accounts
replaces them whole, and the days the accounts it changes or no longer lists traded on are
marked for re-scan (:meth:`TransactionStore._accounts_after`), as are the days an account it
lists for the first time traded on as another bank's (:meth:`TransactionStore.listed_after_trading`).

Restartable: an ingest first writes its plan (the rows to write by day and their index
entries under ``ingests/NNNNNN/work/``, built batch by batch by :class:`IngestPlan`; the ids
to remove from other days in ``plan.json``, written last), then rewrites each touched day's file whole
(temporary file, then rename), then the index, the accounts snapshot and ``rescan.json``,
and its ``manifest.json`` last. A killed ingest leaves every day file whole; the next
ingest into the store first completes any plan without a manifest (applying a plan twice
changes nothing; its summary says which it completed, :attr:`IngestSummary.completed`, and
lists their days to re-scan with its own) and removes the work files of any ingest stopped
before its ``plan.json``, then ingests its own input. Files are owner-only (0600) and folders
0700: the store keeps real ids (SPEC §7).

Time zone: an ingest converts time stamps with a UTC offset into the bank's time zone
(``RuleSet.bank_timezone``, or ``bank_timezone`` under ``[calendar]`` in the configuration)
and stores the naive local times: the offsets are not kept, so the store cannot date its
rows in another zone. Each ingest records its zone (``bank_timezone`` in its manifest); an
ingest into a store whose ingests converted into another zone, and a scan of it under a
rule set dating in another zone, are refused (:meth:`TransactionStore.check_bank_timezone`)
rather than mixing two zones' days. Ingests made before zones were recorded converted into
Asia/Shanghai, the only zone flowgraph knew; appends of simulated data convert nothing
(their times carry no offset) and fit any zone.

Data made fresh, whose ids are unique by construction (``flowgraph simulate --into``),
takes :meth:`TransactionStore.append_new_days` instead: an ingest looks every incoming id
up in the index (only the row groups whose range of ids may hold one) and adds a part to
each bucket it touches (parts merged as they grow). The append
writes each day whole, streams the index buckets (one row group per day) and writes them
at the end; it goes only into a store without transactions, and a killed append is
finished by running it again (the same source writes the same days), while an ingest
refuses to start until it is.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field as dataclass_field
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from ._arrow import bulk_memory_pool, release_bulk_memory, text_buffers, text_in_one_chunk
from ._files import write_atomically
from ._spreadsheet import spreadsheet_safe
from ._kernels.strings import pandas_text_hashes
from .config import BANK_TIMEZONE
from .errors import ConfigError, DataError
from .io.readers import Dataset
from .schema import ValidationReport, Validated

MARKER = "txstore.json"
#: the writer lock's file in a store (:meth:`TransactionStore._writing`)
WRITER_LOCK = ".writer.lock"
#: what the store's writers recorded it holds (:meth:`TransactionStore._contents`)
CONTENTS = "contents.json"
#: in an ingest folder: the folder is an append (:meth:`TransactionStore.append_new_days`)
APPEND_MARKER = "append.json"
#: Every account id on a side of a stored transaction (:meth:`TransactionStore.accounts_seen`).
SEEN_FILE = "accounts_seen.parquet"
FORMAT = "flowgraph-txstore"
VERSION = 1
#: index buckets: an ingest of a few corrections reads and rewrites a few small files
N_BUCKETS = 64
#: index entries an append holds before writing them (≈ 40 MB): few row groups per bucket
INDEX_FLUSH_ROWS = 1_000_000
#: index entries per row group of an index file an ingest writes: a lookup reads only the
#: row groups whose range of ids holds one it looks for (:func:`_index_rows`), and a new
#: day's ids that sort between two stored ones read one group of this many per file
INDEX_ROW_GROUP_ROWS = 8_192
#: in ``index/``: the parts ingests add to each bucket (``parts/bucket=NN/NNNNNN.parquet``)
INDEX_PARTS = "parts"
#: in an ingest folder: the plan's rows by day and index entries by bucket, until applied
WORK = "work"
#: what makes two versions of a transaction the same
CONTENT_COLUMNS = ("txn_id", "timestamp", "src_account", "dst_account", "amount", "currency", "channel")


def is_store(path: str | Path) -> bool:
    """Whether ``path`` is a folder written by :meth:`TransactionStore.create`."""
    return (Path(path) / MARKER).is_file()


def _mkdir(path: Path) -> Path:
    """``path`` and any missing parent, owner-only (``mkdir(parents=True)`` gives the parents
    the default mode)."""
    if not path.is_dir():
        _mkdir(path.parent)
        path.mkdir(mode=0o700, exist_ok=True)
    return path


def _read_store_file(read: Callable, path: Path):
    """``read(path)`` of one of a store's Parquet files; a damaged one (cut short, emptied,
    overwritten) is a DataError naming it and the fix."""
    try:
        return read(path)
    except (pa.ArrowInvalid, OSError) as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise DataError(f"{path}: this file of the transaction store is damaged ({' '.join(str(exc).split())}). "
                        "Fix: restore it from a backup, or ingest the store's input files again into a new store "
                        "(an ingest is idempotent: the same files give the same store).") from None


def _read_schema(path: Path) -> pa.Schema:
    return _read_store_file(pq.read_schema, path)


def _dictionary_read(schema: pa.Schema, columns: Sequence[str]) -> tuple[pa.Schema, ds.FileFormat | str]:
    """The schema and Parquet format of a read whose text ``columns`` (those of ``schema``
    that are text; any other is read as it is) come as dictionaries."""
    wanted = set(columns)
    text = [f.name for f in schema
            if f.name in wanted and (pa.types.is_string(f.type) or pa.types.is_large_string(f.type))]
    if not text:
        return schema, "parquet"
    schema = pa.schema([pa.field(f.name, pa.dictionary(pa.int32(), f.type), f.nullable) if f.name in text else f
                        for f in schema])
    return schema, ds.ParquetFileFormat(read_options=ds.ParquetReadOptions(dictionary_columns=text))


def _read_footer(path: Path) -> pq.FileMetaData:
    return _read_store_file(pq.read_metadata, path)


def _id_span(ids: pa.Array) -> tuple[bytes, bytes]:
    """The smallest and the largest of ``ids`` as bytes (UTF-8 byte order, as Parquet
    compares text), for :func:`_index_rows`."""
    span = pc.min_max(ids.cast(pa.large_binary()))
    return span["min"].as_py(), span["max"].as_py()


def _index_rows(path: Path, span: tuple[bytes, bytes]) -> pa.Table:
    """The entries (``txn_id, day``) of an index bucket file in the row groups whose ids'
    range (the footer's statistics) meets the ``span`` of the ids looked up
    (:func:`_id_span`); a row group without statistics is read. Index files are sorted by
    id (:func:`_write_index`), so a day of ids that grow with time meets at most the one
    row group of each file that its span falls in."""
    def read(path):
        metadata, ranges = _index_footer(path)
        groups = [g for g, (low, high) in enumerate(ranges) if low is None or (low <= span[1] and span[0] <= high)]
        if not groups:
            return metadata.schema.to_arrow_schema().empty_table().select(["txn_id", "day"])
        return pq.ParquetFile(path, metadata=metadata).read_row_groups(groups, columns=["txn_id", "day"])
    return _read_store_file(read, path)


def _index_footer(path: Path) -> tuple[pq.FileMetaData, list[tuple[bytes | None, bytes | None]]]:
    """An index file's footer and each row group's range of ids (None where the footer
    gives none exactly), read once per version of the file: an ingest looks its batches
    up in the same files, which change only when it is applied."""
    stat = path.stat()
    key = (str(path), stat.st_ino, stat.st_size, stat.st_mtime_ns)
    if key not in _INDEX_FOOTERS:
        if len(_INDEX_FOOTERS) >= 4 * N_BUCKETS * 8:
            _INDEX_FOOTERS.clear()
        metadata = pq.read_metadata(path)
        column = metadata.schema.to_arrow_schema().get_field_index("txn_id")
        ranges = []
        for g in range(metadata.num_row_groups):
            statistics = metadata.row_group(g).column(column).statistics
            exact = statistics is not None and statistics.has_min_max and \
                getattr(statistics, "is_min_value_exact", True) and getattr(statistics, "is_max_value_exact", True)
            ranges.append(tuple(v.encode() if isinstance(v, str) else bytes(v) for v in
                                (statistics.min, statistics.max)) if exact else (None, None))
        _INDEX_FOOTERS[key] = (metadata, ranges)
    return _INDEX_FOOTERS[key]


#: :func:`_index_footer`'s footers by (path, inode, size, modification time)
_INDEX_FOOTERS: dict[tuple, tuple] = {}


def _conformed(table: pa.Table, types: dict[str, pa.DataType], source: str, root: Path) -> pa.Table:
    """``table`` with each column ``types`` names cast to that type: a column an input
    passes through (a memo, a label) must keep one type in every day file, or the days
    could no longer be read together. Values that do not convert are a DataError naming
    the input, the column and the fix, before anything is written."""
    for i, field in enumerate(table.schema):
        want = types.get(field.name)
        if want is None or field.type == want:
            continue
        column = table.column(i)
        text = (pa.types.is_string, pa.types.is_large_string)
        if any(t(field.type) for t in text) and not any(t(want) for t in text):
            column = pc.if_else(pc.equal(column, ""), None, column)  # an empty CSV cell: no value
        try:
            table = table.set_column(i, pa.field(field.name, want), column.cast(want))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise DataError(f"{source}: column '{field.name}' holds {field.type} values that the transaction store "
                            f"{root} holds as {want} (from earlier ingests), and they do not convert "
                            f"({' '.join(str(exc).split())[:200]}). Fix: give the column {want} values, or another "
                            "name in the input (it is kept beside the transactions, not scanned).") from None
    return table


def _types_meet(a: pa.DataType, b: pa.DataType) -> bool:
    """Whether columns of types ``a`` and ``b`` unify (as :func:`pyarrow.unify_schemas` permits)."""
    try:
        pa.unify_schemas([pa.schema([("x", a)]), pa.schema([("x", b)])], promote_options="permissive")
        return True
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return False


def _write_table(table: pa.Table, path: Path) -> Path:
    _mkdir(path.parent)
    return write_atomically(path, lambda p: pq.write_table(table, p))


def _write_index(entries: pa.Table, path: Path) -> Path:
    """An index file: its entries sorted by id (UTF-8 byte order, as Parquet compares text),
    so each row group's range of ids is narrow and a lookup reads few of them
    (:func:`_index_rows`); row groups of :data:`INDEX_ROW_GROUP_ROWS` entries, the day as a
    dictionary (a few distinct), the ids plain (each distinct), zstd (half snappy's bytes
    to read back: one bucket of the 1e8 store, 5.7 MB against 12.8 MB)."""
    _mkdir(path.parent)
    entries = entries.take(pc.sort_indices(entries.column("txn_id")))
    return write_atomically(path, lambda p: pq.write_table(entries, p, row_group_size=INDEX_ROW_GROUP_ROWS,
                                                           use_dictionary=["day"], compression="zstd"))


def _write_json(obj, path: Path) -> Path:
    _mkdir(path.parent)
    return write_atomically(path, lambda p: p.write_text(json.dumps(obj, indent=2, default=str)))


def _bucket(ids: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Index bucket of each txn_id: pandas' hash of the text (fixed across runs and
    machines, and by every store written) modulo :data:`N_BUCKETS`, computed on the Arrow
    buffers (:func:`~flowgraph._kernels.strings.pandas_text_hashes`: 0.2 s for 2 M ids,
    where pandas took 2.4 s through a Python object per id)."""
    if not len(ids):
        return np.array([], np.int64)
    flat = pa.chunked_array([ids]).combine_chunks().cast(pa.large_string())  # ids are text, never null
    return (pandas_text_hashes(*text_buffers(flat)) % np.uint64(N_BUCKETS)).astype(np.int64)


def _calendar_day(timestamps: pd.Series) -> np.ndarray:
    return timestamps.to_numpy().astype("datetime64[D]").astype(str)


def _same_values(new, old, n: int) -> np.ndarray:
    """Per row, whether two columns hold the same value (two nulls are the same; a column
    absent on one side is all null)."""
    if new is None or old is None:
        return np.full(n, new is None and old is None)
    new, old = (pa.chunked_array([c]).combine_chunks() for c in (new, old))
    new, old = (c.dictionary_decode() if pa.types.is_dictionary(c.type) else c for c in (new, old))
    old = old.cast(new.type)
    both_null = pc.and_(new.is_null(), old.is_null())
    return np.asarray(pc.or_(pc.fill_null(pc.equal(new, old), False), both_null), bool)


class _IndexStreams:
    """Index buckets written as a stream, for a store without an index yet: the entries of
    a few days are held until :data:`INDEX_FLUSH_ROWS`, then each bucket gets them as one
    row group of its own Parquet writer; :meth:`close` renames the files into place."""

    def __init__(self, folder: Path):
        self.folder = _mkdir(folder)
        self.writers: dict[int, tuple[pq.ParquetWriter, Path]] = {}
        self.held: list[tuple[pa.Array, str, np.ndarray]] = []
        self.n_held = 0

    def add(self, ids: pa.ChunkedArray, day: str) -> None:
        self.held.append((ids.combine_chunks(), day, _bucket(ids)))
        self.n_held += len(ids)
        if self.n_held >= INDEX_FLUSH_ROWS:
            self._flush()

    def _flush(self) -> None:
        if not self.held:
            return
        ids = pa.chunked_array([i for i, _, _ in self.held]).combine_chunks()
        day_names = pa.array([d for _, d, _ in self.held], pa.string())
        day_code = np.repeat(np.arange(len(self.held), dtype=np.int32), [len(i) for i, _, _ in self.held])
        bucket = np.concatenate([b for _, _, b in self.held])
        self.held, self.n_held = [], 0
        order = np.argsort(bucket, kind="stable")
        ids, day_code, bucket = ids.take(order), day_code[order], bucket[order]
        starts = np.searchsorted(bucket, np.arange(N_BUCKETS + 1))
        for b in np.flatnonzero(np.diff(starts)):
            mine = slice(starts[b], starts[b + 1])
            day = pa.DictionaryArray.from_arrays(pa.array(day_code[mine]), day_names).cast(pa.string())
            entries = pa.table({"txn_id": ids[mine], "day": day})
            if b not in self.writers:
                tmp = self.folder / f".bucket={b:02d}.parquet.append"
                os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600))
                self.writers[b] = (pq.ParquetWriter(tmp, entries.schema), tmp)
            self.writers[b][0].write_table(entries)

    def close(self) -> None:
        self._flush()
        for b, (writer, tmp) in self.writers.items():
            writer.close()
            os.replace(tmp, self.folder / f"bucket={b:02d}.parquet")

    def abort(self) -> None:
        for writer, tmp in self.writers.values():
            writer.close()
            tmp.unlink(missing_ok=True)


def _abandon(folder: Path) -> None:
    """An ingest folder whose plan was not written: its work files go, and the folder too
    unless it holds the rejects the user was told about."""
    if (folder / "rejects.csv").is_file():
        shutil.rmtree(folder / WORK, ignore_errors=True)
    else:
        shutil.rmtree(folder, ignore_errors=True)


def _parts_by_key(folder: Path, key: str) -> dict[str, list[Path]]:
    """``folder/KEY=VALUE/NNNNNN.parquet`` files by VALUE, each list in batch order."""
    if not folder.is_dir():
        return {}
    return {p.name[len(key) + 1:]: sorted(p.glob("*.parquet")) for p in folder.iterdir()
            if p.name.startswith(f"{key}=")}


@dataclass
class IngestSummary:
    """What one ingest did (also its ``manifest.json``)."""

    ingest_id: str
    manifest: dict
    folder: Path
    #: earlier ingests, stopped partway (killed), that this one completed first
    completed: list[IngestSummary] = dataclass_field(default_factory=list)

    def rescan_days(self) -> list[str]:
        """The days to re-scan after this ingest: its own and those of the ingests it
        completed (``rescan.json`` holds them all, with those of every earlier ingest)."""
        return sorted(set(self.manifest["rescan_days"]).union(*(done.manifest["rescan_days"]
                                                                 for done in self.completed)))


class TransactionStore:
    """A folder of day partitions (see the module docstring). Open one with
    :meth:`open` (an existing store) or :meth:`create` (a new or empty folder)."""

    def __init__(self, root: Path):
        self.root = Path(root)

    # -- opening -------------------------------------------------------------------------
    @classmethod
    def open(cls, path: str | Path, option: str = "STORE_DIR") -> "TransactionStore":
        """An existing store; a DataError naming ``path`` when it is not one."""
        path = Path(path)
        if not is_store(path):
            raise DataError(f"{option} {path}: not a flowgraph transaction store (it has no {MARKER}). Fix: "
                            f"name a folder made by 'flowgraph ingest INPUT --into {path.name}'.")
        try:
            marker = json.loads((path / MARKER).read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise DataError(f"{option} {path}: its {MARKER} is damaged ({exc}). Fix: restore it from a backup; a "
                            f"store's {MARKER} reads {{\"format\": \"{FORMAT}\", \"version\": {VERSION}, ...}}.") \
                from None
        if not isinstance(marker, dict):
            marker = {}
        if marker.get("format") != FORMAT or marker.get("version") != VERSION:
            raise DataError(f"{option} {path}: {MARKER} says format {marker.get('format')!r} version "
                            f"{marker.get('version')!r}; this flowgraph reads {FORMAT!r} version {VERSION}. "
                            "Fix: use the flowgraph version that wrote it.")
        return cls(path)

    @classmethod
    def create(cls, path: str | Path) -> "TransactionStore":
        """The store at ``path``, made there if the folder is absent or empty; a ConfigError
        when the folder holds something else (nothing is written into it)."""
        path = Path(path)
        if is_store(path):
            return cls.open(path, "--into")
        if path.exists() and (not path.is_dir() or any(path.iterdir())):
            if is_store(path):  # made meanwhile, whole, by another process
                return cls.open(path, "--into")
            raise ConfigError(f"--into {path}: exists and is not a flowgraph transaction store (no {MARKER}). "
                              "Fix: name a new or empty folder, or an existing store.")
        # made whole beside it, then moved into place: a second ingest creating the same store
        # at the same moment saw a folder with half a marker and refused it as "not a store"
        made = _mkdir(path.parent) / f".{path.name}.creating-{os.getpid()}"
        shutil.rmtree(made, ignore_errors=True)
        _mkdir(made)
        _write_json({"format": FORMAT, "version": VERSION, "partitioning": "calendar day (hive, day=YYYY-MM-DD)",
                     "created_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}, made / MARKER)
        try:
            os.rename(made, path)  # onto an absent or empty folder only
        except OSError:
            shutil.rmtree(made, ignore_errors=True)
            if not is_store(path):  # not another process's store made meanwhile
                raise
            return cls.open(path, "--into")
        return cls(path)

    # -- what is stored ------------------------------------------------------------------
    def _day_file(self, day: str) -> Path:
        return self.root / "transactions" / f"day={day}" / "part.parquet"

    def days(self) -> list[str]:
        """The calendar days holding transactions, ascending (ISO dates)."""
        folder = self.root / "transactions"
        days = sorted(p.name[4:] for p in folder.iterdir() if p.name.startswith("day=")
                      and (p / "part.parquet").is_file()) if folder.is_dir() else []
        self._check_files("0000", "9999")
        return days

    def day_files(self, first_day: str, last_day: str) -> list[Path]:
        """The partition files a read of calendar days ``first_day .. last_day`` opens: one
        path per day is looked at, so the cost does not grow with the history."""
        first, last = np.datetime64(first_day, "D"), np.datetime64(last_day, "D")
        days = np.arange(first, last + 1, dtype="datetime64[D]").astype(str) if last >= first else []
        self._check_files(str(first), str(last))
        return [f for f in map(self._day_file, days) if f.is_file()]

    def _check_files(self, first_day: str, last_day: str) -> None:
        """A DataError when a day of ``first_day .. last_day`` the store recorded holding
        (:meth:`_contents`) has no file: deleted, or lost in a copy."""
        recorded = self._contents()
        missing = [d for d in recorded["days"] if first_day <= d <= last_day and not self._day_file(d).is_file()] \
            if recorded is not None else []
        if missing:
            raise DataError(f"{self.root}: the file of {len(missing)} day(s) it holds is missing ("
                            f"{', '.join(missing[:3])}{' …' if len(missing) > 3 else ''}: "
                            f"{self._day_file(missing[0])}); a scan without them would find other hits. Fix: "
                            "restore them from a backup, or ingest the store's input files again into a new store.")

    def _contents(self) -> dict | None:
        """The days with a file and the latest accounts snapshot, as the store's writers
        recorded them (:meth:`_record_contents`), so a file deleted or lost in a copy is
        said, not read around; None for a store written before they were recorded."""
        path = self.root / CONTENTS
        if not path.is_file():
            return None
        try:
            recorded = json.loads(path.read_text())
            return {"days": list(recorded["days"]), "accounts": recorded.get("accounts"),
                    "index": recorded.get("index"), "index_parts": list(recorded.get("index_parts") or [])}
        except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError) as exc:
            raise DataError(f"{path}: this file of the transaction store is damaged ({exc}). Fix: delete it (the "
                            "next ingest writes it again from the files there are).") from None

    def _record_contents(self, added: Iterable[str] = (), removed: Iterable[str] = (),
                         accounts: str | None = None, index_gone: set[Path] = frozenset()) -> None:
        """Record days given a file (``added``) or whose file goes (``removed``, recorded
        before it goes), the accounts snapshot now the latest, and the index files there
        are but ``index_gone`` (merged away, deleted once this is written)."""
        recorded = self._contents() or {"days": self.days(), "accounts": None}
        days = (set(recorded["days"]) | set(added)) - set(removed)
        index = sorted(int(p.stem.split("=")[1]) for p in (self.root / "index").glob("bucket=*.parquet"))
        parts = sorted(str(p.relative_to(self.root / "index")) for p in
                       (self.root / "index" / INDEX_PARTS).glob("bucket=*/*.parquet") if p not in index_gone)
        _write_json({"days": sorted(days), "accounts": accounts or recorded["accounts"], "index": index,
                     "index_parts": parts}, self.root / CONTENTS)

    def _check_index(self) -> None:
        """A DataError when an index bucket the store recorded (:meth:`_contents`) has no
        file: an ingest would take its ids for new ones and store them twice."""
        contents = self._contents() or {}
        recorded = [f"bucket={b:02d}.parquet" for b in contents.get("index") or []] + contents.get("index_parts", [])
        missing = [name for name in recorded if not (self.root / "index" / name).is_file()]
        if missing:
            raise DataError(f"{self.root / 'index' / missing[0]}: this index file of the "
                            f"transaction store is missing ({len(missing)} of its {len(recorded)}); an ingest would "
                            "take the ids it holds for new ones and store them twice. Fix: restore the index folder "
                            "from a backup, or ingest the store's input files again into a new store.")

    def day_rows(self, first_day: str = "", last_day: str = "9999") -> dict[str, int]:
        """Transactions per stored calendar day ``first_day .. last_day`` (ISO dates; default
        every day) as ISO date -> rows, from the partition files' Parquet footers: no row
        is read."""
        return {day: _read_footer(self._day_file(day)).num_rows for day in self.days()
                if first_day <= day <= last_day}

    @staticmethod
    def files_digest(files: Sequence[Path]) -> str:
        """A hash of each partition file's day, size and modification time: it changes when
        a file is written again (a corrected transaction, a late one), and costs no read of
        the data, however many rows the files hold."""
        digest = hashlib.blake2b(digest_size=16)
        for f in files:
            stat = f.stat()
            digest.update(f"{f.parent.name}:{stat.st_size}:{stat.st_mtime_ns};".encode())
        return digest.hexdigest()

    def read_days(self, first_day: str, last_day: str, columns: Sequence[str] | None = None,
                  dictionary_columns: Sequence[str] = ()) -> pa.Table:
        """The transactions of calendar days ``first_day .. last_day`` (only ``columns``, if
        given: those the files hold, in that order), days ascending, each in the order it was
        ingested; ``day`` is the partition key. A DataError when a day's file holds rows of
        another day (:meth:`_check_days_of_rows`).

        ``dictionary_columns``: text columns read as Arrow dictionaries, from the files'
        dictionary pages (each file's distinct values and a code per row), not as a text per
        row (a graph numbers the accounts and needs no text per row:
        :data:`flowgraph.graph.GRAPH_DICTIONARY_COLUMNS`)."""
        files = self.day_files(first_day, last_day)
        if not files:
            return pa.table({})
        # the time stamps are read whatever the columns: each row's day is checked against its file's
        schema = self._unified_schema(files, None if columns is None else [*columns, "timestamp"])
        if columns is not None:
            columns = [c for c in columns if c in schema.names]
        # the partition key is in the path: selecting the days' files is the filter on it
        dated = "timestamp" in schema.names
        scanned = columns if columns is None or not dated or "timestamp" in columns else [*columns, "timestamp"]
        schema, file_format = _dictionary_read(schema, dictionary_columns)
        try:
            scanner = ds.dataset([str(f) for f in files], schema=schema, format=file_format).scanner(
                columns=scanned, memory_pool=bulk_memory_pool())
            tagged = [(t.record_batch, t.fragment.path) for t in scanner.scan_batches()]  # in the files' order
        except (pa.ArrowInvalid, OSError) as exc:  # a footer that reads, a data page that does not
            raise DataError(f"{self.root}: a day file of {first_day} .. {last_day} is damaged "
                            f"({' '.join(str(exc).split())[:300]}). Fix: restore the store's transactions folder "
                            "from a backup, or ingest its input files again into a new store.") from None
        table = pa.Table.from_batches([b for b, _ in tagged], schema=scanner.projected_schema)
        if dated:
            self._check_days_of_rows(tagged)
        return table if scanned is columns else table.drop_columns(["timestamp"])

    def _check_days_of_rows(self, tagged: Sequence[tuple[pa.RecordBatch, str]]) -> None:
        """A DataError naming the day folders of the ``tagged`` batches (each with its file) holding a
        row whose calendar day is not the folder's: a day file restored or copied into
        another day's folder, whose rows a scan would count on the wrong day, or twice
        (the same transactions in two day files make the same hits twice).

        Rows are stored as naive bank-local times and partitioned by their date at ingest,
        so the check is each batch's earliest and latest time against its folder's day (a
        batch is never of two files): on 60 days of the 1e8 bank (6.6 M rows) about 5 ms
        of a 1.5-4 s read."""
        wrong: dict[str, tuple[np.datetime64, np.datetime64]] = {}
        for batch, path in tagged:
            if not batch.num_rows:
                continue
            times = batch.column("timestamp")
            if times.type.tz is not None:  # naive in every store flowgraph writes; dated where they were stored
                times = pc.local_timestamp(times)
            span = pc.min_max(times)
            if span["min"].as_py() is None:
                continue
            lo, hi = (np.datetime64(span[k].value, times.type.unit).astype("datetime64[D]") for k in ("min", "max"))
            folder = Path(path).parent.name
            day = np.datetime64(folder[len("day="):], "D")
            if lo != day or hi != day:
                seen = wrong.get(folder, (lo, hi))
                wrong[folder] = (min(seen[0], lo), max(seen[1], hi))
        if not wrong:
            return
        first = next(iter(wrong))
        listed = "; ".join(f"{folder} holds transactions of {lo}{'' if lo == hi else f' .. {hi}'}"
                           for folder, (lo, hi) in list(wrong.items())[:3])
        raise DataError(
            f"{self.root / 'transactions'}: {len(wrong)} day folder(s) hold rows that are not of their day ({listed}"
            f"{' …' if len(wrong) > 3 else ''}): a day file restored or copied into the wrong day's folder; a scan "
            f"would count its transactions on the wrong day, or twice. Fix: put the right day's file back (restore "
            f"{self.root / 'transactions' / first / 'part.parquet'} from a backup of that day), or ingest the store's "
            "input files again into a new store (flowgraph ingest INPUT --into NEW_STORE).")

    def _unified_schema(self, files: list[Path], columns: Sequence[str] | None) -> pa.Schema:
        """One schema of the day ``files`` (of only ``columns``, if given: a scan is not
        stopped by another column). Days whose files disagree on a column's type (an
        earlier version let an input column of another type in) are a DataError naming
        the column, two of the days and the fix."""
        schemas = [_read_schema(f) for f in files]
        if columns is not None:
            wanted = set(columns)
            schemas = [pa.schema([field for field in schema if field.name in wanted]) for schema in schemas]
        try:
            return pa.unify_schemas(schemas, promote_options="permissive")
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            seen: dict[str, tuple[pa.DataType, Path]] = {}
            for f, schema in zip(files, schemas):
                for field in schema:
                    first = seen.setdefault(field.name, (field.type, f))
                    if not _types_meet(first[0], field.type):
                        raise DataError(
                            f"{self.root}: its day files disagree on the type of column '{field.name}' "
                            f"({first[0]} in {first[1].parent.name}, {field.type} in {f.parent.name}), which an "
                            "earlier version of flowgraph let in from an input file. Fix: scans read only the "
                            "columns they need and are not affected; to ingest into this store again, rewrite those "
                            f"days' files with '{field.name}' of one type (e.g. with pyarrow), or ingest into a new "
                            "store.") from None
            raise

    def accounts(self) -> pa.Table | None:
        """The latest accounts snapshot (None before the first ingest)."""
        snapshots = self._snapshot_files()
        return _read_store_file(pq.read_table, snapshots[-1]) if snapshots else None

    def _snapshot_files(self) -> list[Path]:
        """The accounts snapshots, oldest first (the last is used); a DataError when the
        latest the store recorded is missing."""
        folder = self.root / "accounts"
        snapshots = sorted(folder.glob("*.parquet")) if folder.is_dir() else []
        recorded = (self._contents() or {}).get("accounts")
        if recorded is not None and not (folder / recorded).is_file():
            raise DataError(f"{folder / recorded}: the store's latest accounts snapshot is missing; a scan with an "
                            "older one would find other hits. Fix: restore it from a backup, or ingest the store's "
                            "input files again into a new store.")
        return snapshots

    def _snapshot_origin(self, snapshot: Path) -> dict:
        """Where accounts snapshot ``snapshot`` (``accounts/NNNNNN.parquet``) came from, as
        its ingest recorded it (its manifest, or its plan while it is applied): ``ingest``
        (its id), ``source`` (the accounts file, or the input the accounts were derived from)
        and ``from_file`` (False: derived from transactions, no accounts file given). An
        ingest that recorded no answer counts as given a file: its accounts are then never
        added to by derived ones."""
        folder = self.root / "ingests" / snapshot.stem
        record = {}
        for path in (folder / "manifest.json", folder / "plan.json"):
            if path.is_file():
                record = _json_object(path)
                break
        from_file = bool(record.get("accounts_given", True))
        source = record.get("accounts_source") or \
            ("the accounts given with it" if from_file else f"{record.get('source', 'an input')} (accounts derived)")
        return {"ingest": snapshot.stem, "source": source, "from_file": from_file}

    def _file_snapshot(self) -> Path | None:
        """The latest accounts snapshot made from an accounts file (None: the store never had
        one, and every account is the bank's)."""
        return next((s for s in reversed(self._snapshot_files()) if self._snapshot_origin(s)["from_file"]), None)

    def _accounts_after(self, accounts: pa.Table, given: bool) -> tuple[pa.Table | None, pa.Array]:
        """The accounts snapshot an ingest's ``accounts`` make (None: the latest stays), and
        the ids of the stored accounts whose row it changes or drops: the hits of the days
        they traded on may change (:meth:`days_trading`).

        An account an accounts file lists is the bank's; one it does not list is another
        bank's where a listed account is on its other side (:mod:`flowgraph.graph`). So
        accounts derived from transactions (``given`` False: every account its own customer)
        are stored only in a store that never had an accounts file, as ids it does not hold
        yet; into one that had, they would make every counterparty a customer. Accounts
        given replace the stored rows of their ids in a snapshot from a file (None when all
        are stored unchanged: :func:`_changed_account_ids`); over a derived snapshot they
        replace the derived rows whole, on the latest snapshot from a file if there is one.
        """
        snapshots = self._snapshot_files()
        empty = pa.array([], pa.string())
        if not snapshots:
            return accounts, empty
        latest = _read_store_file(pq.read_table, snapshots[-1])
        latest_ids = latest.column("account_id").cast(pa.string())
        ids = accounts.column("account_id").cast(pa.string())
        if not given:
            unknown = accounts.filter(pc.invert(pc.is_in(ids, value_set=latest_ids)))
            if self._file_snapshot() is not None or not unknown.num_rows:
                return None, empty
            return pa.concat_tables([latest, unknown], promote_options="default"), empty
        base = self._file_snapshot()
        if base == snapshots[-1]:
            changed = _changed_account_ids(latest, accounts)
            if pc.all(pc.is_in(ids, value_set=latest_ids)).as_py() and not len(changed):
                return None, empty
        if base is not None:
            kept = _read_store_file(pq.read_table, base) if base != snapshots[-1] else latest
            kept = kept.filter(pc.invert(pc.is_in(kept.column("account_id").cast(pa.string()), value_set=ids)))
            accounts = pa.concat_tables([kept, accounts], promote_options="default")
        return accounts, _changed_or_dropped_ids(latest, accounts)

    def listed_after_trading(self, given: pa.Table) -> pa.Array:
        """Ids of the ``given`` accounts that the latest snapshot from an accounts file does
        not list and that a stored transaction names (:meth:`accounts_seen`): they traded
        as another bank's. None without such a snapshot (derived accounts hold every
        account that traded) or when every given account is listed (nothing read)."""
        base = self._file_snapshot()
        if base is None:
            return pa.array([], pa.string())
        ids = given.column("account_id").cast(pa.string())
        stored = _read_store_file(pq.read_table, base).column("account_id").cast(pa.string())
        new = pc.unique(ids.filter(pc.invert(pc.is_in(ids, value_set=stored))))
        if not len(new):
            return new
        return new.filter(pc.is_in(new, value_set=self.accounts_seen()))

    def accounts_seen(self) -> pa.Array:
        """Every account id on a side of a stored transaction (distinct; a transaction
        since replaced may leave its ids in), kept in ``accounts_seen.parquet`` through the
        ingest its metadata names and brought up to date from the days later ingests
        touched (their manifests' ``days_touched``): a daily ingest reads its own days, not
        the history. A store without the file (made before it), or with a damaged one (it
        holds nothing the days do not), reads every day once (21 s for the 883 days of the
        1e8 store).
        Written under the writer's lock (an ingest's plan)."""
        path = self.root / SEEN_FILE
        manifests = list(self._manifests())
        latest = manifests[-1][0] if manifests else ""
        try:
            table = _read_store_file(pq.read_table, path)
            through = (table.schema.metadata or {}).get(b"through_ingest", b"").decode()
            ids = table.column("account_id").cast(pa.string()).combine_chunks()
        except (FileNotFoundError, DataError, KeyError):  # made again from the days
            through, ids = None, pa.array([], pa.string())
        if through == latest:
            return ids
        stored = self.days()
        days = stored if through is None else sorted(
            {d for ingest_id, m in manifests if ingest_id > through for d in m.get("days_touched") or ()}
            & set(stored))

        named = lambda day: pc.unique(pa.concat_arrays(self._day_sides(day)))  # noqa: E731
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
            ids = pc.unique(pa.concat_arrays([ids, *pool.map(named, days)]))
        ids = pc.drop_null(ids)
        table = pa.table({"account_id": ids}).replace_schema_metadata({"through_ingest": latest})
        _write_table(table, path)
        return ids

    def _day_sides(self, day: str) -> list[pa.Array]:
        """The two account columns (``src_account``, ``dst_account``) of a stored day's file,
        as string arrays: all a day is read for to find the accounts it names."""
        table = _read_store_file(lambda p: pq.read_table(p, columns=["src_account", "dst_account"]),
                                 self._day_file(day))
        return [table.column(c).cast(pa.string()).combine_chunks() for c in ("src_account", "dst_account")]

    def days_trading(self, accounts: pa.Array) -> list[str]:
        """The stored calendar days holding a transaction from or to one of ``accounts``
        (ids): each day file's two account columns read, on a thread each (about 8 s for
        the 883 days of the 1e8 store); none read when no account is given."""
        if not len(accounts):
            return []
        accounts = accounts.cast(pa.string())

        def trades(day: str) -> bool:
            return any(pc.any(pc.is_in(side, value_set=accounts)).as_py() for side in self._day_sides(day))

        days = self.days()
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
            return [d for d, yes in zip(days, pool.map(trades, days)) if yes]

    def rescan_days(self) -> list[str]:
        """Calendar days whose stored data changed after they were first stored."""
        path = self.root / "rescan.json"
        return json.loads(path.read_text())["days"] if path.is_file() else []

    def day_changes(self) -> dict[str, str]:
        """Calendar days whose stored data changed after they were first stored
        (:meth:`rescan_days`), each with the id of the latest ingest that changed it."""
        changed: dict[str, str] = {}
        for ingest_id, manifest in self._manifests():
            changed.update(dict.fromkeys(manifest.get("rescan_days") or (), ingest_id))
        return changed

    def latest_ingest(self) -> str | None:
        """The id of the latest finished ingest (ids grow: ``000001``, ``000002``, ...)."""
        folder = self.root / "ingests"
        done = sorted(p.parent.name for p in folder.glob("*/manifest.json")) if folder.is_dir() else []
        return done[-1] if done else None

    def _manifests(self) -> Iterator[tuple[str, dict]]:
        """The finished ingests' ids and manifests, in ingest order."""
        folder = self.root / "ingests"
        for path in sorted(folder.glob("*/manifest.json")) if folder.is_dir() else []:
            yield path.parent.name, _json_object(path)

    def ingest_rates(self) -> list[dict]:
        """The exchange rates the stored CNY and USD amounts were converted with: one entry
        per distinct rate table its finished ingests recorded (``RateTable.describe()``),
        with the ``ingests`` that used it, in ingest order. Ingests made before flowgraph
        recorded their rates share an entry whose ``source`` is None."""
        used: dict[str, dict] = {}
        for ingest_id, manifest in self._manifests():
            rates = manifest.get("rates")
            rates = rates if isinstance(rates, dict) else {"source": None, "note": "not recorded by this ingest"}
            entry = used.setdefault(json.dumps(rates, sort_keys=True), {**rates, "ingests": []})
            entry["ingests"].append(ingest_id)
        return list(used.values())

    def ingest_timezones(self) -> dict[str, list[str]]:
        """The time zones the finished ingests converted times with a UTC offset into
        (their manifests' ``bank_timezone``), each with its ingests, in ingest order. An
        ingest made before zones were recorded converted into Asia/Shanghai
        (:data:`~flowgraph.config.BANK_TIMEZONE`, then the only one); an append of
        simulated data converts nothing and is left out."""
        used: dict[str, list[str]] = {}
        for ingest_id, manifest in self._manifests():
            legacy = None if manifest.get("mode") == "append" else BANK_TIMEZONE
            zone = manifest.get("bank_timezone", legacy)
            if zone is not None:
                used.setdefault(str(zone), []).append(ingest_id)
        return used

    def check_bank_timezone(self, bank_timezone: str, whose: str = "the scan's rule set") -> None:
        """A ConfigError when an ingest converted this store's times into another zone
        than ``bank_timezone`` (``whose`` zone, for the message): the store keeps the local
        times, not the offsets, so its rows cannot be dated in another zone, and a day
        would mix two zones' days (a deposit at 20:00 in New York is the next day in
        Beijing). The fix: ingest the input again into a new store with the configuration
        whose zone is wanted, or scan under a rule set (or ``[calendar] bank_timezone``)
        with the store's zone."""
        other = {zone: ids for zone, ids in self.ingest_timezones().items() if zone != bank_timezone}
        if not other:
            return
        stored = ", ".join(f"{zone} (ingest{'s' if len(ids) > 1 else ''} {', '.join(ids)})"
                           for zone, ids in other.items())
        raise ConfigError(
            f"{self.root}: the store's times were converted into {stored} when they were ingested, but {whose} "
            f"dates transactions in {bank_timezone}; the store keeps local times, not the UTC offsets, so it "
            f"cannot re-date them, and a day would mix two time zones' days. Fix: ingest the input again into a "
            f"new store with this configuration (flowgraph ingest FILE --into NEW_STORE --config ...), or "
            f"choose a rule set whose bank_timezone is {next(iter(other))} (or set bank_timezone = "
            f"\"{next(iter(other))}\" under [calendar] in the configuration).")

    def dataset(self, first_day: str, last_day: str, columns: Sequence[str] | None = None,
                dictionary_columns: Sequence[str] = ()) -> Dataset:
        """Calendar days ``first_day .. last_day`` (only ``columns``, as :meth:`read_days`;
        ``dictionary_columns`` as pandas categoricals; each text column in one Arrow array,
        :func:`~flowgraph._arrow.text_in_one_chunk`) and the latest accounts as a
        :class:`~flowgraph.io.Dataset` (already validated at ingest: no rejects)."""
        table = self.read_days(first_day, last_day, columns, dictionary_columns)
        table = text_in_one_chunk(table, bulk_memory_pool()).to_pandas(memory_pool=bulk_memory_pool())
        release_bulk_memory()  # what the read's buffers held, back to the system
        accounts = self.accounts()
        accounts = pd.DataFrame() if accounts is None else accounts.to_pandas()
        source = f"{self.root} (days {first_day} .. {last_day})"
        return Dataset(Validated(table, pd.DataFrame(), ValidationReport(source, len(table), len(table), 0)),
                       Validated(accounts, pd.DataFrame(),
                                 ValidationReport(f"{self.root} (accounts)", len(accounts), len(accounts), 0)))

    # -- ingest --------------------------------------------------------------------------
    def ingest(self, dataset: Dataset, source: str, on_day_written: Callable[[str], None] | None = None,
               rates: dict | None = None, bank_timezone: str = BANK_TIMEZONE) -> IngestSummary:
        """Merge a validated dataset into the store (see the module docstring).

        Parameters
        ----------
        dataset : Dataset
            What :func:`flowgraph.io.load_dataset` returned for the input.
        source : str
            The input's path, for the manifest.
        on_day_written : callable, optional
            Called with each day after its file is replaced (progress; the tests stop an
            ingest there).
        rates : dict, optional
            What converted the input's amounts into CNY and USD (``RateTable.describe()``),
            for the manifest (``rates``; :meth:`ingest_rates`).
        bank_timezone : str
            The time zone the input's times with a UTC offset were converted into
            (``ScanConfig.timezone()``), for the manifest; refused when the store's
            earlier ingests converted into another (:meth:`check_bank_timezone`).

        Returns
        -------
        IngestSummary
            Its ``folder`` holds ``rejects.csv`` and ``validation.json`` (written before
            any day, so a data error can name them) and ``manifest.json``.

        See Also
        --------
        flowgraph.io.stream.ingest_file : the same for a file too large to hold, read and
            planned in batches.
        """
        from .io.load import write_rejects

        plan = self.start_ingest(source, on_day_written, rates, bank_timezone)
        try:
            write_rejects(dataset, plan.folder)
            plan.add(dataset.transactions.table)
        except BaseException:
            plan.abandon()  # nothing of this ingest reached the store
            raise
        return plan.finish(dataset.transactions.report, dataset.accounts, on_day_written)

    def start_ingest(self, source: str, on_day_written: Callable[[str], None] | None = None,
                     rates: dict | None = None, bank_timezone: str = BANK_TIMEZONE) -> "IngestPlan":
        """A new ingest's folder and its empty plan, once the store is whole: an unfinished
        append is refused, plans without a manifest are completed (their ``on_day_written``
        calls included), and the work files of ingests that stopped before their plan was
        written are removed (nothing of them reached the store). ``rates`` and
        ``bank_timezone`` as for :meth:`ingest`. The plan keeps the summaries of the
        ingests it completed (``completed``), for its own summary: their days to re-scan
        are the user's to re-scan as well.

        Raises
        ------
        ConfigError
            The store's ingests converted times into another zone than ``bank_timezone``.
        DataError
            An append did not finish.
        """
        lock = self._writing()
        try:
            self.days(), self.accounts(), self._check_index()  # a missing or damaged file is said first
            unfinished = self._unfinished_appends()
            if unfinished:
                marker = json.loads((unfinished[0] / APPEND_MARKER).read_text())
                raise DataError(f"{self.root}: append {unfinished[0].name} ({marker['source']}) did not finish: its "
                                "days are not in the index yet, so an ingest could not find them. Fix: run that "
                                "command again to its end, or ingest into a new store.")
            completed = [self._apply(pending, on_day_written) for pending in self._pending()]
            for stopped in self._stopped():
                _abandon(stopped)
            self.check_bank_timezone(bank_timezone, "this ingest's configuration")
            return IngestPlan(self, _mkdir(self.root / "ingests" / self._next_ingest_id()), source, lock, rates,
                              bank_timezone, completed)
        except BaseException:
            lock.release()
            raise

    def check_whole(self) -> None:
        """A DataError when an ingest or append stopped partway (killed, or its disk
        refused a file): some of its days are written and others not, so a scan would read
        part of it. The next ingest completes a stopped ingest; an append is finished by
        running it again."""
        for pending in self._pending():
            source = json.loads((pending / "plan.json").read_text()).get("source", "?")
            raise DataError(f"{self.root}: ingest {pending.name} ({source}) is not complete (it stopped partway, or "
                            "is running now): some of its days are written and others not, so a scan would read part "
                            "of it. Fix: let it finish, or run that ingest again (any ingest into this store first "
                            "completes a stopped one), then scan.")
        for stopped in self._unfinished_appends():
            source = json.loads((stopped / APPEND_MARKER).read_text()).get("source", "?")
            raise DataError(f"{self.root}: append {stopped.name} ({source}) did not finish, so a scan would read part "
                            "of it. Fix: run that command again to its end, then scan.")

    def _writing(self):
        """The store's writer lock, held (a file lock beside the data, released when the
        process ends): ingests and appends into one store take turns; one that finds the
        store taken says so and waits (two at once took the same ingest number and failed
        reading each other's half-written files)."""
        from filelock import FileLock, Timeout

        lock = FileLock(self.root / WRITER_LOCK, mode=0o600)
        try:
            lock.acquire(timeout=0)
        except Timeout:
            print(f"{self.root}: another ingest is writing to this store; waiting for it to finish", file=sys.stderr)
            lock.acquire()
        return lock

    def append_new_days(self, days: Iterable[Validated], accounts: Validated, source: str,
                        on_day_written: Callable[[str], None] | None = None,
                        rates: dict | None = None) -> IngestSummary:
        """Write transactions made fresh, one calendar day at a time, without the per-id
        lookup of :meth:`ingest` (see the module docstring); memory holds one day.

        Parameters
        ----------
        days : iterable of Validated
            Validated transactions, each table one calendar day, days ascending; the caller
            guarantees that no txn_id occurs twice in the whole stream.
        accounts : Validated
            The accounts, stored as the snapshot of this append.
        source : str
            What made the data, for the manifest; running an unfinished append again with
            the same ``source`` finishes it.
        on_day_written : callable, optional
            Called with each day after its file is written.
        rates : dict, optional
            As for :meth:`ingest`.

        Returns
        -------
        IngestSummary
        """
        with self._writing():
            return self._append_new_days(days, accounts, source, on_day_written, rates)

    def _append_new_days(self, days: Iterable[Validated], accounts: Validated, source: str,
                         on_day_written: Callable[[str], None] | None, rates: dict | None) -> IngestSummary:
        folder = self.check_append(source) or _mkdir(self.root / "ingests" / self._next_ingest_id())
        started_at = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        _write_json({"source": source, "started_at": started_at}, folder / APPEND_MARKER)
        index = _IndexStreams(self.root / "index")
        written, rejects, n_read, n_accepted = [], [], 0, 0
        try:
            for validated in days:
                table = validated.table
                n_read += validated.report.n_input
                n_accepted += len(table)
                if len(validated.rejects):
                    rejects.append(validated.rejects)
                if not len(table):
                    continue
                day = _calendar_day(table["timestamp"])
                if (day != day[0]).any() or (written and day[0] <= written[-1]):
                    raise ValueError(f"append_new_days takes one calendar day per table, ascending: got "
                                     f"{day.min()} .. {day.max()} after {written[-1] if written else None}")
                rows = pa.Table.from_pandas(table, preserve_index=False)
                _write_table(rows, self._day_file(str(day[0])))
                index.add(rows.column("txn_id").cast(pa.string()), str(day[0]))
                written.append(str(day[0]))
                if on_day_written is not None:
                    on_day_written(str(day[0]))
            index.close()
        except BaseException:
            index.abort()
            raise
        snapshot = self._update_accounts(pa.Table.from_pandas(accounts.table, preserve_index=False), folder.name, True)
        self._record_contents(added=written, accounts=snapshot)
        rejected = pd.concat([r.assign(table="transactions") for r in rejects] or [pd.DataFrame({"table": []})],
                             ignore_index=True)
        rejected.insert(0, "table", rejected.pop("table"))
        write_atomically(folder / "rejects.csv", lambda p: spreadsheet_safe(rejected).to_csv(p, index=False))
        _write_json({"transactions": {"source": source, "n_input": n_read, "n_accepted": n_accepted,
                                      "n_rejected": n_read - n_accepted},
                     "accounts": accounts.report.to_dict()}, folder / "validation.json")
        _write_json({"days": self.rescan_days()}, self.root / "rescan.json")
        manifest = {"ingest_id": folder.name, "source": source, "mode": "append", "started_at": started_at,
                    "rows_read": n_read, "rows_accepted": n_accepted, "rows_rejected": n_read - n_accepted,
                    "rows_new": n_accepted, "rows_replaced": 0, "rows_unchanged": 0, "days_touched": written,
                    "rescan_days": [], "accounts_given": True, "rates": rates,
                    # simulated times carry no UTC offset: nothing converted, any zone fits
                    "bank_timezone": None,
                    "finished_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}
        _write_json(manifest, folder / "manifest.json")
        return IngestSummary(folder.name, manifest, folder)

    def _unfinished_appends(self) -> list[Path]:
        folder = self.root / "ingests"
        return sorted(p for p in folder.iterdir() if (p / APPEND_MARKER).is_file()
                      and not (p / "manifest.json").is_file()) if folder.is_dir() else []

    def check_append(self, source: str) -> Path | None:
        """Whether :meth:`append_new_days` of ``source`` may write here: the folder of the
        unfinished append of ``source`` it would finish, None for a store without
        transactions; a ConfigError when the store holds anything else. Writes nothing."""
        unfinished = self._unfinished_appends()
        ingests = list((self.root / "ingests").iterdir()) if (self.root / "ingests").is_dir() else []
        if len(unfinished) == 1 and len(ingests) == 1 and \
                json.loads((unfinished[0] / APPEND_MARKER).read_text())["source"] == source:
            return unfinished[0]
        if ingests or self.days():
            raise ConfigError(f"--into {self.root}: the store holds transactions already; fresh data is "
                              "appended only to a new store (its ids would collide with the stored ones). "
                              "Fix: name a new or empty folder.")
        return None

    def _next_ingest_id(self) -> str:
        folder = self.root / "ingests"
        numbers = [int(p.name) for p in folder.iterdir() if p.name.isdigit()] if folder.is_dir() else []
        return f"{max(numbers, default=0) + 1:06d}"

    def _stopped(self) -> list[Path]:
        """Ingest folders whose ingest stopped before its plan was written."""
        folder = self.root / "ingests"
        return sorted(p for p in folder.iterdir() if p.is_dir() and not (p / "plan.json").is_file()
                      and not (p / "manifest.json").is_file() and not (p / APPEND_MARKER).is_file()
                      and ((p / WORK).is_dir() or not any(p.iterdir()))) if folder.is_dir() else []

    def _pending(self) -> list[Path]:
        folder = self.root / "ingests"
        return sorted(p for p in folder.iterdir() if (p / "plan.json").is_file()
                      and not (p / "manifest.json").is_file()) if folder.is_dir() else []

    def _lookup(self, ids: pa.ChunkedArray, bucket: np.ndarray | None = None) -> np.ndarray:
        """The stored day of each id (None where absent), reading only the buckets they fall
        in, their files newest first, and of each file only the row groups whose range of
        ids meets the span of those looked up (:func:`_index_rows`): a day of new ids that
        grow with time reads at most one group per file. The entries read are matched
        against the ids looked up (hashed once per batch), not the other way round: a daily
        ingest into the 1e8 store hashed the whole index at every batch (174 s for 2 M
        rows, 12 s into an empty store). ``bucket``: each id's bucket, when the caller has
        it (:func:`_bucket`)."""
        found = np.full(len(ids), None, object)
        bucket = _bucket(ids) if bucket is None else bucket
        flat = pa.chunked_array([ids]).combine_chunks()
        for b in np.unique(bucket):
            mine = np.flatnonzero(bucket == b)
            span = _id_span(flat.take(mine))
            for path in self._index_files(int(b)):  # newest first: an id's newest entry is its day
                if not len(mine):
                    break
                index = _index_rows(path, span)
                if not index.num_rows:
                    continue
                wanted = flat.take(mine).cast(index.schema.field("txn_id").type)
                held = index.filter(pc.is_in(index.column("txn_id"), value_set=wanted))
                position = pc.index_in(wanted, value_set=held.column("txn_id")).to_numpy(zero_copy_only=False)
                hit = ~pd.isna(position)
                found[mine[hit]] = held.column("day").to_numpy()[position[hit].astype(np.int64)]
                mine = mine[~hit]
        return found

    def _stored_day(self, day: str) -> pa.Table:
        """Every row of a day the index places transactions on; a DataError when its file is gone."""
        if not self._day_file(day).is_file():
            raise DataError(f"{self.root}: its index places transactions on {day}, but that day's file "
                            f"{self._day_file(day)} is missing. Fix: restore it from a backup, or ingest the store's "
                            "input files again into a new store.")
        return self.read_days(day, day)

    def column_types(self) -> dict[str, pa.DataType]:
        """Each stored column's type as the day files hold it (the earliest day's, should
        files of a store written by an earlier version disagree)."""
        types: dict[str, pa.DataType] = {}
        for day in self.days():
            for field in _read_schema(self._day_file(day)):
                types.setdefault(field.name, field.type)
        return types

    def _plan(self, table: pd.DataFrame, types: dict[str, pa.DataType] | None = None, source: str = "INPUT"):
        """Rows to write (with ``day``) and their index buckets, ids to remove per old day,
        the counts, the old versions replaced and the days to re-scan; ``types``: the columns
        the store holds (:meth:`column_types`), whose type the rows are given (:func:`_conformed`)."""
        arrow = _conformed(pa.Table.from_pandas(table, preserve_index=False), types or {}, source, self.root)
        day = _calendar_day(table["timestamp"])
        bucket = _bucket(arrow.column("txn_id"))  # hashed once: for the lookup and the rows' index entries
        old_day = self._lookup(arrow.column("txn_id"), bucket)
        known = np.flatnonzero(pd.notna(old_day))
        stored = {d: self._stored_day(d) for d in sorted(set(old_day[known]))}
        same = np.zeros(len(table), bool)
        old_versions = []
        for d, old in stored.items():
            rows = known[old_day[known] == d]
            old_ids = old.column("txn_id")
            position = pc.index_in(arrow.column("txn_id").take(rows), value_set=old_ids).to_numpy(
                zero_copy_only=False)
            present = ~pd.isna(position)
            rows, position = rows[present], position[present].astype(np.int64)
            old_rows = old.take(position)
            equal = np.ones(len(rows), bool)
            for c in CONTENT_COLUMNS:
                new_values = arrow.column(c).take(rows) if c in arrow.column_names else None
                old_values = old_rows.column(c) if c in old_rows.column_names else None
                equal &= _same_values(new_values, old_values, len(rows))
            same[rows] = equal & (day[rows] == d)
            changed = ~equal | (day[rows] != d)
            old_versions.append(old_rows.filter(pa.array(changed)).append_column(
                "day", pa.array(np.full(int(changed.sum()), d), pa.string())))
        replaced = pd.notna(old_day) & ~same
        write = ~same
        remove: dict[str, list[str]] = {}
        moved = np.flatnonzero(replaced & (old_day != day))
        moved_ids = arrow.column("txn_id").take(moved).cast(pa.string()).to_pylist()
        for old, txn_id in zip(old_day[moved].tolist(), moved_ids):
            remove.setdefault(str(old), []).append(txn_id)
        existing = set(self.days())
        late = {d for d in day[write & ~replaced] if d in existing}
        rescan = sorted(set(day[replaced]) | set(old_day[replaced]) | late)
        rows = arrow.filter(pa.array(write)).append_column("day", pa.array(day[write], pa.string()))
        counts = {"rows_new": int((write & ~replaced).sum()), "rows_replaced": int(replaced.sum()),
                  "rows_unchanged": int(same.sum())}
        superseded = pa.concat_tables(old_versions, promote_options="default") if old_versions else pa.table({})
        return rows, bucket[write], remove, counts, superseded, rescan

    def _apply(self, folder: Path, on_day_written) -> IngestSummary:
        """Carry out the plan in ``folder`` (each step idempotent), then write its manifest.
        Memory holds one day (its stored rows and the plan's rows for it), then one index
        bucket."""
        manifest = json.loads((folder / "plan.json").read_text())
        work = folder / WORK
        if (folder / "rows.parquet").is_file():  # a plan of a version that wrote its rows in one file
            IngestPlan(self, folder, manifest["source"])._add_rows(pq.read_table(folder / "rows.parquet"))
            (folder / "rows.parquet").unlink()
        remove = manifest.pop("remove")
        day_parts = _parts_by_key(work / "rows", "day")
        written: list[str] = []
        for d in sorted(set(day_parts) | set(remove)):
            parts = day_parts.get(d, [])
            mine = pa.concat_tables([pq.read_table(p) for p in parts], promote_options="permissive") \
                if parts else pa.table({})
            gone = pa.chunked_array([pa.array(remove.get(d, []), pa.string())]
                                    + ([mine.column("txn_id").cast(pa.string())] if mine.num_columns else []),
                                    pa.string())
            old = self.read_days(d, d)
            kept = old.filter(pc.invert(pc.is_in(old.column("txn_id").cast(pa.string()), value_set=gone))) \
                if old.num_columns else old
            merged = pa.concat_tables([t for t in (kept, mine) if t.num_columns and len(t)],
                                      promote_options="default") if len(kept) or len(mine) else None
            path = self._day_file(d)
            if merged is None:
                self._record_contents(removed=[d])
                path.unlink(missing_ok=True)
            else:
                _write_table(merged, path)
                written.append(d)
            if on_day_written is not None:
                on_day_written(d)
        # each bucket on its own thread (Arrow reads, filters and writes without the GIL)
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
            merged_away = sum(pool.map(lambda item: self._update_index_bucket(int(item[0]), pa.concat_tables(
                [pq.read_table(p) for p in item[1]]), folder.name),
                sorted(_parts_by_key(work / "index", "bucket").items())), [])
        snapshot = None
        if (folder / "accounts.parquet").is_file():
            snapshot = self._update_accounts(pq.read_table(folder / "accounts.parquet"), folder.name,
                                             manifest["accounts_given"])
        self._record_contents(added=written, accounts=snapshot, index_gone=set(merged_away))
        snapshots = self._snapshot_files()
        # the snapshot scans use now; derived accounts are not stored once a file gave the accounts
        manifest["accounts_snapshot"] = self._snapshot_origin(snapshots[-1]) if snapshots else None
        manifest["accounts_kept"] = not manifest["accounts_given"] and self._file_snapshot() is not None
        for path in merged_away:  # their entries are in the files they were merged into
            path.unlink(missing_ok=True)
        rescan = sorted(set(self.rescan_days()) | set(manifest["rescan_days"]))
        _write_json({"days": rescan}, self.root / "rescan.json")
        manifest["finished_at"] = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        _write_json(manifest, folder / "manifest.json")
        shutil.rmtree(work, ignore_errors=True)  # the rows are in their days now
        return IngestSummary(folder.name, manifest, folder)

    def _update_index_bucket(self, bucket: int, entries: pa.Table, ingest_id: str) -> list[Path]:
        """Point the ids of ``entries`` (``txn_id``, ``day``; all in ``bucket``) at their
        (new) days: the ingest's entries become a part of the bucket (``index/parts/``),
        which a lookup reads before the older ones (:meth:`_index_files`); then the two
        newest files of the bucket are merged while the older holds no more entries than
        the newer (a binary counter: an entry is rewritten about log2(history / day) times,
        where rewriting the whole bucket at every ingest made a daily ingest grow with the
        history). The files merged away, to delete once the store's contents no longer
        name them."""
        entries = pa.table({"txn_id": entries.column("txn_id").cast(pa.string()),
                            "day": entries.column("day").cast(pa.string())})
        _write_index(entries, self.root / "index" / INDEX_PARTS / f"bucket={bucket:02d}" / f"{ingest_id}.parquet")
        files = self._index_files(bucket)[::-1]  # oldest first: the base, then the parts
        rows = [_read_store_file(_index_footer, f)[0].num_rows for f in files]
        gone = []
        while len(files) >= 2 and rows[-2] <= rows[-1]:
            newer = _read_store_file(pq.read_table, files[-1])
            older = _read_store_file(pq.read_table, files[-2])
            older = older.filter(pc.invert(pc.is_in(older.column("txn_id"), value_set=newer.column("txn_id"))))
            _write_index(pa.concat_tables([older, newer.cast(older.schema)]), files[-2])
            gone.append(files.pop())
            rows[-2:] = [len(older) + len(newer)]
        return gone

    def _index_files(self, bucket: int) -> list[Path]:
        """Bucket ``bucket``'s index files, newest first: its parts (by ingest), then its
        base file (a new store's, :class:`_IndexStreams`). An id's newest entry is its day."""
        parts = sorted((self.root / "index" / INDEX_PARTS / f"bucket={bucket:02d}").glob("*.parquet"), reverse=True)
        base = self.root / "index" / f"bucket={bucket:02d}.parquet"
        return parts + ([base] if base.is_file() else [])

    def index_entries(self) -> pa.Table:
        """Every id's day (``txn_id, day``, by id): the newest entry of each id in its bucket."""
        tables = []
        for bucket in range(N_BUCKETS):
            seen = pa.array([], pa.string())
            for path in self._index_files(bucket):
                table = _read_store_file(pq.read_table, path).select(["txn_id", "day"])
                table = table.cast(pa.schema([("txn_id", pa.string()), ("day", pa.string())]))
                tables.append(table.filter(pc.invert(pc.is_in(table.column("txn_id"), value_set=seen))))
                seen = pa.concat_arrays([seen, table.column("txn_id").combine_chunks()])
        if not tables:
            return pa.table({"txn_id": pa.array([], pa.string()), "day": pa.array([], pa.string())})
        return pa.concat_tables(tables).sort_by("txn_id")

    def _update_accounts(self, accounts: pa.Table, ingest_id: str, given: bool) -> str | None:
        """A new snapshot of the store's accounts with an ingest's (:meth:`_accounts_after`).
        Its file's name, or None when the latest stays (a daily ingest of known accounts: a
        snapshot per ingest would copy every account each day; derived accounts into a
        store whose accounts came from a file)."""
        snapshot, _ = self._accounts_after(accounts, given)
        if snapshot is None:
            return None
        return _write_table(snapshot, self.root / "accounts" / f"{ingest_id}.parquet").name


def _changed_or_dropped_ids(stored: pa.Table, snapshot: pa.Table) -> pa.Array:
    """Ids of the ``stored`` accounts whose row differs in the new ``snapshot``
    (:func:`_changed_account_ids`) or that it no longer lists."""
    stored_ids = stored.column("account_id").cast(pa.string())
    dropped = stored_ids.filter(pc.invert(pc.is_in(stored_ids, value_set=snapshot.column("account_id").cast(
        pa.string()))))
    changed = pa.chunked_array([_changed_account_ids(stored, snapshot)], pa.string())  # an Array or a ChunkedArray
    return pa.chunked_array([*changed.chunks, *dropped.chunks], pa.string()).combine_chunks()


def _changed_account_ids(stored: pa.Table, given: pa.Table) -> pa.Array:
    """Ids of the ``given`` accounts whose row in ``stored`` differs from the given one in
    any column (a column only one of them has counts as missing values; missing and empty
    text are the same: a CSV writes a missing value as empty). An account ``stored`` does
    not hold has no past to change."""
    ids = given.column("account_id").cast(pa.string())
    old = stored.filter(pc.is_in(stored.column("account_id").cast(pa.string()), value_set=ids)).to_pandas()
    old = old.set_index("account_id")
    new = given.to_pandas().set_index("account_id").reindex(old.index)
    differs = np.zeros(len(old), bool)
    for col in set(old.columns) | set(new.columns):
        a = old[col] if col in old.columns else pd.Series(None, old.index, dtype=object)
        b = new[col] if col in new.columns else pd.Series(None, old.index, dtype=object)
        a, b = (v.astype(object).where(v.notna() & (v.astype(object) != ""), None) for v in (a, b))
        both_missing = (a.isna() & b.isna()).to_numpy(dtype=bool)
        differs |= ~both_missing & (a.to_numpy() != b.to_numpy())
    return pa.array(old.index[differs].astype(str), pa.string())


class IngestPlan:
    """The plan of one ingest, built batch by batch (:meth:`TransactionStore.start_ingest`).

    Each :meth:`add` plans a batch of accepted rows against the store as it was when the
    ingest started (nothing is written to the store before :meth:`finish`): the rows to
    write go to ``ingests/NNNNNN/work/rows/day=D/BBBBBB.parquet`` and their index entries
    to ``work/index/bucket=NN/BBBBBB.parquet``, the stored versions they replace to
    ``work/superseded/``. The batches' ids must be unique across batches (validation of
    the whole input makes them so), so planning them one by one gives the plan of the
    whole input. :meth:`finish` writes ``plan.json`` and applies it: a crash before that
    leaves the store as it was (the next ingest removes the work files), a crash after it
    is completed by the next ingest.
    """

    def __init__(self, store: TransactionStore, folder: Path, source: str, lock=None, rates: dict | None = None,
                 bank_timezone: str = BANK_TIMEZONE, completed: Sequence[IngestSummary] = ()):
        self.store, self.folder, self.source = store, folder, source
        #: the earlier ingests, stopped partway, that the store completed before this one
        self.completed = list(completed)
        #: what converted the ingest's amounts into CNY and USD, for its manifest
        self.rates = rates
        #: the time zone times with a UTC offset were converted into, for its manifest
        self.bank_timezone = bank_timezone
        #: the store's writer lock (:meth:`TransactionStore._writing`), released by
        #: :meth:`finish` and :meth:`abandon`
        self.lock = lock
        self.started_at = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        self.clear()

    def clear(self) -> None:
        """Forget every batch planned so far (their work files included)."""
        shutil.rmtree(self.folder / WORK, ignore_errors=True)
        self.n_batches = 0
        self.counts = {"rows_new": 0, "rows_replaced": 0, "rows_unchanged": 0}
        self.remove: dict[str, list[str]] = {}
        self.rescan: set[str] = set()
        self.days: set[str] = set()
        #: each column's type in the store and this ingest's batches (read at the first batch)
        self.types: dict[str, pa.DataType] | None = None

    def abandon(self) -> None:
        """Remove what this ingest wrote before its plan: its work files, and its folder when
        no rejects were written to it (as when reading the input failed)."""
        try:
            _abandon(self.folder)
        finally:
            self._release()

    def _release(self) -> None:
        if self.lock is not None:
            self.lock.release()
            self.lock = None

    def add(self, table: pd.DataFrame) -> None:
        """Plan a batch of validated transactions (a :class:`~flowgraph.schema.Validated`
        table), each column the store or an earlier batch holds already in its type."""
        if self.types is None:
            self.types = self.store.column_types()
        rows, bucket, remove, counts, superseded, rescan = self.store._plan(table, self.types, self.source)
        for field in rows.schema:
            if not pa.types.is_null(field.type):
                self.types.setdefault(field.name, field.type)
        batch = self._add_rows(rows, bucket)
        if len(superseded):
            _write_table(superseded, self.folder / WORK / "superseded" / f"{batch}.parquet")
        for key, n in counts.items():
            self.counts[key] += n
        for day, ids in remove.items():
            self.remove.setdefault(day, []).extend(ids)
        self.rescan |= set(rescan)

    def _add_rows(self, rows: pa.Table, bucket: np.ndarray | None = None) -> str:
        """Write rows to store (with ``day``) as this batch's parts (``bucket``: each row's
        index bucket, if known); the batch's number."""
        batch = f"{self.n_batches:06d}"
        self.n_batches += 1
        if not len(rows):
            return batch
        work = self.folder / WORK
        day = pc.dictionary_encode(rows.column("day")).combine_chunks()
        codes = day.indices.to_numpy(zero_copy_only=False)
        data = rows.drop_columns(["day"])
        for code, name in enumerate(day.dictionary.to_pylist()):
            self.days.add(name)
            _write_table(data.filter(pa.array(codes == code)), work / "rows" / f"day={name}" / f"{batch}.parquet")
        ids = rows.column("txn_id").cast(pa.string())
        bucket = _bucket(ids) if bucket is None else bucket
        entries = pa.table({"txn_id": ids, "day": rows.column("day").cast(pa.string())})
        for b in np.unique(bucket):
            _write_table(entries.filter(pa.array(bucket == b)), work / "index" / f"bucket={b:02d}" / f"{batch}.parquet")
        return batch

    def finish(self, report: ValidationReport, accounts: Validated,
               on_day_written: Callable[[str], None] | None = None) -> IngestSummary:
        """Write the plan (``plan.json``, the superseded versions, the accounts) and apply it.

        Parameters
        ----------
        report : ValidationReport
            The transactions' validation report (of the whole input).
        accounts : Validated
            The accounts given with the input or derived from its transactions.
        on_day_written : callable, optional
            Called with each day after its file is replaced.
        """
        ingest_id = self.folder.name
        parts = sorted((self.folder / WORK / "superseded").glob("*.parquet"))
        if parts:
            schema = pa.unify_schemas([pq.read_schema(p) for p in parts], promote_options="permissive")
            path = _mkdir(self.store.root / "superseded") / f"{ingest_id}.parquet"

            def write(tmp: Path) -> None:
                with pq.ParquetWriter(tmp, schema) as writer:
                    for part in parts:  # one batch's old versions at a time
                        table = pa.concat_tables([schema.empty_table(), pq.read_table(part)],
                                                 promote_options="permissive")
                        writer.write_table(table.select(schema.names).cast(schema))
            write_atomically(path, write)
        given = not accounts.report.source.endswith("(accounts derived)")
        snapshots = self.store._snapshot_files()
        latest = self.store._snapshot_origin(snapshots[-1]) if snapshots else None
        # a file's accounts over derived ones replace them: say which snapshot they replace
        replaced = latest["ingest"] if given and latest and not latest["from_file"] else None
        changed = listed = pa.array([], pa.string())
        if len(accounts.table):
            _write_table(pa.Table.from_pandas(accounts.table, preserve_index=False), self.folder / "accounts.parquet")
        if given and len(accounts.table):  # of the accounts as the plan holds them, as it applies them
            planned = pq.read_table(self.folder / "accounts.parquet")
            changed = self.store._accounts_after(planned, given)[1]
            listed = self.store.listed_after_trading(planned)
        # a changed account (customer, party type, no longer listed ...) changes what the days it
        # traded on find, and so does one listed for the first time that traded as another bank's
        self.rescan |= set(self.store.days_trading(pa.concat_arrays([changed.cast(pa.string()), listed])))
        manifest = {"ingest_id": ingest_id, "source": self.source, "started_at": self.started_at,
                    "rows_read": report.n_input, "rows_accepted": report.n_accepted,
                    "rows_rejected": report.n_rejected, **self.counts,
                    "days_touched": sorted(self.days | set(self.remove)),
                    "rescan_days": sorted(self.rescan), "remove": self.remove,
                    "accounts_given": given, "accounts_source": accounts.report.source,
                    "accounts_changed": len(changed), "accounts_listed_after_trading": len(listed),
                    "accounts_replaced_derived": replaced, "rates": self.rates,
                    "bank_timezone": self.bank_timezone,
                    "completed_ingests": [done.ingest_id for done in self.completed]}
        _write_json(manifest, self.folder / "plan.json")
        try:
            summary = self.store._apply(self.folder, on_day_written)
        finally:
            self._release()
        summary.completed = self.completed
        return summary


def _json_object(path: Path) -> dict:
    """The JSON object ``path`` holds (an ingest's manifest or plan); a DataError naming it
    when it is damaged."""
    try:
        record = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError):
        record = None
    if not isinstance(record, dict):
        raise DataError(f"{path}: damaged (not a JSON object). Fix: restore it from a backup.")
    return record

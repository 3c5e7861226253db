"""The transactions a case file shows, kept beside the run store.

The store holds hits with their evidence transaction ids, not the transactions (those
stay in the bank's data). An investigator opening an alert needs the transactions
themselves: dates, amounts, directions, channels, and enough around the subject to draw
its daily flows and its near-threshold band. So a scan keeps, in the owner-only folder
``STORE.cases/`` beside the store (SPEC §7: it holds real ids), one pair of Parquet files
per run:

- ``transactions-TIME-RUN.parquet``: every evidence transaction of the run's hits that
  belong to raised alerts, plus every transaction of each such hit's subject account from
  :data:`CONTEXT_DAYS` business days before its window to as many after (one interval per
  subject: the span of its hits) unless that is more than :data:`MAX_CONTEXT_TRANSACTIONS`,
  and, for a scan of a file, the evidence of every large-value hit of the run (alerted or
  not: the large-value report needs its time, amount, currency and counterparty,
  :mod:`flowgraph.desk.reports`);
- ``accounts-TIME-RUN.parquet``: customer and party type of the accounts those
  transactions touch (Φ of a transfer depends on the party type, SPEC §2);
- ``in-place-TIME-RUN.json``, for a scan of a transaction store (``flowgraph ingest
  --into``): the store's path, absolute and relative to the run store's folder (the two
  moved together are still found; a store moved alone is named with ``report-draft
  --txstore``, :func:`locate_in_place_stores`). The transactions are already kept there, by day, so the
  large-value hits' evidence is not copied (at bank scale it is a large share of all
  transactions: an account with 300,000 transfers a day has one daily large-value hit
  naming them all); :func:`transactions_in_place` reads it from the store's days when the
  large-value report asks. A hit of a raised alert still keeps its subject's transactions
  around its window, so a case file shows a large-value hit's transactions unless its
  subject is busy.

Parquet, not rows of the SQLite store: a range scan of 10^7 transactions keeps hundreds
of thousands of them, which Arrow writes at once and SQLite would insert one by one.
Readers take every run's files, the latest version of a transaction or account winning.
:func:`case_graph` rebuilds a small :class:`~flowgraph.graph.TransactionGraph` from them
for the pictures, on the scan's own calendar.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import NamedTuple

import numba
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from .._files import write_atomically
from .._kernels.context import kept_edges, near_counts
from ..config import CHANNELS, PARTY_TYPES
from ..errors import ConfigError, DataError
from ..graph import GRAPH_COLUMNS, TransactionGraph, build_graph
from ..scan_config import business_calendar
from ..store import LARGE_VALUE_TYPOLOGIES, id_list_array, parse_json_lists
from ..txstore import TransactionStore, is_store

#: Business days of the subject's own transactions kept before and after its hits'
#: windows: what the daily-flows picture shows around the window.
CONTEXT_DAYS = 5
#: A subject with more transactions than this around its windows keeps only its evidence
#: (its daily flows are then drawn from the evidence): the busiest accounts would
#: otherwise keep most of a bank's transactions.
MAX_CONTEXT_TRANSACTIONS = 1_000

COLUMNS = ("txn_id", "timestamp", "src_account", "dst_account", "amount", "currency", "amount_home",
           "amount_foreign", "channel")
ACCOUNT_COLUMNS = ("account_id", "customer_id", "party_type")
#: Arrow types of the kept transactions' :data:`COLUMNS` and accounts' :data:`ACCOUNT_COLUMNS`.
CASE_SCHEMA = pa.schema([("txn_id", pa.string()), ("timestamp", pa.timestamp("ns")), ("src_account", pa.string()),
                         ("dst_account", pa.string()), ("amount", pa.float64()), ("currency", pa.string()),
                         ("amount_home", pa.float64()), ("amount_foreign", pa.float64()), ("channel", pa.string())])
ACCOUNT_SCHEMA = pa.schema([("account_id", pa.string()), ("customer_id", pa.string()), ("party_type", pa.string())])


def case_folder(store) -> Path:
    """Where the case transactions of ``store`` are kept."""
    return Path(f"{store.path}.cases")


def evidence_mask(graph: TransactionGraph, *lists) -> np.ndarray:
    """Which edges of ``graph`` are evidence: a boolean per edge, True for the
    transactions named in ``lists`` (list-likes of lists of ids, e.g. ``txn_ids`` columns)."""
    flat = [id_list_array(x).flatten().cast(pa.string()) for x in lists]
    evidence = pa.concat_arrays(flat).unique() if flat else pa.array([], pa.string())
    if not len(evidence) or graph.n_edges == 0:
        return np.zeros(graph.n_edges, bool)
    # one lookup of the 10^7 ids for every evidence list
    return np.asarray(pc.is_in(graph.txn_id_arrow, value_set=evidence), dtype=bool)[graph.txn_pos]


def case_edges(graph: TransactionGraph, hits: pd.DataFrame, is_evidence: np.ndarray,
               context_days: int = CONTEXT_DAYS, max_context: int | None = None) -> np.ndarray:
    """Edge ids a case file of these hits may show (see the module docstring).

    Parameters
    ----------
    graph : TransactionGraph
        The scanned graph.
    hits : DataFrame
        Hits with ``subject``, ``window_start``, ``window_end``.
    is_evidence : ndarray of bool, shape (graph.n_edges,)
        The evidence edges to keep (of these hits and of the large-value hits, which are
        kept without context; :func:`evidence_mask`).
    context_days : int
        Business days kept around each subject's windows.
    max_context : int, optional
        A subject with more transactions than this in its interval keeps only evidence
        (default :data:`MAX_CONTEXT_TRANSACTIONS`).

    Returns
    -------
    ndarray of int64
        Sorted edge ids.
    """
    max_context = MAX_CONTEXT_TRANSACTIONS if max_context is None else max_context
    if hits.empty:
        return np.flatnonzero(is_evidence)
    # one interval of business days per subject account: the span of its hits, widened
    # a T+1 scan's input may no longer hold an older hit's subject: it keeps no context
    # (Arrow's hash lookup: numpy's isin of object arrays compares them pairwise)
    index = pc.index_in(pa.array(hits["subject"].astype(str).tolist(), pa.string()), value_set=graph.account_id_arrow)
    known = np.asarray(index.is_valid(), dtype=bool)
    subject = np.asarray(index.drop_null(), np.int64)
    first = graph.day_index_of(hits["window_start"].to_numpy(dtype="datetime64[D]")[known]) - context_days
    last = graph.day_index_of(hits["window_end"].to_numpy(dtype="datetime64[D]")[known]) + context_days
    lo = np.full(graph.n_accounts + 1, np.iinfo(np.int64).max)  # the extra slot stands for "no account"
    hi = np.full(graph.n_accounts + 1, np.iinfo(np.int64).min)
    np.minimum.at(lo, subject, first)
    np.maximum.at(hi, subject, last)
    # a busy account (a merchant, a payroll hub) would keep most of the bank: only its evidence
    n_pieces = numba.get_num_threads()
    quiet = near_counts(graph.src, graph.dst, graph.day, lo, hi, n_pieces) <= max_context
    return np.flatnonzero(kept_edges(graph.src, graph.dst, graph.day, lo, hi, quiet, is_evidence, n_pieces))


def keep_case_transactions(store, graph: TransactionGraph, run_id: str, run_hits: pd.DataFrame,
                           alerts: pd.DataFrame, evidence_edges: pa.Array | None = None,
                           in_place: Path | None = None) -> int:
    """Keep the case transactions and accounts of the raised ``alerts`` (see the module
    docstring) beside ``store``, for run ``run_id``. The hits come from ``run_hits`` (the
    run's, in memory; ``evidence_edges``: their evidence as edge ids of ``graph``, if
    known) and, for hits of raised alerts that earlier runs stored, from the store.
    ``in_place``: the transaction store ``graph`` was read from, whose large-value
    evidence is left there (recorded, not copied).

    Returns
    -------
    int
        Transactions kept.
    """
    wanted = pa.array([h for ids in alerts.loc[alerts["raised"], "hit_ids"] for h in ids], pa.string()).unique()
    columns = ["hit_id", "subject", "txn_ids", "window_start", "window_end"]
    run_ids = pa.array(run_hits["hit_id"].astype(str).tolist(), pa.string())
    in_alert = np.asarray(pc.is_in(run_ids, value_set=wanted), dtype=bool)
    hits = run_hits.loc[in_alert, columns + ["typology"]]
    stored = pc.filter(wanted, pc.invert(pc.is_in(wanted, value_set=run_ids)))
    earlier_evidence = []  # the txn_ids of hits an earlier run stored, now in a raised alert of this run
    if len(stored):
        earlier = _stored_hits(store, stored.to_pylist())
        hits = pd.DataFrame({c: list(hits[c]) + list(earlier[c]) for c in hits.columns})
        for col in ("window_start", "window_end"):
            hits[col] = pd.to_datetime(hits[col])
        earlier_evidence = [earlier["txn_ids"][~earlier["typology"].isin(LARGE_VALUE_TYPOLOGIES)]
                            if in_place else earlier["txn_ids"]]
    large = run_hits["typology"].isin(LARGE_VALUE_TYPOLOGIES).to_numpy(dtype=bool)
    copied = ~large if in_place else np.ones(len(run_hits), bool)  # whose evidence is copied here
    if evidence_edges is None:
        own = run_hits["txn_ids"][in_alert & copied]
        is_evidence = evidence_mask(graph, own, run_hits.loc[large & copied, "txn_ids"], *earlier_evidence)
    else:  # the run's own hits' evidence as edge ids; earlier runs' hits by their transaction ids
        is_evidence = evidence_mask(graph, *earlier_evidence)
        is_evidence[evidence_edges.filter(pa.array((in_alert | large) & copied)).flatten().to_numpy()] = True
    edges = case_edges(graph, hits, is_evidence)
    transactions, accounts = _case_tables(graph, edges)
    _write_case_files(store, run_id, [transactions], [accounts], in_place)
    return len(edges)


def _case_tables(graph: TransactionGraph, edges: np.ndarray) -> tuple[pa.Table, pa.Table]:
    """The kept transactions (:data:`CASE_SCHEMA`) of ``edges`` of ``graph`` and the
    accounts they touch (:data:`ACCOUNT_SCHEMA`)."""
    pos = graph.txn_pos[edges]
    rows = graph.transactions
    home = graph.amount_home[edges]
    table = pa.table({
        "txn_id": graph.txn_id_arrow.take(pa.array(pos)),
        "timestamp": pa.array(graph.timestamp_ns[edges].astype("datetime64[ns]")),
        "src_account": _account_names(graph, graph.src[edges]), "dst_account": _account_names(graph, graph.dst[edges]),
        "amount": rows["amount"].to_numpy(dtype=float)[pos] if "amount" in rows else home,
        "currency": pa.array(rows["currency"]).take(pa.array(pos)).cast(pa.string()) if "currency" in rows
        else np.full(len(edges), graph.home_currency),
        "amount_home": home, "amount_foreign": graph.amount_foreign[edges],
        "channel": np.asarray(CHANNELS, dtype=object)[graph.channel[edges]],
    })
    touched = np.zeros(graph.n_accounts + 1, bool)  # the extra slot: the missing side of a cash edge
    touched[graph.src[edges]] = touched[graph.dst[edges]] = True
    accounts = np.flatnonzero(touched[:-1])
    customer, party = graph.account_customer[accounts], graph.account_party[accounts]
    known_party = (party >= 0) & (party < len(PARTY_TYPES))
    account_table = pa.table({
        "account_id": graph.account_id_arrow.take(pa.array(accounts)),
        "customer_id": pa.array([graph.customer_ids[c] if c >= 0 else None for c in customer.tolist()], pa.string()),
        "party_type": pa.array(np.asarray(PARTY_TYPES, dtype=object)[np.where(known_party, party, 0)],
                               pa.string(), mask=~known_party)})
    return table.cast(CASE_SCHEMA), account_table.cast(ACCOUNT_SCHEMA)


def _write_case_files(store, run_id: str, transactions: Iterable[pa.Table], accounts: list[pa.Table],
                      in_place: Path | None) -> None:
    """Write a run's case files (module docstring): the ``transactions`` tables one after
    another (an iterable: they may be made while they are written, and may add to
    ``accounts``), then the accounts, each once, and the transaction store left in place."""
    folder = case_folder(store)
    folder.mkdir(mode=0o700, exist_ok=True)
    stamp = f"{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}-{run_id}"

    def write_transactions(path: Path) -> None:
        with pq.ParquetWriter(path, CASE_SCHEMA) as writer:
            for table in transactions:
                writer.write_table(table)

    write_atomically(folder / f"transactions-{stamp}.parquet", write_transactions)
    table = pa.concat_tables(accounts) if accounts else ACCOUNT_SCHEMA.empty_table()
    # each account once, by id (as a graph lists them), however the transactions were read
    first = np.unique(table["account_id"].to_numpy(zero_copy_only=False), return_index=True)[1]
    write_atomically(folder / f"accounts-{stamp}.parquet", lambda p: pq.write_table(table.take(pa.array(first)), p))
    if in_place is not None:
        where = Path(in_place).resolve()
        record = {"run_id": run_id, "transaction_store": str(where),
                  "relative_to_run_store": os.path.relpath(where, Path(store.path).resolve().parent)}
        write_atomically(folder / f"in-place-{stamp}.json", lambda p: p.write_text(json.dumps(record)))


#: Calendar days of a transaction store read at a time while collecting case transactions.
READ_DAYS_AT_ONCE = 31
#: Reads of :data:`READ_DAYS_AT_ONCE` days filtered at once while collecting case
#: transactions (each holds its days' transactions in memory until filtered).
READ_THREADS = 2
#: Calendar days before a hit's first business day that may hold its transactions (those
#: of a weekend or a week-long holiday belong to the business day after it).
DAYS_BEFORE_BUSINESS_DAY = 15


def raised_hits(store, run_hits: pd.DataFrame, alerts: pd.DataFrame) -> pd.DataFrame:
    """The hits of raised ``alerts`` (``subject, txn_ids, window_start, window_end,
    typology``): those among ``run_hits``, then those earlier runs stored (read from
    ``store``), for :func:`keep_case_transactions_from_store`."""
    raised = set(h for ids in alerts.loc[alerts["raised"], "hit_ids"] for h in ids)
    hits = run_hits[run_hits["hit_id"].isin(raised)]
    earlier = raised - set(run_hits["hit_id"])
    columns = ["subject", "txn_ids", "window_start", "window_end", "typology"]
    frames = [hits[columns]] + ([_stored_hits(store, sorted(earlier))[columns]] if earlier else [])
    return pd.concat(frames, ignore_index=True)


def keep_case_transactions_from_store(store, run_id: str, wanted: pd.DataFrame, *, txstore, config, rates) -> int:
    """:func:`keep_case_transactions` for a scan of a transaction store whose graphs are
    gone (blocks run on Dask workers, or one after another): the transactions a case file
    may show — every evidence transaction of the ``wanted`` hits (:func:`raised_hits`),
    and the subjects' own transactions around their windows; large-value evidence stays
    in ``txstore`` — are read back from ``txstore`` :data:`READ_DAYS_AT_ONCE` days at a
    time and filtered, and a graph of each part alone (``config``'s calendar and rule set,
    ``rates``) converts them as the scan's graph did. Of ``store`` only the path is used
    (the case folder beside it): this may run on a thread while the store is read.

    One read: each part's rows that may be kept (evidence, and rows in a subject's interval
    (:func:`case_edges`: the span of its hits, :data:`CONTEXT_DAYS` business days wider),
    with the subjects they are near) are held while each subject's rows are counted; a
    subject with more than :data:`MAX_CONTEXT_TRANSACTIONS` is busy, and its rows (unless
    evidence or near a subject that is not) are let go as soon as its count passes the
    limit, so memory holds about what the case files keep, not every transaction of every
    busy subject over a long range. Once every part is counted, the rows kept are each
    part's evidence and the interval rows of subjects that are not busy, as when a second
    read filtered them (it read the range again and found the subjects again: half the
    time). :data:`READ_THREADS` parts are read and filtered at a time."""
    if wanted.empty:  # no raised alert: no case file to show
        _write_case_files(store, run_id, [], [], txstore.root)
        return 0
    copied = ~wanted["typology"].isin(LARGE_VALUE_TYPOLOGIES)
    evidence = id_list_array(wanted["txn_ids"][copied]).flatten().cast(pa.string()).unique()
    calendar = config.calendar()
    # a business day is at most a few calendar days: CONTEXT_DAYS business days fit in 3x + 10
    margin = np.timedelta64(3 * CONTEXT_DAYS + 10, "D")
    starts = pd.to_datetime(wanted["window_start"]).to_numpy(dtype="datetime64[D]")
    ends = pd.to_datetime(wanted["window_end"]).to_numpy(dtype="datetime64[D]")
    first, last = starts.min() - margin, ends.max() + margin
    near = _SubjectIntervals(wanted["subject"], starts, ends, calendar.business_days(first, last + margin))
    n_subjects = len(near.subjects)
    chunks = _day_chunks(first, last)

    def candidates(days: tuple[str, str]) -> tuple[_Candidates | None, np.ndarray]:
        """A part's rows that may be kept, and its rows near each subject (counts)."""
        table = txstore.read_days(*days, GRAPH_COLUMNS)
        if table.num_rows == 0:
            return None, np.zeros(n_subjects, np.int64)
        (s, near_s), (d, near_d) = near.sides(table, calendar)
        counts = np.bincount(s[near_s], minlength=n_subjects) + np.bincount(d[near_d], minlength=n_subjects)
        is_evidence = np.asarray(pc.fill_null(pc.is_in(table["txn_id"].cast(pa.string()), value_set=evidence),
                                              False), dtype=bool)
        held = np.flatnonzero(is_evidence | near_s | near_d)
        # a side that is near no subject is the extra slot (never quiet)
        return _Candidates(table.take(pa.array(held)), is_evidence[held], np.where(near_s, s, n_subjects)[held],
                           np.where(near_d, d, n_subjects)[held]), counts

    stored_accounts = txstore.accounts()
    stored_accounts = None if stored_accounts is None or stored_accounts.num_rows == 0 else stored_accounts

    def tables(part: _Candidates, quiet: np.ndarray) -> tuple[pa.Table, pa.Table] | None:
        kept = part.kept(quiet)
        if not kept.num_rows:
            return None
        graph = build_graph(kept.to_pandas(), _accounts_of(stored_accounts, kept), calendar,
                            config.rules.home_currency, config.rules.foreign_currency, rates)
        return _case_tables(graph, np.arange(graph.n_edges))

    accounts: list[pa.Table] = []
    n_kept = 0

    def written(pool: ThreadPoolExecutor, held: list[_Candidates], quiet: np.ndarray) -> Iterator[pa.Table]:
        nonlocal n_kept
        # in the order of the days, whichever thread made it
        for part in pool.map(tables, held, [quiet] * len(held)):
            if part is not None:
                accounts.append(part[1])
                n_kept += part[0].num_rows
                yield part[0]

    # the parts' reads and filters (mostly Arrow and numpy, without the GIL) overlap
    pool = ThreadPoolExecutor(max_workers=READ_THREADS)
    try:
        counts = np.zeros(n_subjects, np.int64)
        held: list[_Candidates] = []
        for part, part_counts in pool.map(candidates, chunks):  # in the order of the days
            n_busy = int((counts > MAX_CONTEXT_TRANSACTIONS).sum())
            counts += part_counts
            held += [] if part is None else [part]
            if (counts > MAX_CONTEXT_TRANSACTIONS).sum() > n_busy:  # a subject turned busy: its rows go
                held = [p.without_busy(_quiet(counts)) for p in held]
        _write_case_files(store, run_id, written(pool, held, _quiet(counts)), accounts, txstore.root)
    finally:  # a failed write does not wait for the parts still to read
        pool.shutdown(cancel_futures=True)
    return n_kept


def _accounts_of(accounts: pa.Table | None, transactions: pa.Table) -> pd.DataFrame | None:
    """The rows of the store's ``accounts`` table (None: it has none) naming an account of
    ``transactions``, in the table's order: all a case table of those transactions reads
    (:func:`_case_tables`: customer and party type of the accounts they touch), so a graph
    of a part's few kept rows does not number every account of the bank."""
    if accounts is None:
        return None
    ids = pa.concat_arrays([transactions[side].combine_chunks().cast(pa.string())
                            for side in ("src_account", "dst_account")]).unique()
    return accounts.filter(pc.is_in(accounts["account_id"].cast(pa.string()), value_set=ids)).to_pandas()


def _quiet(counts: np.ndarray) -> np.ndarray:
    """Per subject number, whether the subject is not busy (at most
    :data:`MAX_CONTEXT_TRANSACTIONS` rows near it); the extra slot (no subject) is not."""
    return np.r_[counts <= MAX_CONTEXT_TRANSACTIONS, False]


class _Candidates(NamedTuple):
    """Rows of one part of the transaction store that a case file may keep
    (:func:`keep_case_transactions_from_store`): ``table`` (their columns as read), whether
    each is evidence, and the subject number each side is near (the extra slot, number
    ``len(subjects)``, when none)."""

    table: pa.Table
    is_evidence: np.ndarray
    src_subject: np.ndarray
    dst_subject: np.ndarray

    def kept(self, quiet: np.ndarray) -> pa.Table:
        """The rows kept when ``quiet`` (per subject number, the extra slot False) says
        which subjects are not busy: evidence, or near a quiet subject."""
        return self.table.filter(pa.array(self._keep(quiet)))

    def without_busy(self, quiet: np.ndarray) -> "_Candidates":
        """The rows that may still be kept once the subjects ``quiet`` says are busy are
        known to be (a busy subject stays busy)."""
        keep = self._keep(quiet)
        if keep.all():
            return self
        at = np.flatnonzero(keep)
        return _Candidates(self.table.take(pa.array(at)), self.is_evidence[at], self.src_subject[at],
                           self.dst_subject[at])

    def _keep(self, quiet: np.ndarray) -> np.ndarray:
        return self.is_evidence | quiet[self.src_subject] | quiet[self.dst_subject]


def _day_chunks(first: np.datetime64, last: np.datetime64) -> list[tuple[str, str]]:
    """Calendar days ``first .. last`` in reads of :data:`READ_DAYS_AT_ONCE`, as ISO days."""
    return [(str(lo), str(min(lo + READ_DAYS_AT_ONCE - 1, last))) for lo in np.arange(first, last + 1,
                                                                                    READ_DAYS_AT_ONCE)]


def _in_place_records(store) -> list[dict]:
    records = []
    for path in sorted(case_folder(store).glob("in-place-*.json")):
        try:
            record = json.loads(path.read_text())
            records.append({"transaction_store": str(record["transaction_store"]),
                            "relative_to_run_store": record.get("relative_to_run_store")})
        except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError) as exc:
            raise DataError(f"{path}: this record of the transaction store a scan read is damaged ({exc}). Fix: "
                            "restore it from a backup, or scan again into this run store.") from None
    return records


def in_place_stores(store) -> list[Path]:
    """The transaction stores whose large-value evidence the store's runs left in place,
    as the scans recorded them (absolute paths; where they are now:
    :func:`locate_in_place_stores`)."""
    return sorted({Path(r["transaction_store"]) for r in _in_place_records(store)})


class InPlaceStores(NamedTuple):
    """Where the transaction stores of :func:`in_place_stores` are now."""

    #: the stores to read: those found, then those given (``report-draft --txstore``)
    found: list[Path]
    #: the recorded paths of the stores found neither there nor relative to the run store
    #: (none when stores are given: they stand in for them)
    missing: list[Path]


def locate_in_place_stores(store, given: Iterable[str | Path] = ()) -> InPlaceStores:
    """The transaction stores the store's scans left large-value evidence in, each found at
    the absolute path its scan recorded, else at the path relative to the run store's
    folder it recorded (the two moved together), plus the ``given`` ones
    (``report-draft --txstore``: a store moved alone); a ConfigError when a given path is
    not a transaction store."""
    found, missing = [], []
    for record in _in_place_records(store):
        where = [Path(record["transaction_store"])]
        if record["relative_to_run_store"]:
            where.append(Path(store.path).resolve().parent / record["relative_to_run_store"])
        there = next((p.resolve() for p in where if is_store(p)), None)
        if there is None:
            missing.append(where[0])
        elif there not in found:
            found.append(there)
    given = [Path(p) for p in given]
    for path in given:
        if not is_store(path):
            raise ConfigError(f"--txstore {path}: is not a flowgraph transaction store (no txstore.json in it). "
                              "Fix: name the folder 'flowgraph ingest --into' made, where the scans' transaction "
                              "store is now.")
        if path.resolve() not in found:
            found.append(path.resolve())
    return InPlaceStores(found, [] if given else sorted(set(missing)))


def transactions_in_place(store, txn_ids, first_day: np.datetime64, last_day: np.datetime64,
                          stores: Iterable[Path] | None = None) -> pd.DataFrame:
    """Transactions ``txn_ids`` of business days ``first_day .. last_day`` read from the
    transaction ``stores`` (default: those the store's scans left them in that are found,
    :func:`locate_in_place_stores`), with the columns of :func:`case_transactions` but the
    converted amounts (NaN: a report converts again with the run's rates if it needs to)."""
    wanted = pa.array(sorted({str(t) for t in txn_ids}), pa.string())
    columns = ["txn_id", "timestamp", "src_account", "dst_account", "amount", "currency", "channel"]
    parts = []
    for root in locate_in_place_stores(store).found if stores is None else stores:
        if not len(wanted) or not is_store(root):
            continue
        txstore = TransactionStore.open(root)
        for lo, hi in _day_chunks(np.datetime64(first_day, "D") - DAYS_BEFORE_BUSINESS_DAY,
                                  np.datetime64(last_day, "D")):
            table = txstore.read_days(lo, hi, columns)
            if table.num_rows:
                part = table.filter(pc.is_in(table["txn_id"].cast(pa.string()), value_set=wanted))
                parts.append(part.cast(pa.schema([CASE_SCHEMA.field(c) for c in columns])))
    table = pa.concat_tables(parts) if parts else pa.schema([CASE_SCHEMA.field(c) for c in columns]).empty_table()
    found = table.column("txn_id").to_numpy(zero_copy_only=False)
    table = table.take(pa.array(np.sort(np.unique(found, return_index=True)[1])))  # a transaction once
    return _frame(table.append_column("amount_home", pa.nulls(table.num_rows, pa.float64()))
                  .append_column("amount_foreign", pa.nulls(table.num_rows, pa.float64())).select(list(COLUMNS)))


class _SubjectIntervals:
    """Per subject account, the business days :func:`case_edges` keeps its own
    transactions from (the span of its hits' windows, :data:`CONTEXT_DAYS` wider), as
    positions in ``business_days``."""

    def __init__(self, subject: pd.Series, starts: np.ndarray, ends: np.ndarray, business_days: np.ndarray):
        self.subjects = pa.array(sorted(set(subject.astype(str))), pa.string())
        self.business_days = business_days
        which = np.asarray(pc.index_in(pa.array(subject.astype(str).tolist(), pa.string()), value_set=self.subjects))
        self.lo = np.full(len(self.subjects) + 1, np.iinfo(np.int64).max)  # the extra slot: not a subject
        self.hi = np.full(len(self.subjects) + 1, np.iinfo(np.int64).min)
        np.minimum.at(self.lo, which, np.searchsorted(business_days, starts) - CONTEXT_DAYS)
        np.maximum.at(self.hi, which, np.searchsorted(business_days, ends) + CONTEXT_DAYS)

    def sides(self, table: pa.Table, calendar):
        """For the payer and then the payee of each transaction: its subject number (the
        extra slot when it is none) and whether the transaction falls in its interval."""
        days, index = calendar.business_day_index(table["timestamp"].to_numpy(zero_copy_only=False))
        day = np.searchsorted(self.business_days, days)[index]  # each distinct day looked up once
        out = []
        for side in ("src_account", "dst_account"):
            found = pc.index_in(table[side].cast(pa.string()), value_set=self.subjects)
            number = np.asarray(pc.fill_null(found, len(self.subjects)), np.int64)
            out.append((number, self._near(number, day)))
        return out

    def _near(self, number: np.ndarray, day: np.ndarray) -> np.ndarray:
        """Per row, whether its ``day`` (a position in ``business_days``) is in the interval
        of its subject ``number``: only the few rows of a subject are compared (the extra
        slot's interval is empty)."""
        near = np.zeros(len(number), bool)
        at = np.flatnonzero(number < len(self.subjects))
        near[at] = (self.lo[number[at]] <= day[at]) & (day[at] <= self.hi[number[at]])
        return near


def _stored_hits(store, hit_ids: list[str]) -> pd.DataFrame:
    """The stored hits ``hit_ids`` (of earlier runs): ``hit_id, typology, subject, txn_ids`` (lists),
    ``window_start, window_end``."""
    earlier = store.query("SELECT hit_id, typology, subject, txn_ids, window_start, window_end FROM hits "
                          "WHERE hit_id IN (SELECT value FROM json_each(?))", [json.dumps(hit_ids)])
    earlier["txn_ids"] = parse_json_lists(earlier["txn_ids"].tolist())
    return earlier


def _account_names(graph: TransactionGraph, index: np.ndarray) -> pa.Array:
    """User account ids of dense indices (null for the missing side of a cash edge)."""
    index = np.asarray(index, np.int64)
    return graph.account_id_arrow.take(pa.array(np.maximum(index, 0), mask=index < 0))


def _kept(store, kind: str, key: str) -> pa.Table | None:
    """Every run's kept ``kind`` table, the latest version of each ``key`` (None: none kept)."""
    files = sorted(case_folder(store).glob(f"{kind}-*.parquet"))
    if not files:
        return None
    table = pa.concat_tables([pq.read_table(f) for f in files], promote_options="permissive")
    keys = table.column(key).to_numpy(zero_copy_only=False)
    last = len(keys) - 1 - np.unique(keys[::-1], return_index=True)[1]  # the last row of each key
    return table.take(pa.array(np.sort(last)))


def has_case_transactions(store) -> bool:
    """Whether the store keeps case transactions (stores of scans made before it did not)."""
    return any(case_folder(store).glob("transactions-*.parquet"))


def case_transactions(store, txn_ids=None, accounts=None) -> pd.DataFrame:
    """Kept transactions with the given ids, or touching the given accounts (all when both
    are None), in time order (empty, with every column, when none is kept)."""
    table = _kept(store, "transactions", "txn_id")
    if table is None:
        return pd.DataFrame(columns=list(COLUMNS))
    if txn_ids is not None:
        table = table.filter(pc.is_in(table["txn_id"], value_set=pa.array([str(t) for t in txn_ids], pa.string())))
    elif accounts is not None:
        value_set = pa.array([str(a) for a in accounts], pa.string())
        table = table.filter(pc.or_kleene(pc.is_in(table["src_account"], value_set=value_set),
                                          pc.is_in(table["dst_account"], value_set=value_set)))
    return _frame(table)


def _frame(table: pa.Table) -> pd.DataFrame:
    """Kept transactions as a frame, in time order."""
    frame = table.to_pandas()
    frame["timestamp"] = pd.to_datetime(frame["timestamp"])
    for col in ("src_account", "dst_account"):  # the missing side of a cash transaction: None
        frame[col] = frame[col].astype(object).where(frame[col].notna(), None)
    return frame.sort_values(["timestamp", "txn_id"], kind="stable").reset_index(drop=True)


def case_accounts(store) -> pd.DataFrame:
    """Customer and party type of every kept account (empty, with every column, when none)."""
    table = _kept(store, "accounts", "account_id")
    return pd.DataFrame(columns=list(ACCOUNT_COLUMNS)) if table is None else table.to_pandas()


def case_graph(store, transactions: pd.DataFrame, run_config: str | dict) -> TransactionGraph:
    """A graph of kept transactions, on the calendar of the scan whose configuration
    (the ``runs.config`` JSON) is given, with the kept accounts' customers and party types."""
    config = json.loads(run_config) if isinstance(run_config, str) else run_config
    accounts = case_accounts(store) if has_case_transactions(store) else None
    # the kept amounts are already in the scan's home and foreign currencies: the graph takes
    # them as they are (build_graph's CNY/USD defaults read the two columns without converting)
    table = transactions.assign(channel=pd.Categorical(transactions["channel"], categories=list(CHANNELS)),
                                amount_cny=transactions["amount_home"], amount_usd=transactions["amount_foreign"])
    rules = run_rule_set(config)  # ... and the graph names those currencies
    return dataclasses.replace(build_graph(table, accounts, run_calendar(config)), home_currency=rules.home_currency,
                               foreign_currency=rules.foreign_currency)


def run_config(store, config_hash: str) -> dict:
    """The configuration of the latest run made with ``config_hash``."""
    row = store.conn.execute("SELECT config FROM runs WHERE config_hash = ? ORDER BY started_at DESC LIMIT 1",
                             (config_hash,)).fetchone()
    return json.loads(row[0]) if row and row[0] else {}


def run_rule_set(config: dict):
    """The rule set a scan used, from its recorded configuration (a built-in's name, or the
    whole rule set as :meth:`~flowgraph.config.RuleSet.to_dict` wrote it)."""
    from ..config import LargeValueRule, RuleSet, get_rule_set

    rule_set = config.get("rule_set", "PBOC-2016")
    if isinstance(rule_set, str):
        return get_rule_set(rule_set)
    rules = tuple(LargeValueRule(**{**r, "channels": tuple(r["channels"])}) for r in rule_set["rules"])
    return RuleSet(**{**rule_set, "rules": rules})


def run_calendar(config: dict):
    """The business calendar a scan used, from its recorded configuration."""
    calendar = config.get("calendar", {})
    holidays_file = calendar.get("holidays_file")
    return business_calendar(run_rule_set(config).calendar, calendar.get("extra_holidays", ()),
                             calendar.get("extra_workdays", ()), calendar.get("beyond_coverage", "estimate"),
                             holidays_file["path"] if holidays_file else None)

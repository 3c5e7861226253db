"""The one place where tables become arrays: the time-sliced account graph.

A :class:`TransactionGraph` holds every accepted transaction as an edge between two
accounts, in time order, transactions of one timestamp by id (:func:`edge_order`: the same
graph whatever the order of the rows), with:

- dense integer ids for accounts (``src``/``dst``, -1 where a side is empty, e.g. cash)
  and customers (``account_customer``), sorted by the user's ids so a rebuild gives the
  same numbers; ``account_ids`` / ``customer_ids`` map them back;
- the business day of each edge (``day``, an index into ``business_days``; a weekend or
  holiday transaction counts toward the next business day);
- two CSR indexes: ``out_indptr``/``out_edges`` list each account's outgoing edge ids
  in (src, time) order, ``in_indptr``/``in_edges`` the incoming ones in (dst, time) order;
- ``day_indptr``: because edges are in time order, the edges of business day *d* are
  ``day_indptr[d]:day_indptr[d + 1]`` and a trailing window of *k* business days is one
  contiguous slice, a view that copies nothing.

Kernels get these plain numpy arrays; nothing below hands pandas objects to numba.

Which accounts are the bank's own. The transactions are the bank's ledger, so every
transaction has at least one side at the bank; an accounts table, when it lists some
account of a transaction, says which:

- an account the accounts table lists is the bank's (its customer's);
- an account of a transaction that names no listed account is the bank's too: the table
  is silent about that transaction, so it is read as if there were no table, where every
  account is the bank's. This covers a cash deposit or withdrawal at an unlisted account
  (cash moves only at the bank's own accounts, so deposits and withdrawals alike) and a
  transfer between two unlisted accounts (one side is the bank's and the data cannot say
  which: both are taken, so no large-value report is missed, and the report draft says
  the customer is not in the accounts table);
- an unlisted account whose every transaction has a listed account on its other side is
  a counterparty (another bank's account, evidence but never a hit's subject);
- with no accounts table (or an empty one) every account is the bank's: the rule above.

An unlisted account that is the bank's has no customer (``account_customer`` -1; its
monitoring unit is the account itself, as with no accounts table) and an unknown party
type, which the large-value rules take as a natural person's (the lower, stricter
thresholds: the tool's default for an unknown party, :mod:`flowgraph._kernels.phi`).
The large-value rules apply this transaction by transaction
(:func:`flowgraph.detectors._common.edge_units`): a report is about one day's
transactions, which every read of that day holds. The pattern detectors name only listed
accounts (:func:`flowgraph.detectors._common.monitored`): whether an unlisted account
ever transacts alone would depend on which days a read holds, and a scan cut into blocks
must name the subjects one scan of every day names. ``account_monitored`` applies the rule
to the transactions the graph holds, for the count a scan warns about
(:meth:`TransactionGraph.unlisted_bank_accounts`: such accounts belong in the accounts table).
Amounts are float64 in the rule set's home currency (``amount_home``, e.g. yuan under the
PBOC rules, dollars under US-BSA) and in its foreign-threshold currency (``amount_foreign``,
US dollars for both), rounded to the cent; ``is_home_currency`` tells which one the
large-value rules compare. Whatever is compared with a threshold uses their int64 twins in
cents (``amount_home_cents``, ``amount_foreign_cents``), so a sum of exactly Φ is exactly Φ.
"""

from __future__ import annotations

import functools
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Iterable, NamedTuple

import numba
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ._arrow import one_array, text_buffers
from ._kernels.cents import cents_of
from ._kernels.csr import csr_fill, csr_indptr
from ._kernels.ties import order_ties_by_text
from .calendar import BusinessCalendar, prc_calendar
from .config import CHANNELS, HOME_CURRENCY, PARTY_TYPES
from .money import PARTY_UNKNOWN, RateTable, default_rates
from .schema import CONTEXT_COLUMNS, TXN_COLUMNS

CASH_NODE = "(cash)"  # stands for the missing side of a cash edge in exports

#: Units a detector window may count in: business days (PRC calendar, SPEC §1) or
#: calendar days (data that moves seven days a week).
WINDOW_UNITS = ("business", "calendar")

#: Edge and index arrays of the graph, as (attribute, what it holds).
EDGE_ARRAYS = ("src", "dst", "timestamp_ns", "day", "amount_home", "amount_foreign", "channel",
               "is_home_currency", "txn_pos")
INDEX_ARRAYS = ("out_indptr", "out_edges", "in_indptr", "in_edges", "day_indptr")


class GraphArrays(NamedTuple):
    """The arrays the detector kernels read, travelling as one argument (numba takes a
    NamedTuple of arrays); :attr:`TransactionGraph.arrays` builds it once per graph."""

    in_indptr: np.ndarray         #: int64, account a's in-edges are in_edges[in_indptr[a]:in_indptr[a + 1]]
    in_edges: np.ndarray          #: edge ids by (dst, time)
    out_indptr: np.ndarray        #: int64, as in_indptr for out-edges
    out_edges: np.ndarray         #: edge ids by (src, time)
    src: np.ndarray               #: int32 per edge, -1 = cash
    dst: np.ndarray               #: int32 per edge, -1 = cash
    day: np.ndarray               #: int32 per edge, business-day index
    channel: np.ndarray           #: int8 per edge, index into config.CHANNELS
    amount_home: np.ndarray       #: float64 per edge, home currency
    amount_home_cents: np.ndarray  #: int64 per edge, fen
    customer: np.ndarray          #: int32 per account, customer index, -1 unknown


def _csr(keys: np.ndarray, n_keys: int) -> tuple[np.ndarray, np.ndarray]:
    """Edge ids grouped by key (stable, so time order holds inside a group), skipping
    negative keys, with offsets: group k is ``edges[indptr[k]:indptr[k + 1]]``.

    Parameters
    ----------
    keys : ndarray of int
        Key of each edge (an account index), ``-1`` (any negative) for none.
    n_keys : int
        Number of keys; every key must be below it.

    Returns
    -------
    indptr : ndarray of int64, shape (n_keys + 1,)
    edges : ndarray of int32 (int64 from 2**31 edges)
        Edge ids, grouped by key, ascending inside a group.
    """
    keys = np.ascontiguousarray(keys)
    if keys.ndim != 1 or keys.dtype.kind not in "iu":
        raise TypeError(f"keys must be a 1-d integer array, got {keys.dtype} with shape {keys.shape}")
    if len(keys) and keys.max() >= n_keys:  # the kernel writes unchecked
        raise ValueError(f"keys must be below n_keys={n_keys}; got {keys.max()}")
    indptr = csr_indptr(keys, n_keys)
    edges = np.empty(int(indptr[-1]), dtype=np.int32 if len(keys) < 2**31 else np.int64)
    csr_fill(keys, indptr, edges)
    return indptr, edges


def _to_cents(amount: np.ndarray) -> np.ndarray:
    """Major units rounded to the cent (as ingest leaves them) -> int64 cents. Exact up to
    the schema's largest amount (10^13 yuan = 10^15 cents < 2^53)."""
    return cents_of(np.ascontiguousarray(amount, dtype=np.float64))


@dataclass(frozen=True, eq=False)
class TransactionGraph:
    """Time-sliced account graph; build it with :func:`build_graph`."""

    # nodes
    account_ids: np.ndarray        # object[str], dense account index -> user's account id
    account_customer: np.ndarray   # int32, customer index of each account, -1 if unknown
    account_party: np.ndarray      # int8, PARTY_PERSON / PARTY_ENTITY / PARTY_UNKNOWN
    customer_ids: np.ndarray       # object[str], dense customer index -> user's customer id
    # business days
    business_days: np.ndarray      # datetime64[D], every business day of the data range
    calendar: BusinessCalendar
    # edges, in time order, one timestamp's by txn_id (edge_order)
    src: np.ndarray                # int32, -1 = no account (cash)
    dst: np.ndarray                # int32, -1 = no account (cash)
    timestamp_ns: np.ndarray       # int64, nanoseconds since 1970 (bank-local time)
    day: np.ndarray                # int32, index into business_days
    amount_home: np.ndarray        # float64, in home_currency
    amount_foreign: np.ndarray     # float64, in foreign_currency
    channel: np.ndarray            # int8, index into config.CHANNELS
    is_home_currency: np.ndarray   # bool, True for transactions in home_currency
    txn_pos: np.ndarray            # int32/int64, row of the edge in `transactions`
    # indexes
    out_indptr: np.ndarray
    out_edges: np.ndarray
    in_indptr: np.ndarray
    in_edges: np.ndarray
    day_indptr: np.ndarray
    # the columns of the validated table the edges came from that are read later
    # (:data:`KEPT_COLUMNS`; not copied): the rest is let go with the table
    transactions: pd.DataFrame
    # ISO codes of amount_home and amount_foreign (a rule set's home and foreign-threshold currencies)
    home_currency: str = HOME_CURRENCY
    foreign_currency: str = "USD"
    # optional account context (flowgraph.schema.ACCOUNT_CONTEXT_COLUMNS), None when the
    # accounts table has no such column: the day each account was opened (datetime64[D],
    # NaT unknown) and its contact key (int64 code into contact_ids, -1 none)
    account_opened: np.ndarray | None = None
    account_contact: np.ndarray | None = None
    contact_ids: np.ndarray | None = None

    # -- sizes --------------------------------------------------------------------------
    @property
    def n_edges(self) -> int:
        return len(self.src)

    @property
    def n_accounts(self) -> int:
        return len(self.account_ids)

    @property
    def n_customers(self) -> int:
        return len(self.customer_ids)

    @property
    def n_days(self) -> int:
        return len(self.business_days)

    @property
    def nbytes(self) -> int:
        """Bytes held by the edge and index arrays (not the original table)."""
        return sum(getattr(self, a).nbytes for a in EDGE_ARRAYS + INDEX_ARRAYS)

    # -- ids ----------------------------------------------------------------------------
    def account_index(self, account_ids: Iterable[str] | str) -> np.ndarray | int:
        """Dense index of user account id(s); KeyError names any unknown id."""
        single = isinstance(account_ids, str)
        ids = np.array([account_ids] if single else list(account_ids), dtype=object)
        pos = np.searchsorted(self.account_ids, ids)
        pos = np.minimum(pos, max(self.n_accounts - 1, 0))
        found = (self.n_accounts > 0) & (self.account_ids[pos] == ids) if len(ids) else np.array([], bool)
        if not np.all(found):
            raise KeyError(f"unknown account id(s): {ids[~found][:5].tolist()}")
        return int(pos[0]) if single else pos

    @functools.cached_property
    def txn_id_arrow(self) -> pa.Array:
        """The user's transaction ids in table order as one Arrow string array: hits take
        their evidence ids from it without a Python object per id: the column's own array
        when it is one (a store's read, :func:`flowgraph._arrow.text_in_one_chunk`), no copy."""
        ids = pa.array(self.transactions["txn_id"])
        return one_array(ids)

    @functools.cached_property
    def account_id_arrow(self) -> pa.Array:
        """``account_ids`` as an Arrow string array (built once)."""
        return pa.array(self.account_ids, type=pa.string())

    @functools.cached_property
    def amount_home_cents(self) -> np.ndarray:
        """``amount_home`` in integer cents (int64), converted once per graph: sums compared
        with a threshold are exact in cents, never in float yuan."""
        return _to_cents(self.amount_home)

    @functools.cached_property
    def amount_foreign_cents(self) -> np.ndarray:
        """``amount_foreign`` in integer cents (int64), converted once per graph."""
        return _to_cents(self.amount_foreign)

    @functools.cached_property
    def arrays(self) -> GraphArrays:
        """The kernels' view of the graph (no copies)."""
        return GraphArrays(self.in_indptr, self.in_edges, self.out_indptr, self.out_edges, self.src, self.dst,
                           self.day, self.channel, self.amount_home, self.amount_home_cents, self.account_customer)

    @functools.cached_property
    def calendar_day(self) -> np.ndarray:
        """Per edge, the calendar day of its timestamp as days since the date of the first
        transaction (int32): windows in calendar days (seven-day-a-week data such as card
        networks) compare these, while hits still report the business day each edge counts
        toward (``day``). Edges are in time order, so the values ascend along every CSR
        segment just as ``day`` does."""
        dates = self.timestamp_ns.astype("datetime64[ns]").astype("datetime64[D]").view(np.int64)
        return (dates - dates[0]).astype(np.int32) if len(dates) else np.zeros(0, np.int32)

    @functools.cached_property
    def period_last(self) -> np.ndarray:
        """Per business day (index), the index of the last business day of its calendar
        month in the graph (int64): runs of qualifying days are cut where it ends
        (:mod:`flowgraph._kernels.runs`, "run periods"). Months are calendar facts, so
        every graph of the same days cuts the same runs, however much history it holds."""
        month = self.business_days.astype("datetime64[M]")
        return (np.searchsorted(month, month, side="right") - 1).astype(np.int64)

    @functools.cached_property
    def account_monitored(self) -> np.ndarray:
        """Per account, whether it is the bank's own (bool): listed in the accounts table,
        or an account of a transaction this graph holds that names no listed account (a cash
        deposit or withdrawal, a transfer between unlisted accounts); every account when no
        account is listed (the module docstring, "Which accounts are the bank's own"). For
        :meth:`unlisted_bank_accounts`' count only: it depends on the days the graph holds."""
        listed = self.account_customer >= 0
        if not listed.any():
            return np.ones(self.n_accounts, bool)
        if listed.all():  # the usual case (a complete or a derived table): no pass over the edges
            return listed
        src, dst = self.src, self.dst
        # -1 (no account) indexes the last account: masked by the side's own test
        src_listed = (src >= 0) & listed[src]
        dst_listed = (dst >= 0) & listed[dst]
        unplaced = ~(src_listed | dst_listed)
        shown = listed.copy()
        shown[src[unplaced & (src >= 0)]] = True
        shown[dst[unplaced & (dst >= 0)]] = True
        return shown

    def unlisted_bank_accounts(self) -> tuple[int, int]:
        """How many accounts are the bank's (:attr:`account_monitored`) but not listed in
        the accounts table, and how many of those have a cash transaction with no other
        account: (all, at cash). (0, 0) when no account is listed (no accounts table)."""
        unlisted, at_cash = self.unlisted_bank_account_ids()
        return len(unlisted), len(at_cash)

    def unlisted_bank_account_ids(self) -> tuple[np.ndarray, np.ndarray]:
        """The user's ids of the accounts :meth:`unlisted_bank_accounts` counts: (all, at
        cash), sorted; a scan in blocks unites those of its blocks' graphs. Real ids: for
        counting, never shown."""
        listed = self.account_customer >= 0
        if listed.all() or not listed.any():
            return self.account_ids[:0], self.account_ids[:0]
        unlisted = self.account_monitored & ~listed
        cash = self.channel == CHANNELS.index("cash")
        at_cash = np.zeros(self.n_accounts, bool)
        at_cash[self.src[cash & (self.src >= 0) & (self.dst < 0)]] = True
        at_cash[self.dst[cash & (self.dst >= 0) & (self.src < 0)]] = True
        return self.account_ids[unlisted], self.account_ids[unlisted & at_cash]

    def window_day(self, unit: str) -> np.ndarray:
        """Per edge, the day index windows of ``unit`` count in: ``day`` (business days)
        for ``"business"``, :attr:`calendar_day` for ``"calendar"``."""
        if unit not in WINDOW_UNITS:
            raise ValueError(f"unit must be one of {WINDOW_UNITS}, got {unit!r}")
        return self.day if unit == "business" else self.calendar_day

    def txn_ids(self, edges: np.ndarray | slice) -> np.ndarray:
        """The user's transaction ids of the given edges (object array of str)."""
        return self.txn_id_arrow.take(self.txn_pos[edges]).to_numpy(zero_copy_only=False)

    # -- time ---------------------------------------------------------------------------
    def day_index(self, date) -> int:
        """Index of the business day a date counts toward (the date itself if it is a
        business day, else the next one)."""
        d = self.calendar.next_business_day(date)
        i = int(np.searchsorted(self.business_days, d))
        if i >= self.n_days or self.business_days[i] != d:
            raise KeyError(f"{date} (business day {d}) is outside the graph's range "
                           f"{self.business_days[0] if self.n_days else None} .. "
                           f"{self.business_days[-1] if self.n_days else None}")
        return i

    def day_index_of(self, business_days) -> np.ndarray:
        """Indices of business days (an array of dates that are business days of the graph)."""
        return np.searchsorted(self.business_days, np.asarray(business_days).astype("datetime64[D]"))

    def day_edges(self, day: int) -> slice:
        """Edges of business day ``day`` (an index) as a slice of the edge arrays."""
        return slice(int(self.day_indptr[day]), int(self.day_indptr[day + 1]))

    def window_edges(self, end_day: int, window_days: int) -> slice:
        """Edges of the ``window_days`` business days ending with ``end_day`` (inclusive)
        as a slice: ``graph.amount_home[graph.window_edges(d, 10)]`` is a view."""
        if window_days < 1:
            raise ValueError(f"The 'window_days' parameter must be an int in the range [1, inf). Got {window_days!r} instead.")
        start = max(0, end_day - window_days + 1)
        return slice(int(self.day_indptr[start]), int(self.day_indptr[end_day + 1]))

    def out_edges_of(self, account: int, days: tuple[int, int] | None = None) -> np.ndarray:
        """Outgoing edge ids of an account (dense index), in time order, optionally only
        those on business days ``days[0]..days[1]`` inclusive."""
        return self._adjacent(self.out_indptr, self.out_edges, account, days)

    def in_edges_of(self, account: int, days: tuple[int, int] | None = None) -> np.ndarray:
        """Incoming edge ids of an account, in time order (see :meth:`out_edges_of`)."""
        return self._adjacent(self.in_indptr, self.in_edges, account, days)

    def _adjacent(self, indptr, edges, account, days):
        seg = edges[indptr[account]:indptr[account + 1]]
        if days is None:
            return seg
        seg_days = self.day[seg]
        lo, hi = np.searchsorted(seg_days, days[0], "left"), np.searchsorted(seg_days, days[1], "right")
        return seg[lo:hi]

    # -- export -------------------------------------------------------------------------
    def _edge_ids(self, edges) -> np.ndarray:
        if edges is None:
            return np.arange(self.n_edges)
        if isinstance(edges, slice):
            return np.arange(self.n_edges)[edges]
        return np.asarray(edges, dtype=np.int64)

    def edge_frame(self, edges=None) -> pd.DataFrame:
        """The given edges (ids, slice or all) as a table with the user's ids."""
        e = self._edge_ids(edges)
        def name(idx):
            out = np.full(len(idx), None, dtype=object)
            ok = idx >= 0
            out[ok] = self.account_ids[idx[ok]]
            return out
        return pd.DataFrame({
            "txn_id": self.txn_ids(e),
            "timestamp": self.timestamp_ns[e].astype("datetime64[ns]"),
            "business_day": self.business_days[self.day[e]],
            "src_account": name(self.src[e]),
            "dst_account": name(self.dst[e]),
            "amount_home": self.amount_home[e],
            "amount_foreign": self.amount_foreign[e],
            "channel": np.array(CHANNELS, dtype=object)[self.channel[e]],
        })

    def to_networkx(self, edges=None):
        """A ``networkx.MultiDiGraph`` of the given edges (default all): nodes are the
        user's account ids (``(cash)`` for the missing side of cash edges) with
        ``customer_id`` and ``party_type``; each edge is keyed by its transaction id and
        carries amounts, timestamp, business day and channel."""
        import networkx as nx

        frame = self._export_frame(edges)
        g = nx.MultiDiGraph()
        for node in self._nodes_of(frame):
            g.add_node(node, **self._node_attrs(node))
        for row in frame.itertuples(index=False):
            g.add_edge(row.src_account, row.dst_account, key=row.txn_id,
                       amount_home=row.amount_home, amount_foreign=row.amount_foreign, timestamp=row.timestamp,
                       business_day=row.business_day, channel=row.channel)
        return g

    def to_igraph(self, edges=None):
        """An ``igraph.Graph`` (directed, multi-edges kept) of the given edges: vertex
        attribute ``name`` is the user's account id, edge attributes as in
        :meth:`to_networkx` plus ``txn_id``."""
        import igraph as ig

        frame = self._export_frame(edges)
        nodes = self._nodes_of(frame)
        pos = {n: i for i, n in enumerate(nodes)}
        g = ig.Graph(n=len(nodes), directed=True)
        g.vs["name"] = nodes
        attrs = [self._node_attrs(n) for n in nodes]
        g.vs["customer_id"] = [a["customer_id"] for a in attrs]
        g.vs["party_type"] = [a["party_type"] for a in attrs]
        src = frame["src_account"].map(pos).to_numpy()
        dst = frame["dst_account"].map(pos).to_numpy()
        g.add_edges(list(zip(src.tolist(), dst.tolist())))
        for col in ("txn_id", "amount_home", "amount_foreign", "timestamp", "business_day", "channel"):
            g.es[col] = frame[col].tolist()
        return g

    def _export_frame(self, edges) -> pd.DataFrame:
        frame = self.edge_frame(edges)
        frame["src_account"] = frame["src_account"].fillna(CASH_NODE)
        frame["dst_account"] = frame["dst_account"].fillna(CASH_NODE)
        return frame

    @staticmethod
    def _nodes_of(frame: pd.DataFrame) -> list[str]:
        return sorted(set(frame["src_account"]) | set(frame["dst_account"]))

    def _node_attrs(self, node: str) -> dict:
        if node == CASH_NODE:
            return {"customer_id": None, "party_type": None}
        a = self.account_index(node)
        c = self.account_customer[a]
        p = self.account_party[a]
        return {"customer_id": self.customer_ids[c] if c >= 0 else None,
                "party_type": PARTY_TYPES[p] if p >= 0 else None}

    def neighbourhood(self, account_id: str, hops: int = 1, days: tuple[int, int] | None = None) -> np.ndarray:
        """Edge ids within ``hops`` steps of an account (either direction), optionally
        only on business days ``days[0]..days[1]``; pass them to :meth:`to_networkx`."""
        frontier = {self.account_index(account_id)}
        seen_nodes = set(frontier)
        edges: set[int] = set()
        for _ in range(hops):
            nxt = set()
            for a in frontier:
                for e in np.concatenate([self.out_edges_of(a, days), self.in_edges_of(a, days)]).tolist():
                    edges.add(e)
                    for b in (int(self.src[e]), int(self.dst[e])):
                        if b >= 0 and b not in seen_nodes:
                            nxt.add(b)
            seen_nodes |= nxt
            frontier = nxt
        return np.array(sorted(edges), dtype=np.int64)

    # -- description --------------------------------------------------------------------
    def summary(self) -> dict:
        """Sizes and ranges, for reports and the command line. ``cash_transactions`` counts
        the transactions of the cash channel, whether or not both of their sides name an
        account (a cash withdrawal booked between a customer's account and a teller's)."""
        n = self.n_edges
        return {
            "transactions": n,
            "accounts": self.n_accounts,
            "customers": self.n_customers,
            "accounts_without_customer": int((self.account_customer < 0).sum()),
            "first_business_day": str(self.business_days[0]) if self.n_days else None,
            "last_business_day": str(self.business_days[-1]) if self.n_days else None,
            "business_days": self.n_days,
            "busiest_day_transactions": int(np.diff(self.day_indptr).max()) if self.n_days else 0,
            "cash_transactions": int((self.channel == CHANNELS.index("cash")).sum()),
            "self_transfers": int(((self.src == self.dst) & (self.src >= 0)).sum()),
            "foreign_currency_edges": int((~self.is_home_currency).sum()),
            "graph_bytes": self.nbytes,
            "bytes_per_transaction": round(self.nbytes / n, 1) if n else None,
            "calendar": self.calendar.name,
        }


def _arrow_text(series: pd.Series) -> pa.ChunkedArray:
    """A text column as Arrow text (its chunks as they are: no copy when it is Arrow-backed)."""
    values = pa.array(series, from_pandas=True) if len(series) else pa.array([], pa.string())
    values = values if isinstance(values, pa.ChunkedArray) else pa.chunked_array([values])
    return values if pa.types.is_string(values.type) or pa.types.is_large_string(values.type) \
        else values.cast(pa.string())


def _dictionary_codes(column: pd.Series) -> tuple[np.ndarray, pa.Array]:
    """Codes (int32, ``len(dictionary)`` for missing) of a text column and its distinct
    values, hashed by Arrow chunk by chunk into one dictionary: the chunks of a store's
    read (a file each) are neither joined into one array nor recast first, which took
    longer than the hashing (0.25 + 0.8 s of 1.8 s for 20 M account ids). A categorical
    column (a store's read of :data:`GRAPH_DICTIONARY_COLUMNS`) has its codes already."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        return _category_codes(column)
    encoded = pc.dictionary_encode(_arrow_text(column))
    if encoded.num_chunks == 0:  # no value
        return np.zeros(0, np.int32), pa.array([], pa.string())
    dictionary = encoded.chunk(0).dictionary
    if not all(c.dictionary.equals(dictionary) for c in encoded.chunks[1:]):  # Arrow shares one; else made so
        encoded = encoded.unify_dictionaries()
        dictionary = encoded.chunk(0).dictionary
    missing = len(dictionary)
    codes = np.concatenate([np.asarray(c.indices.fill_null(missing), np.int32) for c in encoded.chunks])
    return codes, dictionary.cast(pa.string())


def _is_text(column: pd.Series, value: str) -> np.ndarray:
    """Per row, whether a text column (or a categorical of text) holds ``value`` (a missing
    value does not): a categorical's categories are compared, not a text per row."""
    if isinstance(column.dtype, pd.CategoricalDtype):  # a missing value's code, -1, reads the last slot
        holds = np.append(np.asarray(column.cat.categories.astype(str) == value, dtype=bool), False)
        return holds[np.asarray(column.cat.codes)]
    return (column.astype("string") == value).to_numpy(dtype=bool, na_value=False)


def _category_codes(column: pd.Series) -> tuple[np.ndarray, pa.Array]:
    """:func:`_dictionary_codes` of a categorical column: its codes, and its categories
    that some row holds (a category no row holds is no account of the data)."""
    codes = np.asarray(column.cat.codes, dtype=np.int32)
    categories = column.cat.categories
    held = np.zeros(len(categories) + 1, bool)
    held[codes] = True  # a missing value's code, -1, marks the last slot
    kept = np.flatnonzero(held[:-1])
    renumbered = np.full(len(categories) + 1, len(kept), np.int32)  # the last slot: missing
    renumbered[kept] = np.arange(len(kept), dtype=np.int32)
    return renumbered[codes], pa.array(np.asarray(categories, dtype=object)[kept], pa.string())


def _factorize_sorted(columns: list[pd.Series]) -> tuple[list[np.ndarray], np.ndarray]:
    """Codes (int32, -1 for missing) of the values of several text columns, one array per
    column (not joined: two of a graph's are an int32 per transaction), numbered in sorted
    order of the distinct values of all; and those values (object array). Each column is
    hashed by Arrow on its own thread (Arrow lets go of the GIL), then only the distinct
    values are merged and sorted."""
    with ThreadPoolExecutor(max_workers=min(len(columns), os.cpu_count() or 1)) as pool:
        encoded = list(pool.map(_dictionary_codes, columns))
    distinct = pc.unique(pa.concat_arrays([dictionary for _, dictionary in encoded]))
    order = pc.sort_indices(distinct)
    distinct = distinct.take(order)
    codes = []
    for indices, dictionary in encoded:
        # each column's dictionary entries -> their rank among all distinct values; -1 missing
        rank = np.append(np.asarray(pc.index_in(dictionary, value_set=distinct)).astype(np.int32), np.int32(-1))
        codes.append(rank[indices])
    return codes, distinct.to_numpy(zero_copy_only=False)


def edge_order(timestamp_ns: np.ndarray, txn_id: pd.Series) -> np.ndarray | None:
    """The order of the graph's edges: rows by timestamp, rows of one timestamp by
    transaction id (as Python orders ``str``: UTF-8 byte order), so the graph, and every
    hit, is the same whatever order the rows came in (SPEC §5: the same data gives the same
    hits and ids; a file sorted otherwise, split otherwise or a store's day files written in
    other batches). Ids are unique in validated data; rows with equal ids and times (only
    in a table that was not validated) keep their order.

    Parameters
    ----------
    timestamp_ns : ndarray of int64
        Each row's timestamp.
    txn_id : Series of str
        Each row's transaction id.

    Returns
    -------
    ndarray of int64 or None
        Row numbers in edge order; None when the rows are in that order already (the
        usual case for files written in time and id order: one comparison per row).
    """
    n = len(timestamp_ns)
    in_time_order = bool(np.all(timestamp_ns[1:] >= timestamp_ns[:-1]))
    order = None if in_time_order else np.argsort(timestamp_ns, kind="stable")
    sorted_ns = timestamp_ns if in_time_order else timestamp_ns[order]
    tied = sorted_ns[1:] == sorted_ns[:-1]  # rows i and i + 1 share a time stamp
    if not tied.any():  # no tie to order
        return None if in_time_order else order
    ids = _arrow_text(txn_id)
    if in_time_order and _ties_in_text_order(tied, ids):
        return None
    if ids.nbytes >= 2**31 and not pa.types.is_large_string(ids.type):  # one array's int32 offsets would overflow
        ids = ids.cast(pa.large_string())
    ids = one_array(ids)
    if in_time_order:
        order = np.arange(n, dtype=np.int64)
        n_reordered = order_ties_by_text(order, sorted_ns, *text_buffers(ids), numba.get_num_threads() * 8)
        return order if n_reordered else None
    # the ids in time order first: the kernel then reads them one after another, not from
    # anywhere in the table (20 M shuffled rows timed to the second: 3.2 s of CPU with the
    # copy, 4.4 s without)
    position = np.arange(n, dtype=np.int64)
    order_ties_by_text(position, sorted_ns, *text_buffers(ids.take(order)), numba.get_num_threads() * 8)
    return order[position]


def _ties_in_text_order(tied: np.ndarray, ids: pa.ChunkedArray) -> bool:
    """Whether every row tied with the row before it (``tied[i]``: rows ``i`` and ``i + 1``
    share a time stamp) has an id at or after that row's (UTF-8 byte order; Arrow compares
    text so): rows in edge order already, as a store's day files are. Compared by Arrow
    chunk by chunk (a file each), and at each chunk's first row against the last of the
    chunk before: the ids are not joined into one array (a copy of every id: 2.7 s of a
    39 M-row read) for the tie kernel to find nothing to do."""
    start, last = 0, None
    for chunk in ids.chunks:
        n = len(chunk)
        if not n:
            continue
        if last is not None and tied[start - 1] and not pc.less_equal(last, chunk[0]).as_py():
            return False
        if n > 1:
            ordered = pc.fill_null(pc.less_equal(chunk.slice(0, n - 1), chunk.slice(1)), False)
            if np.any(tied[start:start + n - 1] & ~ordered.to_numpy(zero_copy_only=False)):
                return False
        start, last = start + n, chunk[n - 1]
    return True


#: Columns of the transactions :func:`build_graph` reads: the canonical ones, the amounts
#: converted at validation and the optional context. The rest of a validated table (its
#: ``source_row``, a simulator's labels) is not needed to scan and is not read from a store.
GRAPH_COLUMNS = (*TXN_COLUMNS, "amount_cny", "amount_usd", *CONTEXT_COLUMNS)

#: Text columns of :data:`GRAPH_COLUMNS` a read from a store takes as dictionaries (pandas
#: categoricals): the graph numbers the accounts and needs no account id per row. On the
#: 240-day range of the 1e8 bank (39 M rows), read and built: 0.8-0.9 GiB lower peak, the
#: graph in 5.6-6.5 s against 9.0-9.2 s (78 M ids not hashed), the read 1 s longer. The
#: currency too: a code per row, not a text kept to the end of the scan.
GRAPH_DICTIONARY_COLUMNS = ("src_account", "dst_account", "currency")

#: Threads building a graph's edge groups and amounts beside the one that dates its edges
#: (:func:`build_graph`). The graph of the 1e8 bank's 240-day range (39 M transactions,
#: session 51): 2.9-3.3 s against 4.1-5.2 s on one thread (alternating); one thread beside
#: it 2.9-4.2 s, four 3.3-3.8 s. Most of the stage is the system's fresh pages, which two
#: threads fault in at once.
GRAPH_THREADS = 2

#: Columns of the transactions a graph keeps (``TransactionGraph.transactions``): the ids,
#: what the case file shows of an amount (as booked), and the optional context columns the
#: trafficking detectors read. Account ids, timestamps and amounts are in the graph's arrays.
KEPT_COLUMNS = ("txn_id", "amount", "currency", *CONTEXT_COLUMNS)


def build_graph(transactions: pd.DataFrame, accounts: pd.DataFrame | None = None,
                calendar: BusinessCalendar | None = None, home_currency: str = HOME_CURRENCY,
                foreign_currency: str = "USD", rates: RateTable | None = None) -> TransactionGraph:
    """Build the time-sliced account graph from validated canonical tables.

    Parameters
    ----------
    transactions : DataFrame
        Accepted rows from :func:`flowgraph.schema.validate_transactions` (needs
        ``txn_id, timestamp, src_account, dst_account, amount_cny, amount_usd, currency,
        channel``).
    accounts : DataFrame, optional
        Canonical accounts table; accounts that appear only in transactions get no
        customer (-1) and an unknown party type.
    calendar : BusinessCalendar, optional
        Default: the PRC calendar.
    home_currency, foreign_currency : str
        ISO codes of the rule set's home and foreign-threshold currencies: the edges'
        ``amount_home`` and ``amount_foreign`` (default CNY and USD, the PBOC rules').
    rates : RateTable, optional
        Converts amounts into a home or foreign currency other than CNY and USD (the table
        holds those already); use the one the table was validated with. Default: the
        package's illustrative table.

    Returns
    -------
    TransactionGraph
    """
    calendar = calendar or prc_calendar()
    n = len(transactions)
    timestamps = transactions["timestamp"].to_numpy(dtype="datetime64[ns]")
    ts_int = timestamps.view(np.int64)
    order = edge_order(ts_int, transactions["txn_id"])
    in_order = order is None
    pos_type = np.int32 if n < 2**31 else np.int64
    txn_pos = np.arange(n, dtype=pos_type) if in_order else order.astype(pos_type)

    def by_time(values: np.ndarray, fresh: bool = False) -> np.ndarray:
        """``values[order]``, never the table's memory (the graph does not share it): a plain
        copy when the table is already in time order, as files usually are, or ``values``
        themselves when they were ``fresh``ly computed here."""
        return (values if fresh else values.copy()) if in_order else values[order]

    # accounts: the accounts table plus every id seen in transactions, sorted
    acct_ids_table = accounts["account_id"] if accounts is not None else pd.Series([], dtype="string")
    (table_idx, src, dst), account_ids = _factorize_sorted([acct_ids_table, transactions["src_account"],
                                                            transactions["dst_account"]])
    src, dst = by_time(src, fresh=True), by_time(dst, fresh=True)

    account_customer = np.full(len(account_ids), -1, dtype=np.int32)
    account_party = np.full(len(account_ids), PARTY_UNKNOWN, dtype=np.int8)
    if accounts is not None and len(accounts):
        cust_codes, cust_uniques = pd.factorize(accounts["customer_id"].astype("string"), sort=True)
        account_customer[table_idx] = cust_codes
        party = pd.Categorical(accounts["party_type"], categories=list(PARTY_TYPES)).codes
        account_party[table_idx] = party.astype(np.int8)  # -1 (NaN) is PARTY_UNKNOWN
        customer_ids = np.asarray(cust_uniques, dtype=object)
    else:
        customer_ids = np.array([], dtype=object)
    opened, contact, contact_ids = _account_context(accounts, table_idx, len(account_ids))

    rates = rates or default_rates()
    home_amounts = rates.amounts_in(transactions, home_currency)
    foreign_amounts = rates.amounts_in(transactions, foreign_currency)
    # the edge groups and the amounts on other threads while this one dates the edges: the
    # kernels and numpy's copies let go of the GIL, and most of this stage is the system
    # handing out fresh pages for the arrays (GRAPH_THREADS)
    with ThreadPoolExecutor(max_workers=GRAPH_THREADS) as pool:
        out_groups, in_groups = pool.submit(_csr, src, len(account_ids)), pool.submit(_csr, dst, len(account_ids))
        home_copy, foreign_copy = pool.submit(by_time, home_amounts), pool.submit(by_time, foreign_amounts)
        timestamp_ns = by_time(ts_int)
        business_days, day = calendar.business_day_index(timestamp_ns.view("datetime64[ns]"))
        channel = by_time(pd.Categorical(transactions["channel"], categories=list(CHANNELS)).codes.astype(np.int8),
                          fresh=True)
        is_home = by_time(_is_text(transactions["currency"], home_currency), fresh=True)
        day_indptr = np.searchsorted(day, np.arange(len(business_days) + 1), side="left").astype(np.int64)
        (out_indptr, out_edges), (in_indptr, in_edges) = out_groups.result(), in_groups.result()
        amount_home, amount_foreign = home_copy.result(), foreign_copy.result()

    return TransactionGraph(
        account_ids=account_ids, account_customer=account_customer, account_party=account_party,
        customer_ids=customer_ids, business_days=business_days, calendar=calendar,
        src=src, dst=dst, timestamp_ns=timestamp_ns, day=day,
        amount_home=amount_home, amount_foreign=amount_foreign,
        channel=channel, is_home_currency=is_home, txn_pos=txn_pos,
        out_indptr=out_indptr, out_edges=out_edges, in_indptr=in_indptr, in_edges=in_edges,
        day_indptr=day_indptr, transactions=transactions[[c for c in KEPT_COLUMNS if c in transactions.columns]],
        home_currency=home_currency, foreign_currency=foreign_currency, account_opened=opened,
        account_contact=contact, contact_ids=contact_ids,
    )


def _account_context(accounts: pd.DataFrame | None, table_idx: np.ndarray, n_accounts: int):
    """Per account, its opening day and contact code (and the contact keys) from the
    accounts table's optional columns; None for a column the table lacks."""
    opened = contact = contact_ids = None
    if accounts is not None and "opened_on" in accounts.columns:
        opened = np.full(n_accounts, np.datetime64("NaT"), "datetime64[D]")
        opened[table_idx] = accounts["opened_on"].to_numpy(dtype="datetime64[ns]").astype("datetime64[D]")
    if accounts is not None and "contact_id" in accounts.columns:
        codes, uniques = pd.factorize(accounts["contact_id"].astype("string"), sort=True)
        contact = np.full(n_accounts, -1, np.int64)
        contact[table_idx] = codes
        contact_ids = np.asarray(uniques, dtype=object)
    return opened, contact, contact_ids

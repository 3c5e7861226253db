"""Hits: what a detector found (SPEC §5), as one columnar table.

A detector describes its hits with arrays (:class:`HitParts`: typology, subject account,
the run of qualifying days, evidence edges as segments, the amount A in cents, its own
measures) and :func:`hit_table` turns them into the hit table with array operations: the
user's ids, evidence accounts and transactions as list columns, the window, N and D of
SPEC §4, Φ of each method the evidence used, the ceiling Σ_m W(N, D) · Φ_m and the
utilisation u = A / ceiling. No Python object is made per hit on this path;
:class:`HitTable` makes :class:`Hit` objects on demand (notebooks, tests).

**One schema** (:data:`HIT_COLUMNS`): ``hit_id, detector, typology, params_id, subject,
customer, accounts, txn_ids, window_start, window_end, run_first, run_last, n_accounts,
n_days, amount, phi, ceiling, utilisation, measures`` (JSON text), then one ``m_<name>``
column per measure, and :data:`EDGE_IDS`: the graph's edge ids of ``txn_ids``, so a scan
compares and looks up evidence as integers, not as text (valid only with the graph that
made them: neither stored nor exported). :func:`check_hits` is called where alerts, the
store and the exports take hits in.

**Ids.** A hit's id is a hash of detector, typology, parameter fingerprint, subject (or
the account a detector anchors it at: ``HitParts.anchor``), the first day of its run of
qualifying days and the detector's ``key`` (e.g. the channel): the same data and
parameters give the same id, and a run that goes on into later days keeps its id while
its window, evidence and measures are updated — until its month ends: runs are cut where
a calendar month ends (:mod:`flowgraph._kernels.runs`), so a pattern that goes on is
raised again each month under a new id.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ._arrow import one_array, text_buffers
from ._json import dumps_each
from ._kernels.sha1 import sha1_leading64
from ._kernels.segments import (
    segment_accounts,
    segment_channels,
    segment_span,
    sort_unique_segments,
)
from .ceiling import W
from .config import CHANNELS
from .errors import FlowgraphError

#: Each hit's evidence as edge ids of the graph it was found in, in the order of ``txn_ids``.
EDGE_IDS = "edge_ids"

HIT_COLUMNS = ("hit_id", "detector", "typology", "params_id", "subject", "customer", "accounts", "txn_ids",
               "window_start", "window_end", "run_first", "run_last", "n_accounts", "n_days", "amount", "phi",
               "ceiling", "utilisation", "measures")

#: What tells the hits of a table apart and places their runs (:attr:`HitTable.keys`).
KEY_COLUMNS = ("hit_id", "typology", "subject", "run_first", "run_last")

#: dtype of every column of an empty hit table (lists are object columns of lists)
HIT_DTYPES = {"hit_id": object, "detector": object, "typology": object, "params_id": object, "subject": object,
              "customer": object, "accounts": object, "txn_ids": object, "window_start": "datetime64[ns]",
              "window_end": "datetime64[ns]", "run_first": "datetime64[ns]", "run_last": "datetime64[ns]",
              "n_accounts": np.int64, "n_days": np.int64, "amount": np.float64, "phi": object,
              "ceiling": np.float64, "utilisation": np.float64, "measures": object}


class HitSchemaError(FlowgraphError):
    """A hit table that does not follow :data:`HIT_COLUMNS` (a bug in a detector)."""


def check_hits(frame: pd.DataFrame, where: str) -> pd.DataFrame:
    """Raise unless ``frame`` has every hit column; return it."""
    missing = [c for c in HIT_COLUMNS if c not in frame.columns]
    if missing:
        raise HitSchemaError(f"{where}: the hit table lacks column(s) {missing}")
    return frame


def params_fingerprint(params) -> str:
    """A short, stable hash of a parameters dataclass (its class name and values)."""
    payload = {"class": type(params).__name__, **params_values(params)}
    return hashlib.sha1(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:12]


def params_values(params) -> dict:
    """A parameters dataclass's values as plain values, a rule set among them as it hashes
    (:meth:`flowgraph.config.RuleSet.to_dict`: fields added since at their defaults left out)."""
    values = dataclasses.asdict(params)
    if hasattr(getattr(params, "rule_set", None), "to_dict"):
        values["rule_set"] = params.rule_set.to_dict()
    return values


@dataclass(frozen=True)
class Hit:
    """One hit (SPEC §5), in the user's ids: a row of the hit table as an object.

    Attributes
    ----------
    hit_id, detector, typology, params_id : str
    subject, customer : str
        The account the hit is about and its customer ("" if unknown).
    accounts, txn_ids : tuple of str
        Evidence accounts (subject first) and transactions.
    window_start, window_end : numpy.datetime64
        First and last business day of the evidence window.
    run_first, run_last : numpy.datetime64
        First and last qualifying business day of the hit's run.
    n_accounts, n_days : int
        N and D of SPEC §4.
    amount : float
        A, the amount the pattern moved (CNY).
    phi : dict
        Φ per method used in the evidence, CNY.
    ceiling, utilisation : float
        Σ_m W(N, D) · Φ_m and A / ceiling.
    measures : dict
        The detector's own measures.
    """

    hit_id: str
    detector: str
    typology: str
    params_id: str
    subject: str
    customer: str
    accounts: tuple
    txn_ids: tuple
    window_start: np.datetime64
    window_end: np.datetime64
    run_first: np.datetime64
    run_last: np.datetime64
    n_accounts: int
    n_days: int
    amount: float
    phi: dict = field(default_factory=dict)
    ceiling: float = float("nan")
    utilisation: float = float("nan")
    measures: dict = field(default_factory=dict)

    @classmethod
    def from_row(cls, row) -> "Hit":
        values = {c: row[c] for c in HIT_COLUMNS}
        values["accounts"], values["txn_ids"] = tuple(values["accounts"]), tuple(values["txn_ids"])
        for c in ("window_start", "window_end", "run_first", "run_last"):
            values[c] = np.datetime64(pd.Timestamp(values[c]).date(), "D")
        values["phi"], values["measures"] = json.loads(values["phi"]), json.loads(values["measures"])
        return cls(**values)


class HitTable:
    """Hits as a table (``frame``); indexing and iteration give :class:`Hit` objects.

    A table :func:`hit_table` made builds its rows when ``frame`` is first asked for
    (:meth:`deferred`); before that, :attr:`keys` tells its hits apart and :meth:`select`
    keeps some of them, so rows a scan would throw away are never built.

    ``dropped``: hits (``hit_id, run_first, txn_ids``) the detector traced further on this graph
    and found no longer qualify as a whole (a gather-scatter cluster whose hub, over the
    cluster's grown days, passed on too little of what it received): a hit stored under
    such an id from fewer days is out of date, and a scan retracts it, as a scan of all
    the days at once never finds it. By id, distinct.
    """

    def __init__(self, frame: pd.DataFrame, dropped: pd.DataFrame | None = None):
        self._frame, self._keys, self._build = check_hits(frame, "HitTable"), None, None
        self.dropped = _distinct_dropped(dropped)

    @classmethod
    def deferred(cls, keys: pd.DataFrame, build, dropped: pd.DataFrame | None = None) -> "HitTable":
        """A table of the hits ``keys`` (:data:`KEY_COLUMNS`, one row per hit, in the table's
        order) whose rows ``build(positions)`` makes, every column of those positions
        (ascending), when they are needed; ``build(positions, False)`` makes them without a
        column per measure (:meth:`frame_without_measure_columns`)."""
        table = cls.__new__(cls)
        table._frame, table._keys, table._build = None, keys, build
        table.dropped = _distinct_dropped(dropped)
        return table

    @property
    def frame(self) -> pd.DataFrame:
        if self._frame is None:
            self._frame = check_hits(self._build(np.arange(len(self._keys))), "HitTable")
            self._build = None
        return self._frame

    def frame_without_measure_columns(self) -> pd.DataFrame:
        """``frame`` without its column per measure (``m_*``; the ``measures`` JSON holds
        every measure): what a scan keeps of each detector's hits
        (:func:`flowgraph.scan._detector_hits`). Nothing after the detectors reads those
        columns (the run store and the exports take
        :data:`flowgraph.store.HIT_STORE_COLUMNS`), and on the 1e8 bank's range they were
        68 columns of 890,804 rows, 20 of them Python objects. A table whose rows are not
        built yet builds them without those columns (and keeps nothing); a table built
        whole drops them."""
        if self._frame is not None:
            return self._frame.drop(columns=[c for c in self._frame.columns if c.startswith(MEASURE_PREFIX)])
        return check_hits(self._build(np.arange(len(self._keys)), False), "HitTable")

    @property
    def keys(self) -> pd.DataFrame:
        """:data:`KEY_COLUMNS` of every hit, in the table's order (no row is built for them)."""
        return self._frame[list(KEY_COLUMNS)] if self._frame is not None else self._keys

    def select(self, keep) -> "HitTable":
        """The table of the hits where the boolean array ``keep`` (in the table's order) is
        true; ``dropped`` as it is."""
        keep = np.asarray(keep, dtype=bool)
        if self._frame is not None:
            return HitTable(self._frame.loc[keep].reset_index(drop=True), self.dropped)
        rows, build = np.flatnonzero(keep), self._build
        return HitTable.deferred(self._keys.loc[keep].reset_index(drop=True),
                                 lambda kept, *how: build(rows[kept], *how), self.dropped)

    def __len__(self) -> int:
        return len(self._frame) if self._frame is not None else len(self._keys)

    def __getitem__(self, i: int) -> Hit:
        return Hit.from_row(self.frame.iloc[i])

    def __iter__(self):
        return (Hit.from_row(row) for _, row in self.frame.iterrows())

    def __eq__(self, other) -> bool:
        """Equal to a list of the same :class:`Hit` objects, or to a table with the same rows."""
        if isinstance(other, HitTable):
            return self.frame.equals(other.frame)
        return isinstance(other, list) and self.hits == other

    __hash__ = None

    @property
    def hits(self) -> list[Hit]:
        return list(self)

    @classmethod
    def empty(cls, dropped: pd.DataFrame | None = None) -> "HitTable":
        return cls(empty_hits(), dropped)

    @classmethod
    def concat(cls, tables: list["HitTable"]) -> "HitTable":
        # tables whose typologies do not interleave (one per rule or kind) come out of the
        # sort in this order, and then nothing is moved
        frames = [t.frame for t in tables if len(t)]
        dropped = pd.concat([_no_hits_dropped()] + [t.dropped for t in tables if len(t.dropped)], ignore_index=True)
        if not frames:
            return cls(empty_hits(), dropped)
        columns = list(dict.fromkeys(c for f in frames for c in f.columns))  # as the tables come
        frames.sort(key=lambda f: tuple(f[["detector", "typology"]].iloc[0]))
        return cls(_sorted(pd.concat(frames, ignore_index=True)[columns]), dropped)


#: Columns of :attr:`HitTable.dropped`: ``txn_ids``, the evidence of the rejected cluster
#: (lists of transaction ids), which a stored hit it holds was part of
#: (:func:`flowgraph.scan.absorbed_clusters`).
DROPPED_DTYPES = {"hit_id": object, "run_first": "datetime64[ns]", "txn_ids": object}


def _distinct_dropped(dropped: pd.DataFrame | None) -> pd.DataFrame:
    """A table's ``dropped`` hits, distinct by id and in id order (none: an empty table)."""
    if dropped is None:
        return _no_hits_dropped()
    return dropped[list(DROPPED_DTYPES)].drop_duplicates("hit_id").sort_values("hit_id", ignore_index=True)


def _no_hits_dropped() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=t) for c, t in DROPPED_DTYPES.items()})


def empty_hits() -> pd.DataFrame:
    """A hit table with no rows and every column typed."""
    return pd.DataFrame({c: pd.Series(dtype=t) for c, t in HIT_DTYPES.items()})


def hits_frame(hits) -> pd.DataFrame:
    """The table of a :class:`HitTable`, of a list of them, or of :class:`Hit` objects."""
    if isinstance(hits, HitTable):
        return hits.frame
    hits = list(hits)
    if hits and all(isinstance(h, HitTable) for h in hits):
        return HitTable.concat(hits).frame
    if not hits:
        return empty_hits()
    rows = [{**dataclasses.asdict(h), "accounts": list(h.accounts), "txn_ids": list(h.txn_ids),
             "phi": json.dumps(h.phi, sort_keys=True), "measures": json.dumps(h.measures, sort_keys=True),
             **{MEASURE_PREFIX + k: v for k, v in h.measures.items()}} for h in hits]
    frame = pd.DataFrame(rows)
    for c in ("window_start", "window_end", "run_first", "run_last"):
        frame[c] = pd.to_datetime(frame[c])
    return _sorted(frame)


SORT_COLUMNS = ("detector", "typology", "window_start", "subject", "hit_id")


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    """Hits in their one order (:data:`SORT_COLUMNS`), sorted on integer keys: text
    columns are ranked once per distinct value instead of compared row by row, hit ids
    read as the numbers they write (:func:`id_sort_key`)."""
    keys = [id_sort_key(frame[c]) if c == "hit_id" else pd.factorize(frame[c], sort=True)[0]
            for c in reversed(SORT_COLUMNS)]
    order = np.lexsort(keys)
    if np.array_equal(order, np.arange(len(frame))):
        return frame.reset_index(drop=True)
    return frame.take(order).reset_index(drop=True)


@dataclass
class HitParts:
    """What a detector found, one entry per hit, in internal indices.

    Attributes
    ----------
    typology : ndarray of str
    subject : ndarray of int
        Dense index of the subject account.
    run_first, run_last : ndarray of int
        Business-day indices of the run of qualifying days (equal for one-day hits).
    evidence_offsets, evidence : ndarray of int
        Evidence edge ids of hit ``i``: ``evidence[evidence_offsets[i]:evidence_offsets[i + 1]]``.
    amount_cents : ndarray of int64
        A, in CNY cents.
    measures : dict of str -> array
        The detector's measures (numbers, text, or lists of account ids).
    key : ndarray, optional
        Tells apart hits of one subject, typology and run start (channel, rule,
        transaction id …); part of the hit's id.
    window : (ndarray, ndarray), optional
        Business-day indices of the evidence window; default the evidence's first and last day.
    accounts : (offsets, accounts), optional
        Evidence accounts per hit (subject first); default the subject and every account
        on its evidence edges.
    anchor : ndarray of int, optional
        Dense index of the account the id names instead of the subject, for a hit whose
        subject may change while it goes on (a chain's: see
        :mod:`flowgraph.detectors.pass_through`).
    """

    typology: np.ndarray
    subject: np.ndarray
    run_first: np.ndarray
    run_last: np.ndarray
    evidence_offsets: np.ndarray
    evidence: np.ndarray
    amount_cents: np.ndarray
    measures: dict
    key: np.ndarray | None = None
    window: tuple | None = None
    accounts: tuple | None = None
    anchor: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.subject)

    @classmethod
    def concat(cls, parts: list["HitParts"]) -> "HitParts":
        """One set of parts from several with the same measures (e.g. one per rule)."""
        parts = [p for p in parts if len(p)]
        if not parts:
            return cls.empty()
        offsets, evidence = _concat_segments([(p.evidence_offsets, p.evidence) for p in parts])
        cat = lambda name: np.concatenate([np.asarray(getattr(p, name)) for p in parts])
        measures = {k: np.concatenate([np.asarray(p.measures[k], dtype=object if isinstance(p.measures[k], list)
                                                  else None) for p in parts]) for k in parts[0].measures}
        return cls(cat("typology"), cat("subject"), cat("run_first"), cat("run_last"), offsets, evidence,
                   cat("amount_cents"), measures,
                   key=None if parts[0].key is None else np.concatenate([np.asarray(p.key, object) for p in parts]),
                   window=None if parts[0].window is None else tuple(
                       np.concatenate([p.window[k] for p in parts]) for k in range(2)),
                   accounts=None if parts[0].accounts is None else _concat_segments([p.accounts for p in parts]),
                   anchor=None if parts[0].anchor is None else cat("anchor"))

    @classmethod
    def empty(cls) -> "HitParts":
        none = np.zeros(0, np.int64)
        return cls(np.zeros(0, object), none, none, none, np.zeros(1, np.int64), none, none, {})


def segments(lists: list) -> tuple[np.ndarray, np.ndarray]:
    """Offsets and values of a list of integer arrays (for the few hits built in Python)."""
    lengths = np.array([len(x) for x in lists], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    values = np.concatenate(lists).astype(np.int64) if len(lists) and offsets[-1] else np.zeros(0, np.int64)
    return offsets, values


def _concat_segments(pairs: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """Segments of several (offsets, values) pairs, one after the other."""
    lengths = np.concatenate([np.diff(o) for o, _ in pairs])
    return (np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64),
            np.concatenate([np.asarray(v, np.int64) for _, v in pairs]))


def ranges(lo: np.ndarray, hi: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Offsets and values of the slices ``values[lo[i]:hi[i]]`` (without a Python loop)."""
    lo, hi = np.asarray(lo, np.int64), np.asarray(hi, np.int64)
    lengths = hi - lo
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    index = np.arange(offsets[-1], dtype=np.int64) - np.repeat(offsets[:-1] - lo, lengths)
    return offsets, np.asarray(values)[index]


#: pandas' dtype of text columns (what an object column of ``str`` becomes in a frame).
TEXT_DTYPE = pd.StringDtype("pyarrow", na_value=np.nan)
#: Name prefix of a hit table's column per measure (``m_senders``: the measure ``senders``).
MEASURE_PREFIX = "m_"
#: Hexadecimal digits of a hit id (:func:`hit_ids`).
ID_DIGITS = 16


def id_sort_key(ids) -> np.ndarray:
    """Integers in the order of the texts ``ids`` (equal texts, equal integers). Hit ids
    (16 lower-case hexadecimal digits, :func:`hit_ids`) are the numbers they write, read
    in one call (a sort of 890 k ids as text took 1.9 s); other texts, their ranks."""
    numbers = _hex_id_numbers(ids)
    if numbers is not None:
        return numbers
    texts = ids.tolist() if hasattr(ids, "tolist") else list(ids)
    if all(type(t) is str and len(t) == ID_DIGITS for t in texts):
        numbers = _hex_numbers("".join(texts), len(texts))
        if numbers is not None:
            return numbers
    return pd.factorize(np.asarray(texts, dtype=object), sort=True)[0]


def _hex_numbers(joined: str, n: int) -> np.ndarray | None:
    """The numbers of ``n`` hit ids of :data:`ID_DIGITS` characters each, joined into one
    text, when all are lower-case hexadecimal digits (with a letter among them, as
    ``islower`` reads); else None. Read in one call."""
    if not joined.islower():
        return None
    try:
        digits = bytes.fromhex(joined)
    except ValueError:  # not all hexadecimal
        return None
    return np.frombuffer(digits, ">u8").astype(np.uint64) if len(digits) == n * ID_DIGITS // 2 else None


def _hex_id_numbers(ids) -> np.ndarray | None:
    """:func:`_hex_numbers` of ids held as Arrow text (a pandas column of
    :data:`TEXT_DTYPE`), joined from the Arrow buffer, not from a Python string per id
    (890,804 ids: 0.06-0.09 s of CPU against 0.10-0.15 s); None for ids held otherwise or of
    another form (:func:`id_sort_key` then reads them as strings)."""
    array = getattr(ids, "array", ids)
    if not isinstance(array, pd.arrays.ArrowStringArray):
        return None
    text = one_array(pa.array(array))  # one chunk as it is, not copied
    if text.null_count or not len(text):
        return None
    offsets, data = text_buffers(text)
    if not np.array_equal(np.diff(offsets), np.full(len(text), ID_DIGITS, offsets.dtype)):
        return None
    return _hex_numbers(data[offsets[0]:offsets[-1]].tobytes().decode("utf-8"), len(text))


def hit_ids(graph, detector: str, params_id: str, typology, anchor, run_first, key=None) -> np.ndarray:
    """The ids of hits (SPEC §5): a hash of the detector, typology, parameters, anchor
    account (the subject, unless the detector anchors elsewhere), first business day of
    the run and key (a transaction id; default 0), per hit. Arrays of one length;
    ``anchor`` and ``run_first`` are graph indices.

    A hit's id is the first :data:`ID_DIGITS` hexadecimal digits of the SHA-1 of the text
    ``["detector","typology","params_id","anchor","YYYY-MM-DD",key]`` (the key as ``str``
    writes it): :func:`hit_id_numbers` as text (object array of ``str``)."""
    return _id_hex(hit_id_numbers(graph, detector, params_id, typology, anchor, run_first, key)) \
        .astype(f"U{ID_DIGITS}").astype(object)


def hit_id_numbers(graph, detector: str, params_id: str, typology, anchor, run_first, key=None) -> np.ndarray:
    """The numbers the ids of :func:`hit_ids` write in hexadecimal (uint64): in the ids'
    order as text (:func:`id_sort_key`). The texts hashed are joined by Arrow and hashed by
    one compiled pass (:func:`~flowgraph._kernels.sha1.sha1_leading64`), without a Python
    string per hit."""
    typology = np.asarray(typology, dtype=object)
    key = np.zeros(len(typology), np.int64) if key is None else np.asarray(key)
    literal = _large_text
    texts = pc.binary_join_element_wise(
        literal(f'["{detector}","'), _arrow_texts(typology), literal(f'","{params_id}","'),
        graph.account_id_arrow.take(pa.array(np.asarray(anchor, np.int64))).cast(pa.large_string()), literal('","'),
        pa.array(graph.business_days.astype(str), pa.large_string()).take(pa.array(np.asarray(run_first, np.int64))),
        literal('",'), _key_texts(key), literal("]"), literal(""))
    return sha1_leading64(*text_buffers(texts))


def _id_hex(numbers: np.ndarray) -> np.ndarray:
    """Hit id numbers (uint64) as their :data:`ID_DIGITS` hexadecimal digits (bytes each)."""
    return np.frombuffer(numbers.astype(">u8").tobytes().hex().encode("ascii"), f"S{ID_DIGITS}")


def _id_text_array(numbers: np.ndarray) -> pd.arrays.ArrowStringArray:
    """Hit id numbers as a pandas text array (:data:`TEXT_DTYPE`) made from their digits'
    bytes, without a Python string per id. With the subjects taken in Arrow likewise, a
    table's keys of 890,804 hits took 0.06 s of CPU against 0.57-0.68 s through a Python
    string per id and subject, sorted by id text (``/tmp/s50``); the detectors' 25 tables
    of the 1e8 bank's range, 1.6-1.8 s in :func:`hit_table` against 3.1-3.2 s."""
    n = len(numbers)
    offsets = pa.py_buffer(np.arange(0, (n + 1) * ID_DIGITS, ID_DIGITS, dtype=np.int64))
    digits = pa.py_buffer(_id_hex(numbers).tobytes())
    return pd.arrays.ArrowStringArray(pa.Array.from_buffers(pa.large_string(), n, [None, offsets, digits]),
                                      dtype=TEXT_DTYPE)


#: An Arrow large_string scalar (texts joined with Arrow columns of hit texts).
_large_text = functools.partial(pa.scalar, type=pa.large_string())


def _key_texts(key: np.ndarray) -> pa.Array:
    """Each hit's key as ``str`` writes it: integers in decimal, text as it is."""
    if key.dtype.kind in "iu":
        return pa.array(key).cast(pa.large_string())
    return _arrow_texts(key if key.dtype.kind == "U" else [str(k) for k in key.tolist()])


def _arrow_texts(values) -> pa.Array:
    """Texts as an Arrow large_string array; a numpy unicode array by way of Python strings
    (pyarrow reads each of its values only up to a NUL character: "\\x000" became "")."""
    if isinstance(values, np.ndarray) and values.dtype.kind == "U":
        values = values.tolist()
    return pa.array(values, pa.large_string())


def hit_table(graph, detector: str, params_id: str, phi_cny: np.ndarray, parts: HitParts) -> HitTable:
    """Build the scored hit table of one detector run.

    The table's rows are built when its ``frame`` is first asked for, and only those of
    :meth:`HitTable.select`: a scan's tolerance-band pass keeps only the band hits no strict
    hit covers (:func:`flowgraph.scan._detector_hits`), which it tells from
    :attr:`HitTable.keys`, made here: ids, typologies, subjects and runs, in the table's order.

    Parameters
    ----------
    graph : TransactionGraph
    detector, params_id : str
    phi_cny : ndarray of float64, shape (n_accounts, len(CHANNELS))
        Φ (CNY) of each method for each account (:func:`flowgraph.detectors._common.phi_table`).
    parts : HitParts
    """
    if len(parts) == 0:
        return HitTable(empty_hits())
    subject = np.asarray(parts.subject, np.int64)
    run_first, run_last = np.asarray(parts.run_first, np.int64), np.asarray(parts.run_last, np.int64)
    evidence = np.asarray(parts.evidence_offsets, np.int64), np.asarray(parts.evidence, np.int64)
    # a span is the same whatever order the evidence is in, and repeats in it
    span = segment_span(*evidence, graph.day, run_first.copy(), run_last.copy())
    window = parts.window if parts.window is not None else span
    typology = np.asarray(parts.typology, dtype=object)
    ids = hit_id_numbers(graph, detector, params_id, typology, subject if parts.anchor is None else parts.anchor,
                         run_first, parts.key)
    # the one hit order (SORT_COLUMNS): dense account indices sort as the ids do
    # (graph.account_ids is sorted), and id numbers as their texts; rows are built in it
    order = np.lexsort((ids, subject, window[0], pd.factorize(typology, sort=True)[0]))
    days = graph.business_days
    # the texts made in Arrow, not a Python string each
    keys = pd.DataFrame({"hit_id": _id_text_array(ids[order]), "typology": typology[order],
                         "subject": pd.arrays.ArrowStringArray(graph.account_id_arrow.take(subject[order]),
                                                               dtype=TEXT_DTYPE),
                         "run_first": days[run_first[order]].astype("datetime64[ns]"),
                         "run_last": days[run_last[order]].astype("datetime64[ns]")})
    rows = _HitRows(graph, detector, params_id, phi_cny, parts, evidence, span, window, order, keys)
    return HitTable.deferred(keys, rows.build)


@dataclass
class _HitRows:
    """What :func:`hit_table` needs to build any of its rows (:meth:`build`)."""

    graph: object
    detector: str
    params_id: str
    phi_cny: np.ndarray
    parts: HitParts
    evidence: tuple         #: (offsets, edge ids) of each part, in the parts' order
    span: tuple             #: first and last business day of each part's evidence
    window: tuple           #: business days of each part's window
    order: np.ndarray       #: the parts in the table's order
    keys: pd.DataFrame      #: :data:`KEY_COLUMNS` in the table's order

    def build(self, rows: np.ndarray, measure_columns: bool = True) -> pd.DataFrame:
        """The table's rows ``rows`` (positions in its order, ascending), every column; a
        column per measure (``m_*``) only if ``measure_columns``."""
        if not len(rows):  # typed as the whole table's columns: one row built, none kept
            return self.build(np.zeros(1, np.int64), measure_columns).iloc[:0]
        graph, parts = self.graph, self.parts
        pick = self.order[rows]
        subject = np.asarray(parts.subject, np.int64)[pick]
        offsets, edges = sort_unique_segments(*ranges(self.evidence[0][:-1][pick], self.evidence[0][1:][pick],
                                                      self.evidence[1]))
        if parts.accounts is not None:
            acc_offsets, accounts = ranges(parts.accounts[0][:-1][pick], parts.accounts[0][1:][pick],
                                           parts.accounts[1])
        else:
            acc_offsets, accounts = segment_accounts(offsets, edges, graph.src, graph.dst, subject)
        n_accounts = np.diff(acc_offsets)
        n_days = self.span[1][pick] - self.span[0][pick] + 1
        mask = segment_channels(offsets, edges, graph.channel)
        used = (mask[:, None] >> np.arange(len(CHANNELS))) & 1
        phi = self.phi_cny[subject] * used
        with np.errstate(invalid="ignore", divide="ignore"):
            ceiling = np.where(mask > 0, W(np.maximum(n_accounts, 1), np.maximum(n_days, 1)) * phi.sum(axis=1), np.nan)
            amount = np.asarray(parts.amount_cents, np.int64)[pick] / 100.0
            utilisation = amount / ceiling
        days = graph.business_days
        customer = graph.account_customer[subject]
        customer_ids = np.where(customer >= 0, graph.customer_ids[np.maximum(customer, 0)] if graph.n_customers
                                else "", "")
        measures = {k: [v[i] for i in pick] if isinstance(v, list) else np.asarray(v)[pick]
                    for k, v in parts.measures.items()}
        keys = self.keys.iloc[rows]
        frame = pd.DataFrame({
            "hit_id": keys["hit_id"].array, "detector": self.detector, "typology": keys["typology"].array,
            "params_id": self.params_id, "subject": keys["subject"].array,
            "customer": customer_ids.astype(object),
            "accounts": _id_lists(acc_offsets, graph.account_id_arrow.take(accounts)),
            "txn_ids": _id_lists(offsets, graph.txn_id_arrow.take(graph.txn_pos[edges])),
            "window_start": days[self.window[0][pick]].astype("datetime64[ns]"),
            "window_end": days[self.window[1][pick]].astype("datetime64[ns]"),
            "run_first": keys["run_first"].array, "run_last": keys["run_last"].array,
            "n_accounts": n_accounts.astype(np.int64), "n_days": n_days.astype(np.int64), "amount": amount,
            "phi": _phi_json(mask, phi), "ceiling": ceiling, "utilisation": utilisation,
            "measures": pd.arrays.ArrowStringArray(_measures_json(measures, len(pick)), dtype=TEXT_DTYPE),
            EDGE_IDS: pd.arrays.ArrowExtensionArray(pa.LargeListArray.from_arrays(pa.array(offsets),
                                                                                   pa.array(edges))),
        })
        for name, values in measures.items() if measure_columns else ():
            frame[MEASURE_PREFIX + name] = values
        return frame


def _id_lists(offsets: np.ndarray, values: pa.Array) -> pd.Series:
    """Segments of ids (an Arrow string array) as an Arrow list column (no Python object per id)."""
    lists = pa.LargeListArray.from_arrays(pa.array(offsets.astype(np.int64)), values.cast(pa.string()))
    return pd.Series(pd.arrays.ArrowExtensionArray(lists.cast(pa.list_(pa.string()))))


def _phi_json(mask: np.ndarray, phi: np.ndarray) -> np.ndarray:
    """Φ per used method as JSON text: one string per distinct (methods, Φ) combination."""
    rows = np.column_stack([mask.astype(np.float64), phi])
    # a few distinct rows: group by a hash of their bits, then check each row equals its
    # group's first (a hash collision falls back to exact grouping)
    bits = rows.view(np.uint64)
    codes, first = _factorize_rows(np.bitwise_xor.reduce(bits * _ROW_MIX[:rows.shape[1]], axis=1))
    if not np.array_equal(bits, bits[first][codes]):
        codes, distinct = pd.MultiIndex.from_frame(pd.DataFrame(rows)).factorize()
        first = np.unique(codes, return_index=True)[1]
    text = [json.dumps({CHANNELS[c]: float(r[1 + c]) for c in range(len(CHANNELS)) if int(r[0]) >> c & 1},
                       sort_keys=True) for r in rows[first]]
    return np.asarray(text, dtype=object)[codes]


#: odd multipliers mixing each column's bits into one 64-bit row hash
_ROW_MIX = np.array([0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0xD6E8FEB86659FD93,
                     0xFF51AFD7ED558CCD, 0xC4CEB9FE1A85EC53, 0x94D049BB133111EB, 0xBF58476D1CE4E5B9],
                    dtype=np.uint64)


def _factorize_rows(hashes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Codes of equal hashes and the first row of each code."""
    codes, uniques = pd.factorize(hashes)
    first = np.full(len(uniques), len(hashes), np.int64)
    np.minimum.at(first, codes, np.arange(len(hashes)))
    return codes, first


def _measures_json(measures: dict, n: int) -> pa.Array:
    """Each hit's measures as JSON text (an Arrow large_string array), exactly
    ``json.dumps(hit_measures, sort_keys=True, ensure_ascii=False)`` with NaN as null: each
    column's values written as JSON text by Arrow (:func:`_json_texts`), then joined by
    Arrow with the keys between them, not a text or dict made in Python per hit (2.1 s for
    600 k fan hits' twelve measures, holding the GIL)."""
    literal = _large_text
    if not measures:
        return pa.array(np.full(n, "{}", object), pa.large_string())
    parts = []
    for i, key in enumerate(sorted(measures)):
        parts += [literal(("{" if i == 0 else ", ") + json.dumps(key, ensure_ascii=False) + ": "),
                  _json_texts(measures[key])]
    return pc.binary_join_element_wise(*parts, literal("}"), literal(""))


#: Floats whose shortest text Python writes without an exponent: 1e-4 <= |x| < 1e16, and 0.
FIXED_FLOAT_RANGE = (1e-4, 1e16)


def _json_texts(values) -> pa.Array:
    """One measure's values, each as its JSON text (Arrow large_string)."""
    array = None if isinstance(values, list) else np.asarray(values)
    if array is not None and array.dtype.kind in "iu":
        return pa.array(array).cast(pa.large_string())
    if array is not None and array.dtype.kind == "f":
        return _float_texts(array.astype(np.float64))  # as the Python float each value is
    if array is not None and array.dtype.kind == "b":
        return pc.if_else(pa.array(array), _large_text("true"), _large_text("false"))
    try:  # all text?
        text = _arrow_texts(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        text = None
    if text is not None and text.null_count == 0:  # few distinct texts (days, rule codes): escaped once each
        distinct = text.dictionary_encode()
        return pa.array([json.dumps(v, ensure_ascii=False) for v in distinct.dictionary.to_pylist()],
                        pa.large_string()).take(distinct.indices)
    items = _python_values(values)
    if items and all(isinstance(v, list) for v in items):
        return pa.array(dumps_each(items, ensure_ascii=False, default=_plain), pa.large_string())
    return pa.array([json.dumps(v, ensure_ascii=False, default=_plain) for v in items], pa.large_string())


def _float_texts(array: np.ndarray) -> pa.Array:
    """Float64 values as ``json.dumps`` writes them (``float.__repr__``; NaN as null).

    Arrow writes the same shortest digits as Python, but an integral value without ".0" and
    some values in exponent form where Python writes them out: the first get ".0", and the
    second, with the values Python writes in exponent form or not as numbers, are written
    by Python (one call each: few in practice)."""
    text = pa.array(array).cast(pa.large_string())
    magnitude = np.abs(array)
    by_python = ~np.isfinite(array) | (magnitude >= FIXED_FLOAT_RANGE[1]) | \
        ((magnitude < FIXED_FLOAT_RANGE[0]) & (array != 0)) | pc.match_substring(text, "e").to_numpy(zero_copy_only=False)
    integral = (array == np.trunc(array)) & ~by_python  # Arrow writes them without a point
    if integral.any():
        text = pc.if_else(pa.array(integral), pc.binary_join_element_wise(text, _large_text(".0"), _large_text("")), text)
    if by_python.any():
        written = ["null" if np.isnan(x) else "Infinity" if x == np.inf else "-Infinity" if x == -np.inf else repr(x)
                   for x in array[by_python].tolist()]
        text = pc.replace_with_mask(text, pa.array(by_python), pa.array(written, pa.large_string()))
    return text


def _python_values(values) -> list:
    """A measure's values as Python numbers, text or lists (NaN as None), so the C
    encoder writes them without a call back per value."""
    if isinstance(values, list) or np.asarray(values).dtype == object:
        return [None if v is None or (isinstance(v, float) and v != v) else v for v in values]
    values = np.asarray(values)
    out = values.tolist()
    if values.dtype.kind == "f":
        for i in np.flatnonzero(np.isnan(values)).tolist():
            out[i] = None
    return out


def _plain(value):
    """numpy scalars and arrays as the Python values JSON knows."""
    return value.tolist() if hasattr(value, "tolist") else str(value)

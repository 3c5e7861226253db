"""Runs of consecutive qualifying business days, tracked once for every run detector.

A rule's kernel is a count-then-fill pass over accounts (:mod:`.evidence`) that writes
one row per qualifying (account, key, day): a NamedTuple of columns holding at least
``key`` (condition, channel, series …: ``0 <= key < n_keys``), ``day``, ``score`` and
``tiebreak``, each account's rows a segment, each key's days ascending inside it.
:func:`day_runs` turns those rows into runs: consecutive business days of one account and
key, each with its best row — the highest ``score``, then a ``tiebreak`` higher by more
than ``tie`` (two computations of one σ differ in the last bits), then the earlier day.

**Run periods.** A run never goes on past the last business day of its period (the
calendar month: :attr:`flowgraph.graph.TransactionGraph.period_last`); the next day starts
a new run. A pattern that goes on for months is thus raised once per month, each time
under a new id (hits are named by their run's first day), as monitoring systems raise a
continuing pattern again each period; and what decides a day's hits never lies further
back than the start of its month plus the detectors' windows, so a T+1 scan reads a
bounded stretch of history however long the pattern has gone on (:func:`flowgraph.scan.store_window`).
Each run kernel takes ``period_last``: per business-day index, the index of the last
business day of its period.

Rules hand over masks of qualifying days instead of a run-tracking callback because
numba cannot cache a kernel that takes a jitted function as an argument.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ._jit import jit


class Runs(NamedTuple):
    """Runs of qualifying days, one entry per run (int64 columns)."""

    account: np.ndarray    #: the account (dense index)
    key: np.ndarray        #: the rule's key (condition, channel, series …)
    first_day: np.ndarray  #: first qualifying business day (index)
    last_day: np.ndarray   #: last qualifying business day
    best_row: np.ndarray   #: row of the best day in the rule's qualifying-day columns


@jit
def chunk_bounds(n_items, n_chunks):
    """``n_chunks`` (at least 1, at most ``n_items``) nearly equal pieces of ``0..n_items``:
    piece ``i`` is ``bounds[i]:bounds[i + 1]``. Parallel passes give each piece its own
    buffers."""
    n_chunks = max(1, min(n_items, n_chunks))
    return np.linspace(0, n_items, n_chunks + 1).astype(np.int64)


@jit
def _track(offsets, key, day, score, tiebreak, tie, n_keys, period_last):
    n_rows = len(day)
    account = np.zeros(n_rows, np.int64)
    run_key = np.zeros(n_rows, np.int64)
    first = np.zeros(n_rows, np.int64)
    last = np.zeros(n_rows, np.int64)
    best = np.zeros(n_rows, np.int64)
    is_open = np.zeros(n_keys, np.bool_)
    open_first = np.zeros(n_keys, np.int64)
    open_last = np.zeros(n_keys, np.int64)
    open_best = np.zeros(n_keys, np.int64)
    n = 0
    for a in range(len(offsets) - 1):
        if offsets[a + 1] == offsets[a]:
            continue
        for r in range(offsets[a], offsets[a + 1]):
            k = key[r]
            if is_open[k] and day[r] == open_last[k] + 1 and day[r] <= period_last[open_last[k]]:
                open_last[k] = day[r]
                b = open_best[k]
                if score[r] > score[b] or (score[r] == score[b] and tiebreak[r] > tiebreak[b] + tie):
                    open_best[k] = r
                continue
            if is_open[k]:
                account[n], run_key[n], first[n], last[n], best[n] = a, k, open_first[k], open_last[k], open_best[k]
                n += 1
            is_open[k] = True
            open_first[k] = day[r]
            open_last[k] = day[r]
            open_best[k] = r
        for k in range(n_keys):
            if is_open[k]:
                account[n], run_key[n], first[n], last[n], best[n] = a, k, open_first[k], open_last[k], open_best[k]
                n += 1
                is_open[k] = False
    return account[:n], run_key[:n], first[:n], last[:n], best[:n]


def day_runs(offsets: np.ndarray, rows, n_keys: int, period_last: np.ndarray, tie: float = 0.0) -> Runs:
    """The runs of consecutive qualifying days of one period in a rule's rows.

    Parameters
    ----------
    offsets : ndarray of int64, shape (n_accounts + 1,)
        Account ``a``'s rows are ``offsets[a]:offsets[a + 1]``.
    rows : NamedTuple of ndarray
        The rule's qualifying days, with ``key``, ``day``, ``score`` and ``tiebreak``
        columns (see the module's docstring).
    n_keys : int
        Every key is below it.
    period_last : ndarray of int64
        Per business-day index, the last business day of its period (module docstring).
    tie : float
        ``tiebreak`` differences up to this are ties.

    Returns
    -------
    Runs

    Raises
    ------
    ValueError
        A key outside ``0 .. n_keys - 1`` (the kernel indexes its state by key, unchecked),
        or a day ``period_last`` does not cover.
    """
    if len(rows.key) and not 0 <= rows.key.min() <= rows.key.max() < n_keys:
        raise ValueError(f"keys must be in [0, {n_keys}); got {rows.key.min()} .. {rows.key.max()}")
    period_last = checked_periods(period_last, int(rows.day.max()) if len(rows.day) else -1)
    return Runs(*_track(offsets, rows.key, rows.day, rows.score, rows.tiebreak, float(tie), max(int(n_keys), 1),
                        period_last))


def checked_periods(period_last: np.ndarray, last_day: int) -> np.ndarray:
    """``period_last`` as int64, checked to cover every day up to ``last_day`` (the
    kernels index it unchecked)."""
    period_last = np.asarray(period_last, np.int64)
    if len(period_last) <= last_day:
        raise ValueError(f"period_last holds {len(period_last)} days; the runs reach day {last_day}")
    return period_last


def take(rows, index: np.ndarray):
    """The rows ``index`` of a NamedTuple of columns, as the same NamedTuple."""
    return type(rows)(*(column[index] for column in rows))


def keep_rows(offsets: np.ndarray, rows, keep: np.ndarray):
    """The rows where ``keep`` is true, with their accounts' offsets (row order kept)."""
    counts = np.bincount(row_owner(offsets)[keep], minlength=len(offsets) - 1)
    return np.concatenate([[0], np.cumsum(counts)]).astype(np.int64), take(rows, np.flatnonzero(keep))


def row_owner(offsets: np.ndarray) -> np.ndarray:
    """The account of each row."""
    return np.repeat(np.arange(len(offsets) - 1), np.diff(offsets))

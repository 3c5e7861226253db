"""Which edges a case file keeps around its subjects' hits (:func:`flowgraph.desk.evidence.case_edges`):
an edge is *near* an account when the account is one of its sides and its business day
lies in the account's interval ``lo[a] .. hi[a]`` (the span of its hits, widened; an
empty interval, ``lo > hi``, for an account that is no subject). A *busy* account, near
more than ``max_context`` edges, keeps none of them as context. Kept: the evidence, and
every edge near a side that is not busy.

Two parallel passes over the edges in pieces, writing one bool per edge and counting per
account: the numpy version made a dozen arrays of the edges' size (the accounts' bounds
gathered for both sides, the comparisons, the days in int64), 3.1 s of the 1e8 bank's
240-day range (39 M edges), most of it the system zeroing their fresh memory.
"""

from __future__ import annotations

import numba
import numpy as np

from ._jit import jit
from .runs import chunk_bounds


@jit
def _side(account, n_accounts):
    """An edge side's slot in the per-account arrays: the extra last one for no account (cash)."""
    return n_accounts if account < 0 else account


@jit(parallel=True)
def near_counts(src, dst, day, lo, hi, n_chunks=16):
    """Edges near each account (both sides counted; the extra last slot: no account).

    Parameters
    ----------
    src, dst : ndarray of int, shape (n_edges,)
        Account index of each edge's sides, negative for none.
    day : ndarray of int, shape (n_edges,)
        Business-day index of each edge.
    lo, hi : ndarray of int64, shape (n_accounts + 1,)
        Each account's interval of business days (empty when ``lo > hi``).
    n_chunks : int
        Parallel pieces.

    Returns
    -------
    ndarray of int64, shape (n_accounts + 1,)
    """
    n_slots = len(lo)
    bounds = chunk_bounds(len(day), n_chunks)
    counts = np.zeros((len(bounds) - 1, n_slots), np.int64)
    for ch in numba.prange(len(bounds) - 1):
        for e in range(bounds[ch], bounds[ch + 1]):
            d = day[e]
            s, t = _side(src[e], n_slots - 1), _side(dst[e], n_slots - 1)
            if lo[s] <= d <= hi[s]:
                counts[ch, s] += 1
            if lo[t] <= d <= hi[t]:
                counts[ch, t] += 1
    total = np.zeros(n_slots, np.int64)
    for ch in range(len(bounds) - 1):
        total += counts[ch]
    return total


@jit(parallel=True)
def kept_edges(src, dst, day, lo, hi, quiet, is_evidence, n_chunks=16):
    """Whether each edge is kept: evidence, or near a side that is ``quiet`` (not busy).

    Parameters
    ----------
    src, dst, day, lo, hi, n_chunks
        As for :func:`near_counts`.
    quiet : ndarray of bool, shape (n_accounts + 1,)
        Accounts whose near edges are kept.
    is_evidence : ndarray of bool, shape (n_edges,)

    Returns
    -------
    ndarray of bool, shape (n_edges,)
    """
    n_accounts = len(lo) - 1
    kept = np.empty(len(day), np.bool_)
    bounds = chunk_bounds(len(day), n_chunks)
    for ch in numba.prange(len(bounds) - 1):
        for e in range(bounds[ch], bounds[ch + 1]):
            d = day[e]
            s, t = _side(src[e], n_accounts), _side(dst[e], n_accounts)
            kept[e] = is_evidence[e] or (quiet[s] and lo[s] <= d <= hi[s]) or (quiet[t] and lo[t] <= d <= hi[t])
    return kept

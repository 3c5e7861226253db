"""Codes of an integer array with few distinct values (Φ per edge: a handful of rule
thresholds): one pass comparing each value with the distinct values seen so far, with no
hash table and no sort of the whole array (pandas' factorize hashes every value under the
GIL; numpy's unique sorts them), then a parallel pass that writes each value's code, or
any other value chosen per distinct value (:func:`replaced`)."""

from __future__ import annotations

import numba
import numpy as np

from ._jit import jit
from .runs import chunk_bounds


@jit(parallel=True)
def few_distinct(values, max_distinct, n_chunks=16):
    """The distinct values of ``values`` in order of first appearance (as ``pd.factorize``
    numbers them), by comparison with the values seen so far, writing nothing per value:
    each of ``n_chunks`` parallel pieces lists its own in order, then the pieces' lists are
    merged in the pieces' order.

    Parameters
    ----------
    values : ndarray of int64
    max_distinct : int
        Give up past this many distinct values (the pass costs their number per value).
    n_chunks : int

    Returns
    -------
    ok : bool
        False when there are more than ``max_distinct`` distinct values (``uniques`` is
        then empty).
    uniques : ndarray of int64
    """
    bounds = chunk_bounds(len(values), n_chunks)
    seen = np.empty((len(bounds) - 1, max_distinct), values.dtype)
    n_seen = np.zeros(len(bounds) - 1, np.int64)
    for ch in numba.prange(len(bounds) - 1):
        n_seen[ch] = _distinct_of(values, bounds[ch], bounds[ch + 1], seen[ch])
    uniques = np.empty(max_distinct, values.dtype)
    n_distinct = 0
    for ch in range(len(bounds) - 1):
        if n_seen[ch] < 0:
            return False, uniques[:0]
        for j in range(n_seen[ch]):
            k = _position(seen[ch, j], uniques, n_distinct)
            if k == n_distinct:
                if n_distinct == max_distinct:
                    return False, uniques[:0]
                uniques[k] = seen[ch, j]
                n_distinct += 1
    return True, uniques[:n_distinct].copy()


@jit
def _distinct_of(values, lo, hi, uniques):
    """The distinct values of ``values[lo:hi]`` into ``uniques`` in order of first
    appearance; how many, or -1 past ``len(uniques)``."""
    n_distinct = 0
    last = -1  # the position of the previous value: runs of one value are common
    for i in range(lo, hi):
        v = values[i]
        if last >= 0 and uniques[last] == v:
            continue
        k = _position(v, uniques, n_distinct)
        if k == n_distinct:
            if n_distinct == len(uniques):
                return -1
            uniques[k] = v
            n_distinct += 1
        last = k
    return n_distinct


@jit(parallel=True)
def replaced(values, uniques, replacements, n_chunks=16):
    """``replacements[k]`` for each value equal to ``uniques[k]`` (every value is among
    ``uniques``: :func:`few_distinct`'s), in ``n_chunks`` parallel pieces: the lookup of a
    handful of values by comparison, where ``replacements[codes]`` would first write a code
    per value."""
    out = np.empty(len(values), replacements.dtype)
    bounds = chunk_bounds(len(values), n_chunks)
    for ch in numba.prange(len(bounds) - 1):
        last = -1
        for i in range(bounds[ch], bounds[ch + 1]):
            v = values[i]
            if last < 0 or uniques[last] != v:
                last = _position(v, uniques, len(uniques))
            out[i] = replacements[last]
    return out


@jit
def _position(v, uniques, n):
    """The first position of ``v`` in ``uniques[:n]``; ``n`` when it is not there."""
    k = 0
    while k < n and uniques[k] != v:
        k += 1
    return k


def few_distinct_codes(values, max_distinct):
    """Codes of ``values`` numbered in order of first appearance, as ``pd.factorize``.

    Parameters
    ----------
    values : ndarray of int64
    max_distinct : int
        Give up past this many distinct values (:func:`few_distinct`).

    Returns
    -------
    ok : bool
        False when there are more than ``max_distinct`` distinct values (the other
        results are then empty).
    codes : ndarray of int64
    uniques : ndarray of int64
        The distinct values, ``uniques[codes]`` is ``values``.
    """
    ok, uniques = few_distinct(values, max_distinct)
    if not ok:
        return False, np.zeros(0, np.int64), uniques
    return True, replaced(values, uniques, np.arange(len(uniques), dtype=np.int64)), uniques

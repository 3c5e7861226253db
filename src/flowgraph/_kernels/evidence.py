"""The kernels' skeleton: output of unknown length, per item (an account, a hit-to-be), as
segments (CSR). Every such kernel is one parallel *pass* over its items with the signature
``pass_(*args, offsets, out)``: with ``out`` empty it counts item ``i``'s output rows into
``offsets[i + 1]``; otherwise it writes them from row ``offsets[i]`` on. ``out`` is an
array (evidence edges) or a NamedTuple of equally long arrays (named columns, e.g. the
qualifying days of :mod:`flowgraph._kernels.runs`). :func:`count_then_fill` runs a pass
twice around the prefix sum — the one place that driver lives — and :func:`window_range`
finds an account's edges on a run of business days by binary search in its time-ordered
CSR segment (:func:`window_edges`: both sides, for the windows of a range of days).
"""

from __future__ import annotations

import numpy as np

from ._jit import jit


def edge_rows(n_rows: int) -> np.ndarray:
    """The output of an evidence pass: ``n_rows`` edge ids."""
    return np.zeros(n_rows, np.int64)


def count_then_fill(pass_, n_results: int, *args, make_out=edge_rows):
    """Run a pass to count, then to fill.

    Parameters
    ----------
    pass_ : numba dispatcher
        ``pass_(*args, offsets, out)`` (see the module's docstring).
    n_results : int
        Items the pass runs over.
    *args
        The pass's own arguments.
    make_out : callable
        ``make_out(n_rows)``: the output with room for ``n_rows`` rows (default: edge ids).

    Returns
    -------
    offsets : ndarray of int64, shape (n_results + 1,)
    out
        What ``make_out`` made; item ``i``'s rows are ``offsets[i]:offsets[i + 1]``.
    """
    offsets = np.zeros(n_results + 1, np.int64)
    pass_(*args, offsets, make_out(0))
    offsets = np.cumsum(offsets)
    out = make_out(int(offsets[-1]))
    if offsets[-1]:
        pass_(*args, offsets, out)
    return offsets, out


@jit
def window_range(a, lo_day, hi_day, indptr, edges, day):
    """Positions ``j0, j1`` such that ``edges[j0:j1]`` are account ``a``'s edges (its CSR
    segment, in time order) on business days ``lo_day..hi_day``."""
    lo, hi = indptr[a], indptr[a + 1]
    j0, j1 = lo, hi
    while j0 < j1:  # first edge on or after lo_day
        mid = (j0 + j1) // 2
        if day[edges[mid]] < lo_day:
            j0 = mid + 1
        else:
            j1 = mid
    start = j0
    j1 = hi
    while j0 < j1:  # first edge after hi_day
        mid = (j0 + j1) // 2
        if day[edges[mid]] <= hi_day:
            j0 = mid + 1
        else:
            j1 = mid
    return start, j0


@jit
def window_edges(g, a, first_day, last_day, window_days):
    """Positions ``i0, i1, o0, o1`` such that ``g.in_edges[i0:i1]`` and ``g.out_edges[o0:o1]``
    are account ``a``'s edges that the trailing window of some day ``first_day .. last_day``
    holds (business days ``first_day - window_days + 1 .. last_day``)."""
    i0, i1 = window_range(a, first_day - window_days + 1, last_day, g.in_indptr, g.in_edges, g.day)
    o0, o1 = window_range(a, first_day - window_days + 1, last_day, g.out_indptr, g.out_edges, g.day)
    return i0, i1, o0, o1

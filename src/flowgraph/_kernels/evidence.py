"""The evidence skeleton: per result (a hit-to-be), the edges that make its evidence,
as segments (CSR). Every evidence kernel is one parallel *pass* over its results with the
signature ``pass_(*args, offsets, out)``: with ``out`` empty it counts result ``i``'s
edges into ``offsets[i + 1]``; otherwise it writes them from ``out[offsets[i]]``.
:func:`count_then_fill` runs a pass twice around the prefix sum — the one place that
driver lives — and :func:`window_range` finds an account's edges on a run of business
days by binary search in its time-ordered CSR segment.
"""

from __future__ import annotations

import numpy as np

from ._jit import jit


def count_then_fill(pass_, n_results: int, *args) -> tuple[np.ndarray, np.ndarray]:
    """Run an evidence pass to count, then to fill.

    Returns
    -------
    offsets : ndarray of int64, shape (n_results + 1,)
    edges : ndarray of int64
        Result ``i``'s edges are ``edges[offsets[i]:offsets[i + 1]]``.
    """
    offsets = np.zeros(n_results + 1, np.int64)
    pass_(*args, offsets, np.zeros(0, np.int64))
    offsets = np.cumsum(offsets)
    edges = np.zeros(offsets[-1], np.int64)
    if len(edges):
        pass_(*args, offsets, edges)
    return offsets, edges


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

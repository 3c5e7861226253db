"""The kernels' skeleton: output of unknown length, per item (an account, a hit-to-be), as
segments (CSR). Every such kernel is one parallel *pass* over its items with the signature
``pass_(*args, offsets, out)``: with ``out`` empty it counts item ``i``'s output rows into
``offsets[i + 1]``; otherwise it writes them from row ``offsets[i]`` on. ``out`` is an
array (evidence edges) or a NamedTuple of equally long arrays (named columns, e.g. the
qualifying days of :mod:`flowgraph._kernels.runs`). :func:`count_then_fill` runs a pass
twice around the prefix sum — the one place that driver lives — and :func:`window_range`
finds an account's edges on a run of business days by binary search in its time-ordered
CSR segment (:func:`window_edges`: both sides, for the windows of a range of days).

A kernel whose items cost as much to fill as to count, and whose rows per item have a
small bound, makes them in one pass instead: :func:`once_in_pieces` runs it over pieces of
the items on the kernel threads, each piece writing into buffers of its own, and joins
the pieces' rows in item order (the fan days and their evidence, the large-value daily
sums, the forwarding links). The passes whose count is the costly part and whose fill
is cheap (the items with rows are few) stay count-then-fill.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np

from ._jit import jit
from .runs import chunk_bounds


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


def once_in_pieces(piece, n_items, n_pieces, *args):
    """Run a kernel that makes the rows of a range of items in one pass (no count pass
    before: a scan whose items cost the same to count as to fill, such as the fan days of
    a busy account, is not done twice) over ``n_pieces`` pieces of the items on the kernel
    threads (numba kernels let go of the GIL), and join their rows in item order.

    Parameters
    ----------
    piece : numba dispatcher
        ``piece(lo, hi, *args)`` -> (rows per item of ``lo .. hi - 1``, rows): an array
        or a NamedTuple of equally long arrays, exactly as many rows (:func:`resized`
        grows its buffers).
    n_items, n_pieces : int
    *args
        The kernel's own arguments.

    Returns
    -------
    offsets : ndarray of int64, shape (n_items + 1,)
    out
        Item ``i``'s rows are ``offsets[i]:offsets[i + 1]``, as :func:`count_then_fill`.
    """
    bounds = chunk_bounds(n_items, n_pieces).tolist()
    with ThreadPoolExecutor(max_workers=numba.get_num_threads()) as pool:
        parts = list(pool.map(lambda k: piece(bounds[k], bounds[k + 1], *args), range(len(bounds) - 1)))
    offsets = np.zeros(n_items + 1, np.int64)
    np.cumsum(np.concatenate([counts for counts, _ in parts]), out=offsets[1:])
    first = parts[0][1]
    if isinstance(first, np.ndarray):
        return offsets, np.concatenate([rows for _, rows in parts])
    return offsets, type(first)(*(np.concatenate([getattr(r, f) for _, r in parts]) for f in first._fields))


@jit
def resized(values, n_rows, size):
    """The first ``n_rows`` values of ``values`` in an array of ``size`` (a piece's
    buffer grown, or cut to its rows)."""
    out = np.zeros(size, values.dtype)
    out[:n_rows] = values[:n_rows]
    return out


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

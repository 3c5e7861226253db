"""Equal timestamps ordered by transaction id: the kernel behind :func:`flowgraph.graph.edge_order`.

The graph's edges are in time order, and the edges of one timestamp in the order of
their transaction ids (UTF-8 byte order, which is the order Python gives ``str``). The
detectors follow money forward along that order (a payment "after" another one of the
same time is the one with the larger id), so ties in the order the rows happened to come
in would make hits depend on the file's row order, on how it was split and on the order
of a store's day files (SPEC §5: same data and parameters, same hits and ids).

Rows are put in time order first (a numpy sort of the int64 timestamps); this kernel then
goes over each run of rows with one timestamp. A run already in id order (a file written
in time and id order, as the simulator's and many banks' exports are) costs one string
comparison per row. Any other run is sorted by its ids eight bytes at a time, most
significant first, after the bytes all of them share: a stable argsort of the next eight
bytes read as one big-endian uint64, then only the rows that still tie go on to the next
eight bytes. Comparing two
such words is one instruction where comparing two strings is a loop and a cache miss;
Arrow's sort of (timestamp, id) took 24 s for 20 M rows of date-only timestamps. Runs and
still-tied groups of at most :data:`SMALL_RUN` rows are sorted by insertion instead.

Strings arrive as the two buffers of an Arrow string array (``offsets``, ``data``; see
:mod:`.strings`).
"""

from __future__ import annotations

import numba
import numpy as np

from ._jit import jit
from .runs import chunk_bounds

#: Remaining length of a string that goes on past the word being compared (any value above
#: the 8 bytes of a word): strings that end inside the word sort before it.
_GOES_ON = 9

#: Runs (and groups of rows that tie over their first bytes) of at most this many rows are
#: sorted by insertion, without the word sort's buffers: with times to the second most runs
#: are two or three rows, and allocating per run cost more than sorting them.
SMALL_RUN = 16


@jit
def _text_less(offsets, data, a, b):
    """Whether string ``a`` sorts strictly before string ``b`` (bytes, then length)."""
    start_a, start_b = np.int64(offsets[a]), np.int64(offsets[b])
    length_a, length_b = np.int64(offsets[a + 1]) - start_a, np.int64(offsets[b + 1]) - start_b
    for k in range(min(length_a, length_b)):
        x, y = data[start_a + k], data[start_b + k]
        if x != y:
            return x < y
    return length_a < length_b


@jit
def _word(offsets, data, row, pos):
    """Bytes ``pos .. pos + 7`` of string ``row`` as a big-endian uint64, zeros past its end."""
    start = np.int64(offsets[row]) + pos
    end = np.int64(offsets[row + 1])
    w = np.uint64(0)
    for k in range(8):
        b = np.uint64(data[start + k]) if start + k < end else np.uint64(0)
        w = (w << np.uint64(8)) | b
    return w


@jit
def _common_prefix(rows, lo, hi, offsets, data, pos):
    """How many bytes from ``pos`` on the strings of ``rows[lo:hi]`` all share (at most
    the shortest one's rest)."""
    first = rows[lo]
    start = np.int64(offsets[first]) + pos
    shared = np.int64(offsets[first + 1]) - start
    for j in range(lo + 1, hi):
        r = rows[j]
        other = np.int64(offsets[r]) + pos
        shared = min(shared, np.int64(offsets[r + 1]) - other)
        k = 0
        while k < shared and data[start + k] == data[other + k]:
            k += 1
        shared = k
    return shared


@jit
def _in_text_order(rows, offsets, data):
    for j in range(rows.shape[0] - 1):
        if _text_less(offsets, data, rows[j + 1], rows[j]):
            return False
    return True


@jit
def _insertion_sort(rows, lo, hi, offsets, data):
    """Sort ``rows[lo:hi]`` in place by their strings (stable); whether any row moved."""
    moved = False
    for j in range(lo + 1, hi):
        r = rows[j]
        i = j
        while i > lo and _text_less(offsets, data, r, rows[i - 1]):
            rows[i] = rows[i - 1]
            i -= 1
        if i != j:
            rows[i] = r
            moved = True
    return moved


@jit
def _sort_by_text(rows, offsets, data):
    """Sort ``rows`` (string indices) in place by their strings; equal strings keep their
    order."""
    n = rows.shape[0]
    words = np.empty(n, np.uint64)
    rest = np.empty(n, np.int64)
    stack = [(np.int64(0), np.int64(n), np.int64(0))]  # rows lo..hi-1 tie before byte pos
    while len(stack) > 0:
        lo, hi, pos = stack.pop()
        if hi - lo <= SMALL_RUN:
            _insertion_sort(rows, lo, hi, offsets, data)
            continue
        # skip the bytes they all share ("T00000" of numbered ids): one word then tells most apart
        pos += _common_prefix(rows, lo, hi, offsets, data, pos)
        same = True
        for j in range(lo, hi):
            r = rows[j]
            words[j] = _word(offsets, data, r, pos)
            rest[j] = min(np.int64(offsets[r + 1]) - np.int64(offsets[r]) - pos, _GOES_ON)
            same = same and words[j] == words[lo]
        if not same:
            o = np.argsort(words[lo:hi], kind="mergesort")
            rows[lo:hi] = rows[lo:hi][o]
            words[lo:hi] = words[lo:hi][o]
            rest[lo:hi] = rest[lo:hi][o]
        g = lo
        while g < hi:
            e = g + 1
            while e < hi and words[e] == words[g]:
                e += 1
            if e - g > 1:
                # equal words: a string that ends inside the word (padded with zeros) is a
                # prefix of the others there, so by remaining length; the rest go on
                ends_inside = False
                for j in range(g, e):
                    ends_inside = ends_inside or rest[j] < _GOES_ON
                if ends_inside:
                    o = np.argsort(rest[g:e], kind="mergesort")
                    rows[g:e] = rows[g:e][o]
                    rest[g:e] = rest[g:e][o]
                c = e
                while c > g and rest[c - 1] == _GOES_ON:
                    c -= 1
                if e - c > 1:
                    stack.append((np.int64(c), np.int64(e), pos + 8))
            g = e


@jit
def _order_runs(order, starts, ends, offsets, data, first, last):
    n_sorted = 0
    for k in range(first, last):
        rows = order[starts[k]:ends[k]]
        if rows.shape[0] <= SMALL_RUN:
            if _insertion_sort(rows, 0, rows.shape[0], offsets, data):
                n_sorted += 1
        elif not _in_text_order(rows, offsets, data):
            _sort_by_text(rows, offsets, data)
            n_sorted += 1
    return n_sorted


@jit(parallel=True)
def _order_runs_pass(order, starts, ends, offsets, data, n_chunks, n_sorted):
    bounds = chunk_bounds(len(starts), n_chunks)
    # runs are disjoint slices of `order`: each chunk sorts its own in place
    for ch in numba.prange(len(bounds) - 1):
        n_sorted[ch] = _order_runs(order, starts, ends, offsets, data, bounds[ch], bounds[ch + 1])


def order_ties_by_text(order, keys, offsets, data, n_chunks=1) -> int:
    """Put rows with equal keys in the order of their strings, in place.

    Parameters
    ----------
    order : ndarray of int64, shape (n,)
        Row numbers sorted by their keys; the rows of each run of equal keys are reordered
        by their strings (UTF-8 byte order; equal strings keep their order).
    keys : ndarray of int64, shape (n,)
        The sorted keys (timestamps): ``keys[i]`` is the key of row ``order[i]``.
    offsets : ndarray of int32 or int64, shape (n_rows + 1,)
    data : ndarray of uint8
        The strings of the rows (Arrow string buffers), indexed by row number.
    n_chunks : int
        Runs are ordered in this many parallel chunks.

    Returns
    -------
    int
        How many runs were not already in string order.
    """
    n = len(keys)
    if n < 2:
        return 0
    new = np.flatnonzero(keys[1:] != keys[:-1]) + 1
    starts = np.concatenate([[0], new]).astype(np.int64)
    ends = np.concatenate([new, [n]]).astype(np.int64)
    tied = ends - starts > 1
    starts, ends = starts[tied], ends[tied]
    if not len(starts):
        return 0
    n_sorted = np.zeros(max(1, min(len(starts), n_chunks)), np.int64)
    _order_runs_pass(order, starts, ends, offsets, data, len(n_sorted), n_sorted)
    return int(n_sorted.sum())

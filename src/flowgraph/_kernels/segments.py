"""Per-hit reductions over evidence held as segments (CSR): hit ``i`` owns
``values[offsets[i]:offsets[i + 1]]``. The hit table is built from these with array
operations instead of one Python object per hit (:mod:`flowgraph.hits`).
"""

from __future__ import annotations

import numba
import numpy as np

from ._jit import jit


@jit(parallel=True)
def sort_unique_segments(offsets, values):
    """Each segment sorted ascending with repeats removed.

    Parameters
    ----------
    offsets : ndarray of int64, shape (n + 1,)
    values : ndarray of int64

    Returns
    -------
    new_offsets : ndarray of int64, shape (n + 1,)
    new_values : ndarray of int64
    """
    n = len(offsets) - 1
    sorted_values = np.empty_like(values)
    counts = np.zeros(n + 1, np.int64)
    for i in numba.prange(n):
        lo, hi = offsets[i], offsets[i + 1]
        seg = np.sort(values[lo:hi])
        k = 0
        for j in range(len(seg)):
            if j == 0 or seg[j] != seg[j - 1]:
                sorted_values[lo + k] = seg[j]
                k += 1
        counts[i + 1] = k
    new_offsets = np.cumsum(counts)
    out = np.empty(new_offsets[-1], values.dtype)
    for i in numba.prange(n):
        k = new_offsets[i + 1] - new_offsets[i]
        out[new_offsets[i]:new_offsets[i + 1]] = sorted_values[offsets[i]:offsets[i] + k]
    return new_offsets, out


@jit(parallel=True)
def segment_accounts(offsets, edges, src, dst, subject):
    """The accounts of each hit: its subject first, then every other account on its
    evidence edges (``src``/``dst``, -1 skipped), ascending.

    Returns
    -------
    account_offsets : ndarray of int64, shape (n + 1,)
    accounts : ndarray of int64
    """
    n = len(offsets) - 1
    counts = np.zeros(n + 1, np.int64)
    scratch = np.empty(2 * len(edges), np.int64)
    for i in numba.prange(n):
        lo, hi = offsets[i], offsets[i + 1]
        k = 0
        for j in range(lo, hi):
            for side in range(2):
                a = src[edges[j]] if side == 0 else dst[edges[j]]
                if a >= 0 and a != subject[i]:
                    scratch[2 * lo + k] = a
                    k += 1
        seg = np.sort(scratch[2 * lo:2 * lo + k])
        m = 0
        for j in range(k):
            if j == 0 or seg[j] != seg[j - 1]:
                scratch[2 * lo + m] = seg[j]
                m += 1
        counts[i + 1] = m + 1
    account_offsets = np.cumsum(counts)
    accounts = np.empty(account_offsets[-1], np.int64)
    for i in numba.prange(n):
        at = account_offsets[i]
        accounts[at] = subject[i]
        m = account_offsets[i + 1] - at - 1
        accounts[at + 1:at + 1 + m] = scratch[2 * offsets[i]:2 * offsets[i] + m]
    return account_offsets, accounts


@jit(parallel=True)
def segment_span(offsets, edges, day, default_first, default_last):
    """First and last business day of each hit's evidence; a hit without evidence gets
    its defaults."""
    n = len(offsets) - 1
    first = default_first.copy()
    last = default_last.copy()
    for i in numba.prange(n):
        lo, hi = offsets[i], offsets[i + 1]
        if hi > lo:
            f = day[edges[lo]]
            g = f
            for j in range(lo + 1, hi):
                f = min(f, day[edges[j]])
                g = max(g, day[edges[j]])
            first[i] = f
            last[i] = g
    return first, last


@jit(parallel=True)
def segment_channels(offsets, edges, channel):
    """A bit mask per hit of the channels (methods) its evidence used."""
    n = len(offsets) - 1
    mask = np.zeros(n, np.int64)
    for i in numba.prange(n):
        m = 0
        for j in range(offsets[i], offsets[i + 1]):
            m |= 1 << channel[edges[j]]
        mask[i] = m
    return mask


@jit(parallel=True)
def segment_sum(offsets, edges, cents):
    """Sum of ``cents`` over each hit's evidence edges (integer cents)."""
    n = len(offsets) - 1
    out = np.zeros(n, np.int64)
    for i in numba.prange(n):
        s = 0
        for j in range(offsets[i], offsets[i + 1]):
            s += cents[edges[j]]
        out[i] = s
    return out


@jit(parallel=True)
def segment_top_share(offsets, edges, other, cents):
    """Share of the largest counterparty of each segment: by amount (cents) and by count.

    ``other[e]`` is the counterparty of edge ``e``. An empty segment gives 0, 0.
    """
    n = len(offsets) - 1
    amount_share = np.zeros(n, np.float64)
    count_share = np.zeros(n, np.float64)
    for i in numba.prange(n):
        lo, hi = offsets[i], offsets[i + 1]
        if hi == lo:
            continue
        parties, order = _sorted_parties(lo, hi, edges, other)
        total = 0
        best_amount = 0
        best_count = 0
        j = 0
        while j < hi - lo:
            k, s = _party_run(j, lo, hi, edges, cents, parties, order)
            total += s
            best_amount = max(best_amount, s)
            best_count = max(best_count, k - j)
            j = k
        amount_share[i] = best_amount / total if total > 0 else 0.0
        count_share[i] = best_count / (hi - lo)
    return amount_share, count_share


@jit(parallel=True)
def join_segments(offsets_a, values_a, use_a, offsets_b, values_b, use_b):
    """Per item ``i``: segment ``i`` of ``a`` (if ``use_a[i]``) followed by segment ``i`` of
    ``b`` (if ``use_b[i]``)."""
    n = len(offsets_a) - 1
    counts = np.zeros(n + 1, np.int64)
    for i in range(n):
        counts[i + 1] = (offsets_a[i + 1] - offsets_a[i]) * use_a[i] + (offsets_b[i + 1] - offsets_b[i]) * use_b[i]
    offsets = np.cumsum(counts)
    out = np.empty(offsets[-1], values_a.dtype)
    for i in numba.prange(n):
        at = offsets[i]
        if use_a[i]:
            k = offsets_a[i + 1] - offsets_a[i]
            out[at:at + k] = values_a[offsets_a[i]:offsets_a[i + 1]]
            at += k
        if use_b[i]:
            out[at:at + offsets_b[i + 1] - offsets_b[i]] = values_b[offsets_b[i]:offsets_b[i + 1]]
    return offsets, out


@jit(parallel=True)
def segment_day_profile(offsets, edges, day, window_first, window_days):
    """How each segment's edges spread over its window of ``window_days`` business days
    from ``window_first``: the busiest day's share of the edges and the share of the
    window's days that hold any (temporal concentration, 001)."""
    n = len(offsets) - 1
    busiest = np.zeros(n, np.float64)
    active = np.zeros(n, np.float64)
    for i in numba.prange(n):
        per_day = np.zeros(window_days, np.int64)
        for j in range(offsets[i], offsets[i + 1]):
            per_day[day[edges[j]] - window_first[i]] += 1
        total = offsets[i + 1] - offsets[i]
        busiest[i] = per_day.max() / total if total > 0 else 0.0
        active[i] = (per_day > 0).sum() / window_days
    return busiest, active


@jit(parallel=True)
def segment_top_party_of_side(offsets, edges, paid, payee, payer, cents):
    """The party with the largest sum of ``cents`` over each segment's edges, a segment's
    party being its edges' ``payer`` where ``paid[i]``, else their ``payee`` (one pass, where
    one per side would sort every segment twice); ties go to the smaller party; -1 when empty."""
    n = len(offsets) - 1
    top = np.full(n, -1, np.int64)
    for i in numba.prange(n):
        top[i] = _top_party(offsets[i], offsets[i + 1], edges, payer if paid[i] else payee, cents)
    return top


@jit
def _top_party(lo, hi, edges, party, cents):
    """The party with the largest sum of ``cents`` over ``edges[lo:hi]`` (ties: the
    smaller party); -1 when empty."""
    if hi == lo:
        return -1
    parties, order = _sorted_parties(lo, hi, edges, party)
    best, best_sum = -1, -1
    j = 0
    while j < hi - lo:
        k, s = _party_run(j, lo, hi, edges, cents, parties, order)
        if s > best_sum:
            best, best_sum = parties[order[j]], s
        j = k
    return best


@jit
def _sorted_parties(lo, hi, edges, party):
    """The party of each of ``edges[lo:hi]`` (``party[e]``), and the stable order that sorts
    them: equal parties are then runs (:func:`segment_top_share`, :func:`_top_party`)."""
    parties = np.empty(hi - lo, np.int64)
    for j in range(lo, hi):
        parties[j - lo] = party[edges[j]]
    return parties, np.argsort(parties, kind="mergesort")


@jit
def _party_run(j, lo, hi, edges, cents, parties, order):
    """The run of one party starting at sorted position ``j`` (:func:`_sorted_parties`): the
    position after it, and the sum of ``cents`` over its edges."""
    k = j
    s = 0
    while k < hi - lo and parties[order[k]] == parties[order[j]]:
        s += cents[edges[lo + order[k]]]
        k += 1
    return k, s

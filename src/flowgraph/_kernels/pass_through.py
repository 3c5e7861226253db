"""Pass-through kernel (SPEC §3.2): runs of consecutive business days whose total inflow
and outflow match.

For every account and every business day ``d`` of the scan, the run is the
``run_days`` business days ending at ``d``. It qualifies when
``min(in, out) >= floor`` and ``|in - out| <= tolerance * max(in, out)`` (the comparison
carries a relative slack of 1e-9 so that a gap of exactly the tolerance counts as
inside it, as "no more than 5 %" says). Cash deposits count as inflow and cash
withdrawals as outflow; self-transfers and transfers between accounts of the same
customer (treasury sweeps) are left out. Consecutive qualifying days form
one result, reported with its best run (smallest relative gap, then the larger amount;
ties: the earlier day).
"""

from __future__ import annotations

import numba
import numpy as np

from ._jit import jit
from .evidence import count_then_fill, window_range

SLACK = 1e-9


@jit
def _cents(x):
    """An amount in integer cents (amounts are rounded to the cent on ingest)."""
    return np.int64(np.round(x * 100.0))


@jit
def qualifies(amount_in, amount_out, floor, tolerance):
    """The pass-through test for one run of days, all amounts in cents (the reference
    uses it too, so both read the boundary the same way)."""
    hi = max(amount_in, amount_out)
    lo = min(amount_in, amount_out)
    return lo >= floor and lo > 0 and (hi - lo) <= tolerance * hi * (1 + SLACK)


@jit
def _flows(other, a, own, cust):
    """Whether an edge of account ``a`` with ``other`` (-1: cash) is in- or outflow: not a
    self-transfer, not a move between accounts of the account's customer ``own``."""
    return other != a and (own < 0 or other < 0 or cust[other] != own)


@jit
def _scan_account(a, in_indptr, in_edges, out_indptr, out_edges, src, dst, day, amount, first_day, last_day,
                  run_days, floor, tolerance, cust, buf_in, buf_out, out_int, out_amt, pos, fill):
    i0, i1 = in_indptr[a], in_indptr[a + 1]
    o0, o1 = out_indptr[a], out_indptr[a + 1]
    if i1 == i0 or o1 == o0:
        return 0  # needs money in and out
    own = cust[a]
    lo_day = max(first_day - run_days + 1, 0)
    # daily sums on days lo_day..last_day (buffers are per chunk, indexed from lo_day)
    touched_lo = last_day + 1
    touched_hi = lo_day - 1
    for k in range(i0, i1):
        e = in_edges[k]
        if lo_day <= day[e] <= last_day and _flows(src[e], a, own, cust):
            buf_in[day[e] - lo_day] += _cents(amount[e])
            touched_lo = min(touched_lo, day[e])
            touched_hi = max(touched_hi, day[e])
    for k in range(o0, o1):
        e = out_edges[k]
        if lo_day <= day[e] <= last_day and _flows(dst[e], a, own, cust):
            buf_out[day[e] - lo_day] += _cents(amount[e])
            touched_lo = min(touched_lo, day[e])
            touched_hi = max(touched_hi, day[e])
    n_runs = 0
    if touched_hi >= touched_lo:
        in_run = False
        run_first = 0
        best_day = 0
        best_gap = 0.0
        best_lo = 0
        best_in = 0
        best_out = 0
        floor_cents = _cents(floor)
        d_start = max(first_day, touched_lo)
        d_stop = min(last_day, touched_hi + run_days - 1)
        for d in range(d_start, d_stop + 2):
            met = False
            s_in = 0
            s_out = 0
            if d <= d_stop:
                for j in range(max(d - run_days + 1, lo_day), d + 1):
                    s_in += buf_in[j - lo_day]
                    s_out += buf_out[j - lo_day]
                met = qualifies(s_in, s_out, floor_cents, tolerance)
            if met:
                hi = max(s_in, s_out)
                gap = (hi - min(s_in, s_out)) / hi
                if not in_run:
                    in_run = True
                    run_first = d
                    best_gap = 2.0
                if gap < best_gap or (gap == best_gap and min(s_in, s_out) > best_lo):
                    best_gap = gap
                    best_lo = min(s_in, s_out)
                    best_day = d
                    best_in = s_in
                    best_out = s_out
            elif in_run:
                in_run = False
                if fill:
                    k = pos + n_runs
                    out_int[k, 0] = a
                    out_int[k, 1] = run_first
                    out_int[k, 2] = d - 1
                    out_int[k, 3] = best_day
                    out_amt[k, 0] = best_in / 100.0
                    out_amt[k, 1] = best_out / 100.0
                n_runs += 1
        for j in range(touched_lo - lo_day, touched_hi - lo_day + 1):
            buf_in[j] = 0
            buf_out[j] = 0
    return n_runs


@jit(parallel=True)
def pass_through_runs(in_indptr, in_edges, out_indptr, out_edges, src, dst, day, amount, first_day, last_day,
                      run_days, floor, tolerance, cust, n_chunks):
    """All pass-through results, for every account.

    Parameters
    ----------
    in_indptr, in_edges, out_indptr, out_edges, src, dst, day, amount : ndarray
        The graph's arrays (see :mod:`flowgraph.graph`).
    first_day, last_day : int
        Scan range (business-day indices, inclusive); runs may start before first_day.
    run_days : int
        Consecutive business days per run (001: 3).
    floor : ndarray of float64
        Per-account materiality floor on min(in, out).
    tolerance : float
        Largest relative gap (001: 0.05).
    cust : ndarray of int
        Customer of each account (-1 unknown): money moved between one customer's own
        accounts is neither in nor out.
    n_chunks : int
        Parallel pieces, each with its own day buffers.

    Returns
    -------
    runs : ndarray of int64, shape (n, 4)
        account, first and last qualifying day, best day (last day of the best run).
    amounts : ndarray of float64, shape (n, 2)
        In and out of the best run.
    """
    n_accounts = len(in_indptr) - 1
    n_chunks = max(1, min(n_accounts, n_chunks))
    bounds = np.linspace(0, n_accounts, n_chunks + 1).astype(np.int64)
    span = max(last_day - max(first_day - run_days + 1, 0) + 1, 1)
    counts = np.zeros(n_accounts + 1, np.int64)
    dummy_int = np.zeros((0, 4), np.int64)
    dummy_amt = np.zeros((0, 2), np.float64)
    for ch in numba.prange(n_chunks):
        buf_in = np.zeros(span, np.int64)  # cents per day
        buf_out = np.zeros(span, np.int64)
        for a in range(bounds[ch], bounds[ch + 1]):
            counts[a + 1] = _scan_account(a, in_indptr, in_edges, out_indptr, out_edges, src, dst, day, amount,
                                          first_day, last_day, run_days, floor[a], tolerance, cust, buf_in, buf_out,
                                          dummy_int, dummy_amt, 0, False)
    offsets = np.cumsum(counts)
    runs = np.zeros((offsets[-1], 4), np.int64)
    amounts = np.zeros((offsets[-1], 2), np.float64)
    for ch in numba.prange(n_chunks):
        buf_in = np.zeros(span, np.int64)  # cents per day
        buf_out = np.zeros(span, np.int64)
        for a in range(bounds[ch], bounds[ch + 1]):
            if counts[a + 1] > 0:
                _scan_account(a, in_indptr, in_edges, out_indptr, out_edges, src, dst, day, amount,
                              first_day, last_day, run_days, floor[a], tolerance, cust, buf_in, buf_out,
                              runs, amounts, offsets[a], True)
    return runs, amounts


@jit(parallel=True)
def _pass_through_evidence_pass(account, best_day, run_days, in_indptr, in_edges, out_indptr, out_edges, src, dst,
                                day, cust, offsets, out):
    fill = len(out) > 0
    for i in numba.prange(len(account)):
        a, hi = account[i], best_day[i]
        k = 0
        for side in range(2):
            indptr, edges, other = (in_indptr, in_edges, src) if side == 0 else (out_indptr, out_edges, dst)
            j0, j1 = window_range(a, hi - run_days + 1, hi, indptr, edges, day)
            for j in range(j0, j1):
                e = edges[j]
                if _flows(other[e], a, cust[a], cust):
                    if fill:
                        out[offsets[i] + k] = e
                    k += 1
        if not fill:
            offsets[i + 1] = k


def pass_through_evidence(account, best_day, run_days, in_indptr, in_edges, out_indptr, out_edges, src, dst, day,
                          cust):
    """The evidence of pass-through results: the in- and out-edges of each result's best
    run of ``run_days`` days that the kernel summed (:func:`_flows`).

    Returns
    -------
    offsets, edges : ndarray of int64
        In-edges then out-edges of result ``i`` at ``edges[offsets[i]:offsets[i + 1]]``.
    """
    return count_then_fill(_pass_through_evidence_pass, len(account), account, best_day, run_days, in_indptr,
                           in_edges, out_indptr, out_edges, src, dst, day, cust)

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

from typing import NamedTuple

import numba
import numpy as np

from ._jit import jit
from .evidence import count_then_fill, window_range
from .runs import chunk_bounds

SLACK = 1e-9


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
def pass_through_days_met(days, floor_of_row, tolerance):
    """Which qualifying days (:class:`PassThroughDays`, found under a looser floor or
    tolerance) also qualify under ``tolerance`` and each row's floor (cents)."""
    met = np.zeros(len(days.day), np.bool_)
    for i in range(len(met)):
        met[i] = qualifies(days.in_cents[i], days.out_cents[i], floor_of_row[i], tolerance)
    return met


class PassThroughDays(NamedTuple):
    """Qualifying days (:mod:`.runs`), one row per account and day: the run of
    ``run_days`` days ending that day qualifies."""

    key: np.ndarray         #: int64, always 0 (one test per account)
    day: np.ndarray         #: int64, last day of the run
    score: np.ndarray       #: float64, minus the relative gap (the smaller gap is better)
    tiebreak: np.ndarray    #: float64, min(in, out) in cents
    in_cents: np.ndarray    #: int64, inflow of the run
    out_cents: np.ndarray   #: int64, outflow of the run


def pass_through_days_out(n_rows: int) -> PassThroughDays:
    """Room for ``n_rows`` qualifying days."""
    return PassThroughDays(*(np.zeros(n_rows, t) for t in (np.int64, np.int64, np.float64, np.float64, np.int64,
                                                            np.int64)))


@jit
def _scan_account(g, a, last_day, run_days, floor_cents, tolerance, buf_in, buf_out, out, pos, fill):
    i0, i1 = g.in_indptr[a], g.in_indptr[a + 1]
    o0, o1 = g.out_indptr[a], g.out_indptr[a + 1]
    if i1 == i0 or o1 == o0:
        return 0  # needs money in and out
    own = g.customer[a]
    # daily sums on days 0..last_day (buffers are per chunk)
    touched_lo = last_day + 1
    touched_hi = -1
    for side in range(2):
        lo, hi = (i0, i1) if side == 0 else (o0, o1)
        for k in range(lo, hi):
            e = g.in_edges[k] if side == 0 else g.out_edges[k]
            other = g.src[e] if side == 0 else g.dst[e]
            if g.day[e] <= last_day and _flows(other, a, own, g.customer):
                if side == 0:
                    buf_in[g.day[e]] += g.amount_home_cents[e]
                else:
                    buf_out[g.day[e]] += g.amount_home_cents[e]
                touched_lo = min(touched_lo, g.day[e])
                touched_hi = max(touched_hi, g.day[e])
    n_rows = 0
    for d in range(touched_lo, min(last_day, touched_hi + run_days - 1) + 1):
        s_in = 0
        s_out = 0
        for j in range(max(d - run_days + 1, 0), d + 1):
            s_in += buf_in[j]
            s_out += buf_out[j]
        if qualifies(s_in, s_out, floor_cents, tolerance):
            if fill:
                hi = max(s_in, s_out)
                k = pos + n_rows
                out.day[k] = d
                out.score[k] = -((hi - min(s_in, s_out)) / hi)
                out.tiebreak[k] = min(s_in, s_out)
                out.in_cents[k] = s_in
                out.out_cents[k] = s_out
            n_rows += 1
    for j in range(touched_lo, touched_hi + 1):
        buf_in[j] = 0
        buf_out[j] = 0
    return n_rows


@jit(parallel=True)
def _pass_through_pass(g, last_day, run_days, floor_cents, tolerance, n_chunks, offsets, out):
    fill = len(out.day) > 0
    n_accounts = len(g.in_indptr) - 1
    bounds = chunk_bounds(n_accounts, n_chunks)
    for ch in numba.prange(len(bounds) - 1):
        buf_in = np.zeros(last_day + 1, np.int64)  # cents per day
        buf_out = np.zeros(last_day + 1, np.int64)
        for a in range(bounds[ch], bounds[ch + 1]):
            if fill and offsets[a + 1] == offsets[a]:
                continue
            n = _scan_account(g, a, last_day, run_days, floor_cents[a], tolerance, buf_in, buf_out, out, offsets[a],
                              fill)
            if not fill:
                offsets[a + 1] = n


def pass_through_days(g, last_day, run_days, floor_cents, tolerance, n_chunks):
    """Every account's qualifying days: the last days of its qualifying runs.

    Parameters
    ----------
    g : GraphArrays
        The graph (:attr:`flowgraph.graph.TransactionGraph.arrays`).
    last_day : int
        Last business day evaluated; runs are traced from the first day of the data.
    run_days : int
        Consecutive business days per run (001: 3).
    floor_cents : ndarray of int64
        Per-account materiality floor on min(in, out), in cents.
    tolerance : float
        Largest relative gap (001: 0.05).
    n_chunks : int
        Parallel pieces, each with its own day buffers.

    Returns
    -------
    offsets : ndarray of int64
        Account ``a``'s rows are ``offsets[a]:offsets[a + 1]``.
    days : PassThroughDays
        Consecutive qualifying days make one result (:func:`.runs.day_runs`), with its
        best run: smallest relative gap, then the larger amount.
    """
    return count_then_fill(_pass_through_pass, len(g.in_indptr) - 1, g, last_day, run_days, floor_cents,
                           float(tolerance), n_chunks, make_out=pass_through_days_out)


@jit(parallel=True)
def _pass_through_evidence_pass(account, best_day, run_days, g, offsets, out):
    fill = len(out) > 0
    customer, day, dst, in_edges = g.customer, g.day, g.dst, g.in_edges
    in_indptr, out_edges, out_indptr, src = g.in_indptr, g.out_edges, g.out_indptr, g.src
    for i in numba.prange(len(account)):
        a, hi = account[i], best_day[i]
        k = 0
        for side in range(2):
            indptr, edges, other = (in_indptr, in_edges, src) if side == 0 else (out_indptr, out_edges,
                                                                                         dst)
            j0, j1 = window_range(a, hi - run_days + 1, hi, indptr, edges, day)
            for j in range(j0, j1):
                e = edges[j]
                if _flows(other[e], a, customer[a], customer):
                    if fill:
                        out[offsets[i] + k] = e
                    k += 1
        if not fill:
            offsets[i + 1] = k


def pass_through_evidence(account, best_day, run_days, g):
    """The evidence of pass-through results: the in- and out-edges of each result's best
    run of ``run_days`` days that the kernel summed (:func:`_flows`).

    Returns
    -------
    offsets, edges : ndarray of int64
        In-edges then out-edges of result ``i`` at ``edges[offsets[i]:offsets[i + 1]]``.
    """
    return count_then_fill(_pass_through_evidence_pass, len(account), account, best_day, run_days, g)

"""Fan-in / fan-out kernel (SPEC §3.1): distinct counterparties over a trailing window.

For every account and every business day ``d`` of the scan, the window is the business
days ``d - window_days + 1 .. d``. Inside it the kernel keeps, with two pointers over the
account's in-edges and out-edges (CSR, time order), the number of distinct senders and
receivers and the amounts in and out. Cash edges (no counterparty) and self-transfers
are left out, and so are transfers between accounts of the same customer (a treasury
sweep is not a counterparty) and transactions below a de-minimis amount (everyday card payments
must not make a launderer's hub look "dispersed"). Four conditions are tested each day:

0. fan-in: senders >= k_many
1. fan-out: receivers >= k_many
2. dispersed in, concentrated out: senders >= k_many, 1 <= receivers <= k_few, in and out
   both >= the account's materiality floor
3. concentrated in, dispersed out: 1 <= senders <= k_few, receivers >= k_many, in and out
   both >= the floor

Consecutive days meeting a condition form one run, reported once with its best day
(most counterparties on the "many" side, then the larger amount; ties: the earlier day).
The scan is two passes over accounts in parallel chunks: count runs, then fill them at
prefix-sum offsets; each chunk has its own counter buffers.
"""

from __future__ import annotations

import numba
import numpy as np

from ._jit import jit
from .evidence import count_then_fill, window_range

N_CONDITIONS = 4


@jit
def _cents(x):
    """An amount in integer cents (amounts are rounded to the cent on ingest)."""
    return np.int64(np.round(x * 100.0))


@jit
def _is_counterparty(other, a, own, amount, small, cust):
    """Whether an edge of account ``a`` with account ``other`` counts: not cash, not a
    self-transfer, not de minimis, not another account of the same customer ``own``."""
    return other >= 0 and other != a and amount >= small and (own < 0 or cust[other] != own)


@jit
def _count(other, a, own, amount, small, cust, cnt, step):
    """Add (``step`` 1) or remove (-1) a counterparty edge; return the change in the
    number of distinct counterparties."""
    if not _is_counterparty(other, a, own, amount, small, cust):
        return 0
    before = cnt[other]
    cnt[other] += step
    if before == 0 and step > 0:
        return 1
    if cnt[other] == 0 and step < 0:
        return -1
    return 0


@jit
def _counted_cents(other, a, own, amount, small, cust):
    return _cents(amount) if _is_counterparty(other, a, own, amount, small, cust) else 0


@jit
def window_end_days(i0, i1, o0, o1, in_edges, out_edges, day, first_day, last_day, window_days):
    """The scan days whose trailing window can hold one of an account's edges (its in
    edges ``in_edges[i0:i1]`` and out edges ``out_edges[o0:o1]``, each in day order)."""
    lo = last_day + 1
    hi = -1
    if i1 > i0:
        lo = min(lo, day[in_edges[i0]])
        hi = max(hi, day[in_edges[i1 - 1]])
    if o1 > o0:
        lo = min(lo, day[out_edges[o0]])
        hi = max(hi, day[out_edges[o1 - 1]])
    return max(first_day, lo), min(last_day, hi + window_days - 1)


@jit
def _scan_account(a, in_indptr, in_edges, out_indptr, out_edges, src, dst, day, amount, first_day, last_day,
                  window_days, k_many, k_few, floor, small, cust, cnt_in, cnt_out, out_int, out_amt, pos, fill):
    """Scan one account; write its runs from ``pos`` when ``fill``; return the run count.
    Amounts and the floor (rounded to the cent) are compared in integer cents."""
    i0, i1 = in_indptr[a], in_indptr[a + 1]
    o0, o1 = out_indptr[a], out_indptr[a + 1]
    if i0 == i1 and o0 == o1:
        return 0
    own = cust[a]
    floor_cents = _cents(floor)
    d_start, d_stop = window_end_days(i0, i1, o0, o1, in_edges, out_edges, day, first_day, last_day, window_days)

    in_hi = i0
    in_lo = i0
    out_hi = o0
    out_lo = o0
    n_snd = 0
    n_rcv = 0
    amt_in = 0  # integer cents: sums that add and remove stay exact
    amt_out = 0
    in_run = np.zeros(N_CONDITIONS, np.bool_)
    run_first = np.zeros(N_CONDITIONS, np.int64)
    best_day = np.zeros(N_CONDITIONS, np.int64)
    best_many = np.zeros(N_CONDITIONS, np.int64)
    best_amt = np.zeros(N_CONDITIONS, np.int64)
    best_vals = np.zeros((N_CONDITIONS, 4), np.int64)  # n_in, n_out, cents in, cents out at best
    n_runs = 0
    # the window of the first evaluated day may start before it: preload
    for d in range(d_start, d_stop + 2):
        closing = d > d_stop
        if not closing:
            lo_day = d - window_days + 1
            # one sender / receiver in or out of the window at a time, in time order
            while in_hi < i1 and day[in_edges[in_hi]] <= d:
                e = in_edges[in_hi]
                n_snd += _count(src[e], a, own, amount[e], small, cust, cnt_in, 1)
                amt_in += _counted_cents(src[e], a, own, amount[e], small, cust)
                in_hi += 1
            while in_lo < in_hi and day[in_edges[in_lo]] < lo_day:
                e = in_edges[in_lo]
                n_snd += _count(src[e], a, own, amount[e], small, cust, cnt_in, -1)
                amt_in -= _counted_cents(src[e], a, own, amount[e], small, cust)
                in_lo += 1
            while out_hi < o1 and day[out_edges[out_hi]] <= d:
                e = out_edges[out_hi]
                n_rcv += _count(dst[e], a, own, amount[e], small, cust, cnt_out, 1)
                amt_out += _counted_cents(dst[e], a, own, amount[e], small, cust)
                out_hi += 1
            while out_lo < out_hi and day[out_edges[out_lo]] < lo_day:
                e = out_edges[out_lo]
                n_rcv += _count(dst[e], a, own, amount[e], small, cust, cnt_out, -1)
                amt_out -= _counted_cents(dst[e], a, own, amount[e], small, cust)
                out_lo += 1
        material = amt_in >= floor_cents and amt_out >= floor_cents
        for c in range(N_CONDITIONS):
            if closing:
                met = False
            elif c == 0:
                met = n_snd >= k_many
            elif c == 1:
                met = n_rcv >= k_many
            elif c == 2:
                met = n_snd >= k_many and 1 <= n_rcv <= k_few and material
            else:
                met = 1 <= n_snd <= k_few and n_rcv >= k_many and material
            if met:
                many = n_snd if (c == 0 or c == 2) else n_rcv
                amt = amt_in if (c == 0 or c == 3) else amt_out
                if not in_run[c]:
                    in_run[c] = True
                    run_first[c] = d
                    best_many[c] = -1
                if many > best_many[c] or (many == best_many[c] and amt > best_amt[c]):
                    best_many[c] = many
                    best_amt[c] = amt
                    best_day[c] = d
                    best_vals[c, 0] = n_snd
                    best_vals[c, 1] = n_rcv
                    best_vals[c, 2] = amt_in
                    best_vals[c, 3] = amt_out
            elif in_run[c]:
                in_run[c] = False
                if fill:
                    k = pos + n_runs
                    out_int[k, 0] = a
                    out_int[k, 1] = c
                    out_int[k, 2] = run_first[c]
                    out_int[k, 3] = d - 1
                    out_int[k, 4] = best_day[c]
                    out_int[k, 5] = int(best_vals[c, 0])
                    out_int[k, 6] = int(best_vals[c, 1])
                    out_amt[k, 0] = best_vals[c, 2] / 100.0
                    out_amt[k, 1] = best_vals[c, 3] / 100.0
                n_runs += 1
    # leave the counters clean for the next account
    for k in range(in_lo, in_hi):
        _count(src[in_edges[k]], a, own, amount[in_edges[k]], small, cust, cnt_in, -1)
    for k in range(out_lo, out_hi):
        _count(dst[out_edges[k]], a, own, amount[out_edges[k]], small, cust, cnt_out, -1)
    return n_runs


@jit(parallel=True)
def fan_runs(in_indptr, in_edges, out_indptr, out_edges, src, dst, day, amount, first_day, last_day,
             window_days, k_many, k_few, floor, small, cust, n_chunks):
    """All runs of the four fan conditions, for every account.

    Parameters
    ----------
    in_indptr, in_edges, out_indptr, out_edges : ndarray
        The graph's CSR indexes (edges in time order within an account).
    src, dst, day : ndarray of int
        Edge endpoints (-1: none) and business-day index.
    amount : ndarray of float64
        Edge amounts (CNY).
    first_day, last_day : int
        Business-day indices of the scan (inclusive); windows reach back before first_day.
    window_days, k_many, k_few : int
        Window length, the "many" threshold (>=) and the "few" limit (<=).
    floor : ndarray of float64
        Per-account materiality floor for conditions 2 and 3.
    small : ndarray of float64
        Per-account de-minimis amount: edges below it are not counted at all.
    cust : ndarray of int
        Customer of each account (-1 unknown): transfers between accounts of one
        customer are not counterparties.
    n_chunks : int
        Accounts are scanned in this many parallel chunks, each with its own buffers.

    Returns
    -------
    runs : ndarray of int64, shape (n, 7)
        account, condition, run first day, run last day, best day, senders and receivers
        on the best day.
    amounts : ndarray of float64, shape (n, 2)
        Amount in and out on the best day's window.
    """
    n_accounts = len(in_indptr) - 1
    n_chunks = max(1, min(n_accounts, n_chunks))
    bounds = np.linspace(0, n_accounts, n_chunks + 1).astype(np.int64)
    counts = np.zeros(n_accounts + 1, np.int64)
    dummy_int = np.zeros((0, 7), np.int64)
    dummy_amt = np.zeros((0, 2), np.float64)
    for ch in numba.prange(n_chunks):
        cnt_in = np.zeros(n_accounts, np.int32)
        cnt_out = np.zeros(n_accounts, np.int32)
        for a in range(bounds[ch], bounds[ch + 1]):
            counts[a + 1] = _scan_account(a, in_indptr, in_edges, out_indptr, out_edges, src, dst, day, amount,
                                          first_day, last_day, window_days, k_many, k_few, floor[a], small[a], cust,
                                          cnt_in, cnt_out, dummy_int, dummy_amt, 0, False)
    offsets = np.cumsum(counts)
    runs = np.zeros((offsets[-1], 7), np.int64)
    amounts = np.zeros((offsets[-1], 2), np.float64)
    for ch in numba.prange(n_chunks):
        cnt_in = np.zeros(n_accounts, np.int32)
        cnt_out = np.zeros(n_accounts, np.int32)
        for a in range(bounds[ch], bounds[ch + 1]):
            if counts[a + 1] > 0:
                _scan_account(a, in_indptr, in_edges, out_indptr, out_edges, src, dst, day, amount,
                              first_day, last_day, window_days, k_many, k_few, floor[a], small[a], cust,
                              cnt_in, cnt_out, runs, amounts, offsets[a], True)
    return runs, amounts


@jit(parallel=True)
def _fan_evidence_pass(account, best_day, use_in, use_out, window_days, in_indptr, in_edges, out_indptr, out_edges,
                       src, dst, day, amount, small, cust, offsets, out):
    fill = len(out) > 0
    for i in numba.prange(len(account)):
        a, hi = account[i], best_day[i]
        k = 0
        for side in range(2):
            if not (use_in[i] if side == 0 else use_out[i]):
                continue
            indptr, edges, other = (in_indptr, in_edges, src) if side == 0 else (out_indptr, out_edges, dst)
            j0, j1 = window_range(a, hi - window_days + 1, hi, indptr, edges, day)
            for j in range(j0, j1):
                e = edges[j]
                if _is_counterparty(other[e], a, cust[a], amount[e], small[a], cust):
                    if fill:
                        out[offsets[i] + k] = e
                    k += 1
        if not fill:
            offsets[i + 1] = k


def fan_evidence(account, best_day, use_in, use_out, window_days, in_indptr, in_edges, out_indptr, out_edges,
                 src, dst, day, amount, small, cust):
    """The evidence of fan results: the edges the kernel counted in each result's best
    window — counterparty in-edges (``use_in``) and out-edges (``use_out``), by the same
    rule as the counts (:func:`_is_counterparty`).

    Parameters
    ----------
    account, best_day : ndarray of int64
        Per result: its account and the last day of its best window.
    use_in, use_out : ndarray of bool
        Per result: which sides are evidence.
    window_days : int
    in_indptr, in_edges, out_indptr, out_edges, src, dst, day, amount, small, cust
        As for :func:`fan_runs` (``small`` per account).

    Returns
    -------
    offsets, edges : ndarray of int64
        Result ``i``'s evidence is ``edges[offsets[i]:offsets[i + 1]]`` (in-edges first).
    """
    return count_then_fill(_fan_evidence_pass, len(account), account, best_day, use_in, use_out, window_days,
                           in_indptr, in_edges, out_indptr, out_edges, src, dst, day, amount, small, cust)

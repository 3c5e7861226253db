"""Fan-in / fan-out kernel (SPEC §3.1): distinct counterparties over a trailing window.

For every account and every business day ``d`` from ``first_day`` to ``last_day``, the
window is the business days ``d - window_days + 1 .. d`` (only their edges are read).
Inside it the kernel keeps, with two pointers over the account's in-edges and out-edges
(CSR, time order), the number of distinct senders and receivers and the amounts in and
out. Cash edges (no counterparty) and self-transfers are left out, and so are transfers
between accounts of the same customer (a treasury sweep is not a counterparty) and
transactions below a de-minimis amount (everyday card payments must not make a
launderer's hub look "dispersed"). Four conditions are tested each day:

0. fan-in: senders >= k_many
1. fan-out: receivers >= k_many
2. dispersed in, concentrated out: senders >= k_many, 1 <= receivers <= k_few, in and out
   both >= the account's materiality floor
3. concentrated in, dispersed out: 1 <= senders <= k_few, receivers >= k_many, in and out
   both >= the floor

Consecutive days meeting a condition form one run, reported once with its best day
(most counterparties on the "many" side, then the larger amount; ties: the earlier day).
The kernel writes each account's qualifying days (:class:`FanDays`) in one pass over pieces
of the accounts (:func:`.evidence.once_in_pieces`: a busy account, whose every day is
evaluated, is not scanned twice, to count and then to fill); :func:`.runs.day_runs` makes
the runs. Its evidence (:func:`fan_evidence`) is made so too.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ._jit import jit
from .evidence import once_in_pieces, resized, window_edges, window_range

N_CONDITIONS = 4


@jit
def _could_count(other, a, amount, small):
    """Whether an edge of account ``a`` with account ``other`` passes the tests of
    :func:`_is_counterparty` that need no customer: not cash, not a self-transfer, not de
    minimis."""
    return other >= 0 and other != a and amount >= small


@jit
def _is_counterparty(other, a, own, amount, small, cust):
    """Whether an edge of account ``a`` with account ``other`` counts: not cash, not a
    self-transfer, not de minimis, not another account of the same customer ``own``."""
    return _could_count(other, a, amount, small) and (own < 0 or cust[other] != own)


@jit
def _reaches_many(edges, k0, k1, other, amount_home, day, a, small, window_days, k_many):
    """Whether some window of ``window_days`` business days holds ``k_many`` or more of
    the edges ``edges[k0:k1]`` (one side of account ``a``, in time order) that could count
    (:func:`_could_count`). Distinct counterparties are never more, so an account whose
    two sides both stay under ``k_many`` meets no condition: one light pass (no counters,
    no customer look-ups), left at the first window that gets there."""
    if k1 - k0 < k_many:
        return False
    lo = k0
    n = 0
    for hi in range(k0, k1):
        e = edges[hi]
        if not _could_count(other[e], a, amount_home[e], small):
            continue
        while day[edges[lo]] <= day[e] - window_days:  # before the window that ends on e's day
            f = edges[lo]
            if _could_count(other[f], a, amount_home[f], small):
                n -= 1
            lo += 1
        n += 1
        if n >= k_many:
            return True
    return False


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


class FanDays(NamedTuple):
    """Qualifying days of the fan conditions (:mod:`.runs`), one row per account,
    condition and day; amounts over the day's window."""

    key: np.ndarray         #: int64, the condition (0..3, see the module's docstring)
    day: np.ndarray         #: int64, business day
    score: np.ndarray       #: float64, counterparties on the "many" side
    tiebreak: np.ndarray    #: float64, cents on the "many" side
    senders: np.ndarray     #: int64, distinct senders
    receivers: np.ndarray   #: int64, distinct receivers
    in_cents: np.ndarray    #: int64, counted inflow
    out_cents: np.ndarray   #: int64, counted outflow


@jit
def _edge(other, amount, cents, a, own, small, cust, cnt, step):
    """Add (``step`` 1) or remove (-1) an edge of account ``a`` with ``other`` (its amount
    in yuan and in cents); return the change in distinct counterparties and in counted
    cents. Scalars, not the edge arrays, are passed: this runs once per edge."""
    if not _is_counterparty(other, a, own, amount, small, cust):
        return 0, 0
    before = cnt[other]
    cnt[other] += step
    change = 0
    if before == 0 and step > 0:
        change = 1
    elif cnt[other] == 0 and step < 0:
        change = -1
    return change, step * cents


@jit
def _met(c, n_snd, n_rcv, amt_in, amt_out, k_many, k_few, floor_cents):
    """Whether a day whose window holds these senders, receivers and cents meets
    condition ``c`` (the module's docstring)."""
    material = amt_in >= floor_cents and amt_out >= floor_cents
    if c == 0:
        return n_snd >= k_many
    if c == 1:
        return n_rcv >= k_many
    if c == 2:
        return n_snd >= k_many and 1 <= n_rcv <= k_few and material
    return 1 <= n_snd <= k_few and n_rcv >= k_many and material


@jit
def fan_days_met(days, floor_of_row, k_many, k_few):
    """Which qualifying days (:class:`FanDays`, found under looser thresholds) also meet
    their condition under ``k_many``, ``k_few`` and each row's floor (cents)."""
    met = np.zeros(len(days.day), np.bool_)
    for i in range(len(met)):
        met[i] = _met(days.key[i], days.senders[i], days.receivers[i], days.in_cents[i], days.out_cents[i], k_many,
                      k_few, floor_of_row[i])
    return met


@jit
def _scan_account(g, a, first_day, last_day, window_days, k_many, k_few, floor_cents, small, cnt_in, cnt_out, out, pos,
                  fill):
    """Evaluate the four conditions on each day ``first_day .. last_day`` for account
    ``a``; write its qualifying days from row ``pos`` when ``fill``; return how many there
    are. Amounts and the floor are compared in integer cents (sums that add and remove
    stay exact)."""
    # the graph's arrays as locals, taken from the tuple once per account, not per edge
    in_edges, out_edges, src, dst, day = g.in_edges, g.out_edges, g.src, g.dst, g.day
    amount_home, amount_cents, cust = g.amount_home, g.amount_home_cents, g.customer
    # only the edges some evaluated day's window holds
    i0, i1, o0, o1 = window_edges(g, a, first_day, last_day, window_days)
    # every condition needs k_many on one side: an account no window of which holds that
    # many countable edges is passed over (the 1e8 bank's 240-day range, the band's
    # k_many: fan_days 3.4-3.6 s against 5.4-5.6 s, the same rows)
    if not (_reaches_many(in_edges, i0, i1, src, amount_home, day, a, small, window_days, k_many)
            or _reaches_many(out_edges, o0, o1, dst, amount_home, day, a, small, window_days, k_many)):
        return 0
    own = cust[a]
    d_start, d_stop = window_end_days(i0, i1, o0, o1, in_edges, out_edges, day, first_day, last_day, window_days)
    in_hi = in_lo = i0
    out_hi = out_lo = o0
    n_snd = n_rcv = 0
    amt_in = amt_out = 0
    n_rows = 0
    # the window of the first evaluated day may start before it: preload
    for d in range(d_start, d_stop + 1):
        lo_day = d - window_days + 1
        # one sender / receiver in or out of the window at a time, in time order
        while in_hi < i1 and day[in_edges[in_hi]] <= d:
            e = in_edges[in_hi]
            n, cents = _edge(src[e], amount_home[e], amount_cents[e], a, own, small, cust, cnt_in, 1)
            n_snd, amt_in, in_hi = n_snd + n, amt_in + cents, in_hi + 1
        while in_lo < in_hi and day[in_edges[in_lo]] < lo_day:
            e = in_edges[in_lo]
            n, cents = _edge(src[e], amount_home[e], amount_cents[e], a, own, small, cust, cnt_in, -1)
            n_snd, amt_in, in_lo = n_snd + n, amt_in + cents, in_lo + 1
        while out_hi < o1 and day[out_edges[out_hi]] <= d:
            e = out_edges[out_hi]
            n, cents = _edge(dst[e], amount_home[e], amount_cents[e], a, own, small, cust, cnt_out, 1)
            n_rcv, amt_out, out_hi = n_rcv + n, amt_out + cents, out_hi + 1
        while out_lo < out_hi and day[out_edges[out_lo]] < lo_day:
            e = out_edges[out_lo]
            n, cents = _edge(dst[e], amount_home[e], amount_cents[e], a, own, small, cust, cnt_out, -1)
            n_rcv, amt_out, out_lo = n_rcv + n, amt_out + cents, out_lo + 1
        for c in range(N_CONDITIONS):
            if not _met(c, n_snd, n_rcv, amt_in, amt_out, k_many, k_few, floor_cents):
                continue
            if fill:
                k = pos + n_rows
                out.key[k] = c
                out.day[k] = d
                out.score[k] = n_snd if (c == 0 or c == 2) else n_rcv
                out.tiebreak[k] = amt_in if (c == 0 or c == 3) else amt_out
                out.senders[k] = n_snd
                out.receivers[k] = n_rcv
                out.in_cents[k] = amt_in
                out.out_cents[k] = amt_out
            n_rows += 1
    # leave the counters clean for the next account
    for k in range(in_lo, in_hi):
        e = in_edges[k]
        _edge(src[e], amount_home[e], amount_cents[e], a, own, small, cust, cnt_in, -1)
    for k in range(out_lo, out_hi):
        e = out_edges[k]
        _edge(dst[e], amount_home[e], amount_cents[e], a, own, small, cust, cnt_out, -1)
    return n_rows


@jit
def _fan_piece(a0, a1, g, first_day, last_day, window_days, k_many, k_few, floor_cents, small):
    """The qualifying days of accounts ``a0 .. a1 - 1`` in one pass over them: each
    account's number of rows, and the rows (:class:`FanDays`, exactly as many). The rows go
    straight into buffers that grow, with room before each account for the most it can
    have (every condition on every day), so no account is scanned twice."""
    n_accounts = len(g.in_indptr) - 1
    cnt_in = np.zeros(n_accounts, np.int32)
    cnt_out = np.zeros(n_accounts, np.int32)
    counts = np.zeros(a1 - a0, np.int64)
    room = N_CONDITIONS * max(0, last_day - first_day + 1)
    out = FanDays(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float64), np.zeros(0, np.float64),
                  np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64))
    n_rows = 0
    for a in range(a0, a1):
        if n_rows + room > len(out.day):
            out = _grown(out, n_rows, max(2 * len(out.day), n_rows + room))
        n = _scan_account(g, a, first_day, last_day, window_days, k_many, k_few, floor_cents[a], small[a], cnt_in,
                          cnt_out, out, n_rows, True)
        counts[a - a0] = n
        n_rows += n
    return counts, _grown(out, n_rows, n_rows)


@jit
def _grown(days, n_rows, size):
    """The first ``n_rows`` rows of ``days`` in arrays of ``size`` rows."""
    return FanDays(resized(days.key, n_rows, size), resized(days.day, n_rows, size),
                   resized(days.score, n_rows, size), resized(days.tiebreak, n_rows, size),
                   resized(days.senders, n_rows, size), resized(days.receivers, n_rows, size),
                   resized(days.in_cents, n_rows, size), resized(days.out_cents, n_rows, size))


def fan_days(g, first_day, last_day, window_days, k_many, k_few, floor_cents, small, n_chunks):
    """Every account's qualifying days of the four fan conditions.

    Parameters
    ----------
    g : GraphArrays
        The graph (:attr:`flowgraph.graph.TransactionGraph.arrays`).
    first_day, last_day : int
        First and last business day evaluated. A run that reaches a scan's first day
        starts no earlier than the first day of that day's month (:mod:`.runs`), so a
        scan evaluates from there (0: from the first day of the data).
    window_days, k_many, k_few : int
        Window length, the "many" threshold (>=) and the "few" limit (<=).
    floor_cents : ndarray of int64
        Per-account materiality floor for conditions 2 and 3, in cents.
    small : ndarray of float64
        Per-account de-minimis amount: edges below it are not counted at all.
    n_chunks : int
        Accounts are scanned in this many pieces, on the kernel threads, each with its own
        buffers (:func:`.evidence.once_in_pieces`).

    Returns
    -------
    offsets : ndarray of int64
        Account ``a``'s rows are ``offsets[a]:offsets[a + 1]``.
    days : FanDays
        Consecutive days of one condition make a run (:func:`.runs.day_runs`); its best
        day has most counterparties on the "many" side, then the larger amount on it.
    """
    return once_in_pieces(_fan_piece, len(g.in_indptr) - 1, n_chunks, g, first_day, last_day, window_days, k_many,
                          k_few, floor_cents, small)


@jit
def _fan_evidence_piece(i0, i1, account, best_day, use_in, use_out, window_days, small, g):
    """The evidence of results ``i0 .. i1 - 1`` in one pass (see :func:`fan_evidence`):
    each result's number of edges, and the edges. Before a result, the buffer makes room
    for every edge of its windows."""
    counts = np.zeros(i1 - i0, np.int64)
    out = np.zeros(0, np.int64)
    n_rows = 0
    for i in range(i0, i1):
        a, hi = account[i], best_day[i]
        i_lo, i_hi = window_range(a, hi - window_days + 1, hi, g.in_indptr, g.in_edges, g.day) if use_in[i] else (0, 0)
        o_lo, o_hi = window_range(a, hi - window_days + 1, hi, g.out_indptr, g.out_edges, g.day) if use_out[i] \
            else (0, 0)
        room = (i_hi - i_lo) + (o_hi - o_lo)
        if n_rows + room > len(out):
            out = resized(out, n_rows, max(2 * len(out), n_rows + room))
        k = _counterparty_edges(g.in_edges, i_lo, i_hi, g.src, a, small[a], g, out, n_rows)
        k = _counterparty_edges(g.out_edges, o_lo, o_hi, g.dst, a, small[a], g, out, n_rows + k) + k
        counts[i - i0] = k
        n_rows += k
    return counts, resized(out, n_rows, n_rows)


@jit
def _counterparty_edges(edges, j0, j1, other, a, small, g, out, pos):
    """Write the edges of ``edges[j0:j1]`` (one side of account ``a``) that count
    (:func:`_is_counterparty`) from ``out[pos]`` on; how many."""
    customer, amount_home = g.customer, g.amount_home
    k = 0
    for j in range(j0, j1):
        e = edges[j]
        if _is_counterparty(other[e], a, customer[a], amount_home[e], small, customer):
            out[pos + k] = e
            k += 1
    return k


def fan_evidence(account, best_day, use_in, use_out, window_days, small, g, n_chunks):
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
    small : ndarray of float64
        Per-account de-minimis amount, as for :func:`fan_days`.
    g : GraphArrays
    n_chunks : int
        Results are taken in this many pieces on the kernel threads, as for :func:`fan_days`.

    Returns
    -------
    offsets, edges : ndarray of int64
        Result ``i``'s evidence is ``edges[offsets[i]:offsets[i + 1]]`` (in-edges first).
    """
    return once_in_pieces(_fan_evidence_piece, len(account), n_chunks, account, best_day, use_in, use_out, window_days,
                          small, g)

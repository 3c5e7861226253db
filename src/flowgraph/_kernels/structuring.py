"""Near-threshold, low-variance structuring kernels (SPEC §3.3, from 001).

Band tests are exact, in integer cents: a transaction is in the band when
``band_low_cents <= amount_cents < phi_cents`` (Φ: the threshold of the large-value rule
it falls under, in the currency that rule compares; ``band_low_cents`` the least cents at
or above ``band_low`` · Φ). The spread test stays in float: σ is a spread statistic, not a
threshold crossing, computed on the ratio amount / Φ of each band transaction (σ in units of
Φ; population standard deviation, in two passes) and compared with ``sigma_max``.

Per transaction: for every account, channel and business day ``d`` of the scan, over the
trailing window: hit when the band holds at least ``min_band`` transactions, more than
``min_share`` of the channel's transactions, with σ below ``sigma_max``.

Daily cumulative: for every account, direction, series and business day, the day's sum in
cents. A series is one daily-cumulative threshold: the transactions of one channel and
currency class that fall under the same Φ (only they add up toward one report). A "band
day" has a sum in that Φ's band made of at least two transactions (split). Hit when a
window holds at least ``min_band`` band days, more than ``min_share`` of the days with
such transactions, with σ of the band-day sums (in units of Φ) below ``sigma_max``.

Consecutive qualifying days make one result, with its best day (most band items, then
the smaller σ; ties: the earlier day). The kernels write qualifying days
(:class:`StructuringDays`) in the count-then-fill skeleton (:mod:`.evidence`);
:func:`.runs.day_runs` makes the runs.
"""

from __future__ import annotations

from typing import NamedTuple

import numba
import numpy as np

from ._jit import jit
from .evidence import count_then_fill, window_edges, window_range
from .fan import window_end_days
from .runs import chunk_bounds

N_CHANNELS = 3
#: σ differences below this are ties (two computations of one σ differ in the last bits)
SIGMA_TIE = 1e-12


@jit
def _in_band(amount_cents, band_low_cents, phi_cents):
    """Whether an edge's amount is in its Φ's band (scalars: this runs once per edge, and
    passing arrays to a call costs more than the test)."""
    return band_low_cents <= amount_cents < phi_cents


@jit
def _band_value(k, side, a, c, in_edges, out_edges, src, channel, amount_cents, band_low_cents, phi_cents):
    """The ratio amount / Φ of the window's k-th edge on ``side`` (0 in, 1 out) if it
    belongs to channel ``c``'s band (self-transfers counted once, on the out side), else -1.
    Divided here, for the few band edges of the windows that qualify, not for every edge
    ahead (an array of the edges' size; a band edge's Φ is above 0)."""
    e = in_edges[k] if side == 0 else out_edges[k]
    if (side == 0 and src[e] == a) or channel[e] != c or \
            not _in_band(amount_cents[e], band_low_cents[e], phi_cents[e]):
        return -1.0
    return amount_cents[e] / phi_cents[e]


@jit
def _window_sigma(a, c, in_edges, in_lo, in_hi, out_edges, out_lo, out_hi, src, channel, amount_cents,
                  band_low_cents, phi_cents):
    """σ of the band of channel ``c`` in the current window, two-pass (mean, then squared
    deviations): exact for equal values and free of the cancellation of running sums."""
    total = 0.0
    n = 0
    mean = 0.0
    dev = 0.0
    for second_pass in range(2):
        for side in range(2):
            lo, hi = (in_lo, in_hi) if side == 0 else (out_lo, out_hi)
            for k in range(lo, hi):
                x = _band_value(k, side, a, c, in_edges, out_edges, src, channel, amount_cents, band_low_cents,
                                phi_cents)
                if x < 0:
                    continue
                if second_pass:
                    dev += (x - mean) * (x - mean)
                else:
                    total += x
                    n += 1
        if n == 0:
            return 0.0
        mean = total / n
    return np.sqrt(dev / n)


@jit
def _enough_band(n_band, n_all, min_band, min_share):
    """At least ``min_band`` band items and more than ``min_share`` of all items."""
    return n_band >= min_band and n_band > min_share * n_all


@jit
def structuring_days_met(days, min_band, min_share, sigma_max):
    """Which qualifying days (:class:`StructuringDays` of either test, found under a
    looser share or σ limit) also qualify under ``min_share`` and ``sigma_max``."""
    met = np.zeros(len(days.day), np.bool_)
    for i in range(len(met)):
        met[i] = _enough_band(days.n_band[i], days.n_all[i], min_band, min_share) and days.sigma[i] < sigma_max
    return met


class StructuringDays(NamedTuple):
    """Qualifying days (:mod:`.runs`) of either structuring test, one row per account,
    key and day."""

    key: np.ndarray         #: int64, channel (per transaction) or direction * n_series + series (daily)
    day: np.ndarray         #: int64, last day of the window
    score: np.ndarray       #: float64, band items (transactions or band days)
    tiebreak: np.ndarray    #: float64, -σ (the smaller σ is better)
    n_band: np.ndarray      #: int64, band transactions (band days)
    n_all: np.ndarray       #: int64, the channel's transactions (days with transactions of the series)
    sigma: np.ndarray       #: float64, σ of the band in units of Φ


def structuring_days_out(n_rows: int) -> StructuringDays:
    """Room for ``n_rows`` qualifying days."""
    return StructuringDays(*(np.zeros(n_rows, t) for t in (np.int64, np.int64, np.float64, np.float64, np.int64,
                                                            np.int64, np.float64)))


@jit
def _write_day(out, k, key, d, n_band, n_all, sigma):
    out.key[k] = key
    out.day[k] = d
    out.score[k] = n_band
    out.tiebreak[k] = -sigma
    out.n_band[k] = n_band
    out.n_all[k] = n_all
    out.sigma[k] = sigma


@jit
def _most_band_in_a_window(edges, k0, k1, day, channel, amount_cents, band_low_cents, phi_cents, window_days):
    """The most band transactions of each channel that one window of ``window_days``
    business days holds among ``edges[k0:k1]`` (in day order), in one pass with a trailing
    pointer per channel."""
    most = np.zeros(N_CHANNELS, np.int64)
    count = np.zeros(N_CHANNELS, np.int64)
    lo = np.full(N_CHANNELS, k0, np.int64)
    for k in range(k0, k1):
        e = edges[k]
        if not _in_band(amount_cents[e], band_low_cents[e], phi_cents[e]):
            continue
        c = channel[e]
        count[c] += 1
        while day[edges[lo[c]]] <= day[e] - window_days:  # out of the window ending on e's day
            f = edges[lo[c]]
            if channel[f] == c and _in_band(amount_cents[f], band_low_cents[f], phi_cents[f]):
                count[c] -= 1
            lo[c] += 1
        most[c] = max(most[c], count[c])
    return most


@jit
def _per_txn_account(g, a, amount_cents, band_low_cents, phi_cents, first_day, last_day, window_days, min_band,
                     min_share, sigma_max, out, pos, fill):
    # the graph's arrays as locals, taken from the tuple once per account, not per edge
    in_edges, out_edges, src, day, channel = g.in_edges, g.out_edges, g.src, g.day, g.channel
    # only the edges some evaluated day's window holds
    i0, i1, o0, o1 = window_edges(g, a, first_day, last_day, window_days)
    if i0 == i1 and o0 == o1:
        return 0
    # no window holds more band transactions of a channel than the most one window of its
    # in-edges holds plus the most one of its out-edges does: most accounts have too few,
    # and skip the day-by-day pass
    most = _most_band_in_a_window(in_edges, i0, i1, day, channel, amount_cents, band_low_cents, phi_cents,
                                  window_days)
    most += _most_band_in_a_window(out_edges, o0, o1, day, channel, amount_cents, band_low_cents, phi_cents,
                                   window_days)
    if most.max() < min_band:
        return 0
    n_band = np.zeros(N_CHANNELS, np.int64)
    d_start, d_stop = window_end_days(i0, i1, o0, o1, in_edges, out_edges, day, first_day, last_day, window_days)
    n_all = np.zeros(N_CHANNELS, np.int64)
    ends = np.array([i0, i0, o0, o0])  # in_hi, in_lo, out_hi, out_lo
    n_rows = 0
    for d in range(d_start, d_stop + 1):
        lo_day = d - window_days + 1
        for side in range(2):
            edges = in_edges if side == 0 else out_edges
            stop = i1 if side == 0 else o1
            for step in (1, -1):
                ptr = 2 * side + (0 if step == 1 else 1)
                while True:
                    k = ends[ptr]
                    if step == 1 and not (k < stop and day[edges[k]] <= d):
                        break
                    if step == -1 and not (k < ends[2 * side] and day[edges[k]] < lo_day):
                        break
                    e = edges[k]
                    # self-transfers are counted once, on the out side
                    if side == 1 or src[e] != a:
                        c = channel[e]
                        n_all[c] += step
                        if _in_band(amount_cents[e], band_low_cents[e], phi_cents[e]):
                            n_band[c] += step
                    ends[ptr] += 1
        for c in range(N_CHANNELS):
            if _enough_band(n_band[c], n_all[c], min_band, min_share):
                sigma = _window_sigma(a, c, in_edges, ends[1], ends[0], out_edges, ends[3], ends[2], src,
                                      channel, amount_cents, band_low_cents, phi_cents)
                if sigma < sigma_max:
                    if fill:
                        _write_day(out, pos + n_rows, c, d, n_band[c], n_all[c], sigma)
                    n_rows += 1
    return n_rows


@jit(parallel=True)
def _structuring_pass(g, amount_cents, band_low_cents, phi_cents, first_day, last_day, window_days, min_band,
                      min_share, sigma_max, n_chunks, offsets, out):
    fill = len(out.day) > 0
    n_accounts = len(g.in_indptr) - 1
    bounds = chunk_bounds(n_accounts, n_chunks)
    for ch in numba.prange(len(bounds) - 1):
        for a in range(bounds[ch], bounds[ch + 1]):
            if fill and offsets[a + 1] == offsets[a]:
                continue
            n = _per_txn_account(g, a, amount_cents, band_low_cents, phi_cents, first_day, last_day,
                                 window_days, min_band, min_share, sigma_max, out, offsets[a], fill)
            if not fill:
                offsets[a + 1] = n


def structuring_days(g, amount_cents, band_low_cents, phi_cents, first_day, last_day, window_days, min_band,
                     min_share, sigma_max, n_chunks):
    """Per-transaction structuring: every account's qualifying (channel, day) pairs.

    Parameters
    ----------
    g : GraphArrays
        The graph (:attr:`flowgraph.graph.TransactionGraph.arrays`).
    amount_cents, band_low_cents, phi_cents : ndarray of int64
        Per edge, in cents of the currency its rule compares: the amount, the band floor
        (least cents at or above ``band_low`` · Φ) and Φ (0: no rule, never in the band).
    first_day, last_day : int
        First and last business day evaluated (a scan's runs start no earlier than the
        first day of its first day's month, :mod:`.runs`; 0: from the first day of the
        data); only edges on days ``first_day - window_days + 1 .. last_day`` are read.
    window_days : int
        The trailing window, business days.
    min_band : int
        Least band transactions (3).
    min_share, sigma_max : float
        Share of the channel's transactions (> 0.8), σ limit (0.05, in Φ).
    n_chunks : int
        Parallel pieces.

    Returns
    -------
    offsets : ndarray of int64
        Account ``a``'s rows are ``offsets[a]:offsets[a + 1]``.
    days : StructuringDays
        Keyed by channel.
    """
    return count_then_fill(_structuring_pass, len(g.in_indptr) - 1, g, amount_cents, band_low_cents, phi_cents,
                           first_day, last_day, window_days, min_band, float(min_share), float(sigma_max), n_chunks,
                           make_out=structuring_days_out)


@jit
def _is_band_day(cnt, total, low_cents, phi_cents):
    """A band day: its sum in the band, made of at least two transactions (split)."""
    return cnt >= 2 and low_cents <= total < phi_cents


@jit
def _most_band_days(g, a, series, amount_cents, series_low_cents, series_phi_cents, in0, in1, out0, out1, day_now,
                    sum_now, count_now, band_days):
    """The most band days one series and direction of account ``a`` has on all the days
    of its edges ``g.in_edges[in0:in1]`` and ``g.out_edges[out0:out1]``: no window holds
    more. One pass over the edges (in time order), each series's current day summed in
    the buffers ``day_now``, ``sum_now``, ``count_now``, ``band_days`` (one slot a series)."""
    day = g.day
    most = 0
    for direction in range(2):
        # the other end of an edge: a self-transfer's is ``a`` (one array read, not two)
        edges, other, k0, k1 = (g.in_edges, g.src, in0, in1) if direction == 0 else (g.out_edges, g.dst, out0, out1)
        day_now[:] = -1
        sum_now[:] = 0
        count_now[:] = 0
        band_days[:] = 0
        for k in range(k0, k1):
            e = edges[k]
            if other[e] == a:  # a self-transfer, left out as the day's sums leave it
                continue
            s = series[e]
            if day[e] != day_now[s]:  # the series's day before is complete
                if _is_band_day(count_now[s], sum_now[s], series_low_cents[s], series_phi_cents[s]):
                    band_days[s] += 1
                day_now[s], sum_now[s], count_now[s] = day[e], 0, 0
            sum_now[s] += amount_cents[e]
            count_now[s] += 1
        for s in range(len(series_phi_cents)):
            if _is_band_day(count_now[s], sum_now[s], series_low_cents[s], series_phi_cents[s]):
                band_days[s] += 1
            most = max(most, band_days[s])
    return most


@jit
def _daily_account(g, a, series, amount_cents, series_low_cents, series_phi_cents, first_day, last_day, window_days,
                   min_band, min_share, sigma_max, day_sum, day_cnt, row_used, per_series, out, pos, fill):
    """Daily-cumulative structuring of one account; ``day_sum`` (cents) / ``day_cnt`` are
    buffers of shape (2 directions * series, last_day + 1), ``row_used`` marks the rows this
    account touched; all three are left cleared. ``per_series``: four buffers of one slot a
    series (:func:`_most_band_days`)."""
    # the graph's arrays as locals, taken from the tuple once per account, not per edge
    in_edges, out_edges, src, dst, day = g.in_edges, g.out_edges, g.src, g.dst, g.day
    n_series = len(series_phi_cents)
    # only the edges some evaluated day's window holds
    in0, in1, out0, out1 = window_edges(g, a, first_day, last_day, window_days)
    # a window holds no more band days than all the days do: most accounts have fewer than
    # min_band in every series and direction and skip the day-by-day pass (on the 1e8 bank's
    # 240-day range 2.8 k of 222 k accounts have as many; the count of transactions a series
    # this replaces let 167 k through: this kernel 3.8-4.0 s against 5.1-5.2 s)
    if _most_band_days(g, a, series, amount_cents, series_low_cents, series_phi_cents, in0, in1, out0, out1,
                       per_series[0], per_series[1], per_series[2], per_series[3]) < min_band:
        return 0
    touched_lo = last_day + 1
    touched_hi = -1
    for direction in range(2):
        i0, i1 = (in0, in1) if direction == 0 else (out0, out1)
        for k in range(i0, i1):
            e = in_edges[k] if direction == 0 else out_edges[k]
            if src[e] == dst[e]:
                continue
            row = direction * n_series + series[e]
            day_sum[row, day[e]] += amount_cents[e]
            day_cnt[row, day[e]] += 1
            row_used[row] = True
            touched_lo = min(touched_lo, day[e])
            touched_hi = max(touched_hi, day[e])
    n_rows = 0
    if touched_hi < touched_lo:
        return 0
    d_stop = min(last_day, touched_hi + window_days - 1)
    for row in range(2 * n_series):
        if not row_used[row]:
            continue
        low_cents = series_low_cents[row % n_series]
        phi_cents = series_phi_cents[row % n_series]
        n_band = 0
        n_active = 0
        for d in range(touched_lo, d_stop + 1):
            # slide the window: day d comes in, day d - window_days leaves (integer counts)
            for j, step in ((d, 1), (d - window_days, -1)):
                if j >= 0 and day_cnt[row, j] > 0:
                    n_active += step
                    if _is_band_day(day_cnt[row, j], day_sum[row, j], low_cents, phi_cents):
                        n_band += step
            if d < first_day or not _enough_band(n_band, n_active, min_band, min_share):
                continue
            window_lo = max(d - window_days + 1, 0)
            total = 0.0
            for j in range(window_lo, d + 1):
                if _is_band_day(day_cnt[row, j], day_sum[row, j], low_cents, phi_cents):
                    total += day_sum[row, j] / phi_cents
            mean = total / n_band
            dev = 0.0
            for j in range(window_lo, d + 1):
                x = day_sum[row, j]
                if _is_band_day(day_cnt[row, j], x, low_cents, phi_cents):
                    dev += (x / phi_cents - mean) * (x / phi_cents - mean)
            sigma = np.sqrt(dev / n_band)
            if sigma < sigma_max:
                if fill:
                    _write_day(out, pos + n_rows, row, d, n_band, n_active, sigma)
                n_rows += 1
    for row in range(2 * n_series):
        if row_used[row]:
            row_used[row] = False
            for j in range(touched_lo, touched_hi + 1):
                day_sum[row, j] = 0
                day_cnt[row, j] = 0
    return n_rows


@jit(parallel=True)
def _daily_structuring_pass(g, series, amount_cents, series_low_cents, series_phi_cents, first_day, last_day,
                            window_days, min_band, min_share, sigma_max, n_chunks, offsets, out):
    fill = len(out.day) > 0
    n_accounts = len(g.in_indptr) - 1
    n_rows = 2 * len(series_phi_cents)
    bounds = chunk_bounds(n_accounts, n_chunks)
    for ch in numba.prange(len(bounds) - 1):
        day_sum = np.zeros((n_rows, last_day + 1), np.int64)
        day_cnt = np.zeros((n_rows, last_day + 1), np.int64)
        row_used = np.zeros(n_rows, np.bool_)
        per_series = np.zeros((4, len(series_phi_cents)), np.int64)
        for a in range(bounds[ch], bounds[ch + 1]):
            if fill and offsets[a + 1] == offsets[a]:
                continue
            n = _daily_account(g, a, series, amount_cents, series_low_cents, series_phi_cents, first_day, last_day,
                               window_days, min_band, min_share, sigma_max, day_sum, day_cnt, row_used, per_series,
                               out, offsets[a], fill)
            if not fill:
                offsets[a + 1] = n


def daily_structuring_days(g, series, amount_cents, series_low_cents, series_phi_cents, first_day, last_day,
                           window_days, min_band, min_share, sigma_max, n_chunks):
    """Daily-cumulative structuring: every account's qualifying (direction and series, day) pairs.

    Parameters
    ----------
    g : GraphArrays
        The graph.
    series : ndarray of int
        Each edge's series (one channel, currency class and Φ), an index into the two
        arrays below.
    amount_cents : ndarray of int64
        Each edge's amount in cents of the currency its rule compares.
    series_low_cents, series_phi_cents : ndarray of int64
        Per series, the band floor (least cents at or above ``band_low`` · Φ) and Φ, in
        cents (Φ = 0: no rule, never in the band).
    first_day, last_day, window_days, min_band, min_share, sigma_max, n_chunks
        As for :func:`structuring_days`.

    Returns
    -------
    offsets : ndarray of int64
    days : StructuringDays
        Keyed by direction * n_series + series (direction 0 = in, 1 = out); ``n_band`` and
        ``n_all`` count band days and days with transactions of the series.
    """
    return count_then_fill(_daily_structuring_pass, len(g.in_indptr) - 1, g, series, amount_cents, series_low_cents,
                           series_phi_cents, first_day, last_day, window_days, min_band, float(min_share),
                           float(sigma_max), n_chunks, make_out=structuring_days_out)


@jit(parallel=True)
def _structuring_evidence_pass(account, method, best_day, window_days, g, amount_cents, band_low_cents, phi_cents,
                               offsets, out):
    fill = len(out) > 0
    channel, day, in_edges, in_indptr = g.channel, g.day, g.in_edges, g.in_indptr
    out_edges, out_indptr, src = g.out_edges, g.out_indptr, g.src
    for i in numba.prange(len(account)):
        a, c, hi = account[i], method[i], best_day[i]
        k = 0
        for side in range(2):
            indptr, edges = (in_indptr, in_edges) if side == 0 else (out_indptr, out_edges)
            j0, j1 = window_range(a, hi - window_days + 1, hi, indptr, edges, day)
            for j in range(j0, j1):
                e = edges[j]
                # the kernel's band rule (self-transfers once, on the out side)
                if (side == 0 and src[e] == a) or channel[e] != c or \
                        not _in_band(amount_cents[e], band_low_cents[e], phi_cents[e]):
                    continue
                if fill:
                    out[offsets[i] + k] = e
                k += 1
        if not fill:
            offsets[i + 1] = k


def structuring_evidence(account, method, best_day, window_days, g, amount_cents, band_low_cents, phi_cents):
    """The band transactions of per-transaction structuring results: each result's
    account and method (channel) over its best window, as the kernel counted them.

    Returns
    -------
    offsets, edges : ndarray of int64
    """
    return count_then_fill(_structuring_evidence_pass, len(account), account, method, best_day, window_days, g,
                           amount_cents, band_low_cents, phi_cents)


@jit(parallel=True)
def _daily_structuring_evidence_pass(account, direction, series_of, best_day, window_days, g, series, amount_cents,
                                     series_low_cents, series_phi_cents, offsets, out):
    fill = len(out) > 0
    day, dst, in_edges, in_indptr = g.day, g.dst, g.in_edges, g.in_indptr
    out_edges, out_indptr, src = g.out_edges, g.out_indptr, g.src
    for i in numba.prange(len(account)):
        a, s, hi = account[i], series_of[i], best_day[i]
        lo = hi - window_days + 1
        indptr, edges = (in_indptr, in_edges) if direction[i] == 0 else (out_indptr, out_edges)
        j0, j1 = window_range(a, lo, hi, indptr, edges, day)
        # the kernel's band days: a sum in the band made of at least two transactions
        day_sum = np.zeros(window_days, np.int64)
        day_cnt = np.zeros(window_days, np.int64)
        for j in range(j0, j1):
            e = edges[j]
            if src[e] != dst[e] and series[e] == s:
                day_sum[day[e] - lo] += amount_cents[e]
                day_cnt[day[e] - lo] += 1
        k = 0
        for j in range(j0, j1):
            e = edges[j]
            x = day[e] - lo
            if src[e] != dst[e] and series[e] == s and \
                    _is_band_day(day_cnt[x], day_sum[x], series_low_cents[s], series_phi_cents[s]):
                if fill:
                    out[offsets[i] + k] = e
                k += 1
        if not fill:
            offsets[i + 1] = k


def daily_structuring_evidence(account, direction, series_of, best_day, window_days, g, series, amount_cents,
                               series_low_cents, series_phi_cents):
    """The transactions of the band days of daily-cumulative structuring results: each
    result's account, direction (0 in, 1 out) and series over its best window.

    Returns
    -------
    offsets, edges : ndarray of int64
    """
    return count_then_fill(_daily_structuring_evidence_pass, len(account), account, direction, series_of, best_day,
                           window_days, g, series, amount_cents, series_low_cents, series_phi_cents)


@jit
def edge_series(channel, is_home, phi_rank_of_code, codes, n_phis):
    """Each edge's daily-cumulative series: the rank of its (channel, foreign currency,
    Φ) among the combinations present, in that order; and those combinations' keys
    ``(channel * 2 + foreign) * n_phis + phi_rank`` (a channel may be -1, unknown).
    ``phi_rank_of_code[codes[e]]`` is edge ``e``'s Φ's rank among the distinct Φ values.
    Three passes over the edges, no temporary per step."""
    n = len(codes)
    series = np.empty(n, np.int64)
    low, high = 0, 0
    for e in range(n):
        key = (np.int64(channel[e]) * 2 + (0 if is_home[e] else 1)) * n_phis + phi_rank_of_code[codes[e]]
        series[e] = key
        low, high = min(low, key), max(high, key)
    present = np.zeros(high - low + 1 if n else 0, np.bool_)
    for e in range(n):
        present[series[e] - low] = True
    number = np.empty(len(present), np.int64)
    k = 0
    for slot in range(len(present)):
        number[slot] = k
        k += present[slot]
    keys = np.empty(k, np.int64)
    for slot in range(len(present)):
        if present[slot]:
            keys[number[slot]] = slot + low
    for e in range(n):
        series[e] = number[series[e] - low]
    return series, keys

"""Near-threshold, low-variance structuring kernels (SPEC §3.3, from 001).

Band tests are exact, in integer cents: a transaction is in the band when
``band_low_cents <= amount_cents < phi_cents`` (Φ: the threshold of the large-value rule
it falls under, in the currency that rule compares; ``band_low_cents`` the least cents at
or above ``band_low`` · Φ). The spread test stays in float: σ is a spread statistic, not a
threshold crossing, computed on ``ratio`` = amount / Φ (σ in units of Φ; population
standard deviation, in two passes) and compared with ``sigma_max``.

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
the smaller σ; ties: the earlier day).
"""

from __future__ import annotations

import numba
import numpy as np

from ._jit import jit
from .evidence import count_then_fill, window_range
from .fan import window_end_days

N_CHANNELS = 3
#: σ differences below this are ties (two computations of one σ differ in the last bits)
SIGMA_TIE = 1e-12


@jit
def _in_band(e, amount_cents, band_low_cents, phi_cents):
    return band_low_cents[e] <= amount_cents[e] < phi_cents[e]


@jit
def _band_value(k, side, a, c, in_edges, out_edges, src, channel, amount_cents, band_low_cents, phi_cents, ratio):
    """The ratio of the window's k-th edge on ``side`` (0 in, 1 out) if it belongs to
    channel ``c``'s band (self-transfers counted once, on the out side), else -1."""
    e = in_edges[k] if side == 0 else out_edges[k]
    if (side == 0 and src[e] == a) or channel[e] != c or not _in_band(e, amount_cents, band_low_cents, phi_cents):
        return -1.0
    return ratio[e]


@jit
def _window_sigma(a, c, in_edges, in_lo, in_hi, out_edges, out_lo, out_hi, src, channel, amount_cents,
                  band_low_cents, phi_cents, ratio):
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
                                phi_cents, ratio)
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
def _per_txn_account(a, in_indptr, in_edges, out_indptr, out_edges, src, dst, day, channel, amount_cents,
                     band_low_cents, phi_cents, ratio, first_day, last_day, window_days, min_band, min_share,
                     sigma_max, out_int, out_flt, pos, fill):
    i0, i1 = in_indptr[a], in_indptr[a + 1]
    o0, o1 = out_indptr[a], out_indptr[a + 1]
    if i0 == i1 and o0 == o1:
        return 0
    d_start, d_stop = window_end_days(i0, i1, o0, o1, in_edges, out_edges, day, first_day, last_day, window_days)
    n_all = np.zeros(N_CHANNELS, np.int64)
    n_band = np.zeros(N_CHANNELS, np.int64)
    in_run = np.zeros(N_CHANNELS, np.bool_)
    run_first = np.zeros(N_CHANNELS, np.int64)
    best_day = np.zeros(N_CHANNELS, np.int64)
    best_band = np.zeros(N_CHANNELS, np.int64)
    best_all = np.zeros(N_CHANNELS, np.int64)
    best_sigma = np.zeros(N_CHANNELS, np.float64)
    in_hi = i0
    in_lo = i0
    out_hi = o0
    out_lo = o0
    n_runs = 0
    for d in range(d_start, d_stop + 2):
        closing = d > d_stop
        if not closing:
            lo_day = d - window_days + 1
            # in-edges (self-transfers are counted once, on the out side)
            while in_hi < i1 and day[in_edges[in_hi]] <= d:
                e = in_edges[in_hi]
                if src[e] != a:
                    c = channel[e]
                    n_all[c] += 1
                    if _in_band(e, amount_cents, band_low_cents, phi_cents):
                        n_band[c] += 1
                in_hi += 1
            while in_lo < in_hi and day[in_edges[in_lo]] < lo_day:
                e = in_edges[in_lo]
                if src[e] != a:
                    c = channel[e]
                    n_all[c] -= 1
                    if _in_band(e, amount_cents, band_low_cents, phi_cents):
                        n_band[c] -= 1
                in_lo += 1
            while out_hi < o1 and day[out_edges[out_hi]] <= d:
                e = out_edges[out_hi]
                c = channel[e]
                n_all[c] += 1
                if _in_band(e, amount_cents, band_low_cents, phi_cents):
                    n_band[c] += 1
                out_hi += 1
            while out_lo < out_hi and day[out_edges[out_lo]] < lo_day:
                e = out_edges[out_lo]
                c = channel[e]
                n_all[c] -= 1
                if _in_band(e, amount_cents, band_low_cents, phi_cents):
                    n_band[c] -= 1
                out_lo += 1
        for c in range(N_CHANNELS):
            met = False
            sigma = 0.0
            if not closing and n_band[c] >= min_band and n_band[c] > min_share * n_all[c]:
                sigma = _window_sigma(a, c, in_edges, in_lo, in_hi, out_edges, out_lo, out_hi, src, channel,
                                      amount_cents, band_low_cents, phi_cents, ratio)
                met = sigma < sigma_max
            if met:
                if not in_run[c]:
                    in_run[c] = True
                    run_first[c] = d
                    best_band[c] = -1
                if n_band[c] > best_band[c] or (n_band[c] == best_band[c] and sigma < best_sigma[c] - SIGMA_TIE):
                    best_band[c] = n_band[c]
                    best_all[c] = n_all[c]
                    best_sigma[c] = sigma
                    best_day[c] = d
            elif in_run[c]:
                in_run[c] = False
                if fill:
                    k = pos + n_runs
                    out_int[k, 0] = a
                    out_int[k, 1] = c
                    out_int[k, 2] = run_first[c]
                    out_int[k, 3] = d - 1
                    out_int[k, 4] = best_day[c]
                    out_int[k, 5] = best_band[c]
                    out_int[k, 6] = best_all[c]
                    out_flt[k, 0] = best_sigma[c]
                n_runs += 1
    return n_runs


@jit(parallel=True)
def structuring_runs(in_indptr, in_edges, out_indptr, out_edges, src, dst, day, channel, amount_cents,
                     band_low_cents, phi_cents, ratio, first_day, last_day, window_days, min_band, min_share,
                     sigma_max, n_chunks):
    """Per-transaction structuring results for every account and channel.

    Parameters
    ----------
    in_indptr, in_edges, out_indptr, out_edges, src, dst, day, channel : ndarray
        The graph's arrays.
    amount_cents, band_low_cents, phi_cents : ndarray of int64
        Per edge, in cents of the currency its rule compares: the amount, the band floor
        (least cents at or above ``band_low`` · Φ) and Φ (0: no rule, never in the band).
    ratio : ndarray of float64
        Each edge's amount / Φ, for σ only.
    first_day, last_day, window_days : int
        Scan range (inclusive) and trailing window, business days.
    min_share, sigma_max : float
        Share of the channel's transactions (> 0.8), σ limit (0.05, in Φ).
    min_band : int
        Least band transactions (3).
    n_chunks : int
        Parallel pieces.

    Returns
    -------
    runs : ndarray of int64, shape (n, 7)
        account, channel, first and last qualifying day, best day, band count, channel
        count on the best day.
    sigma : ndarray of float64, shape (n, 1)
        σ of the band on the best day (units of Φ).
    """
    n_accounts = len(in_indptr) - 1
    n_chunks = max(1, min(n_accounts, n_chunks))
    bounds = np.linspace(0, n_accounts, n_chunks + 1).astype(np.int64)
    counts = np.zeros(n_accounts + 1, np.int64)
    d_int = np.zeros((0, 7), np.int64)
    d_flt = np.zeros((0, 1), np.float64)
    for ch in numba.prange(n_chunks):
        for a in range(bounds[ch], bounds[ch + 1]):
            counts[a + 1] = _per_txn_account(a, in_indptr, in_edges, out_indptr, out_edges, src, dst, day, channel,
                                             amount_cents, band_low_cents, phi_cents, ratio, first_day, last_day,
                                             window_days, min_band, min_share, sigma_max, d_int, d_flt, 0, False)
    offsets = np.cumsum(counts)
    runs = np.zeros((offsets[-1], 7), np.int64)
    sig = np.zeros((offsets[-1], 1), np.float64)
    for ch in numba.prange(n_chunks):
        for a in range(bounds[ch], bounds[ch + 1]):
            if counts[a + 1] > 0:
                _per_txn_account(a, in_indptr, in_edges, out_indptr, out_edges, src, dst, day, channel,
                                 amount_cents, band_low_cents, phi_cents, ratio, first_day, last_day, window_days,
                                 min_band, min_share, sigma_max, runs, sig, offsets[a], True)
    return runs, sig


@jit
def _daily_account(a, in_indptr, in_edges, out_indptr, out_edges, src, dst, day, series, amount_cents,
                   series_low_cents, series_phi_cents, first_day, last_day, window_days, min_band, min_share,
                   sigma_max, day_sum, day_cnt, row_used, out_int, out_flt, pos, fill):
    """Daily-cumulative structuring of one account; ``day_sum`` (cents) / ``day_cnt`` are
    buffers of shape (2 directions * series, span) indexed from ``lo``, ``row_used`` marks
    the rows this account touched; all three are left cleared."""
    n_series = len(series_phi_cents)
    lo = max(first_day - window_days + 1, 0)
    touched_lo = last_day + 1
    touched_hi = lo - 1
    for direction in range(2):
        i0 = in_indptr[a] if direction == 0 else out_indptr[a]
        i1 = in_indptr[a + 1] if direction == 0 else out_indptr[a + 1]
        for k in range(i0, i1):
            e = in_edges[k] if direction == 0 else out_edges[k]
            if src[e] == dst[e] or day[e] < lo or day[e] > last_day:
                continue
            row = direction * n_series + series[e]
            day_sum[row, day[e] - lo] += amount_cents[e]
            day_cnt[row, day[e] - lo] += 1
            row_used[row] = True
            touched_lo = min(touched_lo, day[e])
            touched_hi = max(touched_hi, day[e])
    n_runs = 0
    if touched_hi < touched_lo:
        return 0
    d_start = max(first_day, touched_lo)
    d_stop = min(last_day, touched_hi + window_days - 1)
    for row in range(2 * n_series):
        if not row_used[row]:
            continue
        low_cents = series_low_cents[row % n_series]
        phi_cents = series_phi_cents[row % n_series]
        in_run = False
        run_first = 0
        best_day = 0
        best_band = -1
        best_active = 0
        best_sigma = 0.0
        for d in range(d_start, d_stop + 2):
            met = False
            n_band = 0
            n_active = 0
            sigma = 0.0
            if d <= d_stop:
                total = 0.0
                for j in range(max(d - window_days + 1, lo), d + 1):
                    cnt = day_cnt[row, j - lo]
                    if cnt > 0:
                        n_active += 1
                        if cnt >= 2 and low_cents <= day_sum[row, j - lo] < phi_cents:
                            n_band += 1
                            total += day_sum[row, j - lo] / phi_cents
                if n_band >= min_band and n_band > min_share * n_active:
                    mean = total / n_band
                    dev = 0.0
                    for j in range(max(d - window_days + 1, lo), d + 1):
                        x = day_sum[row, j - lo]
                        if day_cnt[row, j - lo] >= 2 and low_cents <= x < phi_cents:
                            dev += (x / phi_cents - mean) * (x / phi_cents - mean)
                    sigma = np.sqrt(dev / n_band)
                    met = sigma < sigma_max
            if met:
                if not in_run:
                    in_run = True
                    run_first = d
                    best_band = -1
                if n_band > best_band or (n_band == best_band and sigma < best_sigma - SIGMA_TIE):
                    best_band = n_band
                    best_active = n_active
                    best_sigma = sigma
                    best_day = d
            elif in_run:
                in_run = False
                if fill:
                    k = pos + n_runs
                    out_int[k, 0] = a
                    out_int[k, 1] = row
                    out_int[k, 2] = run_first
                    out_int[k, 3] = d - 1
                    out_int[k, 4] = best_day
                    out_int[k, 5] = best_band
                    out_int[k, 6] = best_active
                    out_flt[k, 0] = best_sigma
                n_runs += 1
    for row in range(2 * n_series):
        if row_used[row]:
            row_used[row] = False
            for j in range(touched_lo - lo, touched_hi - lo + 1):
                day_sum[row, j] = 0
                day_cnt[row, j] = 0
    return n_runs


@jit(parallel=True)
def daily_structuring_runs(in_indptr, in_edges, out_indptr, out_edges, src, dst, day, series, amount_cents,
                           series_low_cents, series_phi_cents, first_day, last_day, window_days, min_band,
                           min_share, sigma_max, n_chunks):
    """Daily-cumulative structuring results for every account, direction and series.

    Parameters
    ----------
    in_indptr, in_edges, out_indptr, out_edges, src, dst, day : ndarray
        The graph's arrays.
    series : ndarray of int
        Each edge's series (one channel, currency class and Φ), an index into the two
        arrays below.
    amount_cents : ndarray of int64
        Each edge's amount in cents of the currency its rule compares.
    series_low_cents, series_phi_cents : ndarray of int64
        Per series, the band floor (least cents at or above ``band_low`` · Φ) and Φ, in
        cents (Φ = 0: no rule, never in the band).
    first_day, last_day, window_days, min_band, min_share, sigma_max, n_chunks
        As for :func:`structuring_runs`.

    Returns
    -------
    runs : ndarray of int64, shape (n, 7)
        account, row (direction * n_series + series; direction 0 = in, 1 = out), first
        and last qualifying day, best day, band days and active days on the best day.
    sigma : ndarray of float64, shape (n, 1)
        σ of the band-day sums (units of Φ).
    """
    n_accounts = len(in_indptr) - 1
    n_rows = 2 * len(series_phi_cents)
    n_chunks = max(1, min(n_accounts, n_chunks))
    bounds = np.linspace(0, n_accounts, n_chunks + 1).astype(np.int64)
    span = max(last_day - max(first_day - window_days + 1, 0) + 1, 1)
    counts = np.zeros(n_accounts + 1, np.int64)
    d_int = np.zeros((0, 7), np.int64)
    d_flt = np.zeros((0, 1), np.float64)
    for ch in numba.prange(n_chunks):
        day_sum = np.zeros((n_rows, span), np.int64)
        day_cnt = np.zeros((n_rows, span), np.int64)
        row_used = np.zeros(n_rows, np.bool_)
        for a in range(bounds[ch], bounds[ch + 1]):
            counts[a + 1] = _daily_account(a, in_indptr, in_edges, out_indptr, out_edges, src, dst, day, series,
                                           amount_cents, series_low_cents, series_phi_cents, first_day, last_day,
                                           window_days, min_band, min_share, sigma_max, day_sum, day_cnt, row_used,
                                           d_int, d_flt, 0, False)
    offsets = np.cumsum(counts)
    runs = np.zeros((offsets[-1], 7), np.int64)
    sig = np.zeros((offsets[-1], 1), np.float64)
    for ch in numba.prange(n_chunks):
        day_sum = np.zeros((n_rows, span), np.int64)
        day_cnt = np.zeros((n_rows, span), np.int64)
        row_used = np.zeros(n_rows, np.bool_)
        for a in range(bounds[ch], bounds[ch + 1]):
            if counts[a + 1] > 0:
                _daily_account(a, in_indptr, in_edges, out_indptr, out_edges, src, dst, day, series, amount_cents,
                               series_low_cents, series_phi_cents, first_day, last_day, window_days, min_band,
                               min_share, sigma_max, day_sum, day_cnt, row_used, runs, sig, offsets[a], True)
    return runs, sig


@jit(parallel=True)
def _structuring_evidence_pass(account, method, best_day, window_days, in_indptr, in_edges, out_indptr, out_edges,
                               src, day, channel, amount_cents, band_low_cents, phi_cents, offsets, out):
    fill = len(out) > 0
    for i in numba.prange(len(account)):
        a, c, hi = account[i], method[i], best_day[i]
        k = 0
        for side in range(2):
            indptr, edges = (in_indptr, in_edges) if side == 0 else (out_indptr, out_edges)
            j0, j1 = window_range(a, hi - window_days + 1, hi, indptr, edges, day)
            for j in range(j0, j1):
                e = edges[j]
                # the kernel's band rule (self-transfers once, on the out side)
                if (side == 0 and src[e] == a) or channel[e] != c or not _in_band(e, amount_cents, band_low_cents,
                                                                                phi_cents):
                    continue
                if fill:
                    out[offsets[i] + k] = e
                k += 1
        if not fill:
            offsets[i + 1] = k


def structuring_evidence(account, method, best_day, window_days, in_indptr, in_edges, out_indptr, out_edges, src,
                         day, channel, amount_cents, band_low_cents, phi_cents):
    """The band transactions of per-transaction structuring results: each result's
    account and method (channel) over its best window, as the kernel counted them.

    Returns
    -------
    offsets, edges : ndarray of int64
    """
    return count_then_fill(_structuring_evidence_pass, len(account), account, method, best_day, window_days,
                           in_indptr, in_edges, out_indptr, out_edges, src, day, channel, amount_cents,
                           band_low_cents, phi_cents)


@jit(parallel=True)
def _daily_structuring_evidence_pass(account, direction, series_of, best_day, window_days, in_indptr, in_edges,
                                     out_indptr, out_edges, src, dst, day, series, amount_cents, series_low_cents,
                                     series_phi_cents, offsets, out):
    fill = len(out) > 0
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
            if src[e] != dst[e] and series[e] == s and day_cnt[x] >= 2 and \
                    series_low_cents[s] <= day_sum[x] < series_phi_cents[s]:
                if fill:
                    out[offsets[i] + k] = e
                k += 1
        if not fill:
            offsets[i + 1] = k


def daily_structuring_evidence(account, direction, series_of, best_day, window_days, in_indptr, in_edges,
                               out_indptr, out_edges, src, dst, day, series, amount_cents, series_low_cents,
                               series_phi_cents):
    """The transactions of the band days of daily-cumulative structuring results: each
    result's account, direction (0 in, 1 out) and series over its best window.

    Returns
    -------
    offsets, edges : ndarray of int64
    """
    return count_then_fill(_daily_structuring_evidence_pass, len(account), account, direction, series_of,
                           best_day, window_days, in_indptr, in_edges, out_indptr, out_edges, src, dst, day, series,
                           amount_cents, series_low_cents, series_phi_cents)

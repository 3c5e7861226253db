"""Large-value daily cumulative sums and the "frequent" rule (SPEC §2, §1, §3.4).

``daily_cumulative``: per rule, customer, direction (0 = in, 1 = out), currency class (0 =
home currency, 1 = foreign, in the rule set's foreign currency) and business day, the sum of the transactions the rule covers;
reports every sum at or above the rule's threshold. Amounts, sums and thresholds are
integer cents: float major units would put some splits of exactly Φ a hair under it. Edges are
in day order, so each day is one slice (``day_indptr``) accumulated into per-customer
buffers and cleared after.

``frequent_runs``: per account, over its "large" transactions (sorted by account, then
day): days with at least ``per_day`` of them, and runs of at least ``consecutive``
consecutive business days with any (one result per period such a run spans).
"""

from __future__ import annotations

from typing import NamedTuple

import numba
import numpy as np

from ._jit import jit
from .evidence import count_then_fill, once_in_pieces, resized
from .runs import chunk_bounds


@jit
def _side_slot(e, side, src_cust, dst_cust, is_foreign):
    """The customer an edge's amount adds to on one side (0: payee, in; 1: payer, out) and
    its slot: direction × currency class (0 home, 1 foreign). Customer -1: none."""
    c = dst_cust[e] if side == 0 else src_cust[e]
    return c, side * 2 + (1 if is_foreign[e] else 0)


class DailySums(NamedTuple):
    """Daily cumulative sums at or above a rule's threshold, one row each (int64 columns),
    in day order, then rule order."""

    rule: np.ndarray            #: the rule's row in the tables passed
    customer: np.ndarray
    day: np.ndarray
    direction: np.ndarray       #: 0 in, 1 out
    currency_class: np.ndarray  #: 0 CNY, 1 foreign
    n_transactions: np.ndarray  #: transactions summed
    sum_cents: np.ndarray       #: their sum, cents of the currency compared


@jit
def _daily_piece(item_lo, item_hi, day_indptr, src_cust, dst_cust, applies, value_cents, is_foreign,
                 thresholds_home_cents, thresholds_foreign_cents, n_customers, first_day):
    """Items ``item_lo..item_hi - 1`` (item ``i``: rule ``i % n_rules`` on business day
    ``first_day + i // n_rules``) in one pass with one set of per-customer buffers: each
    item's number of sums, and the sums (:class:`DailySums`, exactly as many). Days and
    rules are independent: :func:`.evidence.once_in_pieces` runs pieces on the threads."""
    n_rules = applies.shape[0]
    acc = np.zeros((n_customers, 4), np.int64)
    cnt = np.zeros((n_customers, 4), np.int64)
    touched = np.zeros(n_customers, np.int64)
    is_touched = np.zeros(n_customers, np.bool_)
    counts = np.zeros(item_hi - item_lo, np.int64)
    empty = np.zeros(0, np.int64)
    out = DailySums(empty, empty, empty, empty, empty, empty, empty)  # grown before the first write
    n_rows = 0
    for item in range(item_lo, item_hi):
        d, r = first_day + item // n_rules, item % n_rules
        n_touched = 0
        for e in range(day_indptr[d], day_indptr[d + 1]):
            if not applies[r, e]:
                continue
            for side in range(2):
                c, slot = _side_slot(e, side, src_cust, dst_cust, is_foreign)
                if c < 0:
                    continue
                acc[c, slot] += value_cents[e]
                cnt[c, slot] += 1
                if not is_touched[c]:
                    is_touched[c] = True
                    touched[n_touched] = c
                    n_touched += 1
        if n_rows + 4 * n_touched > len(out.day):  # room for every slot of every customer touched
            out = _grown(out, n_rows, max(2 * len(out.day), n_rows + 4 * n_touched))
        n_out = 0
        for t in range(n_touched):
            c = touched[t]
            for slot in range(4):
                threshold = thresholds_foreign_cents[r] if slot % 2 == 1 else thresholds_home_cents[r]
                if cnt[c, slot] > 0 and acc[c, slot] >= threshold:
                    k = n_rows + n_out
                    out.rule[k] = r
                    out.customer[k] = c
                    out.day[k] = d
                    out.direction[k] = slot // 2
                    out.currency_class[k] = slot % 2
                    out.n_transactions[k] = cnt[c, slot]
                    out.sum_cents[k] = acc[c, slot]
                    n_out += 1
                acc[c, slot] = 0
                cnt[c, slot] = 0
            is_touched[c] = False
        counts[item - item_lo] = n_out
        n_rows += n_out
    return counts, _grown(out, n_rows, n_rows)


@jit
def _grown(sums, n_rows, size):
    """The first ``n_rows`` rows of ``sums`` in arrays of ``size`` rows."""
    return DailySums(resized(sums.rule, n_rows, size), resized(sums.customer, n_rows, size),
                     resized(sums.day, n_rows, size), resized(sums.direction, n_rows, size),
                     resized(sums.currency_class, n_rows, size), resized(sums.n_transactions, n_rows, size),
                     resized(sums.sum_cents, n_rows, size))


def daily_cumulative(day_indptr, src_cust, dst_cust, applies, value_cents, is_foreign, thresholds_home_cents,
                     thresholds_foreign_cents, n_customers, first_day, last_day, n_chunks=1) -> DailySums:
    """Daily cumulative sums at or above a rule's threshold, of every rule in one call: the
    detector then takes every rule's evidence and subjects at once
    (:func:`daily_cumulative_evidence`), not rule by rule and joined.

    Parameters
    ----------
    day_indptr : ndarray of int64
        Edges of business day d are ``day_indptr[d]:day_indptr[d + 1]``.
    src_cust, dst_cust : ndarray of int
        Customer (monitoring unit, SPEC §1) of each side, -1 for none: the large-value
        detector passes its units, in which an unlisted account of the bank is a unit of
        its own (:func:`flowgraph.detectors._common.edge_units`).
    applies : ndarray of bool, shape (n_rules, n_edges)
        Row ``r``: the edges rule ``r`` covers.
    value_cents : ndarray of int64
        Amount in cents of the home currency for home-currency edges, of the foreign
        currency for the others.
    is_foreign : ndarray of bool
    thresholds_home_cents, thresholds_foreign_cents : ndarray of int64
        Per rule, its thresholds in fen and in US cents.
    n_customers, first_day, last_day : int
        ``n_customers``: how many customers (units) ``src_cust``/``dst_cust`` number.
    n_chunks : int
        Days are summed in this many pieces on the kernel threads, each with its own
        buffers, in one pass (:func:`.evidence.once_in_pieces`).

    Returns
    -------
    DailySums
    """
    n_items = max(last_day - first_day + 1, 0) * applies.shape[0]
    return once_in_pieces(_daily_piece, n_items, n_chunks, day_indptr, src_cust, dst_cust, applies, value_cents,
                          is_foreign, np.asarray(thresholds_home_cents, np.int64),
                          np.asarray(thresholds_foreign_cents, np.int64), n_customers, first_day)[1]


class FrequentRuns(NamedTuple):
    """Frequent large-transaction activity, one row each (int64 columns)."""

    account: np.ndarray
    kind: np.ndarray          #: 0 many on one day, 1 consecutive days
    first_day: np.ndarray
    last_day: np.ndarray
    transactions: np.ndarray  #: large transactions in the run
    #: the day the activity became frequent: the day itself (kind 0); for a run, the later
    #: of the piece's last day and the run's ``consecutive``-th day (a piece of a run that
    #: qualifies only in the next period is found on that day)
    found_day: np.ndarray


@jit
def frequent_runs(account, day, per_day, consecutive, period_last):
    """Frequent activity from (account, day) pairs of large transactions.

    Parameters
    ----------
    account, day : ndarray of int64
        One pair per large transaction, sorted by account then day.
    per_day : int
        A day with at least this many is frequent (SPEC §1: 3).
    consecutive : int
        A run of at least this many consecutive business days is frequent (3).
    period_last : ndarray of int64
        Per business-day index, the last business day of its period: a frequent run is
        reported once per period it spans, each piece with its own days and
        transactions (:mod:`.runs`), though it qualifies by its whole length.

    Returns
    -------
    FrequentRuns
    """
    n = len(account)
    # one row per FrequentRuns column; room enough (numba checks no bounds): a frequent day
    # per distinct (account, day) and a run's piece per at least one transaction of it,
    # so at most 2 n results
    out = np.zeros((6, 2 * n + 1), np.int64)
    k = 0
    i = 0
    while i < n:
        a = account[i]
        j = i
        while j < n and account[j] == a:
            j += 1
        # days with many transactions
        p = i
        while p < j:
            q = p
            while q < j and day[q] == day[p]:
                q += 1
            if q - p >= per_day:
                _write_frequent(out, k, a, 0, day[p], day[p], q - p, day[p])
                k += 1
            p = q
        # runs of consecutive active days
        p = i
        while p < j:
            q = p
            n_days = 1
            qualified = day[p] if consecutive <= 1 else -1  # the run's consecutive-th day
            while q + 1 < j and day[q + 1] - day[q] <= 1:
                if day[q + 1] != day[q]:
                    n_days += 1
                    if n_days == consecutive:
                        qualified = day[q + 1]
                q += 1
            if n_days >= consecutive:  # the whole run qualifies; one result per period it spans
                s = p
                while s <= q:
                    e = s
                    while e < q and day[e + 1] <= period_last[day[s]]:
                        e += 1
                    _write_frequent(out, k, a, 1, day[s], day[e], e - s + 1, max(day[e], qualified))
                    k += 1
                    s = e + 1
            p = q + 1
        i = j
    return FrequentRuns(out[0, :k].copy(), out[1, :k].copy(), out[2, :k].copy(), out[3, :k].copy(),
                        out[4, :k].copy(), out[5, :k].copy())


@jit
def _write_frequent(out, k, a, kind, first_day, last_day, n, found_day):
    out[0, k], out[1, k], out[2, k], out[3, k], out[4, k], out[5, k] = a, kind, first_day, last_day, n, found_day


@jit(parallel=True)
def _daily_evidence_pass(day_indptr, src_cust, dst_cust, applies, is_foreign, rule, customer, day, found_slot,
                         n_customers, bounds, offsets, out):
    """Count (``out`` empty: into ``offsets[i + 1]``) or write the edges of each found daily
    sum, by the rule that summed them (:func:`_daily_pass`: rows in day, then rule order),
    in pieces of the rows on the kernel threads (piece ``p``: rows ``bounds[p]:bounds[p + 1]``,
    each with slots of its own; a (day, rule) cut in two is read by both pieces, each
    writing its own rows)."""
    written = offsets[:-1].copy()
    for p in numba.prange(len(bounds) - 1):
        _daily_evidence_piece(bounds[p], bounds[p + 1], day_indptr, src_cust, dst_cust, applies, is_foreign, rule,
                              customer, day, found_slot, n_customers, written, offsets, out)


@jit
def _daily_evidence_piece(lo, hi, day_indptr, src_cust, dst_cust, applies, is_foreign, rule, customer, day,
                          found_slot, n_customers, written, offsets, out):
    """:func:`_daily_evidence_pass` of rows ``lo .. hi - 1``."""
    slot_hit = np.full((n_customers, 4), -1, np.int64)
    i = lo
    while i < hi:
        d, r = day[i], rule[i]
        j = i
        while j < hi and day[j] == d and rule[j] == r:
            slot_hit[customer[j], found_slot[j]] = j
            j += 1
        for e in range(day_indptr[d], day_indptr[d + 1]):
            if not applies[r, e]:
                continue
            for side in range(2):
                c, slot = _side_slot(e, side, src_cust, dst_cust, is_foreign)
                if c < 0:
                    continue
                h = slot_hit[c, slot]
                if h < 0:
                    continue
                if len(out):
                    out[written[h]] = e
                    written[h] += 1
                else:
                    offsets[h + 1] += 1
        for k in range(i, j):
            slot_hit[customer[k], found_slot[k]] = -1
        i = j


def daily_cumulative_evidence(day_indptr, src_cust, dst_cust, applies, is_foreign, found, n_customers, n_pieces=1):
    """The transactions of each daily sum :func:`daily_cumulative` found (a
    :class:`DailySums`, rows in day, then rule order, as it gives them): the rule's
    transactions of that customer, day, direction and currency class, found in
    ``n_pieces`` pieces of the sums on the kernel threads.

    Returns
    -------
    offsets, edges : ndarray of int64
    """
    return count_then_fill(_daily_evidence_pass, len(found.day), day_indptr, src_cust, dst_cust, applies, is_foreign,
                           found.rule, found.customer, found.day, found.direction * 2 + found.currency_class,
                           n_customers, chunk_bounds(len(found.day), n_pieces))


@jit(parallel=True)
def edge_customers(src, dst, account_customer):
    """Per edge, the customer of its payer and of its payee (int32, as
    ``account_customer``, any per-account int array: the detector passes monitoring units;
    -1: no account, as for cash, or an account without one)."""
    n = len(src)
    src_cust = np.empty(n, np.int32)
    dst_cust = np.empty(n, np.int32)
    for e in numba.prange(n):
        src_cust[e] = account_customer[src[e]] if src[e] >= 0 else -1
        dst_cust[e] = account_customer[dst[e]] if dst[e] >= 0 else -1
    return src_cust, dst_cust

"""Trailing-window event counts and sums for the human-trafficking detectors (000, SPEC §9).

Each trafficking red flag is a count over one account's events (transactions chosen by the
detector) in a trailing window of business days: how many events, on how many distinct
groups (branches or terminals; the event itself where groups do not matter) and what share
of them is flagged (at night). A business day *d* qualifies when the window ending on it,
``[d - window_days + 1, d]``, holds at least ``min_events`` events on at least
``min_groups`` groups with a flagged share of at least ``min_flagged_share`` (all "at or
above"). Consecutive qualifying days of one period (:mod:`.runs`) form a run, traced from
the first day of the data.

:func:`turnover_runs` sums instead: a day qualifies when its window holds at least
``min_cents`` of the account's money besides its largest event, in at least ``min_events``
events, and no vetoing event (an income: SPEC §9, "no visible livelihood").

The window's contents change only on a day an event enters it (its day) or leaves it (its
day + ``window_days``), so the kernel walks those change points instead of every day: the
window is constant in between.
"""

from __future__ import annotations

from fractions import Fraction
from typing import NamedTuple

import numpy as np

from ._jit import jit
from .runs import checked_periods


class EventRuns(NamedTuple):
    """Runs of qualifying days, one entry per run (int64 columns but the share)."""

    account: np.ndarray         #: the account (dense index)
    first_day: np.ndarray       #: first qualifying business day (index)
    last_day: np.ndarray        #: last qualifying business day
    peak_day: np.ndarray        #: the earliest day whose window holds the most events
    peak_events: np.ndarray     #: events in that window
    peak_groups: np.ndarray     #: distinct groups in that window
    peak_flagged: np.ndarray    #: flagged events in that window


@jit
def _next_change(day, enter, leave, hi, window_days):
    """The next day the window changes: an event enters (its day) or leaves (its day +
    ``window_days``); ``enter`` and ``leave`` are the next events to do so, ``hi`` the end
    of the account's events."""
    change = day[enter] if enter < hi else day[leave] + window_days
    if leave < hi and day[leave] + window_days < change:
        change = day[leave] + window_days
    return change


@jit
def _room(out, n):
    """``out`` with room for run ``n`` (a column): doubled when full. A window cut where
    periods end makes more runs than events (one event, a window across a month end: two)."""
    if n < out.shape[1]:
        return out
    bigger = np.zeros((out.shape[0], 2 * out.shape[1] + 1), out.dtype)
    bigger[:, :n] = out[:, :n]
    return bigger


@jit
def _window_runs(offsets, day, group, flagged, n_groups, window_days, min_events, min_groups,
                 share_numerator, share_denominator, last_day, period_last):
    out = np.zeros((7, len(day)), np.int64)
    in_group = np.zeros(max(n_groups, 1), np.int64)
    n = 0
    for a in range(len(offsets) - 1):
        lo, hi = offsets[a], offsets[a + 1]
        if lo == hi:
            continue
        enter, leave = lo, lo
        events, groups, n_flagged = 0, 0, 0
        run_open = False
        run_first, run_last = 0, 0
        peak_day, peak_events, peak_groups, peak_flagged = 0, 0, 0, 0
        while enter < hi or leave < hi:
            change = _next_change(day, enter, leave, hi, window_days)
            if change > last_day:
                break
            while enter < hi and day[enter] == change:
                g = group[enter]
                if in_group[g] == 0:
                    groups += 1
                in_group[g] += 1
                events += 1
                n_flagged += flagged[enter]
                enter += 1
            while leave < hi and day[leave] + window_days == change:
                g = group[leave]
                in_group[g] -= 1
                if in_group[g] == 0:
                    groups -= 1
                events -= 1
                n_flagged -= flagged[leave]
                leave += 1
            # the window stays as it is until the next change point
            following = _next_change(day, enter, leave, hi, window_days)
            segment_last = min(following - 1, last_day)
            qualifies = events >= min_events and groups >= min_groups and n_flagged * share_denominator >= share_numerator * events
            # the unchanged window's days, cut where a period ends (runs.py: run periods)
            start = change
            while qualifies and start <= segment_last:
                stop = min(segment_last, period_last[max(start, 0)])
                if run_open and start == run_last + 1 and start <= period_last[max(run_last, 0)]:
                    run_last = stop
                else:
                    if run_open:
                        out = _room(out, n)
                        out[0, n], out[1, n], out[2, n], out[3, n] = a, run_first, run_last, peak_day
                        out[4, n], out[5, n], out[6, n] = peak_events, peak_groups, peak_flagged
                        n += 1
                    run_open, run_first, run_last = True, start, stop
                    peak_events = 0
                if events > peak_events:
                    peak_day, peak_events, peak_groups, peak_flagged = start, events, groups, n_flagged
                start = stop + 1
        if run_open:
            out = _room(out, n)
            out[0, n], out[1, n], out[2, n], out[3, n] = a, run_first, run_last, peak_day
            out[4, n], out[5, n], out[6, n] = peak_events, peak_groups, peak_flagged
            n += 1
        for i in range(lo, hi):  # the next account starts from an empty window
            in_group[group[i]] = 0
    return out[:, :n]


def window_runs(offsets: np.ndarray, day: np.ndarray, group: np.ndarray, flagged: np.ndarray, n_groups: int,
                window_days: int, min_events: int, min_groups: int, min_flagged_share: float,
                last_day: int, period_last: np.ndarray) -> EventRuns:
    """Runs of business days of one period whose trailing window of an account's events qualifies.

    Parameters
    ----------
    offsets : ndarray of int64, shape (n_accounts + 1,)
        Account ``a``'s events are ``offsets[a]:offsets[a + 1]``.
    day : ndarray of int64
        Business-day index of each event, ascending inside each account's segment.
    group : ndarray of int64
        Group of each event (branch code ...), in ``0 .. n_groups - 1``.
    flagged : ndarray of int64
        1 for a flagged event (e.g. at night), else 0.
    n_groups : int
    window_days, min_events, min_groups : int
        The window in business days and the least counts (inclusive).
    min_flagged_share : float
        Least share of flagged events in the window (inclusive; 0 for none).
    last_day : int
        The last business day of the data: no run goes past it.
    period_last : ndarray of int64
        Per business-day index (at least ``last_day + 1`` of them), the last business
        day of its period: no run goes past it (:mod:`.runs`). Days before 0 (events
        before the data, e.g. account openings) count in day 0's period.

    Returns
    -------
    EventRuns
    """
    if len(group) and not 0 <= group.min() <= group.max() < n_groups:
        raise ValueError(f"groups must be in [0, {n_groups}); got {group.min()} .. {group.max()}")
    # the share as written (0.7 is seven tenths), compared in integers: 0.7 * 10 is not 7 in floats
    share = Fraction(repr(float(min_flagged_share)))
    found = _window_runs(np.asarray(offsets, np.int64), np.asarray(day, np.int64), np.asarray(group, np.int64),
                         np.asarray(flagged, np.int64), int(n_groups), int(window_days), int(min_events),
                         int(min_groups), share.numerator, share.denominator, int(last_day),
                         checked_periods(period_last, last_day))
    return EventRuns(*found)


class TurnoverRuns(NamedTuple):
    """Runs of qualifying days of :func:`turnover_runs`, one entry per run (int64 columns)."""

    account: np.ndarray         #: the account (dense index)
    first_day: np.ndarray       #: first qualifying business day (index)
    last_day: np.ndarray        #: last qualifying business day
    peak_day: np.ndarray        #: the earliest day whose window holds the most money
    peak_cents: np.ndarray      #: the money (sum of values, cents) in that window
    peak_events: np.ndarray     #: events in that window


@jit
def _turnover_runs(offsets, day, cents, veto, window_days, min_cents, min_events, last_day, period_last):
    out = np.zeros((6, len(day)), np.int64)
    largest = np.zeros(len(day), np.int64)  # the window's events by falling value: a monotonic queue
    n = 0
    for a in range(len(offsets) - 1):
        lo, hi = offsets[a], offsets[a + 1]
        if lo == hi:
            continue
        enter, leave = lo, lo
        head, tail = lo, lo  # the queue is largest[head:tail]; its head the window's largest event
        total, events, vetoes = 0, 0, 0
        run_open = False
        run_first, run_last = 0, 0
        peak_day, peak_cents, peak_events = 0, 0, 0
        while enter < hi or leave < hi:
            change = _next_change(day, enter, leave, hi, window_days)
            if change > last_day:
                break
            while enter < hi and day[enter] == change:
                total += cents[enter]
                events += 1
                vetoes += veto[enter]
                while tail > head and cents[largest[tail - 1]] <= cents[enter]:
                    tail -= 1
                largest[tail] = enter
                tail += 1
                enter += 1
            while leave < hi and day[leave] + window_days == change:
                total -= cents[leave]
                events -= 1
                vetoes -= veto[leave]
                if tail > head and largest[head] == leave:
                    head += 1
                leave += 1
            following = _next_change(day, enter, leave, hi, window_days)
            segment_last = min(following - 1, last_day)
            besides = total - (cents[largest[head]] if tail > head else 0)  # not counting the largest event
            start = change
            while besides >= min_cents and events - vetoes >= min_events and vetoes == 0 and start <= segment_last:
                stop = min(segment_last, period_last[max(start, 0)])
                if run_open and start == run_last + 1 and start <= period_last[max(run_last, 0)]:
                    run_last = stop
                else:
                    if run_open:
                        out = _room(out, n)
                        out[0, n], out[1, n], out[2, n] = a, run_first, run_last
                        out[3, n], out[4, n], out[5, n] = peak_day, peak_cents, peak_events
                        n += 1
                    run_open, run_first, run_last = True, start, stop
                    peak_cents = -1
                if total > peak_cents:
                    peak_day, peak_cents, peak_events = start, total, events
                start = stop + 1
        if run_open:
            out = _room(out, n)
            out[0, n], out[1, n], out[2, n] = a, run_first, run_last
            out[3, n], out[4, n], out[5, n] = peak_day, peak_cents, peak_events
            n += 1
    return out[:, :n]


def turnover_runs(offsets: np.ndarray, day: np.ndarray, cents: np.ndarray, veto: np.ndarray, window_days: int,
                  min_cents: int, min_events: int, last_day: int, period_last: np.ndarray) -> TurnoverRuns:
    """Runs of business days of one period whose trailing window of an account's events holds at least
    ``min_cents`` of money not counting its largest event (no one payment makes the
    turnover), in at least ``min_events`` events, and no vetoing event (at or above; an
    income in the window vetoes the day).

    Parameters
    ----------
    offsets : ndarray of int64, shape (n_accounts + 1,)
        Account ``a``'s events are ``offsets[a]:offsets[a + 1]``.
    day : ndarray of int64
        Business-day index of each event, ascending inside each account's segment.
    cents : ndarray of int64
        Money of each event in integer cents (0 for a vetoing event that moves none the
        detector counts).
    veto : ndarray of int64
        1 for an event that disqualifies every window holding it, else 0.
    window_days, min_cents : int
    min_events : int
        Least events (not vetoing) in the window: the money must move often, not once.
    last_day : int
        The last business day of the data: no run goes past it.
    period_last : ndarray of int64
        As for :func:`window_runs`.

    Returns
    -------
    TurnoverRuns
    """
    found = _turnover_runs(np.asarray(offsets, np.int64), np.asarray(day, np.int64), np.asarray(cents, np.int64),
                           np.asarray(veto, np.int64), int(window_days), int(min_cents), int(min_events), int(last_day),
                           checked_periods(period_last, last_day))
    return TurnoverRuns(*found)

"""Which configuration has the latest word on each calendar date of a run store, for
``flowgraph report-draft``'s large-value reports (:mod:`flowgraph.desk.large_value`).

A store may hold the hits of several configurations (a new holidays file, another rule
set, new parameters each give a new configuration hash). For each day the one whose run
had the latest word on it speaks: a day scanned by several configurations, the latest
run's; a day only an earlier configuration scanned, that one's. So no report of a day is
lost when the configuration changes, and a transaction two configurations found is
reported once. A run speaks for the calendar dates whose transactions it counted toward its
business days (the weekend or holiday before its first business day too), a finished run
from when it finished, a run not finished for the days of the chunks it committed, from
when it committed each; a report belongs to the day of its transaction (the earliest one's
of a daily cumulative sum; the hit's business day when they are not kept).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..calendar import MAX_NON_BUSINESS_RUN_DAYS, BusinessCalendar, CalendarCoverageError
from ..errors import ConfigError
from .evidence import run_calendar, run_config, run_rule_set

#: Days before a hit's business day its transactions may lie (a weekend's or holiday's count
#: toward the next business day) when its configuration's calendar cannot be rebuilt: wider
#: than any run of non-business days of a real calendar (the Spring Festival's is 9).
ROLLED_DAYS_AT_MOST = 31


@dataclass(eq=False)
class Configuration:
    """A configuration whose runs stored hits or scanned days: its recorded configuration
    (the latest run's, :func:`run_config`) and what its reports are judged by, its rule set
    and calendar (``calendar`` None when it cannot be rebuilt, e.g. its holidays file has
    moved: ``calendar_error`` says why)."""

    config_hash: str
    config: dict
    rule_set: object = field(init=False)
    calendar: BusinessCalendar | None = field(init=False)
    calendar_error: str = field(init=False, default="")

    def __post_init__(self) -> None:
        self.rule_set = run_rule_set(self.config)
        try:
            self.calendar = run_calendar(self.config)
        except ConfigError as exc:
            self.calendar, self.calendar_error = None, str(exc)

    @property
    def record_only(self) -> dict[str, str]:
        """Its rule set's record-only rules: code -> source (module docstring)."""
        return {r.code: r.source for r in self.rule_set.rules if r.record_only}

    @property
    def thresholds(self) -> tuple:
        """What its large-value rules report: each rule's channels, parties and thresholds,
        and the currencies they are stated in (names, sources and deadlines aside)."""
        rules = sorted((r.code, tuple(r.channels), r.parties, r.threshold_home, r.threshold_foreign, r.record_only)
                       for r in self.rule_set.rules)
        return self.rule_set.home_currency, self.rule_set.foreign_currency, tuple(rules)

    def rolled_first(self, day: np.datetime64) -> np.datetime64:
        """The first calendar date whose transactions count toward its business day ``day``:
        the day after the business day before it (a weekend's or holiday's transactions
        count toward the next business day). Without its calendar, ``day`` less
        :data:`ROLLED_DAYS_AT_MOST` (wider, never narrower)."""
        if self.calendar is None:
            return day - ROLLED_DAYS_AT_MOST
        return _day_after_business_day_before(self.calendar, day, day - ROLLED_DAYS_AT_MOST)


def _day_after_business_day_before(calendar, day: np.datetime64, fallback: np.datetime64) -> np.datetime64:
    """The day after the business day before ``day`` on ``calendar``; ``fallback`` when the
    calendar cannot tell (a year it refuses, or none within a year)."""
    span = 16
    try:
        while span <= MAX_NON_BUSINESS_RUN_DAYS:
            before = calendar.business_days(day - span, day - 1)
            if len(before):
                return before[-1] + 1
            span *= 2
    except CalendarCoverageError:
        pass
    return fallback


@dataclass
class DayOwners:
    """Which configuration has the latest word on each calendar date (:func:`day_owners`).

    ``owner[k]`` indexes ``configurations`` for the date ``first + k``; -1: no run spoke
    for it. ``configurations`` are ordered by their latest word, latest first."""

    first: np.datetime64 | None
    owner: np.ndarray
    configurations: list[Configuration]

    def index(self, store, config_hash: str) -> int:
        """The index of ``config_hash`` in ``configurations``, added (no days) when no run of
        it recorded days (a store written by hand)."""
        for k, c in enumerate(self.configurations):
            if c.config_hash == config_hash:
                return k
        self.configurations.append(Configuration(config_hash, run_config(store, config_hash)))
        return len(self.configurations) - 1

    def of(self, days) -> np.ndarray:
        """The owner index of each date of ``days`` (-1: none)."""
        days = np.asarray(days, dtype="datetime64[D]")
        out = np.full(len(days), -1, dtype=np.int64)
        if self.first is not None and len(days):
            at = (days - self.first).astype(np.int64)
            inside = (at >= 0) & (at < len(self.owner))
            out[inside] = self.owner[at[inside]]
        return out

    def stretches(self, low: np.datetime64 | None, high: np.datetime64 | None) -> list[tuple[str, str, int]]:
        """Runs of consecutive dates of one owner within ``[low, high]`` (None: unbounded):
        ``(first, last, owner index)``, dates no run spoke for left out."""
        if self.first is None:
            return []
        lo = 0 if low is None else max(0, int((low - self.first).astype(np.int64)))
        hi = len(self.owner) if high is None else min(len(self.owner), int((high - self.first).astype(np.int64)) + 1)
        if lo >= hi:
            return []
        owner = self.owner[lo:hi]
        cuts = np.flatnonzero(np.diff(owner)) + 1
        starts, ends = np.concatenate([[0], cuts]), np.concatenate([cuts, [len(owner)]])
        return [(str(self.first + lo + a), str(self.first + lo + b - 1), int(owner[a]))
                for a, b in zip(starts, ends) if owner[a] >= 0]


def day_owners(store) -> DayOwners:
    """For each calendar date, the configuration of the run with the latest word on it.

    A finished run speaks, when it finished, for the dates whose transactions it counted
    toward its business days ``scan_first .. scan_last``: from the day after the business
    day before ``scan_first`` on its calendar (a weekend's or holiday's transactions count
    toward the next business day; on Monday to Friday when its calendar cannot be rebuilt).
    A run not finished (killed, or running) speaks for the days of each chunk it committed,
    when it committed it: its hits of those days are stored, and a day they were the last
    word on must not fall back to an earlier configuration's. Runs of one second are told
    apart by the order they were recorded in, as :func:`~flowgraph.desk.queue.latest_config_hash`
    does."""
    spans = store.query(
        "SELECT COALESCE(finished_at, started_at, '') AS said_at, rowid AS at, 0 AS chunk, scan_first AS first_day, "
        "scan_last AS last_day, config_hash FROM runs WHERE status = 'complete' AND scan_first IS NOT NULL "
        "AND scan_last IS NOT NULL")
    chunks = store.query(
        "SELECT COALESCE(c.committed_at, '') AS said_at, r.rowid AS at, c.chunk, c.first_day, c.last_day, "
        "r.config_hash FROM run_chunks c JOIN runs r USING (run_id) WHERE r.status IS NOT 'complete' "
        "AND c.first_day IS NOT NULL AND c.last_day IS NOT NULL")
    spans = pd.concat([s for s in (spans, chunks) if len(s)] or [spans], ignore_index=True)
    spans = spans.sort_values(["said_at", "at", "chunk"], kind="stable").reset_index(drop=True)
    # latest word first: a configuration's place is that of its latest span
    hashes = list(dict.fromkeys(reversed(spans["config_hash"].tolist())))
    configurations = [Configuration(h, run_config(store, h)) for h in hashes]
    if spans.empty:
        return DayOwners(None, np.empty(0, dtype=np.int64), configurations)
    where = {h: k for k, h in enumerate(hashes)}
    weekdays = BusinessCalendar.weekdays_only()
    painted = []
    for span in spans.itertuples():
        c, first, last = configurations[where[span.config_hash]], np.datetime64(span.first_day[:10], "D"), \
            np.datetime64(span.last_day[:10], "D")
        on_weekdays = _day_after_business_day_before(weekdays, first, first)
        start = on_weekdays if c.calendar is None else _day_after_business_day_before(c.calendar, first, on_weekdays)
        painted.append((start, last, where[span.config_hash]))
    origin = min(a for a, _, _ in painted)
    owner = np.full(int((max(b for _, b, _ in painted) - origin).astype(np.int64)) + 1, -1, dtype=np.int64)
    for start, last, k in painted:  # in the order the words were said: a later one overwrites
        owner[int((start - origin).astype(np.int64)):int((last - origin).astype(np.int64)) + 1] = k
    return DayOwners(origin, owner, configurations)

"""Business days.

A business day is a weekday that is not a public holiday, or a weekend day that the
State Council declared a make-up working day (调休). The PRC calendar comes from the
maintained ``chinesecalendar`` package (holidays and make-up days from each year's State
Council notice); a user may add or remove dates, or pass another jurisdiction's lists.

A transaction dated on a non-business day (weekend, holiday) counts toward the **next**
business day: money that arrives on Saturday is the bank's business of Monday. This is
what :meth:`BusinessCalendar.business_day_index` computes.

Outside the years the holiday data covers, the calendar refuses to guess (an unknown
holiday would shift every window): it raises :class:`CalendarCoverageError`, unless it was
built with ``beyond_coverage="weekends"``, which treats those years as Monday–Friday.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Iterable

import numpy as np

from .errors import ConfigError

DateLike = str | dt.date | np.datetime64


class CalendarCoverageError(ConfigError):
    """Dates outside the years for which the calendar knows the holidays."""


def _to_day(value: DateLike) -> np.datetime64:
    return np.datetime64(value, "D") if not isinstance(value, dt.datetime) else np.datetime64(value.date(), "D")


def _days(values: Iterable[DateLike]) -> np.ndarray:
    return np.array(sorted({_to_day(v) for v in values}), dtype="datetime64[D]")


@dataclass(frozen=True, eq=False)
class BusinessCalendar:
    """Which dates are business days.

    Parameters
    ----------
    name : str
        Recorded in run manifests, e.g. ``"PRC"``.
    holidays : ndarray of datetime64[D]
        Weekdays that are not business days.
    workdays : ndarray of datetime64[D]
        Weekend days that are business days (make-up working days).
    coverage : (datetime64[D], datetime64[D])
        First and last day the holiday lists are known for.
    beyond_coverage : {"error", "weekends"}
        What to do with dates outside ``coverage``.
    """

    name: str
    holidays: np.ndarray
    workdays: np.ndarray
    coverage: tuple[np.datetime64, np.datetime64]
    beyond_coverage: str = "error"

    def __post_init__(self) -> None:
        if self.beyond_coverage not in ("error", "weekends"):
            raise ConfigError(
                "The 'beyond_coverage' parameter of BusinessCalendar must be 'error' or "
                f"'weekends'. Got {self.beyond_coverage!r} instead."
            )

    # -- construction -------------------------------------------------------------------
    @classmethod
    def prc(cls, extra_holidays: Iterable[DateLike] = (), extra_workdays: Iterable[DateLike] = (),
            beyond_coverage: str = "error") -> "BusinessCalendar":
        """The People's Republic of China calendar from ``chinesecalendar``.

        Parameters
        ----------
        extra_holidays : iterable of dates
            More non-business days (e.g. a local holiday); they override make-up days.
        extra_workdays : iterable of dates
            More business days (e.g. a weekend the bank processed); they override holidays.
        beyond_coverage : {"error", "weekends"}
            See the class docstring.
        """
        import chinese_calendar

        holidays = {d for d in chinese_calendar.holidays if d.weekday() < 5}
        workdays = set(chinese_calendar.workdays)
        first = min(min(chinese_calendar.holidays), min(chinese_calendar.workdays))
        last = max(max(chinese_calendar.holidays), max(chinese_calendar.workdays))
        coverage = (np.datetime64(dt.date(first.year, 1, 1), "D"),
                    np.datetime64(dt.date(last.year, 12, 31), "D"))
        return cls._with_overrides("PRC", holidays, workdays, coverage, beyond_coverage,
                                   extra_holidays, extra_workdays)

    @classmethod
    def weekdays_only(cls, holidays: Iterable[DateLike] = (), workdays: Iterable[DateLike] = (),
                      name: str = "weekdays") -> "BusinessCalendar":
        """Monday to Friday, with optional holiday and make-up lists; covers every year.
        For another jurisdiction, pass its holiday list here."""
        coverage = (np.datetime64("1900-01-01"), np.datetime64("2199-12-31"))
        return cls._with_overrides(name, set(), set(), coverage, "error", holidays, workdays)

    @classmethod
    def _with_overrides(cls, name, holidays, workdays, coverage, beyond_coverage,
                        extra_holidays, extra_workdays) -> "BusinessCalendar":
        extra_h = set(_days(extra_holidays).tolist())
        extra_w = set(_days(extra_workdays).tolist())
        if extra_h & extra_w:
            raise ConfigError(f"dates both in extra_holidays and extra_workdays: {sorted(extra_h & extra_w)}")
        holidays = {d for d in set(holidays) | extra_h if d.weekday() < 5} - extra_w
        workdays = ({d for d in workdays if d.weekday() >= 5} | {d for d in extra_w if d.weekday() >= 5}) - extra_h
        if extra_h or extra_w:
            name = f"{name}+overrides"
        return cls(name, _days(holidays), _days(workdays), coverage, beyond_coverage)

    # -- queries ------------------------------------------------------------------------
    def _check_coverage(self, first: np.datetime64, last: np.datetime64) -> None:
        lo, hi = self.coverage
        if self.beyond_coverage == "error" and (first < lo or last > hi):
            raise CalendarCoverageError(
                f"calendar {self.name!r} knows holidays from {lo} to {hi}, but the data runs "
                f"from {first} to {last}. Fix: upgrade the holiday package "
                "(pip install -U chinesecalendar), pass the missing years' holidays with "
                "extra_holidays/extra_workdays, or accept Monday-Friday for those years with "
                "beyond_coverage='weekends'."
            )

    def business_days(self, start: DateLike, end: DateLike) -> np.ndarray:
        """All business days from ``start`` to ``end`` inclusive, as datetime64[D]."""
        start, end = _to_day(start), _to_day(end)
        if end < start:
            return np.array([], dtype="datetime64[D]")
        self._check_coverage(start, end)
        days = np.arange(start, end + 1, dtype="datetime64[D]")
        weekday = (days.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday (3)
        is_business = weekday < 5
        is_business &= ~np.isin(days, self.holidays)
        is_business |= np.isin(days, self.workdays)
        return days[is_business]

    def is_business_day(self, day: DateLike) -> bool:
        day = _to_day(day)
        return bool(len(self.business_days(day, day)))

    def next_business_day(self, day: DateLike) -> np.datetime64:
        """``day`` itself if it is a business day, else the first business day after it."""
        day = _to_day(day)
        for horizon in (31, 366):
            days = self.business_days(day, day + horizon)
            if len(days):
                return days[0]
        raise CalendarCoverageError(f"calendar {self.name!r} has no business day within a year after {day}")

    def business_day_index(self, dates: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Map dates to business days, rolling non-business dates forward.

        Parameters
        ----------
        dates : ndarray of datetime64
            Any resolution; the time of day is ignored.

        Returns
        -------
        days : ndarray of datetime64[D]
            Every business day from the first date's business day to the last one's.
        index : ndarray of int32
            For each input date, the position in ``days`` of the business day it counts
            toward.
        """
        dates = np.asarray(dates).astype("datetime64[D]")
        if len(dates) == 0:
            return np.array([], dtype="datetime64[D]"), np.array([], dtype=np.int32)
        first, last = dates.min(), dates.max()
        days = self.business_days(first, self.next_business_day(last))
        index = np.searchsorted(days, dates, side="left").astype(np.int32)
        return days, index

    def describe(self) -> dict:
        """What a run manifest records about the calendar."""
        return {"name": self.name, "coverage": [str(self.coverage[0]), str(self.coverage[1])],
                "beyond_coverage": self.beyond_coverage,
                "n_holidays": int(len(self.holidays)), "n_workdays": int(len(self.workdays))}


_PRC: BusinessCalendar | None = None


def prc_calendar() -> BusinessCalendar:
    """The default PRC calendar (built once)."""
    global _PRC
    if _PRC is None:
        _PRC = BusinessCalendar.prc()
    return _PRC

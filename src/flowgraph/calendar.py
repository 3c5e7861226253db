"""Business days.

A business day is a weekday that is not a public holiday, or a weekend day that the
State Council declared a make-up working day (调休). For the PRC, each year's lists come
from, in order of precedence:

1. a user's **holidays file** (below): official for every year it gives;
2. the maintained ``chinesecalendar`` package (each year's State Council notice): official;
3. for any other year, ``beyond_coverage`` decides:

   - ``"estimate"`` (default): Monday–Friday minus the statutory holidays that the
     maintained ``holidays`` package (python-holidays) computes from the lunar calendar,
     with its weekday "observed" days; make-up working days only where that package lists
     them (none for a year whose notice is not out). Every business day so derived is
     *estimated*: :meth:`BusinessCalendar.estimated_days` lists them and
     :meth:`BusinessCalendar.coverage_note` says how to make them official;
   - ``"weekends"``: Monday–Friday, no holidays (also estimated);
   - ``"error"``: refuse with :class:`CalendarCoverageError`.

``extra_holidays`` / ``extra_workdays`` override all of these for single dates.

A transaction dated on a non-business day (weekend, holiday) counts toward the **next**
business day: money that arrives on Saturday is the bank's business of Monday. This is
what :meth:`BusinessCalendar.business_day_index` computes; it never needs calendar data
beyond the business day the last date counts toward.

Holidays file
-------------
UTF-8 CSV; ``#`` lines are comments (cite the notice there); then the header
``date,kind,note`` and one row per date::

    # 国务院办公厅关于2027年部分节假日安排的通知 (date, URL)
    date,kind,note
    2027-01-01,holiday,元旦
    2027-02-20,workday,春节调休

``date`` is ``YYYY-MM-DD``; ``kind`` is ``holiday`` (a day off; weekend days inside a
break may be listed too) or ``workday`` (a Saturday or Sunday worked as a make-up day);
``note`` is free text (optional). ``src/flowgraph/data/prc_holidays_2026.csv`` is a real
example (the 2026 notice). Several notices may go in one file.

Which years the file gives is read from its dates:

- **A year the file gives** is one whose Spring Festival break it lists a holiday in
  (:data:`SPRING_FESTIVAL_BREAK_DAYS`: lunar New Year's Eve to 正月初七); every notice has
  that break. The file is then the whole of that year: its dates replace the package's and
  the estimate, so list every break of the notice. (Only the package's dates in the year's
  last :data:`NEW_YEAR_SPILL_DAYS` days stay when the file does not give the next year:
  they are the next notice's New Year break.)
- **A New Year break that crosses the year end** -- the 2018 notice's ran from 2017-12-30
  to 2018-01-01 -- may be listed whole: a date within :data:`NEW_YEAR_SPILL_DAYS` days of a
  year the file gives is applied as a single date, and its own year stays as it was
  (package or estimate), named as such by :meth:`BusinessCalendar.coverage_note`.
- Any other date is refused (its year's schedule is incomplete); single dates belong in
  ``extra_holidays`` / ``extra_workdays``.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import hashlib
import re
from dataclasses import dataclass, field
from importlib import metadata
from os import PathLike
from pathlib import Path
from typing import Iterable, Mapping

import numpy as np

from .errors import ConfigError, DataError

DateLike = str | dt.date | np.datetime64

BEYOND_COVERAGE = ("estimate", "error", "weekends")
HOLIDAYS_FILE_HEADER = ("date", "kind", "note")
#: A calendar with no business day within this many days after a date is broken.
MAX_NON_BUSINESS_RUN_DAYS = 366
#: A year's Spring Festival break, in days from 正月初一 (lunar New Year's Day): from 除夕 (-1)
#: to 初七 (+6). 正月初一 and 初二 are statutory holidays in every year (全国年节及纪念日放假办法,
#: State Council 1949, revised 1999, 2007, 2013 and 2024, art. 2: 初一-初三, 2008-2013
#: 除夕-初二, from 2025 除夕-初三), so every year's notice has days off in this span and a
#: holidays file that gives the year lists one of them; the break never reaches either end.
SPRING_FESTIVAL_BREAK_DAYS = (-1, 6)
#: How far a New Year break and its make-up working days reach across 1 January, in days
#: (at most 3 days off; the 2007 notice: 2006-12-30 and 31 worked, 2007-01-01 to 03 off; the
#: 2018 notice: 2017-12-30 to 2018-01-01 off; the 2019 notice: 2018-12-29 worked,
#: 2018-12-30 to 2019-01-01 off). A holidays file's date this close to a year it gives may
#: fall in the adjacent year; the last days of December are the next year's notice's.
NEW_YEAR_SPILL_DAYS = 7
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_EMPTY_DAYS = np.array([], dtype="datetime64[D]")


class CalendarCoverageError(ConfigError):
    """Dates for which the calendar cannot (or, in strict mode, will not) tell business days."""


def parse_iso_day(value, option: str) -> np.datetime64:
    """The date an option gives, written YYYY-MM-DD (Python's ISO parser also takes 20241201
    and week dates such as 2024-W48-1, which users mean otherwise or by mistake).

    Raises
    ------
    ConfigError
        Not such a date; the message names the option and the form.
    """
    text = str(value).strip()
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            return np.datetime64(dt.date.fromisoformat(text), "D")
    except ValueError:
        pass
    raise ConfigError(f"{option} {value!r} is not a date written YYYY-MM-DD. Fix: e.g. {option} 2024-09-30.")


def _to_day(value: DateLike) -> np.datetime64:
    if isinstance(value, dt.datetime):
        value = value.date()
    try:
        day = np.datetime64(value, "D")
    except ValueError:
        raise ConfigError(f"{value!r} is not a date: write it as YYYY-MM-DD.") from None
    if np.isnat(day):
        raise ConfigError("a date is missing (NaT): give a date as YYYY-MM-DD.")
    return day


def _days(values: Iterable[DateLike]) -> np.ndarray:
    return np.array(sorted({_to_day(v) for v in values}), dtype="datetime64[D]")


def _year(day: np.datetime64) -> int:
    return int(day.astype("datetime64[Y]").astype(np.int64)) + 1970


#: nanoseconds in a day
_NS_PER_DAY = 86_400 * 10 ** 9
#: dates :meth:`BusinessCalendar.business_day_index` looks up at a time (a few megabytes of
#: scratch, reused, instead of arrays of every date)
_DATES_AT_ONCE = 1 << 20


def _years_of(days: np.ndarray) -> np.ndarray:
    return days.astype("datetime64[Y]").astype(np.int64) + 1970


def _day_of_year(days: np.ndarray) -> np.ndarray:
    """0 for 1 January."""
    return (days - days.astype("datetime64[Y]").astype("datetime64[D]")).astype(np.int64)


def _days_to_year_end(days: np.ndarray) -> np.ndarray:
    """0 for 31 December."""
    return ((days.astype("datetime64[Y]") + 1).astype("datetime64[D]") - 1 - days).astype(np.int64)


def _weekday(days: np.ndarray) -> np.ndarray:
    return (days.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday (3); Monday is 0


def _year_ranges(years: Iterable[int]) -> list[str]:
    """``[2004, 2005, 2006, 2027]`` -> ``["2004-2006", "2027"]``."""
    ranges: list[list[int]] = []
    for y in sorted(set(years)):
        if ranges and y == ranges[-1][1] + 1:
            ranges[-1][1] = y
        else:
            ranges.append([y, y])
    return [f"{a}" if a == b else f"{a}-{b}" for a, b in ranges]


# -- the lunar-calendar estimate -------------------------------------------------------------
_ESTIMATE_CACHE: dict[int, tuple[np.ndarray, np.ndarray]] = {}


@functools.cache  # reading a distribution's metadata allocates ~0.6 MB each time
def _estimate_source() -> str:
    return f"holidays {metadata.version('holidays')} (China)"


def _estimate_years() -> tuple[int, int]:
    import holidays

    # python-holidays silently returns no holidays outside these years
    return holidays.China.start_year, holidays.China.end_year


def _lunar_estimate(years: Iterable[int]) -> tuple[np.ndarray, np.ndarray]:
    """Statutory holidays on weekdays and the make-up working days python-holidays knows,
    for ``years``; computed once per year."""
    years = sorted(set(years))
    missing = [y for y in years if y not in _ESTIMATE_CACHE]
    if missing:
        import holidays

        china = holidays.China(years=missing)
        for y in missing:
            off = [d for d in china if d.year == y and d.weekday() < 5]
            on = [d for d in china.weekend_workdays if d.year == y]
            _ESTIMATE_CACHE[y] = (_days(off), _days(on))
    if not years:
        return _EMPTY_DAYS, _EMPTY_DAYS
    return (np.concatenate([_ESTIMATE_CACHE[y][0] for y in years]),
            np.concatenate([_ESTIMATE_CACHE[y][1] for y in years]))


@functools.cache
def _lunar_new_year(year: int) -> np.datetime64:
    """正月初一 of ``year`` (python-holidays' lunisolar calendar)."""
    import holidays

    china = holidays.China(years=year, language="en_US")
    return np.datetime64(min(china.get_named("Chinese New Year (Spring Festival)", lookup="exact")), "D")


def spring_festival_break(year: int) -> tuple[np.datetime64, np.datetime64]:
    """The first and last day of the span a year's Spring Festival break lies in
    (:data:`SPRING_FESTIVAL_BREAK_DAYS`)."""
    first = _lunar_new_year(year)
    return first + SPRING_FESTIVAL_BREAK_DAYS[0], first + SPRING_FESTIVAL_BREAK_DAYS[1]


# -- US federal holidays -------------------------------------------------------------------
#: Years :meth:`BusinessCalendar.us_federal` covers (python-holidays computes them by rule).
US_FIRST_YEAR, US_LAST_YEAR = 1971, 2100  # from 1971 the Monday holidays of the Uniform Monday Holiday Act


@functools.cache
def _us_federal_holidays() -> tuple[np.ndarray, str]:
    """Weekdays the Federal Reserve Banks close on, every covered year, and the source."""
    import holidays

    federal = holidays.US(years=range(US_FIRST_YEAR, US_LAST_YEAR + 1), observed=True)
    # a Saturday holiday's "observed" Friday: the Reserve Banks stay open
    closed = [d for d, name in federal.items()
              if d.weekday() < 5 and not (d.weekday() == 4 and "observed" in name.lower())]
    return _days(closed), f"holidays {metadata.version('holidays')} (US federal, Federal Reserve schedule)"


# -- the holidays file ------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class HolidaysFile:
    """A user's official holiday schedule (format: module docstring).

    Attributes
    ----------
    path : str
    sha256 : str
        Hex digest of the file's bytes (recorded in run manifests).
    years : tuple of int
        The years the file gives whole: those whose Spring Festival break it lists a
        holiday in (module docstring).
    holidays, workdays : ndarray of datetime64[D]
        Weekdays off, and weekend days worked as make-up days, in every year.
    listed : ndarray of datetime64[D]
        Every date the file lists (weekend days off included): the file decides these.
    spillover : ndarray of datetime64[D]
        The listed dates outside ``years``: days of a New Year break that crosses the end
        of a year the file gives; their years are not given by it.
    """

    path: str
    sha256: str
    years: tuple[int, ...]
    holidays: np.ndarray
    workdays: np.ndarray
    listed: np.ndarray
    spillover: np.ndarray

    def package_days_kept(self, days: np.ndarray) -> np.ndarray:
        """Those of a maintained package's ``days`` that stand beside the file: of years it
        does not give, and of the last :data:`NEW_YEAR_SPILL_DAYS` days of a year it gives
        whose next year it does not (the next notice's New Year break); never a date it lists."""
        years = _years_of(days)
        given = np.isin(years, self.years)
        next_break = given & ~np.isin(years + 1, self.years) & (_days_to_year_end(days) < NEW_YEAR_SPILL_DAYS)
        return days[(~given | next_break) & ~np.isin(days, self.listed)]

    def spillover_in(self, years: Iterable[int]) -> np.ndarray:
        """The spillover dates in ``years``."""
        return self.spillover[np.isin(_years_of(self.spillover), list(years))]


def read_holidays_file(path: str | PathLike, supported_years: tuple[int, int]) -> HolidaysFile:
    """Read and check a holidays file; any problem is a ConfigError naming the line and fix.

    Parameters
    ----------
    path : str or path-like
    supported_years : (int, int)
        First and last year a date may fall in.
    """
    path = Path(path)
    where = f"holidays file {str(path)!r} (calendar.holidays_file)"
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{where} does not exist. Fix: correct the path.") from None
    except IsADirectoryError:
        raise ConfigError(f"{where} is a directory. Fix: name the CSV file itself.") from None
    except OSError as exc:
        raise ConfigError(f"{where} cannot be read ({exc.strerror}). Fix: check its permissions.") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise ConfigError(f"{where}, line {line}: not UTF-8. Fix: save the file as UTF-8.") from None

    kinds: dict[np.datetime64, tuple[str, int]] = {}
    header_seen = False
    lo, hi = supported_years
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        at = f"{where}, line {number}"
        fields = [f.strip() for f in next(csv.reader([line]))]
        if not header_seen:
            if tuple(f.lower() for f in fields) not in (HOLIDAYS_FILE_HEADER, HOLIDAYS_FILE_HEADER[:2]):
                raise ConfigError(f"{at}: expected the header 'date,kind,note', got {line.strip()!r}. "
                                  "Fix: put that header before the first date ('#' lines may precede it).")
            header_seen = True
            continue
        if len(fields) not in (2, 3):
            raise ConfigError(f"{at}: expected 'date,kind,note' (3 fields), got {len(fields)}. "
                              "Fix: quote a note that contains a comma.")
        date_text, kind = fields[0], fields[1].lower()
        try:
            date = dt.date.fromisoformat(date_text) if _ISO_DATE.fullmatch(date_text) else None
        except ValueError:
            date = None
        if date is None:
            raise ConfigError(f"{at}: {date_text!r} is not a date. Fix: write it as YYYY-MM-DD.")
        if not lo <= date.year <= hi:
            raise ConfigError(f"{at}: {date_text} is outside the years the calendar supports "
                              f"({lo}-{hi}). Fix: correct the date.")
        if kind not in ("holiday", "workday"):
            raise ConfigError(f"{at}: kind {fields[1]!r} is neither 'holiday' nor 'workday'. "
                              "Fix: 'holiday' for a day off, 'workday' for a weekend day worked (调休).")
        if kind == "workday" and date.weekday() < 5:
            raise ConfigError(f"{at}: {date_text} is a {date:%A}, already a working day; only a "
                              "Saturday or Sunday can be a make-up working day. Fix: remove the line "
                              "or correct the date.")
        day = np.datetime64(date, "D")
        if day in kinds:
            raise ConfigError(f"{at}: {date_text} is already listed on line {kinds[day][1]}. "
                              "Fix: keep one line per date.")
        kinds[day] = (kind, number)
    if not kinds:
        raise ConfigError(f"{where} lists no dates. Fix: add the header 'date,kind,note' and one "
                          "line per holiday and make-up working day.")
    days = np.array(sorted(kinds), dtype="datetime64[D]")
    is_holiday = np.array([kinds[d][0] == "holiday" for d in days])
    years = _years_given(days[is_holiday])
    spillover = _check_spillover(days, years, kinds, where)
    return HolidaysFile(
        path=str(path), sha256=hashlib.sha256(raw).hexdigest(), years=years,
        holidays=days[is_holiday & (_weekday(days) < 5)], workdays=days[~is_holiday],
        listed=days, spillover=spillover)


def _years_given(holidays: np.ndarray) -> tuple[int, ...]:
    """The years whose Spring Festival break one of ``holidays`` falls in."""
    given = []
    for year in sorted(set(_years_of(holidays).tolist())):
        first, last = spring_festival_break(year)
        if ((holidays >= first) & (holidays <= last)).any():
            given.append(year)
    return tuple(given)


def _check_spillover(days: np.ndarray, years: tuple[int, ...], kinds: dict, where: str) -> np.ndarray:
    """The dates outside the ``years`` given, each of which must be part of a New Year break
    crossing the end of a year given; else a ConfigError naming the first such line."""
    day_years = _years_of(days)
    outside = ~np.isin(day_years, years)
    near_next = np.isin(day_years + 1, years) & (_days_to_year_end(days) < NEW_YEAR_SPILL_DAYS)
    near_previous = np.isin(day_years - 1, years) & (_day_of_year(days) < NEW_YEAR_SPILL_DAYS)
    stray = days[outside & ~near_next & ~near_previous]
    if len(stray):
        day = min(stray, key=lambda d: kinds[d][1])
        year = _year(day)
        first, last = spring_festival_break(year)
        others = (f"nor is {day} within {NEW_YEAR_SPILL_DAYS} days of a year the file gives "
                  f"({', '.join(_year_ranges(years))}), as a New Year break crossing the year end "
                  "would be" if years else "nor does the file give any other year")
        raise ConfigError(
            f"{where}, line {kinds[day][1]}: {day} is in {year}, but the file lists no holiday in "
            f"{year}'s Spring Festival break ({first} to {last}), so it does not give {year}'s "
            f"schedule; {others}. Fix: list {year}'s whole State Council schedule (every break "
            "of its notice, Spring Festival included), or give single dates in "
            "calendar.extra_holidays / calendar.extra_workdays instead.")
    return days[outside]


# -- the calendar -----------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class BusinessCalendar:
    """Which dates are business days.

    Parameters
    ----------
    name : str
        Recorded in run manifests, e.g. ``"PRC"``.
    holidays : ndarray of datetime64[D]
        Weekdays that are not business days, in the years of ``official_years`` (and the
        single dates a holidays file gives in other years: ``holidays_file.spillover``).
    workdays : ndarray of datetime64[D]
        Weekend days that are business days (make-up working days), same years.
    official_years : mapping of int to str
        The years ``holidays``/``workdays`` cover completely, each with its source.
    supported_years : (int, int)
        First and last year the calendar can tell business days for at all; a date
        outside is a :class:`CalendarCoverageError` naming it.
    beyond_coverage : {"estimate", "error", "weekends"}
        What to do with the other years (module docstring).
    extra_holidays, extra_workdays : ndarray of datetime64[D]
        Single-date overrides, applied last, in any year.
    holidays_file : HolidaysFile or None
        The user's schedule that ``official_years`` includes, for the manifest; the
        estimate never overrides a date it lists.
    """

    name: str
    holidays: np.ndarray
    workdays: np.ndarray
    official_years: Mapping[int, str]
    supported_years: tuple[int, int]
    beyond_coverage: str = "estimate"
    extra_holidays: np.ndarray = field(default_factory=lambda: _EMPTY_DAYS)
    extra_workdays: np.ndarray = field(default_factory=lambda: _EMPTY_DAYS)
    holidays_file: HolidaysFile | None = None

    def __post_init__(self) -> None:
        if self.beyond_coverage not in BEYOND_COVERAGE:
            raise ConfigError(
                "The 'beyond_coverage' parameter of BusinessCalendar must be a str among "
                f"{set(BEYOND_COVERAGE)}. Got {self.beyond_coverage!r} instead."
            )
        both = np.intersect1d(self.extra_holidays, self.extra_workdays)
        if len(both):
            raise ConfigError("dates both in extra_holidays and extra_workdays: "
                              f"{both.astype(str).tolist()}. Fix: keep each date in one list.")

    # -- construction -------------------------------------------------------------------
    @classmethod
    def prc(cls, extra_holidays: Iterable[DateLike] = (), extra_workdays: Iterable[DateLike] = (),
            beyond_coverage: str = "estimate", holidays_file: str | PathLike | None = None,
            ) -> "BusinessCalendar":
        """The People's Republic of China calendar.

        Parameters
        ----------
        extra_holidays : iterable of dates
            More non-business days (e.g. a local holiday); they override make-up days.
        extra_workdays : iterable of dates
            More business days (e.g. a weekend the bank processed); they override holidays.
        beyond_coverage : {"estimate", "error", "weekends"}
            Years that neither ``holidays_file`` nor ``chinesecalendar`` covers: estimate
            their holidays from the lunar calendar, refuse them, or take Monday–Friday.
        holidays_file : path, optional
            The State Council schedule of years the package lacks (format: module
            docstring); official for every year it gives, and single dates of a New Year
            break crossing into another year.
        """
        import chinese_calendar

        if holidays_file is not None and not isinstance(holidays_file, (str, PathLike)):
            raise ConfigError("The 'holidays_file' parameter of BusinessCalendar.prc must be a path "
                              f"or None. Got {holidays_file!r} instead.")
        supported = _estimate_years()
        package = f"chinesecalendar {metadata.version('chinesecalendar')}"
        holidays = _days(d for d in chinese_calendar.holidays if d.weekday() < 5)
        workdays = _days(chinese_calendar.workdays)
        package_years = np.concatenate([_years_of(holidays), _years_of(workdays)])
        official = {y: package for y in range(int(package_years.min()), int(package_years.max()) + 1)}
        schedule = None
        if holidays_file is not None:
            schedule = read_holidays_file(holidays_file, supported)
            # the file replaces the package for every year it gives, and for each date it lists
            holidays = np.concatenate([schedule.package_days_kept(holidays), schedule.holidays])
            workdays = np.concatenate([schedule.package_days_kept(workdays), schedule.workdays])
            official.update({y: f"holidays file {schedule.path}" for y in schedule.years})
        extra_h = cls._extra(extra_holidays, "extra_holidays")
        extra_w = cls._extra(extra_workdays, "extra_workdays")
        name = "PRC+overrides" if len(extra_h) or len(extra_w) else "PRC"
        return cls(name, np.sort(holidays), np.sort(workdays), official, supported, beyond_coverage,
                   extra_h, extra_w, schedule)

    @classmethod
    def us_federal(cls, extra_holidays: Iterable[DateLike] = (), extra_workdays: Iterable[DateLike] = (),
                   ) -> "BusinessCalendar":
        """United States banking days: Monday to Friday except the federal holidays
        (5 U.S.C. 6103) on which the Federal Reserve Banks are closed, computed for every
        supported year by the maintained ``holidays`` package (``holidays.US()``, federal
        holidays, no state ones) -- so no year is estimated.

        ``holidays.US()`` rather than ``holidays.financial_holidays("NYSE")``: a bank's
        business days follow the Federal Reserve's schedule (Fedwire, ACH settle on it),
        which closes on Columbus Day and Veterans Day and opens on Good Friday, unlike the
        stock exchange. A holiday on a Sunday is observed on the Monday (closed); one on a
        Saturday is *not* observed by the Reserve Banks, which stay open the Friday
        before, so those "(observed)" Fridays are business days here (Federal Reserve
        Financial Services, holiday schedule).

        Parameters
        ----------
        extra_holidays, extra_workdays : iterable of dates
            Single-date overrides, as in :meth:`prc`.
        """
        holidays, source = _us_federal_holidays()
        supported = (US_FIRST_YEAR, US_LAST_YEAR)
        official = {y: source for y in range(supported[0], supported[1] + 1)}
        extra_h = cls._extra(extra_holidays, "extra_holidays")
        extra_w = cls._extra(extra_workdays, "extra_workdays")
        name = "US-federal+overrides" if len(extra_h) or len(extra_w) else "US-federal"
        return cls(name, holidays, _EMPTY_DAYS, official, supported, "error", extra_h, extra_w)

    @classmethod
    def weekdays_only(cls, holidays: Iterable[DateLike] = (), workdays: Iterable[DateLike] = (),
                      name: str = "weekdays") -> "BusinessCalendar":
        """Monday to Friday, with optional holiday and make-up lists; covers 1900–2199.
        For another jurisdiction, pass its holiday list here."""
        try:
            holidays, workdays = _days(holidays), _days(workdays)
        except ConfigError as exc:
            raise ConfigError(f"The 'extra_holidays'/'extra_workdays' parameters of BusinessCalendar.weekdays_only "
                              f"must hold dates (YYYY-MM-DD): {exc}") from None
        supported = (1900, 2199)
        official = {y: name for y in range(supported[0], supported[1] + 1)}
        return cls(name, holidays[_weekday(holidays) < 5], workdays[_weekday(workdays) >= 5],
                   official, supported, "error")

    @staticmethod
    def _extra(values: Iterable[DateLike], parameter: str) -> np.ndarray:
        try:
            return _days(values)
        except ConfigError as exc:
            raise ConfigError(f"The '{parameter}' parameter of BusinessCalendar.prc must hold dates "
                              f"(YYYY-MM-DD): {exc}") from None

    # -- coverage -----------------------------------------------------------------------
    def _unofficial_years(self, first: np.datetime64, last: np.datetime64) -> list[int]:
        return [y for y in range(_year(first), _year(last) + 1) if y not in self.official_years]

    def _check_years(self, first: np.datetime64, last: np.datetime64, what: str) -> None:
        """Raise unless business days from ``first`` to ``last`` can be told; ``what``
        describes that range for the message."""
        lo, hi = self.supported_years
        for day in (first, last):
            if not lo <= _year(day) <= hi:
                raise CalendarCoverageError(
                    f"{day} is outside the years calendar {self.name!r} can tell business days "
                    f"for ({lo}-{hi}; {what}). Fix: correct or remove that date.")
        missing = self._unofficial_years(first, last) if self.beyond_coverage == "error" else []
        if missing:
            years = ", ".join(_year_ranges(missing))
            raise CalendarCoverageError(
                f"calendar {self.name!r} has official holidays for "
                f"{', '.join(_year_ranges(self.official_years))} only, not {years} ({what}"
                f"{'; ' + self._file_clause(missing) if self.holidays_file else ''}), and "
                "calendar.beyond_coverage is 'error'. Fix: pass the State Council's schedule "
                f"for {years} as a holidays file (calendar.holidays_file; format 'date,kind,note', "
                "see flowgraph.calendar), or set calendar.beyond_coverage = 'estimate' to use "
                "weekends plus the statutory holidays from the lunar calendar, marked as estimated.")

    # -- queries ------------------------------------------------------------------------
    def business_days(self, start: DateLike, end: DateLike) -> np.ndarray:
        """All business days from ``start`` to ``end`` inclusive, as datetime64[D]."""
        start, end = _to_day(start), _to_day(end)
        if end < start:
            return _EMPTY_DAYS
        self._check_years(start, end, f"asked for {start} to {end}")
        return self._business_days(start, end)

    def _business_days(self, start: np.datetime64, end: np.datetime64) -> np.ndarray:
        """``business_days`` without the coverage check (the caller made it)."""
        days = np.arange(start, end + 1, dtype="datetime64[D]")
        holidays, workdays = self.holidays, self.workdays
        if self.beyond_coverage == "estimate":
            est_holidays, est_workdays = _lunar_estimate(self._unofficial_years(start, end))
            if self.holidays_file is not None:  # its dates in an estimated year stand
                est_holidays = est_holidays[~np.isin(est_holidays, self.holidays_file.listed)]
                est_workdays = est_workdays[~np.isin(est_workdays, self.holidays_file.listed)]
            holidays = np.concatenate([holidays, est_holidays])
            workdays = np.concatenate([workdays, est_workdays])
        is_business = (_weekday(days) < 5) & ~np.isin(days, holidays)
        is_business |= np.isin(days, workdays)
        is_business &= ~np.isin(days, self.extra_holidays)
        is_business |= np.isin(days, self.extra_workdays)
        return days[is_business]

    def is_business_day(self, day: DateLike) -> bool:
        day = _to_day(day)
        return bool(len(self.business_days(day, day)))

    def next_business_day(self, day: DateLike) -> np.datetime64:
        """``day`` itself if it is a business day, else the first business day after it.

        Looks forward a week at a time and never past a year end before it has to, so it
        needs calendar data only for the days it examines."""
        day = _to_day(day)
        return self._next_business_day(day, f"looking for the business day {day} counts toward")

    def _next_business_day(self, day: np.datetime64, what: str) -> np.datetime64:
        probe = day
        while probe <= day + MAX_NON_BUSINESS_RUN_DAYS:
            year_end = np.datetime64(f"{_year(probe)}-12-31", "D")
            chunk_end = min(probe + 6, year_end)
            self._check_years(probe, chunk_end, what)
            found = self._business_days(probe, chunk_end)
            if len(found):
                return found[0]
            probe = chunk_end + 1
        raise CalendarCoverageError(
            f"calendar {self.name!r} has no business day within {MAX_NON_BUSINESS_RUN_DAYS} days "
            f"after {day}. Fix: check extra_holidays and the holidays file.")

    def business_day_index(self, dates: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Map dates to business days, rolling non-business dates forward.

        Parameters
        ----------
        dates : ndarray of datetime64
            Any resolution; the time of day is ignored.

        Returns
        -------
        days : ndarray of datetime64[D]
            Every business day from the first date's business day to the last one's (the
            last date itself when it is a business day: nothing later is consulted).
        index : ndarray of int32
            For each input date, the position in ``days`` of the business day it counts
            toward.
        """
        dates = np.asarray(dates)
        if len(dates) == 0:
            return _EMPTY_DAYS, np.array([], dtype=np.int32)
        if np.isnat(dates).any():
            raise DataError("business_day_index got missing dates (NaT); reject those rows first.")
        # nanosecond timestamps stay as they are: their dates are found a slice at a time
        # below (numpy's cast to dates and a binary search per date, each into a new array
        # of every date, took 4x as long)
        per_day = _NS_PER_DAY if dates.dtype == np.dtype("datetime64[ns]") else 1
        dates = dates.view(np.int64) if per_day > 1 else dates.astype("datetime64[D]").view(np.int64)
        first, last = (np.datetime64(int(x) // per_day, "D") for x in (dates.min(), dates.max()))
        what = f"the data runs from {first} to {last}"
        self._check_years(first, last, what)
        end = self._next_business_day(last, f"{what}; {last} is not a business day and counts "
                                            "toward the next one")
        days = self._business_days(first, end)
        # each calendar day's business day, looked up by the date's offset from the first
        of_day = np.searchsorted(days, np.arange(first, last + 1), side="left").astype(np.int32)
        index = np.empty(len(dates), np.int32)
        for lo in range(0, len(dates), _DATES_AT_ONCE):
            index[lo:lo + _DATES_AT_ONCE] = of_day[dates[lo:lo + _DATES_AT_ONCE] // per_day - first.astype(np.int64)]
        return days, index

    # -- what is estimated --------------------------------------------------------------
    def _estimated_years(self, first: np.datetime64, last: np.datetime64) -> list[int]:
        if self.beyond_coverage == "error" or last < first:
            return []
        return self._unofficial_years(first, last)

    def estimated_days(self, first: DateLike, last: DateLike) -> np.ndarray:
        """The business days from ``first`` to ``last`` that rest on an estimate (years
        with no official schedule, but for the dates a holidays file lists), as datetime64[D]."""
        days = self.business_days(first, last)
        official = np.fromiter(self.official_years, dtype=np.int64)
        estimated = ~np.isin(_years_of(days), official)
        if self.holidays_file is not None:
            estimated &= ~np.isin(days, self.holidays_file.listed)
        return days[estimated]

    def _file_clause(self, years: list[int]) -> str:
        """What the holidays file gives, said beside ``years`` it does not give: the dates
        of them it lists (a New Year break crossing the year end) and the years it gives;
        "" without a file."""
        if self.holidays_file is None:
            return ""
        schedule = self.holidays_file
        given = f"holidays file {schedule.path} gives {', '.join(_year_ranges(schedule.years))} only"
        dates = schedule.spillover_in(years)
        if not len(dates):
            return given
        return (f"{given}; of {', '.join(_year_ranges(_years_of(dates).tolist()))} it lists just "
                f"{', '.join(dates.astype(str))} (a New Year break crossing the year end), no holiday "
                "in the Spring Festival break")

    def coverage_note(self, first: DateLike, last: DateLike) -> str | None:
        """One line for stderr when some of ``first``..``last`` is estimated, else None."""
        years = self._estimated_years(_to_day(first), _to_day(last))
        if not years:
            return None
        if self.beyond_coverage == "weekends":
            how = "Monday to Friday: no public holidays, no make-up working days"
        else:
            known_workdays = len(_lunar_estimate(years)[1])
            how = ("weekends + statutory holidays from the lunar calendar; "
                   + ("make-up working days as python-holidays lists them" if known_workdays
                      else "no make-up working days"))
        from_file = self._file_clause(years)
        return (f"holidays for {', '.join(_year_ranges(years))} are estimated ({how})"
                f"{'; ' + from_file if from_file else ''}: pass a "
                "holidays file (calendar.holidays_file) with the State Council schedule of those "
                "years, or set calendar.beyond_coverage = 'error' to refuse")

    def describe(self, first: DateLike | None = None, last: DateLike | None = None) -> dict:
        """What a run manifest records about the calendar; with a date range, also the
        years in it whose business days are estimated."""
        sources: dict[str, list[int]] = {}
        for year, source in self.official_years.items():
            sources.setdefault(source, []).append(year)
        official = {r: source for source, years in sources.items() for r in _year_ranges(years)}
        out = {"name": self.name, "official_years": dict(sorted(official.items())),
               "supported_years": list(self.supported_years),
               "beyond_coverage": self.beyond_coverage,
               "estimate": _estimate_source() if self.beyond_coverage == "estimate" else None,
               # path and content only: a configuration's hash takes this entry
               "holidays_file": (None if self.holidays_file is None else
                                 {"path": self.holidays_file.path, "sha256": self.holidays_file.sha256}),
               "holidays_file_years": [] if self.holidays_file is None else list(self.holidays_file.years),
               "holidays_file_spillover": ([] if self.holidays_file is None else
                                           self.holidays_file.spillover.astype(str).tolist()),
               "extra_holidays": self.extra_holidays.astype(str).tolist(),
               "extra_workdays": self.extra_workdays.astype(str).tolist(),
               "n_holidays": int(len(self.holidays)), "n_workdays": int(len(self.workdays))}
        if first is not None and last is not None:
            out["estimated_years"] = self._estimated_years(_to_day(first), _to_day(last))
        return out


_PRC: BusinessCalendar | None = None


def prc_calendar() -> BusinessCalendar:
    """The default PRC calendar (built once)."""
    global _PRC
    if _PRC is None:
        _PRC = BusinessCalendar.prc()
    return _PRC

import datetime as dt
import hashlib
import json
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import flowgraph
from flowgraph.calendar import BusinessCalendar, CalendarCoverageError, prc_calendar
from flowgraph.errors import ConfigError, DataError


def days(*values):
    return np.array(values, dtype="datetime64[D]")


def test_national_day_2024_is_a_holiday_week():
    cal = prc_calendar()
    for d in range(1, 8):
        assert not cal.is_business_day(f"2024-10-{d:02d}"), d
    assert cal.is_business_day("2024-10-08")


def test_make_up_working_days_2024():
    cal = prc_calendar()
    assert cal.is_business_day("2024-09-29")  # Sunday, make-up day for National Day
    assert cal.is_business_day("2024-10-12")  # Saturday, make-up day
    assert not cal.is_business_day("2024-09-28")  # plain Saturday
    assert not cal.is_business_day("2024-10-13")  # plain Sunday


def test_spring_festival_2025():
    cal = prc_calendar()
    assert not cal.is_business_day("2025-01-29")  # 春节
    assert cal.is_business_day("2025-01-26")  # Sunday make-up day
    assert cal.is_business_day("2025-02-08")  # Saturday make-up day


def test_business_days_list_around_national_day():
    got = prc_calendar().business_days("2024-09-27", "2024-10-14")
    assert got.tolist() == [dt.date(2024, 9, 27), dt.date(2024, 9, 29), dt.date(2024, 9, 30),
                            dt.date(2024, 10, 8), dt.date(2024, 10, 9), dt.date(2024, 10, 10),
                            dt.date(2024, 10, 11), dt.date(2024, 10, 12), dt.date(2024, 10, 14)]


def test_non_business_days_roll_forward_to_next_business_day():
    cal = prc_calendar()
    bdays, index = cal.business_day_index(
        days("2024-09-28", "2024-09-29", "2024-10-01", "2024-10-07", "2024-10-08", "2024-10-13"))
    assert bdays[index].tolist() == [dt.date(2024, 9, 29), dt.date(2024, 9, 29), dt.date(2024, 10, 8),
                                     dt.date(2024, 10, 8), dt.date(2024, 10, 8), dt.date(2024, 10, 14)]
    # the index covers every business day in between, not only the ones with data
    assert bdays[0] == np.datetime64("2024-09-29") and bdays[-1] == np.datetime64("2024-10-14")


def test_time_of_day_is_ignored():
    cal = prc_calendar()
    stamps = np.array(["2024-10-07T23:59:59", "2024-10-08T00:00:00"], dtype="datetime64[ns]")
    bdays, index = cal.business_day_index(stamps)
    assert (bdays[index] == np.datetime64("2024-10-08")).all()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(-3 * 86_400 * 10**9, 40 * 86_400 * 10**9), min_size=1, max_size=40),
       st.sampled_from(["ns", "s", "D"]), st.sampled_from(["2024-09-25", "2026-12-20", "1969-12-30"]))
@example([0, 86_400 * 10**9 - 1, 86_400 * 10**9, -1], "ns", "2024-09-28")
def test_each_timestamp_counts_toward_the_first_business_day_on_or_after_its_date(offsets_ns, unit, start):
    """Timestamps in any order and unit (around National Day, into the estimated 2027,
    across 1970): each maps to the first business day on or after its date, asked of the
    calendar date by date; the days run from the earliest date's business day."""
    cal = prc_calendar()
    stamps = (np.datetime64(start, "ns") + np.array(offsets_ns, dtype="timedelta64[ns]")).astype(f"datetime64[{unit}]")
    bdays, index = cal.business_day_index(stamps)
    dates = [np.datetime64(int(x), unit).astype("datetime64[D]") for x in stamps.view(np.int64)]
    assert [bdays[i] for i in index] == [cal.next_business_day(d) for d in dates]
    assert index.dtype == np.int32 and bdays[0] == cal.next_business_day(min(dates))


def test_user_overrides():
    cal = BusinessCalendar.prc(extra_holidays=["2024-10-09"], extra_workdays=["2024-10-05"])
    assert not cal.is_business_day("2024-10-09")
    assert cal.is_business_day("2024-10-05")
    assert cal.name == "PRC+overrides"
    with pytest.raises(ValueError, match="both"):
        BusinessCalendar.prc(extra_holidays=["2024-10-09"], extra_workdays=["2024-10-09"])


def test_other_jurisdiction_weekdays_with_holidays():
    cal = BusinessCalendar.weekdays_only(holidays=["2024-12-25"], name="GB-sample")
    assert not cal.is_business_day("2024-12-25")
    assert cal.is_business_day("2024-10-01")  # not a holiday outside the PRC
    assert not cal.is_business_day("2024-09-29")


def test_years_beyond_the_holiday_data_raise_with_a_fix_in_strict_mode():
    cal = BusinessCalendar.prc(beyond_coverage="error")
    last_year = max(cal.official_years)
    with pytest.raises(CalendarCoverageError, match="beyond_coverage"):
        cal.business_days(f"{last_year + 1}-01-01", f"{last_year + 1}-01-31")
    lenient = BusinessCalendar.prc(beyond_coverage="weekends")
    got = lenient.business_days(f"{last_year + 1}-03-01", f"{last_year + 1}-03-07")
    assert len(got) == 5 and all(np.datetime64(d, "D").astype(dt.date).weekday() < 5 for d in got)
    with pytest.raises(ValueError, match="beyond_coverage"):
        BusinessCalendar.prc(beyond_coverage="maybe")


def test_empty_input():
    bdays, index = prc_calendar().business_day_index(np.array([], dtype="datetime64[ns]"))
    assert len(bdays) == 0 and len(index) == 0


# -- 2026-12 and 2027: beyond chinesecalendar 1.11 (issue 10) ----------------------------------
HOLIDAYS_2026 = Path(flowgraph.__file__).parent / "data" / "prc_holidays_2026.csv"
STRICT = BusinessCalendar.prc(beyond_coverage="error")


def write(tmp_path, text, name="holidays.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_december_2026_is_official_and_needs_nothing_beyond_it_in_strict_mode():
    # 2026-12-31 is a Thursday: the range ends there, 2027 is never consulted
    bdays, index = STRICT.business_day_index(days("2026-12-01", "2026-12-26", "2026-12-31"))
    assert bdays[0] == np.datetime64("2026-12-01") and bdays[-1] == np.datetime64("2026-12-31")
    assert bdays[index].tolist() == [dt.date(2026, 12, 1), dt.date(2026, 12, 28), dt.date(2026, 12, 31)]
    assert len(bdays) == 23
    assert STRICT.estimated_days("2026-12-01", "2026-12-31").size == 0
    assert STRICT.coverage_note("2026-12-01", "2026-12-31") is None
    assert prc_calendar().coverage_note("2026-12-01", "2026-12-31") is None


def test_2027_in_strict_mode_raises_naming_the_data_range_and_working_fixes():
    with pytest.raises(CalendarCoverageError) as err:
        STRICT.business_day_index(days("2026-11-30", "2027-01-04", "2026-12-15"))
    message = str(err.value)
    assert "the data runs from 2026-11-30 to 2027-01-04" in message
    assert "not 2027" in message and "2004-2026" in message
    assert "holidays_file" in message and "beyond_coverage = 'estimate'" in message
    assert "pip install" not in message
    with pytest.raises(CalendarCoverageError, match="2027"):
        STRICT.next_business_day("2027-01-04")


def test_2027_spring_festival_is_estimated_from_the_lunar_calendar():
    import holidays

    cal = prc_calendar()  # default: beyond_coverage="estimate"
    lib = holidays.China(years=2027)
    for day in ("2027-02-08", "2027-02-09", "2027-02-10"):
        assert dt.date.fromisoformat(day) in lib
        assert not cal.is_business_day(day), day
    assert not cal.is_business_day("2027-01-01")  # New Year's Day, a Friday: checked by hand
    assert cal.is_business_day("2027-02-11")
    # no make-up working day is assumed: a plain Saturday stays off
    assert not cal.is_business_day("2027-02-20")


def test_t_plus_1_on_2027_01_04():
    cal = prc_calendar()
    assert cal.is_business_day("2027-01-04")
    assert cal.next_business_day("2027-01-02") == np.datetime64("2027-01-04")
    bdays, index = cal.business_day_index(days("2026-12-31", "2027-01-01", "2027-01-02", "2027-01-04"))
    assert bdays.tolist() == [dt.date(2026, 12, 31), dt.date(2027, 1, 4)]
    assert index.tolist() == [0, 1, 1, 1]
    assert cal.estimated_days("2026-12-30", "2027-01-05").tolist() == [dt.date(2027, 1, 4),
                                                                      dt.date(2027, 1, 5)]


def test_coverage_note_and_describe_name_the_estimated_years(tmp_path):
    cal = prc_calendar()
    note = cal.coverage_note("2026-12-01", "2027-01-04")
    assert note.startswith("holidays for 2027 are estimated (weekends + statutory holidays from the "
                           "lunar calendar; no make-up working days)")
    assert "calendar.holidays_file" in note and "beyond_coverage = 'error'" in note
    assert "holidays for 2027-2031 are" in cal.coverage_note("2027-06-01", "2031-01-02")
    with_2030 = BusinessCalendar.prc(holidays_file=write(tmp_path, "date,kind\n2030-01-01,holiday\n"
                                                                   "2030-02-04,holiday\n"))
    assert "holidays for 2027-2029, 2031 are" in with_2030.coverage_note("2027-06-01", "2031-01-02")
    weekends = BusinessCalendar.prc(beyond_coverage="weekends").coverage_note("2027-01-01", "2027-01-02")
    assert "no public holidays" in weekends
    described = cal.describe("2026-12-01", "2027-01-04")
    assert described["estimated_years"] == [2027]
    assert described["beyond_coverage"] == "estimate"
    assert described["official_years"] == {"2004-2026": f"chinesecalendar {version('chinesecalendar')}"}
    assert described["estimate"].startswith("holidays ")
    assert described["holidays_file"] is None
    json.dumps(described)


def test_a_holidays_file_makes_its_years_official_and_overrides_the_estimate(tmp_path):
    path = write(tmp_path, "# a 2027 schedule written for this test, not the State Council's\n"
                           "date,kind,note\n"
                           "2027-01-01,holiday,New Year\n"
                           "2027-02-08,holiday,Spring Festival\n"
                           "2027-02-20,workday,make-up day\n")
    cal = BusinessCalendar.prc(beyond_coverage="error", holidays_file=path)
    assert cal.is_business_day("2027-02-20")  # Saturday declared a workday
    assert cal.is_business_day("2027-02-09")  # the file is the whole year: no estimated holiday
    assert not cal.is_business_day("2027-02-08")
    assert cal.estimated_days("2027-01-01", "2027-12-31").size == 0
    assert cal.coverage_note("2026-12-01", "2027-03-01") is None
    with pytest.raises(CalendarCoverageError, match="not 2028"):
        cal.business_days("2027-12-01", "2028-01-05")
    described = cal.describe()
    assert described["official_years"]["2027"] == f"holidays file {path}"
    assert described["holidays_file"] == {"path": str(path),
                                          "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}


def test_the_shipped_2026_file_agrees_with_chinesecalendar():
    from_file = BusinessCalendar.prc(holidays_file=HOLIDAYS_2026)
    assert from_file.describe()["official_years"]["2026"].startswith("holidays file")
    assert from_file.business_days("2026-01-01", "2026-12-31").tolist() == \
        prc_calendar().business_days("2026-01-01", "2026-12-31").tolist()


@pytest.mark.parametrize("text, expected", [
    ("date,kind,note\n2027-02-30,holiday,\n", r"line 2: '2027-02-30' is not a date"),
    ("# source\n\ndate,kind,note\n2027/01/01,holiday,x\n", r"line 4: '2027/01/01' is not a date"),
    ("date,kind,note\n2027-01-01,off,x\n", r"line 2: kind 'off' is neither"),
    ("date,kind,note\n2027-01-01,holiday,x\n2027-01-01,holiday,y\n",
     r"line 3: 2027-01-01 is already listed on line 2"),
    ("date,kind,note\n2027-01-05,workday,x\n", r"line 2: 2027-01-05 is a Tuesday, already a working day"),
    ("date,kind,note\n2027-01-01,holiday,a,b\n", r"line 2: expected 'date,kind,note' \(3 fields\), got 4"),
    ("2027-01-01,holiday,x\n", r"line 1: expected the header"),
    ("# nothing yet\ndate,kind,note\n", "lists no dates"),
    ("date,kind,note\n2150-01-01,holiday,x\n", r"line 2: 2150-01-01 is outside the years"),
])
def test_bad_holidays_files_name_the_line_and_the_fix(tmp_path, text, expected):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError, match=expected) as err:
        BusinessCalendar.prc(holidays_file=path)
    assert str(path) in str(err.value) and "Fix:" in str(err.value)


def test_holidays_file_that_is_missing_a_directory_or_not_utf8(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        BusinessCalendar.prc(holidays_file=tmp_path / "nope.csv")
    with pytest.raises(ConfigError, match="is a directory"):
        BusinessCalendar.prc(holidays_file=tmp_path)
    gbk = tmp_path / "gbk.csv"
    gbk.write_bytes("date,kind,note\n2027-01-01,holiday,元旦\n".encode("gbk"))
    with pytest.raises(ConfigError, match="line 2: not UTF-8"):
        BusinessCalendar.prc(holidays_file=gbk)
    with pytest.raises(ConfigError, match="'holidays_file' parameter"):
        BusinessCalendar.prc(holidays_file=2027)


def test_holidays_file_accepts_a_bom_quoted_notes_and_no_note_column(tmp_path):
    path = tmp_path / "bom.csv"
    path.write_bytes('\ufeffDate,Kind\n2027-01-01,Holiday\n2027-02-08,Holiday\n'.encode("utf-8"))
    assert not BusinessCalendar.prc(holidays_file=path).is_business_day("2027-01-01")
    path = write(tmp_path, 'date,kind,note\n2027-01-01,holiday,"New Year, 元旦"\n2027-02-08,holiday,"春节"\n',
                 "quoted.csv")
    assert not BusinessCalendar.prc(holidays_file=path).is_business_day("2027-01-01")


def test_years_the_calendar_cannot_compute_name_the_date():
    with pytest.raises(CalendarCoverageError, match="2150-03-02 is outside the years"):
        prc_calendar().business_day_index(days("2026-12-01", "2150-03-02"))
    with pytest.raises(CalendarCoverageError, match="1949-12-31 is outside"):
        prc_calendar().business_days("1949-12-31", "1950-01-05")


def test_far_future_row_is_estimated_like_a_day_by_day_reading_of_python_holidays():
    import holidays

    cal = prc_calendar()
    bdays, index = cal.business_day_index(days("2026-12-01", "2099-06-01"))
    assert bdays[-1] == np.datetime64("2099-06-01") and index.tolist() == [0, len(bdays) - 1]
    lib = holidays.China(years=range(2027, 2100))
    expected, day = [], dt.date(2027, 1, 1)
    while day <= dt.date(2099, 6, 1):
        if (day.weekday() < 5 and day not in lib) or day in lib.weekend_workdays:
            expected.append(day)
        day += dt.timedelta(days=1)
    assert cal.estimated_days("2026-12-01", "2099-06-01").tolist() == expected
    assert "holidays for 2027-2099 are estimated" in cal.coverage_note(bdays[0], bdays[-1])


def test_a_last_date_off_in_an_uncovered_year_needs_only_the_next_business_day():
    # strict mode, data ending on a Saturday inside the covered years: the next business
    # day is found within the year, nothing beyond it is consulted
    bdays, index = STRICT.business_day_index(days("2026-12-21", "2026-12-26"))
    assert bdays[-1] == np.datetime64("2026-12-28") and bdays[index[-1]] == bdays[-1]
    # a 2026-12-31 holiday would push the last date into 2027: then the message says why
    cal = BusinessCalendar.prc(beyond_coverage="error", extra_holidays=["2026-12-31"])
    with pytest.raises(CalendarCoverageError, match="2026-12-31 is not a business day"):
        cal.business_day_index(days("2026-12-30", "2026-12-31"))


def test_bad_extra_dates_are_config_errors():
    with pytest.raises(ConfigError, match="'extra_holidays' parameter .* '2026-13-01'"):
        BusinessCalendar.prc(extra_holidays=["2026-13-01"])
    cal = BusinessCalendar.prc(extra_workdays=["2027-02-09"])  # overrides the estimate
    assert cal.is_business_day("2027-02-09")


def test_missing_dates_are_a_data_error():
    with pytest.raises(DataError, match="NaT"):
        prc_calendar().business_day_index(np.array(["2026-12-01", "NaT"], dtype="datetime64[ns]"))

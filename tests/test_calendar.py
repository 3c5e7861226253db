import datetime as dt

import numpy as np
import pytest

from flowgraph.calendar import BusinessCalendar, CalendarCoverageError, prc_calendar


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


def test_years_beyond_the_holiday_data_raise_with_a_fix():
    cal = prc_calendar()
    last_year = int(str(cal.coverage[1])[:4])
    with pytest.raises(CalendarCoverageError, match="beyond_coverage"):
        cal.business_days(f"{last_year + 1}-01-01", f"{last_year + 1}-01-31")
    lenient = BusinessCalendar.prc(beyond_coverage="weekends")
    got = lenient.business_days(f"{last_year + 1}-03-02", f"{last_year + 1}-03-08")
    assert all(np.datetime64(d, "D").astype(dt.date).weekday() < 5 for d in got)
    with pytest.raises(ValueError, match="beyond_coverage"):
        BusinessCalendar.prc(beyond_coverage="maybe")


def test_empty_input():
    bdays, index = prc_calendar().business_day_index(np.array([], dtype="datetime64[ns]"))
    assert len(bdays) == 0 and len(index) == 0

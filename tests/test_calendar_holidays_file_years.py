"""Which years a holidays file gives (sweep A §5): the years whose Spring Festival break it
lists; a New Year break crossing the year end is applied without making the other year
official; any other date is refused."""

import datetime as dt
import json

import chinese_calendar
import numpy as np
import pytest

from flowgraph.calendar import (NEW_YEAR_SPILL_DAYS, BusinessCalendar, prc_calendar,
                                spring_festival_break)
from flowgraph.cli import main
from flowgraph.errors import ConfigError

D = np.datetime64

#: sweep A repro-2: a HYPOTHETICAL 2029 schedule whose New Year break starts in 2028
H2029 = """# HYPOTHETICAL 2029 schedule; the New Year break starts in 2028 as notices often do
date,kind,note
2028-12-30,holiday,元旦
2028-12-31,holiday,元旦
2029-01-01,holiday,元旦
2029-02-12,holiday,春节
2029-02-13,holiday,春节
2029-02-14,holiday,春节
2029-02-15,holiday,春节
2029-02-16,holiday,春节
"""

#: 国务院办公厅关于2018年部分节假日安排的通知 (国办发明电〔2017〕12号, 2017-11-30), every day of
#: each break as the notice counts it: its New Year break runs 2017-12-30 to 2018-01-01.
NOTICE_2018 = """# 国务院办公厅关于2018年部分节假日安排的通知 (国办发明电〔2017〕12号)
date,kind,note
2017-12-30,holiday,元旦
2017-12-31,holiday,元旦
2018-01-01,holiday,元旦
2018-02-11,workday,春节调休上班
2018-02-15,holiday,春节
2018-02-16,holiday,春节
2018-02-17,holiday,春节
2018-02-18,holiday,春节
2018-02-19,holiday,春节
2018-02-20,holiday,春节
2018-02-21,holiday,春节
2018-02-24,workday,春节调休上班
2018-04-05,holiday,清明节
2018-04-06,holiday,清明节
2018-04-07,holiday,清明节
2018-04-08,workday,清明节调休上班
2018-04-28,workday,劳动节调休上班
2018-04-29,holiday,劳动节
2018-04-30,holiday,劳动节
2018-05-01,holiday,劳动节
2018-06-16,holiday,端午节
2018-06-17,holiday,端午节
2018-06-18,holiday,端午节
2018-09-22,holiday,中秋节
2018-09-23,holiday,中秋节
2018-09-24,holiday,中秋节
2018-09-29,workday,国庆节调休上班
2018-09-30,workday,国庆节调休上班
2018-10-01,holiday,国庆节
2018-10-02,holiday,国庆节
2018-10-03,holiday,国庆节
2018-10-04,holiday,国庆节
2018-10-05,holiday,国庆节
2018-10-06,holiday,国庆节
2018-10-07,holiday,国庆节
"""


def write(tmp_path, text, name="holidays.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_spring_festival_break_spans_new_years_eve_to_the_seventh_day():
    # lunar New Year's Day: 2017-01-28, 2018-02-16, 2028-01-26, 2029-02-13 (published calendars)
    assert spring_festival_break(2017) == (D("2017-01-27"), D("2017-02-03"))
    assert spring_festival_break(2018) == (D("2018-02-15"), D("2018-02-22"))
    assert spring_festival_break(2028) == (D("2028-01-25"), D("2028-02-01"))
    assert spring_festival_break(2029) == (D("2029-02-12"), D("2029-02-19"))


def test_a_2029_file_starting_in_december_2028_leaves_2028_estimated(tmp_path):
    path = write(tmp_path, H2029, "h2029.csv")
    cal = BusinessCalendar.prc(holidays_file=path)
    # 2028's Spring Festival and National Day stay days off, as without the file
    for day in ("2028-01-26", "2028-01-27", "2028-10-02", "2028-10-03"):
        assert not cal.is_business_day(day), day
    assert cal.business_days("2028-01-01", "2028-12-31").tolist() == \
        prc_calendar().business_days("2028-01-01", "2028-12-31").tolist()
    assert 2028 not in cal.official_years and cal.official_years[2029] == f"holidays file {path}"
    assert not cal.is_business_day("2029-02-13") and cal.is_business_day("2029-02-19")
    assert cal.estimated_days("2028-01-01", "2028-12-31").size > 200
    note = cal.coverage_note("2028-01-01", "2029-03-01")
    assert note.startswith("holidays for 2028 are estimated (")
    assert f"holidays file {path} gives 2029 only; of 2028 it lists just 2028-12-30, 2028-12-31" in note
    described = cal.describe("2028-01-01", "2029-03-01")
    assert described["estimated_years"] == [2028]
    assert described["holidays_file_years"] == [2029]
    assert described["holidays_file_spillover"] == ["2028-12-30", "2028-12-31"]
    # a configuration's hash takes this entry: its keys stay path and content
    assert set(described["holidays_file"]) == {"path", "sha256"}
    json.dumps(described)


def test_strict_mode_names_the_december_dates_it_has_of_the_refused_year(tmp_path):
    path = write(tmp_path, H2029, "h2029.csv")
    cal = BusinessCalendar.prc(holidays_file=path, beyond_coverage="error")
    assert cal.business_days("2029-01-02", "2029-01-05").size == 4
    with pytest.raises(ConfigError) as err:
        cal.business_days("2028-12-01", "2029-01-05")
    message = str(err.value)
    assert "not 2028" in message and "of 2028 it lists just 2028-12-30, 2028-12-31" in message
    assert "Fix:" in message


def test_a_file_giving_both_years_gives_both(tmp_path):
    text = H2029 + "2028-01-26,holiday,春节\n2028-01-27,holiday,春节\n"
    cal = BusinessCalendar.prc(holidays_file=write(tmp_path, text))
    assert cal.holidays_file.years == (2028, 2029) and cal.holidays_file.spillover.size == 0
    assert cal.is_business_day("2028-10-02")  # the file is all of 2028: no National Day listed
    assert cal.coverage_note("2028-01-01", "2029-12-31") is None


def test_the_2018_notice_leaves_2017_to_chinesecalendar(tmp_path):
    cal = BusinessCalendar.prc(holidays_file=write(tmp_path, NOTICE_2018, "prc_2018.csv"))
    assert cal.holidays_file.years == (2018,)
    assert cal.holidays_file.spillover.astype(str).tolist() == ["2017-12-30", "2017-12-31"]
    assert cal.official_years[2017].startswith("chinesecalendar")
    assert cal.official_years[2018].startswith("holidays file")
    # Spring Festival 2017 (01-27 to 02-02) and National Day 2017 stay days off
    assert not cal.is_business_day("2017-01-30") and not cal.is_business_day("2017-10-02")
    # the transcribed notice agrees with the package day by day, 2017 and 2018; the package's
    # 2018-12-29 (worked) and 2018-12-31 (off) are the 2019 notice's and stay
    assert cal.business_days("2017-01-01", "2018-12-31").tolist() == \
        prc_calendar().business_days("2017-01-01", "2018-12-31").tolist()
    assert cal.is_business_day("2018-12-29") and not cal.is_business_day("2018-12-31")
    assert cal.coverage_note("2017-01-01", "2018-12-31") is None


def test_a_date_the_file_lists_replaces_the_packages_at_the_end_of_a_year_it_gives(tmp_path):
    cal = BusinessCalendar.prc(holidays_file=write(tmp_path, NOTICE_2018 + "2018-12-29,holiday,x\n"))
    assert not cal.is_business_day("2018-12-29")


@pytest.mark.parametrize("year", range(2004, 2027))
def test_each_year_of_the_package_written_as_a_file_is_given_by_it(tmp_path, year):
    """Every notice chinesecalendar holds, written as a file of its weekday holidays and
    make-up days (weekend days of a break left out, as the format allows), gives its year
    and changes no business day."""
    off = sorted(d for d in chinese_calendar.holidays if d.year == year and d.weekday() < 5)
    worked = sorted(d for d in chinese_calendar.workdays if d.year == year)
    rows = [f"{d},holiday" for d in off] + [f"{d},workday" for d in worked]
    cal = BusinessCalendar.prc(holidays_file=write(tmp_path, "date,kind\n" + "\n".join(rows) + "\n"))
    assert cal.holidays_file.years == (year,)
    assert cal.business_days(f"{year}-01-01", f"{year}-12-31").tolist() == \
        prc_calendar().business_days(f"{year}-01-01", f"{year}-12-31").tolist()


def test_a_december_workday_of_the_next_years_break_stands_in_an_estimated_year(tmp_path):
    # illustrative: the 2029 break made to start on Saturday 2028-12-30, worked instead
    text = H2029.replace("2028-12-30,holiday", "2028-12-30,workday")
    cal = BusinessCalendar.prc(holidays_file=write(tmp_path, text))
    assert cal.is_business_day("2028-12-30") and not cal.is_business_day("2028-12-31")
    estimated = cal.estimated_days("2028-12-25", "2028-12-31").astype(str).tolist()
    assert "2028-12-30" not in estimated and "2028-12-29" in estimated  # the file's date is not estimated


@pytest.mark.parametrize("row, given", [
    ("2028-12-24,holiday", False), ("2028-12-25,holiday", True),   # 7 days before 2029
    ("2030-01-07,holiday", True), ("2030-01-08,holiday", False),   # 7 days after 2029
])
def test_a_date_of_another_year_is_taken_within_seven_days_of_a_year_given(tmp_path, row, given):
    assert NEW_YEAR_SPILL_DAYS == 7
    path = write(tmp_path, H2029 + row + "\n")
    if given:
        assert BusinessCalendar.prc(holidays_file=path).holidays_file.years == (2029,)
        return
    with pytest.raises(ConfigError, match=r"line 11: .* so it does not give \d{4}'s schedule; nor is .* "
                                          r"within 7 days of a year the file gives \(2029\)") as err:
        BusinessCalendar.prc(holidays_file=path)
    assert "Fix:" in str(err.value) and "extra_holidays" in str(err.value)


@pytest.mark.parametrize("text, given", [
    ("2029-02-12,holiday", True), ("2029-02-19,holiday", True),    # 除夕, 初七
    ("2029-02-11,holiday", False), ("2029-02-20,holiday", False),  # the days before and after
    ("2029-02-17,workday", False),                                 # a make-up day is no day off
])
def test_a_year_is_given_by_a_holiday_in_its_spring_festival_break(tmp_path, text, given):
    path = write(tmp_path, "date,kind\n2029-10-01,holiday\n" + text + "\n")
    if given:
        cal = BusinessCalendar.prc(holidays_file=path)
        assert cal.holidays_file.years == (2029,) and not cal.is_business_day("2029-10-01")
        return
    with pytest.raises(ConfigError) as err:
        BusinessCalendar.prc(holidays_file=path)
    assert str(err.value).startswith(f"holidays file {str(path)!r} (calendar.holidays_file), line 2: "
                                     "2029-10-01 is in 2029, but the file lists no holiday in 2029's "
                                     "Spring Festival break (2029-02-12 to 2029-02-19)")
    assert "nor does the file give any other year" in str(err.value) and "Fix:" in str(err.value)


def test_scan_with_a_file_that_reaches_back_into_2027_keeps_2027_estimated(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("FLOWGRAPH_KEY_FILE", str(tmp_path / "keys" / "pseudonym.key"))
    # 2027-02-08 (a Monday) is in the estimated Spring Festival: it counts toward 2027-02-11
    (tmp_path / "tx.csv").write_text("txn_id,timestamp,src_account,dst_account,amount,currency,channel\n"
                                     "T1,2027-02-08 10:00:00,,C1,60000,CNY,cash\n")
    # illustrative 2028 schedule whose New Year break starts on 2027-12-31
    write(tmp_path, "date,kind\n2027-12-31,holiday\n2028-01-01,holiday\n2028-01-26,holiday\n", "h2028.csv")
    (tmp_path / "c.toml").write_text('[calendar]\nholidays_file = "h2028.csv"\n')
    assert main(["scan", str(tmp_path / "tx.csv"), "--config", str(tmp_path / "c.toml"),
                 "--out", str(tmp_path / "o")]) == 0
    err = capsys.readouterr().err
    assert "2028: holidays file" in err and "2027: holidays file" not in err
    assert "holidays for 2027 are estimated" in err and "of 2027 it lists just 2027-12-31" in err
    manifest = json.loads((tmp_path / "o" / "manifest.json").read_text())
    assert manifest["scan_first"] == "2027-02-11"
    assert json.loads(manifest["calendar"])["holidays_file_spillover"] == ["2027-12-31"]

"""Whether a timestamp carries a UTC offset: the user's --timestamp-format decides when
given (``%z``/``%Z`` in it); without one, only an ISO 8601 offset after a time of day does.
A ``-2330`` after a compact date or the ``-2027`` of ``%d-%m-%Y`` is part of a local time."""

import pandas as pd
import pytest

from flowgraph.cli import main
from flowgraph.schema import validate_transactions

COLS = ["txn_id", "timestamp", "src_account", "dst_account", "amount", "currency", "channel"]


def stored_times(stamps, timestamp_format=None):
    frame = pd.DataFrame([(f"T{i}", stamp, "A", "B", 100, "CNY", "transfer") for i, stamp in enumerate(stamps)],
                         columns=COLS)
    validated = validate_transactions(frame, "t.csv", timestamp_format=timestamp_format)
    assert validated.report.n_accepted == len(stamps), validated.rejects
    return [str(t) for t in validated.table["timestamp"]]


def test_a_trailing_hhmm_in_the_users_format_is_a_local_time():
    assert stored_times(["20261230-2330", "20261230-0930"], "%Y%m%d-%H%M") == \
        ["2026-12-30 23:30:00", "2026-12-30 09:30:00"]


def test_day_month_year_with_dashes_is_a_local_date():
    assert stored_times(["30-12-2026", "01-01-2027"], "%d-%m-%Y") == \
        ["2026-12-30 00:00:00", "2027-01-01 00:00:00"]


@pytest.mark.parametrize("stamp", ["2026-12-30T10:00:00+00:00", "2026-12-30 10:00Z", "2026-12-30T10:00:00.5+0000",
                                   "20261230T100000+0000", "2026-12-30T05:00-05"])
def test_iso_offsets_without_a_format_are_converted_to_china_standard_time(stamp):
    assert stored_times([stamp])[0].startswith("2026-12-30 18:00:00")


def test_iso_offsets_and_local_times_mixed_in_one_file():
    assert stored_times(["2026-12-30T10:00:00+00:00", "2026-12-30 10:00:00", "2026-12-30"]) == \
        ["2026-12-30 18:00:00", "2026-12-30 10:00:00", "2026-12-30 00:00:00"]


@pytest.mark.parametrize("fmt, stamps", [("%Y-%m-%d %H:%M %z", ["2026-12-30 10:00 +0000", "2026-12-30 05:00 -0500"]),
                                         ("%Y%m%d-%H%M%z", ["20261230-1000+0000", "20261230-0500-0500"]),
                                         ("%d/%m/%Y %H:%M %Z", ["30/12/2026 10:00 UTC", "30/12/2026 10:00 GMT"])])
def test_an_offset_in_the_users_format_is_honoured(fmt, stamps):
    assert stored_times(stamps, fmt) == ["2026-12-30 18:00:00"] * 2


def test_an_offset_the_users_format_does_not_read_is_a_rejected_row_not_a_guess():
    frame = pd.DataFrame([("T1", "2026-12-30 10:00+0800", "A", "B", 100, "CNY", "transfer")], columns=COLS)
    validated = validate_transactions(frame, "t.csv", timestamp_format="%Y-%m-%d %H:%M")
    assert validated.report.n_accepted == 0
    assert validated.rejects["reason_codes"].tolist() == ["BAD_TIMESTAMP"]


def test_the_large_value_deadline_counts_from_the_local_day(tmp_path, monkeypatch):
    """The tester's repro: a 60,000 cash deposit at 23:30 on Wednesday 30 December 2026 is
    reported by 2027-01-07 (five business days), not from 31 December."""
    monkeypatch.setenv("FLOWGRAPH_KEY_FILE", str(tmp_path / "key"))
    (tmp_path / "tx.csv").write_text("txn_id,timestamp,src_account,dst_account,amount,currency,channel\n"
                                     "T1,20261230-2330,,C1,60000,CNY,cash\n"
                                     "T2,20261230-0930,A,B,100,CNY,transfer\n")
    assert main(["scan", str(tmp_path / "tx.csv"), "--timestamp-format", "%Y%m%d-%H%M",
                 "--out", str(tmp_path / "run")]) == 0
    assert main(["report-draft", "--store", str(tmp_path / "run" / "store.sqlite"), "--out", str(tmp_path / "d"),
                 "--today", "2026-12-31"]) == 0
    reports = pd.read_csv(tmp_path / "d" / "large-value-reports.csv", dtype=str)
    assert reports[["rule", "business_day", "transaction_date", "deadline"]].values.tolist() == \
        [["LV-CASH", "2026-12-30", "2026-12-30", "2027-01-07"]]

"""Scans on today's dates and after: December 2026, 2027 (beyond the holiday package's
data), a daily T+1 run on 2027-01-04."""

import json
import os

import pandas as pd
import pytest

from flowgraph.cli import main
from flowgraph.simulate import simulate, write_simulation


@pytest.fixture(autouse=True)
def key_file(tmp_path, monkeypatch):
    monkeypatch.setenv("FLOWGRAPH_KEY_FILE", str(tmp_path / "keys" / "pseudonym.key"))


@pytest.fixture(scope="module")
def bank_into_2027(tmp_path_factory):
    """A simulated bank from 2026-11-16 over 40 business days: into February 2027."""
    folder = tmp_path_factory.mktemp("bank2027")
    bank = simulate(seed=2027, n_customers=800, n_days=40, start="2026-11-16", patterns_per_typology=2,
                    lookalikes_per_kind=1, recruit_pool_share=0.4)
    write_simulation(bank, folder)
    assert bank.transactions["timestamp"].max() >= pd.Timestamp("2027-01-04")
    return folder


def test_range_scan_into_2027_marks_estimated_days(bank_into_2027, tmp_path, capsys):
    assert main(["scan", str(bank_into_2027), "--out", str(tmp_path / "o")]) == 0
    err = capsys.readouterr().err
    assert "holidays for 2027 are estimated" in err and "holidays_file" in err
    manifest = json.loads((tmp_path / "o" / "manifest.json").read_text())
    estimated = manifest["estimated_business_days"]
    assert "2027-01-04" in estimated and not [d for d in estimated if d < "2027-01-01"]
    assert "2027-01-01" not in estimated  # New Year's Day is a holiday in the estimate too
    assert json.loads(manifest["calendar"])["estimated_years"] == [2027]
    hits = pd.read_parquet(tmp_path / "o" / "hits.parquet")
    assert (hits["window_end"] >= "2027-01-04").any()


def test_t_plus_1_on_2027_01_04(bank_into_2027, tmp_path, capsys):
    assert main(["scan", str(bank_into_2027), "--out", str(tmp_path / "t1"), "--as-of", "2027-01-04"]) == 0
    out = capsys.readouterr()
    assert "(t+1, 2027-01-04..2027-01-04)" in out.out and "not a business day" not in out.err
    # New Year's weekend rolls onto the same business day, and the user is told
    assert main(["scan", str(bank_into_2027), "--out", str(tmp_path / "t1"), "--as-of", "2027-01-02"]) == 0
    out = capsys.readouterr()
    assert "(t+1, 2027-01-04..2027-01-04)" in out.out
    assert ("note: --as-of 2027-01-02 is not a business day: its transactions count toward 2027-01-04, the "
            "business day this run scanned. Scan --as-of 2027-01-04 again once that day's transactions are in.") \
        in " ".join(out.err.split())


def test_a_range_from_or_to_a_day_that_is_not_a_business_day_says_where_it_rolled(bank_into_2027, tmp_path, capsys):
    """A range --to New Year's Saturday ended on Monday 2027-01-04, with that day's own
    transactions, and --from it started there, both without a word (found by a sweep)."""
    assert main(["scan", str(bank_into_2027), "--out", str(tmp_path / "r"), "--from", "2027-01-02",
                 "--to", "2027-01-02"]) == 0
    out = capsys.readouterr()
    err = " ".join(out.err.split())
    assert "(range, 2027-01-04..2027-01-04)" in out.out
    assert ("note: --from 2027-01-02 is not a business day: the range starts at 2027-01-04, the business day its "
            "transactions count toward.") in err
    assert ("note: --to 2027-01-02 is not a business day: its transactions count toward 2027-01-04, so the range "
            "ends there, with that day's own transactions.") in err
    assert main(["scan", str(bank_into_2027), "--out", str(tmp_path / "b"), "--from", "2026-12-31",
                 "--to", "2027-01-04"]) == 0
    assert "not a business day" not in capsys.readouterr().err


def test_strict_calendar_refuses_2027_with_a_fix_that_works(bank_into_2027, tmp_path, capsys):
    cfg = tmp_path / "strict.toml"
    cfg.write_text('[calendar]\nbeyond_coverage = "error"\n')
    assert main(["scan", str(bank_into_2027), "--out", str(tmp_path / "o"), "--config", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert "2027" in err and "holidays_file" in err and "pip install" not in err and "Traceback" not in err


def test_a_holidays_file_makes_2027_official(bank_into_2027, tmp_path, capsys):
    # a schedule for 2027 as a bank would transcribe it (illustrative dates, not the State Council's)
    (tmp_path / "cal").mkdir()
    (tmp_path / "cal" / "prc_2027.csv").write_text(
        "# test schedule\ndate,kind,note\n2027-01-01,holiday,New Year\n"
        "2027-02-08,holiday,Spring Festival\n2027-02-09,holiday,Spring Festival\n2027-02-20,workday,make-up\n")
    cfg = tmp_path / "cal" / "official.toml"
    cfg.write_text('[calendar]\nholidays_file = "prc_2027.csv"\nbeyond_coverage = "error"\n')
    assert main(["scan", str(bank_into_2027), "--out", str(tmp_path / "o"), "--config", str(cfg)]) == 0
    assert "estimated" not in capsys.readouterr().err
    manifest = json.loads((tmp_path / "o" / "manifest.json").read_text())
    assert manifest["estimated_business_days"] == []
    assert json.loads(manifest["calendar"])["holidays_file"]["path"].endswith("prc_2027.csv")


def test_export_modes_follow_what_they_hold(bank_into_2027, tmp_path):
    previous = os.umask(0o022)
    try:
        _scan_both_ways(bank_into_2027, tmp_path)
    finally:
        os.umask(previous)
    mode = lambda p: p.stat().st_mode & 0o777
    assert mode(tmp_path / "pseudo" / "hits.parquet") == 0o644
    assert mode(tmp_path / "pseudo" / "manifest.json") == 0o644
    for name in ("hits.parquet", "alerts.parquet", "store.sqlite"):
        assert mode(tmp_path / "real" / name) == 0o600, name


def _scan_both_ways(bank_into_2027, tmp_path):
    assert main(["scan", str(bank_into_2027), "--out", str(tmp_path / "pseudo"), "--as-of", "2027-01-04"]) == 0
    assert main(["scan", str(bank_into_2027), "--out", str(tmp_path / "real"), "--as-of", "2027-01-04",
                 "--reveal-ids"]) == 0

"""Scans on today's dates and after: December 2026, 2027 (beyond the holiday package's
data), a daily T+1 run on 2027-01-04."""

import json

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
    assert "(t+1, 2027-01-04..2027-01-04)" in capsys.readouterr().out
    # New Year's weekend rolls onto the same business day
    assert main(["scan", str(bank_into_2027), "--out", str(tmp_path / "t1"), "--as-of", "2027-01-02"]) == 0
    assert "(t+1, 2027-01-04..2027-01-04)" in capsys.readouterr().out

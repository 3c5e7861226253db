"""`flowgraph simulate` over years whose holidays are estimated says so, as a scan does, and
records it beside the ground truth (sweep A repro-8)."""

import json

import pytest

from flowgraph.calendar import prc_calendar
from flowgraph.cli import main

SMALL = ["--seed", "2", "--customers", "1000", "--days", "10"]


@pytest.fixture(autouse=True)
def key_file(tmp_path, monkeypatch):
    monkeypatch.setenv("FLOWGRAPH_KEY_FILE", str(tmp_path / "keys" / "pseudonym.key"))


def _calendar_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("calendar:")]


def test_simulate_out_over_2027_prints_and_records_the_calendar_note(tmp_path, capsys):
    assert main(["simulate", *SMALL, "--start", "2027-02-01", "--out", str(tmp_path / "sim")]) == 0
    lines = _calendar_lines(capsys.readouterr().err)
    expected = prc_calendar().coverage_note("2027-02-01", "2027-02-18")
    assert lines == [f"calendar: {expected} (10 business days estimated, listed in {tmp_path / 'sim' / 'simulation.json'})"]
    recorded = json.loads((tmp_path / "sim" / "simulation.json").read_text())
    assert recorded["calendar_note"] == expected and recorded["calendar"] == "PRC"
    # the estimated Spring Festival (lunar New Year 2027-02-06, a Saturday): 02-05 (除夕) and
    # 02-08 to 02-10 (初三 and two observed days) are off, so ten business days run to 02-18
    assert recorded["estimated_business_days"] == ["2027-02-01", "2027-02-02", "2027-02-03", "2027-02-04",
                                                   "2027-02-11", "2027-02-12", "2027-02-15", "2027-02-16",
                                                   "2027-02-17", "2027-02-18"]
    assert recorded["calendar_detail"]["estimated_years"] == [2027]
    assert recorded["params"]["start"] == "2027-02-01" and recorded["n_patterns"] > 0


def test_simulate_on_official_holidays_prints_no_note(tmp_path, capsys):
    assert main(["simulate", *SMALL, "--start", "2024-09-02", "--out", str(tmp_path / "sim")]) == 0
    assert _calendar_lines(capsys.readouterr().err) == []
    recorded = json.loads((tmp_path / "sim" / "simulation.json").read_text())
    assert recorded["calendar_note"] is None and recorded["estimated_business_days"] == []


def test_simulate_into_a_store_records_the_note_with_the_ground_truth(tmp_path, capsys):
    store = tmp_path / "store"
    assert main(["simulate", *SMALL, "--start", "2027-02-01", "--into", str(store)]) == 0
    lines = _calendar_lines(capsys.readouterr().err)
    params = store / "simulation" / "params.json"
    assert len(lines) == 1 and "holidays for 2027 are estimated" in lines[0] and str(params) in lines[0]
    recorded = json.loads(params.read_text())
    assert recorded["calendar_note"] in lines[0] and len(recorded["estimated_business_days"]) == 10


def test_a_seven_day_week_consults_no_calendar_and_says_nothing(tmp_path, capsys):
    assert main(["simulate", *SMALL, "--start", "2027-02-01", "--week", "seven_day",
                 "--out", str(tmp_path / "sim")]) == 0
    assert _calendar_lines(capsys.readouterr().err) == []
    assert json.loads((tmp_path / "sim" / "simulation.json").read_text())["calendar_note"] is None

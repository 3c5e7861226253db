"""The rule-effectiveness report (`flowgraph report`) counts the transactions its runs
scanned — each business day once — on AMLSim's data, whose steps are business days."""

import json
import sqlite3

import pandas as pd
import pytest

from flowgraph.cli import main
from flowgraph.report import effectiveness, year_scanned
from flowgraph.store import Store


def _step_rows(folder, steps: range) -> int:
    """AMLSim rows of these steps, counted from its own file (step k is the k-th business
    day after --amlsim-start)."""
    times = pd.read_csv(folder / "transactions.csv", usecols=["time"])["time"]
    return int(times.isin(list(steps)).sum())


def test_alert_rate_divides_by_the_scanned_days_each_once(amlsim_dir, tmp_path, capsys):
    """Nightly T+1 scans each read their day and its 77-day window; the report divided by
    the most one run read (its window too), whatever the days scanned. It counts the
    transactions of the business days scanned, each once, the latest run's count winning,
    through the store's blocks and through a file scan alike."""
    folder = amlsim_dir / "20K_fanin200"
    assert main(["ingest", str(folder), "--into", str(tmp_path / "st"), "--amlsim-start", "2026-11-02"]) == 0
    runs = tmp_path / "runs.sqlite"
    for day in ("2026-12-01", "2026-12-02", "2026-12-03"):  # steps 21, 22, 23
        assert main(["scan", str(tmp_path / "st"), "--as-of", day, "--out", str(tmp_path / day),
                     "--store", str(runs)]) == 0
    three = _step_rows(folder, range(21, 24))
    metrics, overall = effectiveness(Store(runs, create=False))
    read = sqlite3.connect(runs).execute("SELECT MAX(n_transactions) FROM runs").fetchone()[0]
    assert overall["runs"] == 3 and overall["transactions"] == three < read
    # a range over two of those days and the next, from the file itself: each day once
    assert main(["scan", str(folder), "--amlsim-start", "2026-11-02", "--from", "2026-12-02", "--to", "2026-12-04",
                 "--out", str(tmp_path / "r"), "--store", str(runs)]) == 0
    _, overall = effectiveness(Store(runs, create=False))
    assert overall["transactions"] == _step_rows(folder, range(21, 25))
    # the store's range in one-day blocks counts as the T+1 scans did
    assert main(["scan", str(tmp_path / "st"), "--from", "2026-12-01", "--to", "2026-12-03", "--block-days", "1",
                 "--out", str(tmp_path / "b"), "--store", str(tmp_path / "blocks.sqlite")]) == 0
    _, overall = effectiveness(Store(tmp_path / "blocks.sqlite", create=False))
    assert overall["transactions"] == three
    capsys.readouterr()
    assert main(["report", "--store", str(runs)]) == 0
    assert f"transactions {_step_rows(folder, range(21, 25))}," in capsys.readouterr().out


def test_a_store_of_an_earlier_version_counts_as_it_did(amlsim_dir, tmp_path):
    """Runs recorded without counts per day (an earlier version's store) add the most
    transactions one of them read, as the report counted before."""
    folder = amlsim_dir / "20K_fanin200"
    assert main(["scan", str(folder), "--amlsim-start", "2026-11-02", "--as-of", "2026-12-01",
                 "--out", str(tmp_path / "o")]) == 0
    path = tmp_path / "o" / "store.sqlite"
    with sqlite3.connect(path) as conn:
        read = conn.execute("SELECT n_transactions FROM runs").fetchone()[0]
        conn.execute("DROP TABLE run_days")
    _, overall = effectiveness(Store(path, create=False))
    assert overall["transactions"] == read == len(pd.read_csv(folder / "transactions.csv"))


def _alerted_by_hand(store: Store) -> tuple[dict, int]:
    """Distinct evidence transactions of the hits in raised alerts, whatever their
    indicator's weight, per typology and overall, from every stored hit's evidence as Python
    sets (what the report did before it read only the raised alerts' evidence)."""
    config_hash = store.query("SELECT config_hash FROM runs WHERE status = 'complete'")["config_hash"].iloc[-1]
    raised = store.alerts(config_hash).query("raised")
    in_alerts = {h for hs in raised["hit_ids"] for h in hs}
    per, every = {}, set()
    for hit_id, typology, ids in zip(*(store.hits(config_hash)[c] for c in ("hit_id", "typology", "txn_ids"))):
        if hit_id in in_alerts:
            per.setdefault(typology, set()).update(ids)
            every.update(ids)
    return {t: len(s) for t, s in per.items()}, len(every)


def test_alerted_transactions_are_those_of_every_hit_in_raised_alerts(tmp_path):
    """SPEC §6's alert rate counts the transactions in raised alerts: every hit's evidence
    there, an indicator of weight 0 too (fan_in, large_value_single: it raises nothing
    alone, but what it names is in front of the analyst). The report left those out, per
    indicator and overall (6,003 alerted transactions of an AMLSim run whose raised alerts
    hold 10,812). It reads only the evidence of hits in raised alerts (a year of scans holds
    millions of hits: 12.4 s and 4.2 GB for 857,138 of them, now 2.6 s and 0.95 GB); its
    counts are those of every hit's evidence read by hand."""
    from flowgraph.simulate import simulate, write_simulation

    bank = simulate(seed=28, n_customers=600, n_days=25, patterns_per_typology=2, lookalikes_per_kind=1,
                    recruit_pool_share=0.4)
    write_simulation(bank, tmp_path / "bank")
    assert main(["scan", str(tmp_path / "bank"), "--out", str(tmp_path / "o")]) == 0
    store = Store(tmp_path / "o" / "store.sqlite", create=False)
    metrics, overall = effectiveness(store)
    per, every = _alerted_by_hand(store)
    assert overall["alerts_raised"] > 0 and every > 0 and overall["alerted_transactions"] == every
    got = metrics.set_index("indicator")
    assert {t: n for t, n in got["alerted_transactions"].items() if n} == per
    # the case the weight rule hid: an indicator of weight 0 with hits in raised alerts
    unweighted = [t for t in per if got.loc[t, "weight"] == 0]
    assert unweighted and all(got.loc[t, "alert_rate"] > 0 for t in unweighted)


def test_disabled_detectors_and_a_short_range_are_not_never_triggered(amlsim_dir, tmp_path, capsys):
    """AMLSim has no counterparty country, branch, times of day, account openings or party
    types: the scan disables six trafficking detectors (its manifest says so), and three
    a month of business days is not a year. The report showed all seven trafficking indicators
    never_triggered True; now the six are disabled, and no indicator without hits is
    judged (None, with a note), while nothing is decided the rates are None, not 0."""
    folder = amlsim_dir / "20K_fanin200"
    out, config = tmp_path / "o", tmp_path / "amlsim.toml"
    # thresholds at AMLSim's scale (hundreds of currency units), as the tester scanned it
    config.write_text('[rule_set]\nbased_on = "PBOC-2016"\nscale = 0.001\n[detectors.fan]\nmin_amount_fraction = 4e-06\n')
    assert main(["scan", str(folder), "--amlsim-start", "2026-11-02", "--from", "2026-12-01", "--to", "2026-12-31",
                 "--config", str(config), "--out", str(out)]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    off = set(manifest["disabled_detectors"])
    assert len(off) == 6 and "trafficking_small_cash" not in off
    store = Store(out / "store.sqlite", create=False)
    metrics, overall = effectiveness(store)
    rows = metrics.set_index("indicator")
    assert rows.loc[sorted(off), "disabled"].tolist() == [True] * 6
    assert rows.loc[["trafficking_small_cash", "fan_in"], "disabled"].tolist() == [False, False]
    silent = rows[rows["hits"] == 0]
    assert len(silent) and silent["never_triggered"].isna().all()
    assert not rows.loc[rows["hits"] > 0, "never_triggered"].any()
    assert overall["year_scanned"] is False and overall["decided"] == 0 and overall["alerts_raised"] > 0
    assert overall["report_rate"] is None and rows["report_rate"].isna().all()
    capsys.readouterr()
    assert main(["report", "--store", str(out / "store.sqlite")]) == 0
    text = capsys.readouterr().out
    assert "never_triggered None: not yet known" in text and "2026-12-01..2026-12-31" in text
    assert "disabled in the runs" in text and "trafficking_remittance" in text and "no decisions yet" in text
    # a decision gives the rates of its alert's indicators a value; the others stay None
    alert_id = store.query("SELECT alert_id FROM alerts WHERE raised = 1 LIMIT 1")["alert_id"].iloc[0]
    store.dispose(alert_id, "excluded", "ann")
    metrics, overall = effectiveness(store)
    assert overall["report_rate"] == 0.0 and overall["exclusion_rate"] == 1.0
    decided = metrics["decided"] > 0
    assert decided.any() and (metrics.loc[decided, "report_rate"] == 0).all()
    assert metrics.loc[~decided, "report_rate"].isna().all()
    # the store records what each run disabled: another run's manifest beside it changes nothing
    manifest["run_id"] = "someotherrun"
    (out / "manifest.json").write_text(json.dumps(manifest))
    assert effectiveness(store)[0].set_index("indicator").loc[sorted(off), "disabled"].tolist() == [True] * 6
    # a run of an earlier version recorded nothing: only its own manifest beside the store tells
    store.conn.execute("UPDATE runs SET disabled_detectors = NULL")
    assert effectiveness(store)[0]["disabled"].isna().all()


def test_a_store_scanned_in_blocks_records_what_no_block_could_run(amlsim_dir, tmp_path):
    """A range of a transaction store scanned in blocks, its run store elsewhere (no
    manifest beside it): the run store says which detectors were disabled."""
    txstore, runs = tmp_path / "txstore", tmp_path / "runs.sqlite"
    assert main(["ingest", str(amlsim_dir / "20K_fanin200"), "--amlsim-start", "2026-11-02", "--into",
                 str(txstore)]) == 0
    assert main(["scan", str(txstore), "--from", "2026-12-01", "--to", "2026-12-31", "--block-days", "7",
                 "--out", str(tmp_path / "o"), "--store", str(runs)]) == 0
    off = set(json.loads((tmp_path / "o" / "manifest.json").read_text())["disabled_detectors"])
    assert len(off) == 6 and "trafficking_small_cash" not in off
    rows = effectiveness(Store(runs, create=False))[0].set_index("indicator")
    assert rows.loc[sorted(off), "disabled"].tolist() == [True] * 6
    assert not rows.loc[["trafficking_small_cash", "fan_in"], "disabled"].any()


def _runs(*ranges: tuple[str, str], config: dict | None = None) -> tuple[pd.DataFrame, dict]:
    """Rows of a store's ``runs`` scanning these ranges of days, and their configuration."""
    return (pd.DataFrame({"scan_first": [a for a, _ in ranges], "scan_last": [b for _, b in ranges]}),
            config if config is not None else {"rule_set": "PBOC-2016"})


@pytest.mark.parametrize("ranges, expected", [
    # 2022's business days on the PRC calendar: 1-3 January and Saturday 31 December are
    # not business days, so 4 January .. 30 December stand for the whole year
    ([("2022-01-04", "2022-12-30")], True),
    ([("2022-01-04", "2022-12-29")], False),  # 30 December is left out
    ([("2018-01-03", "2018-08-07")], False),  # the AMLSim run: seven months
    # a year of business days in two runs that meet, and in two with a month between them
    ([("2022-01-04", "2022-06-30"), ("2022-07-01", "2022-12-30")], True),
    ([("2022-01-04", "2022-05-31"), ("2022-07-01", "2022-12-30")], False),
    # a year from mid-January: 17 January 2023 .. 16 January 2024
    ([("2023-01-17", "2024-01-16")], True),
    ([("2023-01-17", "2024-01-15")], False),
])
def test_year_scanned_needs_every_business_day_of_a_year(ranges, expected):
    """never_triggered is judged only over a year (SPEC §6): the runs' business days must
    include every business day of some year, on the runs' calendar."""
    assert year_scanned(*_runs(*ranges)) is expected


def test_year_scanned_on_weekdays_when_the_calendar_cannot_be_rebuilt(tmp_path):
    """A holidays file that moved away: weekdays stand in (2022-01-03 is a Monday, 2022-12-30
    a Friday)."""
    config = {"rule_set": "PBOC-2016", "calendar": {"holidays_file": {"path": str(tmp_path / "gone.csv")}}}
    assert year_scanned(*_runs(("2022-01-03", "2022-12-30"), config=config)) is True
    assert year_scanned(*_runs(("2022-01-04", "2022-12-30"), config=config)) is False

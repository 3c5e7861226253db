"""Re-scanning corrected days into a run store that already holds hits (flowgraph.rescans),
on a hand-built bank file and a correction of it: a range from the first corrected day
gives the hits and alerts of a fresh scan of the corrected data, however it is cut, and a
scan ending before the run store's latest day is refused with the scan that can."""

import datetime as dt
import random
import shutil
import sqlite3

import pandas as pd
import pytest

from flowgraph.cli import main

COLUMNS = ["txn_id", "timestamp", "src_account", "dst_account", "amount", "currency", "channel"]
START = dt.date(2026, 10, 1)


def _bank() -> list[tuple]:
    """66 days of 30 random transfers a day, twelve payers paying one hub 49,000 each on days
    20-29 with the hub passing 98 % on, and 60,000 cash on four days."""
    draw = random.Random(1)
    rows = []

    def add(day: int, time: str, src: str, dst: str, amount: float, channel: str = "transfer") -> None:
        rows.append((f"T{len(rows) + 1:06d}", f"{START + dt.timedelta(days=day)}T{time}", src, dst, amount, "CNY",
                     channel))

    for day in range(66):
        for _ in range(30):
            add(day, f"{draw.randint(8, 20):02d}:{draw.randint(0, 59):02d}:00", f"62220{draw.randint(0, 200):05d}",
                f"62220{draw.randint(0, 200):05d}", round(draw.uniform(10, 20000), 2))
    for day in range(20, 30):
        for payer in range(12):
            add(day, f"10:{payer:02d}:00", f"6222088{payer:03d}", "6222099999", 49000)
        add(day, "15:00:00", "6222099999", "6222077777", 12 * 49000 * 0.98)
    for day in (40, 41, 45, 62):
        add(day, "09:00:00", "6222055555", "6222066666", 60000, "cash")
    return rows


def _correction(rows: list[tuple]) -> list[tuple]:
    """The bank's corrections: the twelve payments into the hub on 2026-10-26 were 100 each,
    and the cash of 2026-11-10 was 40,000 (under the large-value threshold)."""
    fixed = []
    for txn_id, timestamp, src, dst, amount, currency, channel in rows:
        if dst == "6222099999" and timestamp.startswith("2026-10-26"):
            fixed.append((txn_id, timestamp, src, dst, 100, currency, channel))
        elif channel == "cash" and timestamp.startswith("2026-11-10"):
            fixed.append((txn_id, timestamp, src, dst, 40000, currency, channel))
    return fixed


def _copy(src, dst):
    shutil.copytree(src, dst)
    return dst


def _hits(run) -> dict:
    with sqlite3.connect(run / "store.sqlite") as db:
        return {r[0]: r[1:] for r in db.execute("SELECT hit_id, content, run_first, run_last FROM hits")}


def _alerts(run) -> dict:
    with sqlite3.connect(run / "store.sqlite") as db:
        return {r[0]: r[1:] for r in db.execute("SELECT alert_id, score, raised, hit_ids, window_end FROM alerts")}


def test_a_range_from_the_first_corrected_day_gives_the_hits_of_a_fresh_scan(tmp_path, capsys):
    folder = tmp_path
    rows = _bank()
    pd.DataFrame(rows, columns=COLUMNS).to_csv(folder / "bank.csv", index=False)
    pd.DataFrame(_correction(rows), columns=COLUMNS).to_csv(folder / "correction.csv", index=False)
    store, run = str(folder / "store"), folder / "run"
    assert main(["ingest", str(folder / "bank.csv"), "--into", store]) == 0
    assert main(["scan", store, "--out", str(run)]) == 0
    before = _hits(run)
    capsys.readouterr()

    assert main(["ingest", str(folder / "correction.csv"), "--into", store]) == 0
    said = capsys.readouterr().out
    assert "days to re-scan (their stored data changed): 2026-10-26, 2026-11-10" in said
    assert f"flowgraph scan {store} --from 2026-10-26 --out RUN" in said

    # the nightly T+1 after the correction leaves those days' hits as they were: it says so
    nightly = _copy(run, folder / "nightly")
    assert main(["scan", store, "--out", str(nightly), "--as-of", "2026-12-07"]) == 0
    err = capsys.readouterr().err
    assert "the stored data of 2026-10-26, 2026-11-10 changed after this run store's scans saw it" in err
    assert f"flowgraph scan {store} --from 2026-10-26 --out RUN" in err

    # what the ingest says to run, cut three ways
    fresh = folder / "fresh"
    assert main(["scan", store, "--out", str(fresh)]) == 0
    for cut in ([], ["--block-days", "3"], ["--block-days", "1"]):
        again = _copy(run, folder / f"again{len(cut)}{''.join(cut[1:])}")
        capsys.readouterr()
        assert main(["scan", store, "--out", str(again), "--from", "2026-10-26", *cut]) == 0
        # stored runs began as early as 2026-10-14 and reach into 2026-10-26: the range starts
        # there, so the correction shortens the hub's pass-through run (2026-10-21..) as a
        # fresh scan does, rather than retracting it
        assert "the range starts at 2026-10-14" in capsys.readouterr().err
        assert _hits(again) == _hits(fresh), cut
        assert _alerts(again) == _alerts(fresh), cut
    # once re-scanned, the next T+1 has nothing to say of them
    assert main(["scan", store, "--out", str(again), "--as-of", "2026-12-07"]) == 0
    assert "changed after this run store" not in capsys.readouterr().err

    # the correction changed hits: the cash of 2026-11-10 is under the threshold now
    changed = {h for h in set(before) & set(_hits(fresh)) if before[h] != _hits(fresh)[h]}
    assert changed and set(before) != set(_hits(fresh))
    with sqlite3.connect(fresh / "store.sqlite") as db:
        cash = db.execute("SELECT COUNT(*) FROM hits WHERE typology = 'large_value_single' AND txn_ids LIKE ?",
                          ("%T002111%",)).fetchone()[0]
    assert cash == 0


@pytest.mark.parametrize("days", [["--as-of", "2026-10-26"], ["--from", "2026-11-10", "--to", "2026-11-10"]])
def test_a_scan_ending_before_the_run_store_s_latest_day_is_refused(tmp_path, capsys, days):
    rows = _bank()
    pd.DataFrame(rows, columns=COLUMNS).to_csv(tmp_path / "bank.csv", index=False)
    store, run = str(tmp_path / "store"), tmp_path / "run"
    assert main(["ingest", str(tmp_path / "bank.csv"), "--into", store]) == 0
    assert main(["scan", store, "--out", str(run)]) == 0
    before = _hits(run)
    capsys.readouterr()

    # the same data: a one-day re-scan would add tolerance-band hits that later days'
    # stricter runs cover (a scan of every day has none); after a correction it would leave
    # the hits seen through later days as they were
    assert main(["scan", store, "--out", str(run), *days]) == 2
    err = capsys.readouterr().err
    first = days[1]
    assert "seen through 2026-12-07" in err and f"--from {first} --to 2026-12-07" in err and "--store" in err
    assert "Traceback" not in err
    assert _hits(run) == before

    # the scan it names runs, and changes nothing: the data is the same
    assert main(["scan", store, "--out", str(run), "--from", first, "--to", "2026-12-07"]) == 0
    assert _hits(run) == before


def test_daily_t1_with_a_skipped_day_and_a_day_run_twice_gives_the_hits_of_a_range(tmp_path, capsys):
    """Found by a sweep: a daily T+1 that skipped a day left that day unscanned, with nothing
    to say so; and a T+1 run again on a day whose data came in two parts (a weekend run
    scans Monday from what is in) retracted a run that the rest of the data shortens. Now
    the T+1 after a skipped day scans it too, and a T+1 of a day already scanned re-scans
    from where the runs reaching it began: the hits and alerts of a range over those days."""
    rows = pd.DataFrame(_bank(), columns=COLUMNS)
    day = pd.to_datetime(rows["timestamp"]).dt.strftime("%Y-%m-%d")
    store, run = str(tmp_path / "store"), tmp_path / "run"
    skipped, twice = "2026-10-23", "2026-10-27"
    part = rows[(day == twice) & (rows["src_account"].str.startswith("6222088"))].index[6:]  # the hub's later payers

    def ingest_through(last: str, leave_out=()) -> None:
        path = tmp_path / f"through-{last}-{len(leave_out)}.csv"
        rows[(day <= last) & ~rows.index.isin(leave_out)].to_csv(path, index=False)
        assert main(["ingest", str(path), "--into", store]) == 0

    for today in ("2026-10-19", "2026-10-20", "2026-10-21", "2026-10-22", skipped, "2026-10-26", twice, twice,
                  "2026-10-28", "2026-10-29", "2026-10-30"):
        first_time = today != twice or not (run / "twice").exists()
        ingest_through(today, part if today == twice and first_time else ())
        if today == skipped:
            continue
        capsys.readouterr()
        assert main(["scan", store, "--out", str(run), "--as-of", today]) == 0
        err = capsys.readouterr().err
        if today == "2026-10-26":
            assert f"and {skipped} was never scanned into it: this T+1 of 2026-10-26 scans them too" in err, err
        if today == twice and not first_time:
            assert f"this T+1 of {twice} re-scans a day already scanned" in err
        if today == twice:
            (run / "twice").mkdir(exist_ok=True)
    ranged = tmp_path / "range"
    assert main(["scan", store, "--out", str(ranged), "--from", "2026-10-19", "--to", "2026-10-30"]) == 0
    assert _hits(run) == _hits(ranged)
    assert _alerts(run) == _alerts(ranged)
    with sqlite3.connect(run / "store.sqlite") as db:
        kinds = {r[0] for r in db.execute("SELECT typology FROM hits WHERE subject LIKE '%6222099999%' OR "
                                          "accounts LIKE '%6222099999%'")}
    assert "pass_through" in kinds  # the hub's run is there, as in the range

"""The transaction store (issue 14 items 1-2): idempotent, restartable ingests into day
partitions, corrections set aside and marked for re-scan, and window-only scans that read
only the days they need and find the hits of a whole-history scan."""

import dataclasses
import json
import os
import shutil
import stat
import subprocess
import sys

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import flowgraph.scan
from flowgraph.cli import main
from flowgraph.detectors import REGISTRY
from flowgraph.errors import DataError
from flowgraph._arrow import columns_in_one_chunk, one_array, text_in_one_chunk
from flowgraph.graph import GRAPH_COLUMNS, GRAPH_DICTIONARY_COLUMNS, build_graph
from flowgraph.io import Dataset, load_dataset
from flowgraph.scan import day_fields, lookback_days, run_scan, store_window
from flowgraph.scan_config import ScanConfig
from flowgraph.schema import Validated
from flowgraph.simulate import simulate, write_simulation
from flowgraph.txstore import TransactionStore

SAME = ["hit_id", "typology", "subject", "accounts", "txn_ids", "window_start", "window_end", "run_first",
        "run_last", "amount", "in_band"]


@pytest.fixture(scope="module")
def bank(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bank")
    write_simulation(simulate(seed=2718, n_customers=700, n_days=40, patterns_per_typology=2,
                              lookalikes_per_kind=1, recruit_pool_share=0.4), folder)
    return folder, load_dataset(folder)


def _part(dataset: Dataset, rows: pd.DataFrame) -> Dataset:
    return Dataset(Validated(rows.reset_index(drop=True), pd.DataFrame(), dataset.transactions.report),
                   dataset.accounts)


@pytest.fixture(scope="module")
def store(bank, tmp_path_factory):
    """The bank in three ingests of overlapping slices of its history."""
    _, dataset = bank
    table = dataset.transactions.table
    store = TransactionStore.create(tmp_path_factory.mktemp("s") / "store")
    cut = table["timestamp"].quantile([0.4, 0.7]).tolist()
    for rows in (table[table.timestamp < cut[1]], table[table.timestamp >= cut[0]], table):
        store.ingest(_part(dataset, rows), "slice")
    return store


def _hits(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame[SAME].copy()
    frame["accounts"] = frame["accounts"].map(list)
    frame["txn_ids"] = frame["txn_ids"].map(list)
    return frame.sort_values("hit_id").reset_index(drop=True)


def test_overlapping_ingests_store_each_transaction_once(bank, store):
    _, dataset = bank
    manifests = [pd.read_json(p, typ="series") for p in sorted((store.root / "ingests").glob("*/manifest.json"))]
    n = len(dataset.transactions.table)
    assert sum(m["rows_new"] for m in manifests) == n
    assert manifests[-1]["rows_new"] == 0 and manifests[-1]["rows_unchanged"] == n
    stored = store.read_days(store.days()[0], store.days()[-1]).to_pandas()
    assert sorted(stored["txn_id"]) == sorted(dataset.transactions.table["txn_id"])
    # the first slice ends inside a day: the second added late rows to a stored day
    late_day = str(dataset.transactions.table["timestamp"].quantile(0.7).date())
    assert store.rescan_days() == [late_day]


@pytest.mark.parametrize("day_of_history", [0.5, 1.0])
def test_a_day_of_the_store_gives_the_hits_of_the_whole_file(bank, store, tmp_path, day_of_history):
    _, dataset = bank
    days = store.days()
    as_of = days[int(day_of_history * (len(days) - 1))]
    whole = run_scan(dataset, tmp_path / "whole", as_of=as_of, progress=False)
    window = run_scan(store.root, tmp_path / "window", as_of=as_of, progress=False)
    assert len(whole.hits)
    pd.testing.assert_frame_equal(_hits(window.hits), _hits(whole.hits))


def _steady_bank(n_days: int, cash_daily: float = 0.0) -> pd.DataFrame:
    """Small, unremarkable payments every business day: nothing any detector reports; with
    ``cash_daily``, person P also deposits that much cash every day (no income: a run of
    "no visible livelihood" that goes on as long as the history)."""
    days = pd.bdate_range("2026-03-02", periods=n_days)
    rng = np.random.default_rng(3)
    rows = [(f"t{d:04d}-{i}", day + pd.Timedelta(hours=9, minutes=i), f"A{rng.integers(20)}",
             f"B{rng.integers(20)}", 100.0 + i, "transfer") for d, day in enumerate(days) for i in range(6)]
    if cash_daily:
        rows += [(f"c{d:04d}", day + pd.Timedelta(hours=11), "", "P", cash_daily, "cash") for d, day in enumerate(days)]
    return pd.DataFrame(rows, columns=["txn_id", "timestamp", "src_account", "dst_account", "amount", "channel"])


STEADY_ACCOUNTS = pd.DataFrame({"account_id": ["P", "E"], "customer_id": ["CP", "CE"],
                                "party_type": ["person", "entity"]})


@pytest.mark.parametrize("cash_daily", [0.0, 3_000.0])
def test_bytes_read_for_a_day_stay_flat_as_the_history_grows(tmp_path, cash_daily):
    """However long the history (and a run that lasts all of it), a T+1 scan reads 3 L + 1
    business days before its day (its month began less than L days before), and finds what
    a scan of the whole file does."""
    config = ScanConfig()
    read, found = {}, {}
    for n_days in (100, 200):  # both longer than the window (3 L + 1 business days)
        path, accounts = tmp_path / f"h{n_days}.csv", tmp_path / "accounts.csv"
        _steady_bank(n_days, cash_daily).to_csv(path, index=False)
        STEADY_ACCOUNTS.to_csv(accounts, index=False)
        dataset = load_dataset(path, accounts=accounts)
        store = TransactionStore.create(tmp_path / f"store{n_days}")
        store.ingest(dataset, str(path))
        as_of = store.days()[-1]
        window = store_window(store, config, as_of=as_of)
        read[n_days] = (len(window.files), sum(f.stat().st_size for f in window.files))
        # 3 L + 1 business days and the day, holidays (a Golden Week)
        assert len(window.files) <= 3 * lookback_days(config) + 2 + 10
        found[n_days] = window.scanned.hits
        whole = run_scan(dataset, tmp_path / f"whole{n_days}", as_of=as_of, progress=False).hits
        pd.testing.assert_frame_equal(_hits(window.scanned.hits.assign(in_band=False)),
                                      _hits(whole.assign(in_band=False)), check_dtype=False)
        assert len(whole) == (1 if cash_daily else 0)
    # the same window: files differ only by the holidays inside it (the two end on different days)
    assert abs(read[100][0] - read[200][0]) <= 2
    assert read[200][1] <= 1.15 * read[100][1]
    if cash_daily:  # P's run of qualifying days, cut where the scanned day's month began
        for n_days, hits in found.items():
            live = hits[hits["typology"] == "trafficking_no_livelihood"]
            assert list(live["subject"]) == ["P"], n_days
            month_first = config.calendar().next_business_day(np.datetime64(hits["run_last"].max(), "M"))
            assert live["run_first"].iloc[0] == pd.Timestamp(month_first), n_days


def test_a_correction_replaces_the_stored_version_and_marks_both_days(bank, tmp_path):
    _, dataset = bank
    table = dataset.transactions.table.iloc[:200].copy()
    store = TransactionStore.create(tmp_path / "store")
    store.ingest(_part(dataset, table), "first")
    corrected = table.copy()
    corrected.loc[3, "amount"] += 1
    old_day = str(table.loc[4, "timestamp"].date())
    corrected.loc[4, "timestamp"] += pd.Timedelta(days=2)
    new_day = str(corrected.loc[4, "timestamp"].date())
    m = store.ingest(_part(dataset, corrected), "second").manifest
    assert (m["rows_new"], m["rows_replaced"], m["rows_unchanged"]) == (0, 2, 198)
    assert {old_day, new_day} <= set(store.rescan_days())
    stored = store.read_days(store.days()[0], store.days()[-1]).to_pandas().set_index("txn_id")
    assert len(stored) == 200
    assert stored.loc[table.loc[3, "txn_id"], "amount"] == corrected.loc[3, "amount"]
    assert stored.loc[table.loc[4, "txn_id"], "timestamp"] == corrected.loc[4, "timestamp"]
    superseded = pd.read_parquet(store.root / "superseded" / "000002.parquet")
    assert sorted(superseded["txn_id"]) == sorted(table.loc[[3, 4], "txn_id"])
    assert store.ingest(_part(dataset, corrected), "again").manifest["rows_unchanged"] == 200


def test_a_killed_scan_of_a_store_resumes_over_the_same_files_and_not_once_one_is_corrected(bank, tmp_path):
    """A run over a store is known by the day files it read (their size and modification
    time), not by a hash of their rows: killed after a chunk, the same command resumes it
    and finds the hits of a scan that was never killed; once a day it reads is written
    again (a corrected amount), the same command starts a new run."""
    _, dataset = bank
    store = TransactionStore.create(tmp_path / "store")
    store.ingest(dataset, "all")
    days = store.days()
    config = dataclasses.replace(ScanConfig(), chunk_days=3)
    span = dict(first_day=days[20], last_day=days[-1], progress=False)
    fresh = run_scan(store.root, tmp_path / "fresh", config, **span)
    assert len(fresh.hits) and fresh.manifest["data_fingerprint"].startswith("files-")

    class Killed(Exception):
        pass

    def kill(chunk):
        if chunk == 1:
            raise Killed

    for out in ("o", "o2"):
        with pytest.raises(Killed):
            run_scan(store.root, tmp_path / out, config, on_chunk=kill, **span)
    resumed = run_scan(store.root, tmp_path / "o", config, **span)
    assert resumed.manifest["resumed"]
    pd.testing.assert_frame_equal(_hits(resumed.hits), _hits(fresh.hits))
    table = dataset.transactions.table
    corrected = table.copy()
    row = table.index[table["timestamp"].dt.strftime("%Y-%m-%d") == days[-3]][0]
    corrected.loc[row, "amount"] += 1
    assert store.ingest(_part(dataset, corrected), "correction").manifest["rows_replaced"] == 1
    again = run_scan(store.root, tmp_path / "o2", config, **span)
    assert not again.manifest["resumed"]


def test_a_killed_ingest_is_completed_by_the_next(bank, tmp_path):
    _, dataset = bank
    table = dataset.transactions.table.iloc[:3000]

    def killed(day):
        raise KeyboardInterrupt

    store = TransactionStore.create(tmp_path / "store")
    with pytest.raises(KeyboardInterrupt):
        store.ingest(_part(dataset, table), "killed", on_day_written=killed)
    m = store.ingest(_part(dataset, table), "rerun").manifest
    assert m["rows_new"] == 0 and m["rows_unchanged"] == len(table)  # the first one was completed first
    stored = store.read_days(store.days()[0], store.days()[-1]).to_pandas()
    assert sorted(stored["txn_id"]) == sorted(table["txn_id"])
    for path in store.root.rglob("*"):
        assert stat.S_IMODE(path.stat().st_mode) == (0o700 if path.is_dir() else 0o600), path


def test_lookback_covers_every_day_parameter_of_the_registry():
    for name, entry in REGISTRY.items():
        fields = day_fields(type(entry.default))
        assert fields, name  # every detector looks back over some days
        for field in fields:  # a longer window of any of them lengthens the lookback
            longer = dataclasses.replace(entry.default, **{field: 60})
            assert lookback_days(ScanConfig(detector_params={name: longer})) >= 60, (name, field)
    assert lookback_days(ScanConfig()) == 25  # the no-livelihood window (a month and a margin); night cash 20


GOOD = "txn_id,timestamp,src_account,dst_account,amount\nt1,2026-11-02 09:00,A,B,120.50\nt2,2026-11-03 10:00,B,C,80\n"


def test_hostile_inputs_exit_2_or_3_naming_what(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("FLOWGRAPH_KEY_FILE", str(tmp_path / "k" / "pseudonym.key"))
    (tmp_path / "empty.csv").write_text("")
    (tmp_path / "header.csv").write_text("txn_id,timestamp,src_account,dst_account,amount\n")
    (tmp_path / "all_bad.csv").write_text("txn_id,timestamp,src_account,dst_account,amount\nt1,never,A,B,-1\n")
    (tmp_path / "good.csv").write_text(GOOD)
    (tmp_path / "not_a_store").mkdir()
    (tmp_path / "not_a_store" / "notes.txt").write_text("x")
    store = str(tmp_path / "store")
    assert main(["ingest", str(tmp_path / "empty.csv"), "--into", store]) == 3
    assert "empty" in capsys.readouterr().err
    assert main(["ingest", str(tmp_path / "header.csv"), "--into", store]) == 0
    assert main(["ingest", str(tmp_path / "all_bad.csv"), "--into", store]) == 3
    assert "all 1 rows were rejected" in capsys.readouterr().err
    assert "BAD_TIMESTAMP" in (tmp_path / "store" / "ingests" / "000002" / "rejects.csv").read_text()
    assert main(["scan", store, "--as-of", "2026-11-02", "--out", str(tmp_path / "o")]) == 3  # nothing stored
    assert main(["ingest", str(tmp_path / "good.csv"), "--into", str(tmp_path / "not_a_store")]) == 2
    assert "not_a_store" in capsys.readouterr().err
    assert main(["scan", str(tmp_path / "not_a_store"), "--out", str(tmp_path / "o")]) == 3
    assert main(["ingest", str(tmp_path / "good.csv"), "--into", store]) == 0
    assert main(["scan", store, "--as-of", "2027-01-04", "--out", str(tmp_path / "o")]) == 2
    assert "2026-11-02 .. 2026-11-03" in capsys.readouterr().err
    assert main(["scan", store, "--as-of", "2026-11-03", "--out", str(tmp_path / "o")]) == 0
    assert main(["ingest", str(tmp_path / "good.csv"), "--out", str(tmp_path / "x"), "--into", store]) == 2


def test_a_passed_through_column_keeps_one_type_and_a_conflict_is_refused_before_writing(tmp_path, capsys,
                                                                                         monkeypatch):
    """Hand-built files (not the simulator's) with a column the store keeps beside the
    transactions, typed differently from file to file: a value that converts to the stored
    type is stored so, one that does not stops the ingest with exit 3 before anything is
    written, and the store goes on taking files and scanning (it was wedged: every later
    ingest, and every scan across both days, ended in a traceback)."""
    monkeypatch.setenv("FLOWGRAPH_KEY_FILE", str(tmp_path / "k" / "pseudonym.key"))
    pd.DataFrame({"txn_id": ["A1", "A2"], "timestamp": pd.to_datetime(["2026-11-02 10:00", "2026-11-02 11:00"]),
                  "src_account": ["X1", "X2"], "dst_account": ["X2", "X3"], "amount": [100.0, 200.0],
                  "memo": [1, 2]}).to_parquet(tmp_path / "a.parquet", index=False)
    head = "txn_id,timestamp,src_account,dst_account,amount,memo\n"
    (tmp_path / "text.csv").write_text(head + "B1,2026-11-02T12:00:00,X1,X3,300,hello\n")
    (tmp_path / "number.csv").write_text(head + "C1,2026-11-03T12:00:00,X1,X3,300,7\n")
    (tmp_path / "none.csv").write_text("txn_id,timestamp,src_account,dst_account,amount\nD1,2026-11-04T12:00:00,X1,X3,300\n")
    store = tmp_path / "store"
    assert main(["ingest", str(tmp_path / "a.parquet"), "--into", str(store)]) == 0
    files = sorted((store / "transactions").rglob("*.parquet"))
    before = [f.read_bytes() for f in files]
    assert main(["ingest", str(tmp_path / "text.csv"), "--into", str(store)]) == 3
    err = capsys.readouterr().err
    assert "text.csv: column 'memo'" in err and "int64" in err and "Traceback" not in err
    assert [f.read_bytes() for f in files] == before and not (store / "ingests" / "000002").exists()
    for name in ("number.csv", "none.csv"):
        assert main(["ingest", str(tmp_path / name), "--into", str(store)]) == 0
    stored = TransactionStore.open(store).read_days("2026-11-02", "2026-11-04")
    assert stored.schema.field("memo").type == pa.int64() and stored.column("memo").to_pylist() == [1, 2, 7, None]
    assert main(["scan", str(store), "--out", str(tmp_path / "o")]) == 0


def test_a_store_whose_days_disagree_on_a_column_still_scans_and_says_so_to_an_ingest(tmp_path, capsys,
                                                                                     monkeypatch):
    """A store an earlier version let two types of one passed-through column into (one
    day's file rewritten so here): a scan reads only the columns it needs; an ingest that
    must read both days whole stops with exit 3 naming the column and both days."""
    monkeypatch.setenv("FLOWGRAPH_KEY_FILE", str(tmp_path / "k" / "pseudonym.key"))
    head = "txn_id,timestamp,src_account,dst_account,amount,memo\n"
    (tmp_path / "two.csv").write_text(head + "B1,2026-11-02T12:00:00,X1,X3,300,x\nC1,2026-11-03T12:00:00,X1,X3,300,y\n")
    store = tmp_path / "store"
    assert main(["ingest", str(tmp_path / "two.csv"), "--into", str(store)]) == 0
    day = store / "transactions" / "day=2026-11-03" / "part.parquet"
    table = pq.read_table(day)
    pq.write_table(table.set_column(table.schema.get_field_index("memo"), "memo", pa.array([5], pa.int64())), day)
    assert main(["scan", str(store), "--out", str(tmp_path / "o")]) == 0
    assert main(["scan", str(store), "--as-of", "2026-11-03", "--out", str(tmp_path / "t1")]) == 0
    with pytest.raises(DataError, match="column 'memo'.*day=2026-11-02.*day=2026-11-03"):
        TransactionStore.open(store).read_days("2026-11-02", "2026-11-03")


def test_a_store_scan_refuses_the_options_that_say_how_to_read_a_file(tmp_path, capsys, monkeypatch):
    """--accounts, --rates, --map and the like act where rows are read: at ingest. A scan of
    a store took them, changed nothing, and recorded the rates it had not used."""
    monkeypatch.setenv("FLOWGRAPH_KEY_FILE", str(tmp_path / "k" / "pseudonym.key"))
    (tmp_path / "good.csv").write_text(GOOD)
    (tmp_path / "accounts.csv").write_text("account_id,customer_id,party_type\nA,C1,entity\n")
    store = str(tmp_path / "store")
    assert main(["ingest", str(tmp_path / "good.csv"), "--into", store]) == 0
    rates = str(tmp_path / "rates.csv")
    pd.DataFrame({"date": ["2026-01-01"], "currency": ["USD"], "cny_per_unit": [7.0],
                  "usd_per_unit": [1.0]}).to_csv(rates, index=False)
    capsys.readouterr()
    for option in (["--rates", rates], ["--accounts", str(tmp_path / "accounts.csv")], ["--map", "txn_id=id"],
                   ["--timestamp-format", "%d/%m/%Y"]):
        assert main(["scan", store, "--out", str(tmp_path / "o"), *option]) == 2, option
        err = capsys.readouterr().err
        assert option[0] in err and f"flowgraph ingest FILE --into {store}" in err
    assert not (tmp_path / "o" / "manifest.json").exists()
    assert main(["scan", store, "--out", str(tmp_path / "o")]) == 0


def test_a_store_scan_records_the_rates_its_ingests_converted_with(tmp_path, monkeypatch):
    """A store's CNY and USD amounts were converted when they were ingested, with that
    ingest's rates: each ingest's manifest records its table, and a scan's manifest lists
    them with the ingests that used each (it recorded only its own table, which it did not
    use for them). Whole and in blocks alike."""
    monkeypatch.setenv("FLOWGRAPH_KEY_FILE", str(tmp_path / "k" / "pseudonym.key"))
    (tmp_path / "good.csv").write_text(GOOD)
    (tmp_path / "more.csv").write_text("txn_id,timestamp,src_account,dst_account,amount,currency\n"
                                       "t3,2026-11-04 09:00,C,A,99.90,USD\n")
    rates = tmp_path / "bank_rates.csv"
    pd.DataFrame({"date": ["2026-01-01", "2026-01-01"], "currency": ["CNY", "USD"], "cny_per_unit": [1.0, 7.1],
                  "usd_per_unit": [0.1408, 1.0]}).to_csv(rates, index=False)
    store = tmp_path / "store"
    assert main(["ingest", str(tmp_path / "good.csv"), "--into", str(store), "--rates", str(rates)]) == 0
    assert main(["ingest", str(tmp_path / "more.csv"), "--into", str(store)]) == 0
    first, second = (json.loads((store / "ingests" / i / "manifest.json").read_text())["rates"]
                     for i in ("000001", "000002"))
    assert first["source"] == str(rates) and first["illustrative"] is False
    assert "default_rates.csv" in second["source"] and second["illustrative"] is True
    expected = [{**first, "ingests": ["000001"]}, {**second, "ingests": ["000002"]}]
    for name, options in (("whole", []), ("blocks", ["--block-days", "1"])):
        assert main(["scan", str(store), "--out", str(tmp_path / name), *options]) == 0
        manifest = json.loads((tmp_path / name / "manifest.json").read_text())
        assert manifest["rates_at_ingest"] == expected, name
        assert manifest["rates"]["illustrative"] is True  # the scan's own table, for other currencies
    # a file scan converted every amount itself: nothing was ingested
    assert main(["scan", str(tmp_path / "good.csv"), "--out", str(tmp_path / "file")]) == 0
    assert "rates_at_ingest" not in json.loads((tmp_path / "file" / "manifest.json").read_text())
    # an ingest made before ingests recorded their rates is listed as such
    older = store / "ingests" / "000002" / "manifest.json"
    older.write_text(json.dumps({k: v for k, v in json.loads(older.read_text()).items() if k != "rates"}))
    assert [(e["source"], e["ingests"]) for e in TransactionStore.open(store).ingest_rates()] == \
        [(str(rates), ["000001"]), (None, ["000002"])]


def test_a_store_with_an_ingest_stopped_partway_is_not_scanned_until_it_is_completed(tmp_path, capsys,
                                                                                     monkeypatch):
    """An ingest killed between its days (or whose disk refused a file) leaves some days
    written: a scan then read part of it and exited 0. It is refused (exit 3) until an
    ingest completes the stopped one."""
    monkeypatch.setenv("FLOWGRAPH_KEY_FILE", str(tmp_path / "k" / "pseudonym.key"))
    (tmp_path / "good.csv").write_text(GOOD)
    store = TransactionStore.create(tmp_path / "store")

    def stop(day):
        raise KeyboardInterrupt  # killed after its first day

    with pytest.raises(KeyboardInterrupt):
        store.ingest(load_dataset(tmp_path / "good.csv"), str(tmp_path / "good.csv"), on_day_written=stop)
    assert main(["scan", str(store.root), "--out", str(tmp_path / "o")]) == 3
    err = capsys.readouterr().err
    assert "ingest 000001" in err and "not complete" in err and "run that ingest again" in err
    assert main(["ingest", str(tmp_path / "good.csv"), "--into", str(store.root)]) == 0
    assert main(["scan", str(store.root), "--out", str(tmp_path / "o")]) == 0
    assert store.read_days("2026-11-02", "2026-11-03").num_rows == 2


def test_empty_cells_of_a_csv_are_no_value_in_a_column_the_store_holds_as_numbers(tmp_path, monkeypatch):
    monkeypatch.setenv("FLOWGRAPH_KEY_FILE", str(tmp_path / "k" / "pseudonym.key"))
    pd.DataFrame({"txn_id": ["A1"], "timestamp": pd.to_datetime(["2026-11-02 10:00"]), "src_account": ["X1"],
                  "dst_account": ["X2"], "amount": [100.0], "memo": [1]}).to_parquet(tmp_path / "a.parquet")
    (tmp_path / "b.csv").write_text("txn_id,timestamp,src_account,dst_account,amount,memo\n"
                                    "B1,2026-11-03T12:00:00,X1,X3,300,\nB2,2026-11-03T13:00:00,X1,X3,300,4\n")
    store = tmp_path / "store"
    for name in ("a.parquet", "b.csv"):
        assert main(["ingest", str(tmp_path / name), "--into", str(store)]) == 0
    assert TransactionStore.open(store).read_days("2026-11-02", "2026-11-03").column("memo").to_pylist() == \
        [1, None, 4]


def test_two_ingests_into_one_store_at_once_take_turns(tmp_path):
    """Two ingest commands started together (a scheduler's overlap): the second waits for
    the first and both land whole, as two numbered ingests (both took ingest 000002 and
    failed reading each other's half-written files)."""
    rows = lambda k: "".join(f"{k}{i},2026-11-0{2 + i % 2} 09:{i % 60:02d},A{i % 7},B{i % 5},{100 + i}\n"
                             for i in range(3000))  # noqa: E731
    for k in ("p", "q"):
        (tmp_path / f"{k}.csv").write_text("txn_id,timestamp,src_account,dst_account,amount\n" + rows(k))
    store = tmp_path / "store"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    runs = [subprocess.Popen([sys.executable, "-m", "flowgraph.cli", "ingest", str(tmp_path / f"{k}.csv"),
                              "--into", str(store)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            for k in ("p", "q")]
    outcomes = [(run.wait(timeout=300), run.stderr.read().decode()) for run in runs]
    assert [code for code, _ in outcomes] == [0, 0], outcomes
    assert sorted(p.name for p in (store / "ingests").iterdir()) == ["000001", "000002"]
    stored = TransactionStore.open(store).read_days("2026-11-02", "2026-11-03")
    assert stored.num_rows == 6000 and len(set(stored.column("txn_id").to_pylist())) == 6000


@pytest.mark.parametrize("damage", ["cut", "empty", "marker", "marker_gone", "accounts", "day_gone", "file_gone",
                                    "accounts_gone", "index_gone"])
def test_a_damaged_store_is_exit_3_naming_the_file_and_the_fix(tmp_path, capsys, monkeypatch, damage):
    """A store file cut short, emptied, overwritten or deleted (a disk fault, a bad copy):
    scan and ingest end with exit 3 and one message naming the file and the fix, never a
    traceback; a day file or accounts snapshot gone is not read around (the scan exited 0
    with other hits)."""
    monkeypatch.setenv("FLOWGRAPH_KEY_FILE", str(tmp_path / "k" / "pseudonym.key"))
    (tmp_path / "good.csv").write_text(GOOD)
    store = tmp_path / "store"
    assert main(["ingest", str(tmp_path / "good.csv"), "--into", str(store)]) == 0
    capsys.readouterr()
    day = store / "transactions" / "day=2026-11-02" / "part.parquet"
    accounts, index = max((store / "accounts").glob("*.parquet")), min((store / "index").rglob("*.parquet"))
    named = {"marker": store / "txstore.json", "marker_gone": store / "txstore.json", "accounts": accounts,
             "accounts_gone": accounts, "index_gone": index}.get(damage, day)
    if damage == "cut":
        day.write_bytes(day.read_bytes()[: day.stat().st_size // 2])
    elif damage == "empty":
        day.write_bytes(b"")
    elif damage == "marker":
        named.write_text("{bad")
    elif damage == "accounts":
        named.write_bytes(named.read_bytes()[:100])
    elif damage == "day_gone":
        shutil.rmtree(day.parent)
    else:
        named.unlink()
    # an ingest into a folder without the marker is refused as not a store (exit 2)
    commands = [["ingest", str(tmp_path / "good.csv"), "--into", str(store)]] if damage != "marker_gone" else []
    if damage != "index_gone":  # a scan does not read the index; an ingest would store its ids twice
        commands.append(["scan", str(store), "--out", str(tmp_path / "o")])
    for command in commands:
        assert main(command) == 3, command
        err = capsys.readouterr().err
        assert str(named.name) in err and "Fix:" in err and "Traceback" not in err, err


def test_a_scan_reads_account_ids_as_dictionaries_from_day_files_of_any_writer(bank, tmp_path, monkeypatch):
    """A scan reads a store's account ids as dictionaries (GRAPH_DICTIONARY_COLUMNS), not as
    a text per row. Day files as other writers leave them read as the same ids: one
    without dictionary pages, one with large text ids, one whose receivers are all missing
    (cash). A scan finds the same hits as one reading the ids as text."""
    _, dataset = bank
    store = TransactionStore.create(tmp_path / "store")
    store.ingest(dataset, "bank")
    days = store.days()
    files = [store.root / "transactions" / f"day={d}" / "part.parquet" for d in days[5:8]]
    plain, large, cash = (pq.read_table(f) for f in files)
    pq.write_table(plain, files[0], use_dictionary=False)
    at = large.schema.get_field_index("src_account")
    pq.write_table(large.set_column(at, "src_account", large.column(at).cast(pa.large_string())), files[1])
    at = cash.schema.get_field_index("dst_account")
    pq.write_table(cash.set_column(at, "dst_account", pa.nulls(cash.num_rows, pa.string())), files[2])

    text = store.read_days(days[0], days[-1], GRAPH_COLUMNS)
    coded = store.read_days(days[0], days[-1], GRAPH_COLUMNS, GRAPH_DICTIONARY_COLUMNS)
    for column in GRAPH_DICTIONARY_COLUMNS:
        assert pa.types.is_dictionary(coded.schema.field(column).type)
        assert coded.column(column).cast(text.schema.field(column).type).to_pylist() == text.column(column).to_pylist()
    assert coded.drop_columns(list(GRAPH_DICTIONARY_COLUMNS)).equals(text.drop_columns(list(GRAPH_DICTIONARY_COLUMNS)))

    as_dictionaries = run_scan(store.root, tmp_path / "coded", progress=False).hits
    monkeypatch.setattr(flowgraph.scan, "GRAPH_DICTIONARY_COLUMNS", ())
    as_text = run_scan(store.root, tmp_path / "text", progress=False).hits
    assert len(as_text) > 0
    pd.testing.assert_frame_equal(_hits(as_dictionaries), _hits(as_text))


def test_a_store_read_holds_each_text_column_in_one_array_and_the_graph_takes_its_ids_from_it(store):
    """A scan's read of a store (a chunk per day file) gives each text column as one Arrow
    array (text_in_one_chunk): the graph's transaction ids are that array, not a second
    copy, and they are the ids the day files hold, in their order."""
    days = store.days()
    chunked = store.read_days(days[0], days[-1], GRAPH_COLUMNS, GRAPH_DICTIONARY_COLUMNS)
    assert chunked.column("txn_id").num_chunks > 1  # else there is nothing to join
    dataset = store.dataset(days[0], days[-1], GRAPH_COLUMNS, GRAPH_DICTIONARY_COLUMNS)
    ids = pa.array(dataset.transactions.table["txn_id"])
    assert not isinstance(ids, pa.ChunkedArray)
    assert ids.to_pylist() == chunked.column("txn_id").to_pylist()
    graph = build_graph(dataset.transactions.table, dataset.accounts.table)
    assert graph.txn_id_arrow.buffers()[2].address == ids.buffers()[2].address
    assert graph.txn_id_arrow.take(pa.array(graph.txn_pos)).to_pylist() == \
        [chunked.column("txn_id")[int(i)].as_py() for i in graph.txn_pos]


def test_text_in_one_chunk_joins_text_columns_only():
    """Text columns (string, large string) become one chunk with the same values, missing
    ones included; dictionaries, numbers and columns already in one chunk are left as they are."""
    text = pa.chunked_array([pa.array(["a", None]), pa.array([], pa.string()), pa.array(["ü", "b"])])
    large = pa.chunked_array([pa.array(["x"], pa.large_string()), pa.array([None, "y", "z"], pa.large_string())])
    coded = pa.chunked_array([pa.array(["p", "q"]).dictionary_encode(), pa.array(["q", "r"]).dictionary_encode()])
    numbers = pa.chunked_array([pa.array([1, 2]), pa.array([3, 4])])
    single = pa.chunked_array([pa.array(["s", "t", "u", "v"])])
    table = pa.table({"text": text, "large": large, "coded": coded, "numbers": numbers, "single": single})
    joined = text_in_one_chunk(table, pa.system_memory_pool())
    assert joined.schema == table.schema
    assert [joined.column(c).num_chunks for c in joined.column_names] == [1, 1, 2, 2, 1]
    assert joined.to_pydict() == table.to_pydict()
    assert joined.column("single").chunk(0).buffers()[2].address == single.chunk(0).buffers()[2].address
    assert text_in_one_chunk(pa.table({"text": pa.chunked_array([], pa.string())})).column("text").num_chunks == 0


def test_one_array_takes_a_single_chunk_as_it_is_and_joins_the_rest():
    """A chunked array of one chunk that starts at its buffers' first value is that chunk,
    not a copy (Arrow's ``combine_chunks`` copies it); a sliced chunk, several chunks and
    none are joined, with the same values."""
    text, lists = pa.array(["a", None, "ü"]), pa.array([["t1", "t2"], [], None])
    assert one_array(text) is text
    assert one_array(pa.chunked_array([text])).buffers()[2].address == text.buffers()[2].address
    assert one_array(pa.chunked_array([lists])).values.buffers()[2].address == lists.values.buffers()[2].address
    sliced = one_array(pa.chunked_array([text[1:]]))
    assert sliced.offset == 0 and sliced.to_pylist() == [None, "ü"]
    assert one_array(pa.chunked_array([text, text[:1]])).to_pylist() == ["a", None, "ü", "a"]
    assert one_array(pa.chunked_array([], pa.string())).to_pylist() == []


def test_columns_in_one_chunk_joins_arrow_columns_and_keeps_their_types(monkeypatch):
    """Arrow columns of a frame (text, lists of text) put together from several frames
    become one chunk with the same values and dtypes; numpy columns are left as they are,
    and a column whose joined offsets would overflow stays in its chunks."""
    parts = [pd.DataFrame({"hit_id": pd.Series(ids, dtype="str"), "n": np.arange(len(ids)),
                           "txn_ids": pd.Series(pd.arrays.ArrowExtensionArray(pa.array(lists, pa.list_(pa.string()))))})
             for ids, lists in [(["h1", None], [["t1", "ü"], []]), (["h3"], [None]),
                                (["h4", "h5"], [["t\"9"], ["t2"]])]]
    frame = pd.concat(parts, ignore_index=True)
    joined = columns_in_one_chunk(frame)
    assert [pa.chunked_array(pa.array(joined[c].array)).num_chunks for c in ("hit_id", "txn_ids")] == [1, 1]
    pd.testing.assert_frame_equal(joined, frame)
    assert np.shares_memory(joined["n"].to_numpy(), frame["n"].to_numpy())

    def overflow(chunks, memory_pool=None):
        raise pa.ArrowCapacityError("offset overflow")

    monkeypatch.setattr(pa, "concat_arrays", overflow)
    kept = columns_in_one_chunk(frame)
    assert pa.chunked_array(pa.array(kept["txn_ids"].array)).num_chunks == 3
    pd.testing.assert_frame_equal(kept, frame)


def test_a_range_reads_one_window_further_back_at_first_than_a_t1_scan_and_finds_the_same(tmp_path, monkeypatch):
    """A range scan of a store starts its first read L business days (one window) before
    where a T+1 scan of its first day starts (a cluster that grew from window to window
    then need not make it read again), and reads once when nothing starts earlier; its
    hits are those of a scan of the whole history."""
    config = ScanConfig()
    path = tmp_path / "h.csv"
    _steady_bank(200, cash_daily=3_000.0).to_csv(path, index=False)
    STEADY_ACCOUNTS.to_csv(tmp_path / "accounts.csv", index=False)
    store = TransactionStore.create(tmp_path / "store")
    store.ingest(load_dataset(path, accounts=tmp_path / "accounts.csv"), str(path))
    reads = []

    def read(first, last, columns=None, dictionary_columns=(), _read=store.dataset):
        reads.append(first)
        return _read(first, last, columns, dictionary_columns)

    monkeypatch.setattr(store, "dataset", read)
    day = "2026-10-14"  # mid-month, 160 business days into the history
    store_window(store, config, as_of=day)
    window = store_window(store, config, first_day=day, last_day="2026-10-20")
    assert len(reads) == 2  # one read each
    calendar = config.calendar()
    assert len(calendar.business_days(np.datetime64(reads[1]), np.datetime64(reads[0]))) - 1 == lookback_days(config)
    whole = run_scan(load_dataset(path, accounts=tmp_path / "accounts.csv"), tmp_path / "o", first_day=day,
                     last_day="2026-10-20", progress=False).hits
    assert len(whole) > 0 and sorted(window.scanned.hits["hit_id"]) == sorted(whole["hit_id"])


def test_a_read_that_must_go_back_goes_to_the_earliest_run_traced_and_no_further(tmp_path, monkeypatch):
    """When a scan of a store traces a run that starts where its first read is not yet
    exact, it reads again from 2 L + 1 business days before that run, and one window more
    (not twice as far back as before, nor the whole history); the graph holds only the
    columns it reads (a simulator's labels stay on disk). Only the detector that traced it
    runs again: the others keep what they found, their evidence moved to the wider
    graph's edges, and the hits are exactly those every detector finds on that graph."""
    config, calendar = ScanConfig(), ScanConfig().calendar()
    write_simulation(simulate(seed=5, n_customers=400, n_days=200, patterns_per_typology=2, lookalikes_per_kind=1,
                              recruit_pool_share=0.6), tmp_path)
    store = TransactionStore.create(tmp_path / "store")
    store.ingest(load_dataset(tmp_path), str(tmp_path))
    lookback = lookback_days(config)
    reads, untrusted, ran = [], [], []

    def traced(graph, config, name, days, _detect=flowgraph.scan._detector_hits):
        part = _detect(graph, config, name, days)
        ran[-1].append(name)
        if name == "layered" and not untrusted:  # a run starting 10 business days into the first read
            untrusted.append(pd.Timestamp(graph.business_days[10]))
            part = part._replace(earliest=untrusted[0])
        return part

    monkeypatch.setattr(flowgraph.scan, "_detector_hits", traced)

    def read(first, last, columns=None, dictionary_columns=(), _read=store.dataset):
        dataset = _read(first, last, columns, dictionary_columns)
        reads.append((first, list(dataset.transactions.table.columns)))
        ran.append([])
        return dataset

    monkeypatch.setattr(store, "dataset", read)
    window = store_window(store, config, first_day=store.days()[-14], last_day=store.days()[-1])
    assert len(reads) == 2 and reads[1][0] > store.days()[0]
    back = calendar.business_days(window.graph.business_days[0], untrusted[0].to_datetime64())
    assert len(back) == 3 * lookback + 2
    for _, columns in reads:
        assert "txn_id" in columns and set(columns) <= set(GRAPH_COLUMNS)
    assert sorted(ran[0]) == sorted(REGISTRY) and ran[1] == ["layered"]
    everything = flowgraph.scan.scan_hits(window.graph, config, window.days)
    hits = window.scanned.hits
    moved = hits["detector"] != "layered"
    assert moved.sum() > 0 and (~moved).sum() > 0  # kept parts with evidence, and the one run again
    pd.testing.assert_frame_equal(hits, everything.hits)
    assert window.scanned.evidence_edges.equals(everything.evidence_edges)
    assert window.scanned.earliest_run_first == everything.earliest_run_first
    # a part whose evidence is not where the shift puts it is left out (its detector runs again)
    parts = flowgraph.scan.detector_parts(window.graph, config, window.days, list(REGISTRY))
    assert flowgraph.scan._parts_moved(parts, window.graph, 0).keys() == parts.keys()
    found = {name for name, part in parts.items() if any(len(frame) for frame in part.frames)}
    assert len(found) >= 3 and set(flowgraph.scan._parts_moved(parts, window.graph, 1)) == set(parts) - found


def test_an_ingest_into_a_store_says_which_days_rest_on_estimated_holidays(amlsim_dir, tmp_path, capsys,
                                                                           monkeypatch):
    """AMLSim counts steps; an ingest places them on business days for good. From
    2026-12-01 the steps run into 2027, whose holidays are estimated: ``ingest --out`` said
    so, ``ingest --into`` said nothing."""
    monkeypatch.setenv("FLOWGRAPH_KEY_FILE", str(tmp_path / "k" / "pseudonym.key"))
    folder = str(amlsim_dir / "20K_cycle200")
    assert main(["ingest", folder, "--into", str(tmp_path / "store"), "--amlsim-start", "2026-12-01"]) == 0
    err = capsys.readouterr().err
    assert "calendar: holidays for 2027" in err and "estimated" in err
    assert main(["ingest", folder, "--into", str(tmp_path / "old"), "--amlsim-start", "2025-01-02"]) == 0
    assert "calendar:" not in capsys.readouterr().err  # 2025 is known

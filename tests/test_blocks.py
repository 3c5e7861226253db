"""Blocks of a store range sized by the transactions they read (flowgraph.blocks): a range
whose read does not fit in the memory given runs in the longest blocks that do, with the
hits of one read; the planned reads are the store_window's reads; a cluster's blocks fit in a
worker thread's memory; a plan that cannot fit says so."""

import json
import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

import flowgraph.dask_scan
from flowgraph.blocks import (PEAK_BYTES_PER_ONE_READ_TXN, PEAK_BYTES_PER_READ_TXN, day_blocks, default_memory_bytes,
                              machine_memory_bytes, plan_blocks)
from flowgraph.cli import main
from flowgraph.io import load_dataset
from flowgraph.scan import run_scan, store_scan_days, store_window
from flowgraph.scan_config import ScanConfig
from flowgraph.simulate import simulate, write_simulation
from flowgraph.txstore import TransactionStore

SAME = ["hit_id", "typology", "subject", "txn_ids", "window_start", "window_end", "run_first", "run_last",
        "amount", "utilisation", "in_band"]


@pytest.fixture(scope="module")
def thin(tmp_path_factory):
    """A small bank over a long history: 300 business days, about 44,000 transactions, so
    a block's read (its days and 4 L + 1 business days before them) is a part of it."""
    folder = tmp_path_factory.mktemp("thin")
    write_simulation(simulate(seed=3, n_customers=150, n_days=300, patterns_per_typology=1, lookalikes_per_kind=0,
                              recruit_pool_share=0.6), folder)
    store = TransactionStore.create(folder / "store")
    store.ingest(load_dataset(folder), str(folder))
    return store


@pytest.fixture(scope="module")
def hand_built(tmp_path_factory):
    """A store of a hand-written CSV dated after today (2027, whose holidays are
    estimated): day k of the year holds k % 7 + 1 small transfers (none reaches a
    threshold, so a scan reads once), including weekend days."""
    folder = tmp_path_factory.mktemp("hand")
    rows = []
    for k, day in enumerate(pd.date_range("2027-01-04", "2027-12-31", freq="D")):
        for j in range(k % 7 + 1):
            rows.append({"txn_id": f"T{k:03d}-{j}", "timestamp": f"{day:%Y-%m-%d} 10:{j:02d}:00",
                         "src_account": f"A{(k + j) % 13:02d}", "dst_account": f"B{(k * 3 + j) % 11:02d}",
                         "amount": 12.5 + j, "currency": "CNY", "channel": "transfer"})
    path = folder / "in.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    store = TransactionStore.create(folder / "store")
    store.ingest(load_dataset(path), str(path))
    return store, pd.DataFrame(rows)


def _days(store, config):
    calendar = config.calendar()
    first, last, _ = store_scan_days(store, calendar)
    return calendar.business_days(first, last)


def _hits(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame[SAME].copy()
    frame["txn_ids"] = frame["txn_ids"].map(list)
    return frame.sort_values("hit_id").reset_index(drop=True)


def test_a_range_that_does_not_fit_runs_in_the_longest_blocks_that_do(thin, tmp_path, monkeypatch):
    config = ScanConfig()
    days = _days(thin, config)
    total = sum(thin.day_rows().values())
    taken = []
    monkeypatch.setattr(flowgraph.dask_scan, "scan_block",
                        lambda *a, _here=flowgraph.dask_scan.scan_block: taken.append(a[2:4]) or _here(*a))
    whole = run_scan(thin.root, tmp_path / "whole", block_memory=total * PEAK_BYTES_PER_READ_TXN,
                     progress=False)
    assert taken == []  # the whole read fits: one window, read once
    memory = int(0.75 * total * PEAK_BYTES_PER_READ_TXN)
    plan = plan_blocks(thin, config, days, memory)
    assert len(plan.blocks) > 1 and plan.fits
    # the longest that fit: the next longer equal cut does not
    longer = math.ceil(len(days) / (len(plan.blocks) - 1))
    assert not plan_blocks(thin, config, days, memory, longer, fixed=True).fits
    blocked = run_scan(thin.root, tmp_path / "blocks", block_memory=memory, progress=False)
    assert taken == plan.blocks
    assert len(whole.hits) > 50
    pd.testing.assert_frame_equal(_hits(blocked.hits), _hits(whole.hits), check_dtype=False)
    assert blocked.manifest["block_plan"]["n_blocks"] == len(plan.blocks)
    assert blocked.manifest["block_plan"]["note"] is None
    assert blocked.manifest["block_plan"]["max_read_txns"] * PEAK_BYTES_PER_READ_TXN <= memory


def test_a_planned_read_is_what_the_block_reads(hand_built):
    """The rows a plan counts for a block are those its store_window reads (and at most one
    stored day more: the day after a block is counted whether or not it is read)."""
    store, rows = hand_built
    config = ScanConfig()
    days = _days(store, config)
    per_day = rows.assign(day=rows["timestamp"].str[:10]).groupby("day").size()
    plan = plan_blocks(store, config, days, 10 ** 12, 60, fixed=True)
    assert [b[0] for b in plan.blocks] == [str(d) for d in days[::60]]
    reads = []
    for first, last in plan.blocks:
        window = store_window(store, config, first_day=first, last_day=last)
        read = [f.parent.name.removeprefix("day=") for f in window.files]
        reads.append(int(per_day.loc[read].sum()))
        after = per_day.index[per_day.index > read[-1]]
        assert window.graph.n_edges == reads[-1]
        estimate = plan_blocks(store, config, days[(days >= np.datetime64(first)) & (days <= np.datetime64(last))],
                               10 ** 12).max_read_txns
        assert reads[-1] <= estimate <= reads[-1] + (int(per_day[after[0]]) if len(after) else 0)
    assert plan.max_read_txns >= max(reads)
    assert reads[0] < reads[-1]  # a later block reads the window before it too
    # the whole year fits in what it reads; a hundredth of it does not fit even one day
    assert plan_blocks(store, config, days, len(rows) * PEAK_BYTES_PER_READ_TXN).blocks == [(str(days[0]),
                                                                                            str(days[-1]))]
    # no day left (a resumed run whose blocks are all committed): no block, however cut
    assert plan_blocks(store, config, days[:0], 1000, 60, fixed=True).blocks == []
    assert plan_blocks(store, config, days[:0], 1000).blocks == []
    tiny = plan_blocks(store, config, days, 1000)
    assert tiny.block_days == 1 and len(tiny.blocks) == len(days) and not tiny.fits
    assert "Fix: run it where more memory is free" in tiny.note and "--block-memory GIB" in tiny.note


def test_a_range_read_once_is_planned_at_one_reads_peak(hand_built):
    """One read has no earlier block committed beside it: a range whose whole read fits at
    one read's peak per transaction is read once, though a block run's peak would cut it; a
    cut into blocks is planned at the block run's."""
    store, _ = hand_built
    config = ScanConfig()
    days = _days(store, config)
    whole = plan_blocks(store, config, days, 10 ** 12).max_read_txns
    between = whole * (PEAK_BYTES_PER_ONE_READ_TXN + PEAK_BYTES_PER_READ_TXN) // 2
    once = plan_blocks(store, config, days, between)
    assert once.blocks == [(str(days[0]), str(days[-1]))] and once.fits and once.note is None
    assert once.describe()["peak_bytes_per_read_txn"] == PEAK_BYTES_PER_ONE_READ_TXN
    cut = plan_blocks(store, config, days, whole * PEAK_BYTES_PER_ONE_READ_TXN - 1)
    assert len(cut.blocks) > 1 and cut.fits
    assert cut.max_read_txns * PEAK_BYTES_PER_READ_TXN <= cut.memory_bytes
    assert cut.describe()["peak_bytes_per_read_txn"] == PEAK_BYTES_PER_READ_TXN


def test_a_clusters_blocks_fit_in_a_worker_threads_memory(thin, monkeypatch):
    config = ScanConfig()
    days = _days(thin, config)
    total = sum(thin.day_rows().values())

    def client(limit, nthreads=1, n_workers=2, last_limit=None):
        workers = {f"tcp://w{i}": {"nthreads": nthreads, "memory_limit": limit} for i in range(n_workers)}
        workers[f"tcp://w{n_workers - 1}"]["memory_limit"] = last_limit or limit
        listed = lambda n_workers=5: {"workers": dict(list(workers.items())[:n_workers] if n_workers >= 0 else workers)}
        return SimpleNamespace(status="running", scheduler_info=listed)

    big = flowgraph.dask_scan.cluster_blocks(client(10 ** 12), thin, config, days, None)
    assert len(big.blocks) == 4 and big.block_days == 75  # two per worker thread
    # every worker counts, however many the scheduler lists by default: the sixth has less memory
    sixth = flowgraph.dask_scan.cluster_blocks(client(10 ** 12, n_workers=6, last_limit=2 ** 30), thin, config, days,
                                               None)
    assert sixth.memory_bytes == 2 ** 30
    # a limit of 2 GiB over 2 threads: each thread may use 1 GiB
    two = flowgraph.dask_scan.cluster_blocks(client(2 * 2 ** 30, nthreads=2), thin, config, days, None)
    # two per worker thread (4 threads) would be 38 days: 51 (2 L + 1) instead
    assert two.memory_bytes == 2 ** 30 and two.block_days == 51 and len(two.blocks) == 6
    # a thread that holds half the bank's reads: shorter blocks than two per thread
    small = flowgraph.dask_scan.cluster_blocks(client(total * PEAK_BYTES_PER_READ_TXN // 2), thin, config, days, None)
    assert small.fits and len(small.blocks) > 4 and small.max_read_txns <= total // 2
    # never shorter than 2 L + 1 days when memory allows: 10 days on 2 threads are one block
    assert len(flowgraph.dask_scan.cluster_blocks(client(10 ** 12), thin, config, days[:10], None).blocks) == 1
    # workers without a limit: this machine's share, over a worker's threads
    monkeypatch.setattr(flowgraph.dask_scan, "default_memory_bytes", lambda: 6 * 2 ** 30)
    assert flowgraph.dask_scan.cluster_blocks(client(0, nthreads=3), thin, config, days, None).memory_bytes \
        == 2 * 2 ** 30
    # memory given by the user wins
    assert flowgraph.dask_scan.cluster_blocks(client(10 ** 12), thin, config, days, 12345).memory_bytes == 12345


def test_the_memory_is_the_containers_limit_where_lower(tmp_path):
    physical = machine_memory_bytes(())
    assert physical > 2 ** 28
    v2, v1 = tmp_path / "memory.max", tmp_path / "memory.limit_in_bytes"
    v2.write_text("max\n")
    assert machine_memory_bytes((str(v2), str(tmp_path / "absent"))) == physical
    v1.write_text(f"{2 ** 30}\n")
    assert machine_memory_bytes((str(v2), str(v1))) == 2 ** 30
    v1.write_text(f"{2 ** 62}\n")  # cgroup v1's "no limit"
    assert machine_memory_bytes((str(v1),)) == physical
    assert 0 < default_memory_bytes() < machine_memory_bytes()


def test_day_blocks_cover_the_days_once():
    days = np.arange(np.datetime64("2024-01-01"), np.datetime64("2024-01-24"))
    assert day_blocks(days, 10) == [("2024-01-01", "2024-01-10"), ("2024-01-11", "2024-01-20"),
                                    ("2024-01-21", "2024-01-23")]
    assert day_blocks(days[:1], 10) == [("2024-01-01", "2024-01-01")]


def test_blocks_that_do_not_fit_are_said_and_recorded(hand_built, tmp_path, capsys):
    store, _ = hand_built
    out = tmp_path / "out"
    assert main(["scan", str(store.root), "--out", str(out), "--block-days", "100", "--block-memory", "0.0001",
                 "--to", "2027-06-30"]) == 0
    err = capsys.readouterr().err
    assert "note: a block of 100 business day(s) reads up to" in err and "--block-memory GIB" in err
    assert "more than the 0.1 MiB the scan plans in" in err
    plan = json.loads((out / "manifest.json").read_text())["block_plan"]
    assert plan["n_blocks"] == 2 and plan["block_days"] == 100 and plan["note"].startswith("a block of 100")
    assert plan["memory_bytes"] == int(0.0001 * 2 ** 30)


def test_a_t1_day_that_does_not_fit_is_said(hand_built, tmp_path, capsys):
    """A T+1 day is one window, never blocks: when even that does not fit, the user is told
    before it runs, and it runs."""
    store, rows = hand_built
    out = tmp_path / "out"
    assert main(["scan", str(store.root), "--out", str(out), "--as-of", "2027-09-01", "--block-memory",
                 "0.0000001"]) == 0
    err = capsys.readouterr().err
    assert "note: the T+1 scan of 2027-09-01 reads" in err and "Dask" not in err
    # it reads the 3 L + 1 = 76 business days before its day: fewer than a range's first read
    read = int(err.split("reads ")[1].split(" transactions")[0].replace(",", ""))
    assert 76 * 1 < read < len(rows)
    assert json.loads((out / "manifest.json").read_text())["mode"] == "t+1"
    assert main(["scan", str(store.root), "--out", str(tmp_path / "o2"), "--as-of", "2027-09-01"]) == 0
    assert "note: the T+1 scan" not in capsys.readouterr().err


@pytest.mark.parametrize("args, says", [
    (["--block-memory", "0"], "Invalid value for '--block-memory'"),
    (["--block-memory", "lots"], "Invalid value for '--block-memory'"),
    (["--block-memory", "nan"], "Invalid value for '--block-memory': nan is not a number it can use"),
    (["--block-memory", "inf"], "Invalid value for '--block-memory': inf is not a number it can use"),
    (["--wait", "nan"], "Invalid value for '--wait': nan is not a number it can use"),
])
def test_a_bad_block_memory_exits_2(hand_built, tmp_path, capsys, args, says):
    store, _ = hand_built
    assert main(["scan", str(store.root), "--out", str(tmp_path / "o"), *args]) == 2
    assert says in capsys.readouterr().err


def test_block_memory_needs_a_store(hand_built, tmp_path, capsys):
    csv = tmp_path / "in.csv"
    hand_built[1].head(20).to_csv(csv, index=False)
    assert main(["scan", str(csv), "--out", str(tmp_path / "o"), "--block-memory", "4"]) == 2
    err = capsys.readouterr().err
    assert "--block-memory scan a transaction store" in err and "flowgraph ingest" in err

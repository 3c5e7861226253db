"""Ingest and scans of a transaction store at 1e7 and 1e8 transactions (issue 14, item 5).

For each size, each step a fresh ``python -m flowgraph.cli`` process, timed with its peak
RSS (:func:`bench.common.run_child`) and, beside it, the peak RSS of its whole process
tree (sampled every :data:`SAMPLE_S` s: a ``--workers`` scan's Dask workers are processes
of their own, and ``wait4`` reports the largest process of a tree, not its sum):

a. ``flowgraph simulate --into STORE``: the store every scan below reads;
b. ``flowgraph ingest BANK/transactions.parquet --into NEW_STORE``: ingest speed (the file
   from ``flowgraph simulate --out``, made untimed; only where the in-memory simulator fits,
   ``--ingest-max``);
c. ``flowgraph scan STORE``: range scan of every stored day, one process (a range over
   120 business days runs in blocks of 120, one after another: ``flowgraph.dask_scan.block_scan``;
   ``--single-max`` skips it above that many transactions, default never);
d. ``flowgraph scan STORE --as-of LAST``: T+1 of the store's last business day; at sizes
   above the smallest also of the business day whose history is as long as the smallest
   bank's (same store, same customers: the same window, a shorter history);
e. ``flowgraph scan STORE --workers 2 --block-days K``: range scan on a 2-worker LocalCluster;
f. ``flowgraph scan STORE --workers 2 --as-of LAST``: T+1 on the cluster.

**The banks.** Every size has the customers of the smallest (``--sizes``' first: customers
= size / 61.8, the harness's scaling) and proportionally more business days (60 at the
smallest), so every day, and so every T+1 window, is the same size whatever the history:
1e7 is the harness's 60-day bank, 1e8 the same bank over 600 business days (about 2.4
years). A scan's memory is bounded by its window (the scanned days plus 3 L + 1 = 76
business days before them, L = 25 the longest detector window: runs end with their month),
not by the history.

Each scan writes into a new ``--out`` folder with its own run store. Run from
``benchmarks/``: ``python -m bench.storescale --sizes 10000000 100000000``. Stores are kept
in ``--work`` (default ``.data/storescale``) so a later run reuses a finished store, with the
measurement of the run that made it (``STORE.simulate.json``). ``--keep-from`` keeps the
sizes of an earlier results file; ``--rewrite`` writes the markdown again from the JSON
(after its hand-written ``findings`` were edited). Results:
``results/storescale.json`` and ``results/storescale.md``, stamped with the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path

from .common import (
    BENCH_DIR,
    DATA_DIR,
    REPO,
    RESULTS_DIR,
    child_env,
    fmt,
    log,
    machine_stamp,
    md_table,
    results_header,
    run_child,
    write_json,
)
from .data import SCALE_DAYS, TXNS_PER_CUSTOMER_60_DAYS

GIB = 2**30
#: The seed of every measured bank (the harness's).
SEED = 20241124
#: The simulator's default first day, kept where the bank ends before the PRC calendar's
#: last known year; longer banks start at :data:`LONG_START` instead.
DEFAULT_START = "2024-09-02"
LONG_START = "2024-01-02"
#: Business days from :data:`DEFAULT_START` that stay inside 2025 (the calendar knows 2026).
DEFAULT_START_MAX_DAYS = 300
#: Seconds between two samples of the process tree's memory.
SAMPLE_S = 0.2
WORKERS = 2
#: Single-process range scans above this many transactions are not run (--single-max): none
#: by default, since a range longer than 120 business days runs in blocks of 120.
SINGLE_MAX_TXNS = 10**12
#: The in-memory simulator (the ingest step's input file) above this size would not fit
#: (2 GiB per 1e7 in results/simstore.md, ~20 GiB at 1e8 plus the writer).
INGEST_MAX_TXNS = 30_000_000
LARGE_BLOCK_DAYS = 60
PROJECTED_TXNS = 1_000_000_000


def bank_params(n_txns: int, base_txns: int) -> dict:
    """Seed, customers, business days and first day of the bank of about ``n_txns``."""
    days = round(SCALE_DAYS * n_txns / base_txns)
    return {"seed": SEED, "customers": round(base_txns / TXNS_PER_CUSTOMER_60_DAYS), "days": days,
            "start": DEFAULT_START if days <= DEFAULT_START_MAX_DAYS else LONG_START}


class TreeSampler:
    """Peak RSS of this process's descendants (the measured child and everything it
    started), summed per sample, and the largest single process among them. Above
    ``cap_bytes`` summed, every descendant is killed (SIGKILL) before the machine's
    out-of-memory killer picks a process of someone else; ``killed_at`` records the sum."""

    def __init__(self, cap_bytes: float = float("inf")):
        self.cap_bytes = cap_bytes
        self.killed_at = None
        self.peak_tree = 0
        self.peak_process = 0
        self.peak_processes = 0
        self.peak_started = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    def _loop(self):
        me = os.getpid()
        while not self._stop.is_set():
            rss = _descendant_rss(me)
            if rss:
                sizes = [r for r, _, _ in rss]
                self.peak_tree = max(self.peak_tree, sum(sizes))
                self.peak_process = max(self.peak_process, max(sizes))
                self.peak_processes = max(self.peak_processes, len(sizes))
                self.peak_started = max([self.peak_started, *(r for r, _, direct in rss if not direct)])
                if sum(sizes) > self.cap_bytes and self.killed_at is None:
                    self.killed_at = sum(sizes)
                    for _, pid, _ in rss:
                        try:
                            os.kill(pid, signal.SIGKILL)
                        except OSError:
                            pass
            self._stop.wait(SAMPLE_S)


def _descendant_rss(root: int) -> list[tuple[int, int, bool]]:
    """(RSS, pid, is a direct child of ``root``) of every process below ``root``."""
    parent, rss = {}, {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parent[int(entry)] = int(fields[1])
        rss[int(entry)] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
    out = []
    for pid, size in rss.items():
        p = parent.get(pid)
        while p and p != root:
            p = parent.get(p)
        if p == root:
            out.append((size, pid, parent[pid] == root))
    return out


#: Summed RSS of a step's processes at which the step is killed (the machine has 23.5 GiB,
#: shared with other work).
RSS_CAP_BYTES = 20 * GIB


def measured(step: str, args: list[str], env: dict, timeout_s: float, out: Path | None = None) -> dict:
    """One ``python -m flowgraph.cli ARGS`` in a child: wall, peak RSS (child and tree), and
    the scan's stage times and counts from ``out/manifest.json``."""
    cmd = [sys.executable, "-m", "flowgraph.cli", *args]
    log(f"{step}: flowgraph {' '.join(args)}")
    load = os.getloadavg()
    with TreeSampler(RSS_CAP_BYTES) as tree:
        run = run_child(cmd, env, timeout_s)
    record = {"step": step, "args": args, "returncode": run["returncode"], "wall_s": run["wall_s"],
              "peak_rss_bytes": run["peak_rss_bytes"], "peak_tree_rss_bytes": tree.peak_tree,
              "peak_largest_process_bytes": tree.peak_process, "processes": tree.peak_processes,
              "peak_started_process_bytes": tree.peak_started,
              "user_s": run["user_s"], "sys_s": run["sys_s"], "minor_faults": run["minor_faults"],
              "major_faults": run["major_faults"], "steal_s": run["steal_s"], "vm_events": run["vm_events"],
              "killed_at_tree_rss_bytes": tree.killed_at,
              "load_average_before": load}
    if run["returncode"] != 0:
        record["stderr_tail"] = run["stderr_tail"]
        log(f"{step} FAILED (exit {run['returncode']}): {run['stderr_tail'][-600:]}")
        return record
    if out is not None and (out / "manifest.json").exists():
        manifest = json.loads((out / "manifest.json").read_text())
        record["timings_s"] = manifest.get("timings_s")
        record["manifest"] = {k: manifest.get(k) for k in ("mode", "as_of", "n_transactions", "n_hits", "n_alerts",
                                                           "data_fingerprint")}
    log(f"{step}: {run['wall_s']:.1f} s, peak RSS {run['peak_rss_bytes'] / GIB:.2f} GiB "
        f"(tree {tree.peak_tree / GIB:.2f} GiB)")
    return record


def store_rows(store: Path) -> tuple[int, list[str]]:
    """Stored transactions and calendar days of a store (from its partition files' footers)."""
    import pyarrow.parquet as pq

    files = sorted((store / "transactions").glob("day=*/*.parquet"))
    return sum(pq.read_metadata(f).num_rows for f in files), sorted({f.parent.name[4:] for f in files})


def business_days(store_days: list[str]) -> list[str]:
    """The PRC business days from the store's first to its last day (what a range scans)."""
    from flowgraph.scan_config import ScanConfig

    calendar = ScanConfig().calendar()
    first = calendar.next_business_day(store_days[0])
    last = calendar.next_business_day(store_days[-1])
    return [str(d) for d in calendar.business_days(first, last)]


def run_size(n_txns: int, args, env: dict, work: Path, tmp: Path) -> dict:
    """Every step at one size (see the module docstring)."""
    params = bank_params(n_txns, args.base_txns)
    size = {"target_txns": n_txns, "bank": params, "steps": [], "skipped": []}
    store = work / f"store-{params['customers']}c-{params['days']}d-{params['start']}"
    sim = ["simulate", "--seed", str(params["seed"]), "--customers", str(params["customers"]),
           "--days", str(params["days"]), "--start", params["start"]]
    record = store.with_name(store.name + ".simulate.json")
    if (store / "simulation" / "params.json").exists() and (store / "DONE").exists():
        if record.exists():  # the measurement of the run that made the store
            size["steps"].append({**json.loads(record.read_text()), "reused_store": True})
        else:
            size["skipped"].append({"step": "a simulate --into", "reason": f"store reused from {store}"})
    else:
        shutil.rmtree(store, ignore_errors=True)
        step = measured("a simulate --into", [*sim, "--into", str(store)], env, args.timeout_s)
        size["steps"].append(step)
        if step["returncode"] != 0:
            return size
        (store / "DONE").write_text("")
        write_json(record, {**step, "measured_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")})
    rows, days = store_rows(store)
    scan_days = business_days(days)
    size.update(n_txns=rows, calendar_days=len(days), business_days=len(scan_days),
                first_day=scan_days[0], last_day=scan_days[-1],
                store_bytes=sum(f.stat().st_size for f in (store / "transactions").rglob("*") if f.is_file()))
    for step in size["steps"]:
        step["txn_per_s"] = rows / step["wall_s"]

    def scan(step: str, extra: list[str], kind: str, n_scanned: int):
        out = tmp / step.split()[0]
        record = measured(step, ["scan", str(store), "--out", str(out), *extra], env, args.timeout_s, out)
        record.update(kind=kind, scanned_txns=n_scanned,
                      txn_per_s=n_scanned / record["wall_s"] if record["returncode"] == 0 else None)
        size["steps"].append(record)
        shutil.rmtree(out, ignore_errors=True)

    if rows <= args.ingest_max:
        bank = tmp / "bank"
        log(f"preparing the ingest input: flowgraph {' '.join(sim)} --out {bank} (untimed)")
        prep = run_child([sys.executable, "-m", "flowgraph.cli", *sim, "--out", str(bank)], env, args.timeout_s)
        if prep["returncode"] != 0:
            size["skipped"].append({"step": "b ingest", "reason": f"simulate --out failed: {prep['stderr_tail']}"})
        else:
            fresh = tmp / "ingested"
            step = measured("b ingest", ["ingest", str(bank / "transactions.parquet"), "--accounts",
                                         str(bank / "accounts.parquet"), "--into", str(fresh)], env, args.timeout_s)
            step["txn_per_s"] = rows / step["wall_s"]
            if step["returncode"] == 0:
                step["ingested_rows"], _ = store_rows(fresh)
            size["steps"].append(step)
            shutil.rmtree(fresh, ignore_errors=True)
        shutil.rmtree(bank, ignore_errors=True)
    else:
        size["skipped"].append({"step": "b ingest", "reason": f"{rows:,} transactions: the in-memory simulator that "
                                "writes the input file would not fit (~2 GiB per 1e7, results/simstore.md); "
                                "ingest speed is measured at the smaller size only"})
    if rows <= args.single_max:
        scan("c range", [], "range", rows)
    else:
        size["skipped"].append({"step": "c range, one process", "reason": f"{rows:,} transactions: above "
                                f"--single-max {args.single_max:,}"})
    window = _window_rows(store, scan_days, len(scan_days) - 1)
    scan("d T+1", ["--as-of", scan_days[-1]], "T+1", window)
    smallest_days = bank_params(args.base_txns, args.base_txns)["days"]
    if len(scan_days) > smallest_days:
        day = scan_days[smallest_days - 1]
        scan("d2 T+1-early", ["--as-of", day], "T+1", _window_rows(store, scan_days, smallest_days - 1))
    block = args.block_days or (LARGE_BLOCK_DAYS if rows > 30_000_000 else None)
    extra = ["--block-days", str(block)] if block else []
    scan("e range-dask", ["--workers", str(WORKERS), *extra], "range", rows)
    size["block_days"] = block
    scan("f T+1-dask", ["--workers", str(WORKERS), "--as-of", scan_days[-1]], "T+1", window)
    return size


#: Business days a T+1 scan reads before its day (3 L + 1, L = 25 at the defaults: the
#: earliest first day of a hit reaching the day is L before it, and 2 L + 1 are read before that).
WINDOW_BUSINESS_DAYS = 76


def _window_rows(store: Path, scan_days: list[str], index: int) -> int:
    """Transactions in the calendar days a T+1 scan of ``scan_days[index]`` reads at least
    (its window of :data:`WINDOW_BUSINESS_DAYS` business days before it): what 'scanned' means
    for a T+1 throughput."""
    import pyarrow.parquet as pq

    first = scan_days[max(index - WINDOW_BUSINESS_DAYS, 0)]
    last = scan_days[index]
    files = [f for f in (store / "transactions").glob("day=*/*.parquet") if first <= f.parent.name[4:] <= last]
    return sum(pq.read_metadata(f).num_rows for f in files)


def projection(sizes: list[dict]) -> dict | None:
    """1e9 transactions on N workers from the largest size's cluster range scan (labelled)."""
    runs = [(s, st) for s in sizes for st in s["steps"] if st["step"] == "e range-dask" and st["returncode"] == 0]
    if not runs:
        return None
    size, run = max(runs, key=lambda r: r[0]["n_txns"])
    return cluster_projection(size["n_txns"], run["txn_per_s"] / WORKERS, run["peak_started_process_bytes"],
                              "the peak per worker is the 1e7 one and holds only while a block reads its days and "
                              "window alone: at 1e8 (600 days) it did not (Findings: blocks read back along long "
                              "runs)")


def cluster_projection(from_txns: int, per_worker_txn_per_s: float, peak_per_worker_bytes: int, caveat: str) -> dict:
    """A range scan of :data:`PROJECTED_TXNS` on 2-128 workers at a measured rate per worker
    (labelled as a projection; ``caveat`` says how far the measured peak per worker holds)."""
    return {"label": "PROJECTION, not a measurement", "n_txns": PROJECTED_TXNS, "from_txns": from_txns,
            "per_worker_txn_per_s": per_worker_txn_per_s,
            "hours_by_workers": {n: PROJECTED_TXNS / (per_worker_txn_per_s * n) / 3600 for n in (2, 8, 32, 128)},
            "peak_per_worker_bytes": peak_per_worker_bytes,
            "model": "time = transactions / (workers x the measured per-worker rate of the largest cluster range "
                     "scan); blocks are independent tasks, so the rate per worker is assumed to hold (it does "
                     "not count the driver's merge, alerts and exports, which grow with the hits, nor a shared "
                     "file system's read bandwidth, nor the block re-reading its trailing window, which the "
                     f"measured rate includes); {caveat}"}


def projection_lines(p: dict) -> list[str]:
    """The projection as a paragraph of the results' markdown."""
    hours = ", ".join(f"{n} workers ≈ {h:,.1f} h" if h >= 1 else f"{n} workers ≈ {h * 60:,.0f} min"
                      for n, h in p["hours_by_workers"].items())
    return [f"**{p['label']}**: a range scan of {p['n_txns']:,} transactions from the measured "
            f"{p['per_worker_txn_per_s']:,.0f} txn/s per worker (cluster range scan of "
            f"{p['from_txns']:,}): {hours}; peak per worker ≈ {p['peak_per_worker_bytes'] / GIB:.1f} GiB. "
            f"Model: {p['model']}.", ""]


def _status(step: dict) -> str:
    if step["returncode"] == 0:
        return "ok"
    if step.get("killed_at_tree_rss_bytes"):
        return f"killed at {step['killed_at_tree_rss_bytes'] / GIB:.1f} GiB (cap {RSS_CAP_BYTES / GIB:.0f})"
    return f"exit {step['returncode']}"


def write_results(payload: dict, results: Path) -> None:
    write_json(results / "storescale.json", payload)
    lines = [*results_header("Ingest and scans of a transaction store at 1e7 and 1e8 (issue 14, item 5)", payload),
             "Each step is a fresh `python -m flowgraph.cli` process; peak RSS = `ru_maxrss` of that process "
             "(`wait4`, the largest process of its tree), tree = the peak of the summed RSS of it and every process "
             f"it started (sampled every {SAMPLE_S} s: the driver plus the Dask workers), largest worker = the "
             "largest process the step started (a Dask worker). T+1 throughput counts the "
             f"transactions of its window ({WINDOW_BUSINESS_DAYS} business days before the day, and the day).", ""]
    for size in payload["sizes"]:
        b = size["bank"]
        kept = size.get("kept_from")
        lines += [f"## {size.get('n_txns', size['target_txns']):,} transactions", "",
                  *([f"Measured by `{kept['command']}` at {kept['started_at']} (load average at its start "
                     f"{kept['load_average_at_start'][0]:.2f}).", ""] if kept else []),
                  f"Bank: seed {b['seed']}, {b['customers']:,} customers, {b['days']} business days from "
                  f"{b['start']} (`flowgraph simulate --seed {b['seed']} --customers {b['customers']} --days "
                  f"{b['days']} --start {b['start']} --into STORE`); {size.get('calendar_days', '–')} day "
                  f"partitions, {fmt(size.get('store_bytes'), scale=1 / GIB)} GiB of Parquet; business days "
                  f"{size.get('first_day')} .. {size.get('last_day')}"
                  + (f"; cluster block {size['block_days']} business days." if size.get("block_days") else "."), ""]
        rows = []
        for st in size["steps"]:
            t = st.get("timings_s") or {}
            stages = ", ".join(f"{k} {v:.1f}" for k, v in t.items()) if t else ""
            rows.append([st["step"], "`flowgraph " + " ".join(a if "/" not in a else Path(a).name for a in st["args"])
                         + "`", _status(st), fmt(st["wall_s"]),
                         fmt(st.get("scanned_txns")), fmt((st.get("manifest") or {}).get("n_transactions")),
                         fmt(st.get("txn_per_s") if st["returncode"] == 0 else None),
                         fmt(st["peak_rss_bytes"], scale=1 / GIB), fmt(st["peak_tree_rss_bytes"], scale=1 / GIB),
                         fmt(st["peak_started_process_bytes"] or None, scale=1 / GIB), stages])
        lines += md_table(["step", "command", "", "wall s", "txns scanned", "txns read", "txn/s", "peak RSS GiB",
                           "tree GiB", "largest worker GiB", "stages s (manifest timings_s)"], rows)
        if size["skipped"]:
            lines += ["", "Not run: " + "; ".join(f"{s['step']} ({s['reason']})" for s in size["skipped"])]
        lines.append("")
    if payload.get("projection"):
        lines += projection_lines(payload["projection"])
    if payload.get("findings"):
        lines += ["## Findings", "", payload["findings"].strip(), ""]
    (results / "storescale.md").write_text("\n".join(lines))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000_000, 100_000_000],
                        help="Transactions; the first sets the customers of every bank.")
    parser.add_argument("--base-txns", type=int, default=None,
                        help="The size whose customers every bank has [default: the first of --sizes].")
    parser.add_argument("--block-days", type=int, default=None,
                        help=f"Cluster block [default: flowgraph's, {LARGE_BLOCK_DAYS} above --single-max].")
    parser.add_argument("--single-max", type=int, default=SINGLE_MAX_TXNS)
    parser.add_argument("--ingest-max", type=int, default=INGEST_MAX_TXNS)
    parser.add_argument("--work", type=Path, default=DATA_DIR / "storescale")
    parser.add_argument("--timeout-s", type=float, default=3_600)
    parser.add_argument("--results", type=Path, default=RESULTS_DIR)
    parser.add_argument("--rewrite", action="store_true",
                        help="Only write storescale.md again from storescale.json (after editing its findings).")
    parser.add_argument("--keep-from", type=Path, default=None,
                        help="A storescale.json whose sizes are kept (listed first, not run again).")
    args = parser.parse_args(argv)
    args.base_txns = args.base_txns or args.sizes[0]
    if args.rewrite:
        payload = json.loads((args.results / "storescale.json").read_text())
        payload["projection"] = projection(payload["sizes"])
        write_results(payload, args.results)
        return
    payload = {"started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
               "command": " ".join(["bench.storescale", *(argv if argv is not None else sys.argv[1:])]),
               "machine": machine_stamp(), "sizes": []}
    if args.keep_from:
        kept = json.loads(args.keep_from.read_text())
        payload["sizes"] = [{**size, "kept_from": {"started_at": kept["started_at"], "command": kept["command"],
                                                   "load_average_at_start": kept["machine"]["load_average_at_start"]}}
                            for size in kept["sizes"]]
    args.work.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="storescale-") as folder:
        env = child_env(f"{REPO / 'src'}:{BENCH_DIR}", Path(folder) / "key")
        for n_txns in args.sizes:
            tmp = Path(folder) / str(n_txns)
            tmp.mkdir()
            payload["sizes"].append({**run_size(n_txns, args, env, args.work, tmp),
                                     "load_average_before": os.getloadavg()})
            payload["projection"] = projection(payload["sizes"])
            write_results(payload, args.results)  # after each size: a later size may not finish
    log(f"wrote {args.results / 'storescale.json'} and storescale.md")


if __name__ == "__main__":
    main()

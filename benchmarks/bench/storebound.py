"""T+1 and range scans of one existing transaction store, as users run them (issue 14, item 5):
is a T+1 bounded by its window whatever the history, and does a long range fit in memory?

Each step is a fresh ``python -m flowgraph.cli scan STORE ...`` process, timed with its peak
RSS and its process tree's (:func:`bench.storescale.measured`):

- ``T+1 day N`` for business days given by index (``--days``, default: the 60th, the middle
  and the last business day of the store): each reads the same 3 L + 1 = 76 business days
  before its day once the history is longer than that, so their time and memory should not
  grow with N;
- ``range``: every stored business day in one process (a range whose read does not fit in
  the memory a scan may use runs in blocks that do, one after another,
  ``flowgraph.dask_scan.block_scan``; ``--block-memory GIB`` gives that memory), or with
  ``--workers N`` on a local Dask cluster of N worker processes (``flowgraph scan
  --workers N``: blocks of ``--block-days`` as tasks); ``--no-range`` skips it;
- ``--to DATE`` ends the range there (a shorter range of the same store), and each
  ``--env NAME=VALUE`` is set in every scan's environment and recorded with its step (e.g.
  the memory allocators' settings: ``MIMALLOC_PURGE_DELAY=-1`` keeps the memory Arrow frees
  for its next tables instead of handing it back to the kernel, which zeroes it again);
- ``--settle-s S`` waits S seconds before each step: on a virtual machine that reports free
  memory to its host (virtio-balloon free page reporting, two seconds after it is freed), a
  step that starts right after another touches the memory that one let go at a twentieth of
  the cost of memory the host took back (2 GiB: 0.13 s against 2.6-5.1 s of system time
  here), so how soon a step follows the one before changes its time; settled, every step
  starts cold, as a daily scan after hours of idle does;
- with ``--history RUN_STORE`` (a run store, e.g. a range's ``OUT/store.sqlite``), each T+1
  writes into a fresh copy of it (``--store``): a daily run after months of runs, whose
  alerts are built from every stored hit of the customers it touches.

The store is any ``flowgraph simulate --into`` or ``ingest --into`` result; its simulation
parameters are recorded when it has them. Run from ``benchmarks/``:
``python -m bench.storebound STORE [--days 59 299 -1] [--no-range] [--history RUN_STORE]``. Results:
``results/storebound.json`` and ``.md`` (``--results``), stamped with the machine.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

from .common import BENCH_DIR, REPO, RESULTS_DIR, child_env, fmt, machine_stamp, md_table, results_header, write_json
from .storescale import (GIB, _window_rows, business_days, cluster_projection, measured, projection_lines,
                         store_rows)


def run(store: Path, day_indices: list[int], with_range: bool, timeout_s: float, block_days: int | None = None,
        history: Path | None = None, workers: int | None = None, block_memory_gib: float | None = None,
        last_day: str | None = None, extra_env: dict[str, str] | None = None, settle_s: float = 0) -> dict:
    """Every step on ``store`` (see the module docstring)."""
    rows, days = store_rows(store)
    scan_days = business_days(days)
    params = store / "simulation" / "params.json"
    payload = {"store": str(store), "n_txns": rows, "business_days": len(scan_days), "first_day": scan_days[0],
               "last_day": scan_days[-1], "bank": json.loads(params.read_text())["params"] if params.exists() else None,
               "steps": []}
    with tempfile.TemporaryDirectory(prefix="storebound-") as folder:
        env = {**child_env(f"{REPO / 'src'}:{BENCH_DIR}", Path(folder) / "key"), **(extra_env or {})}
        settings = " with " + " ".join(f"{k}={v}" for k, v in extra_env.items()) if extra_env else ""
        settings += f" after {settle_s:g} s idle" if settle_s else ""

        def scan(step: str, extra: list[str], n_scanned: int | None, kind: str):
            out = Path(folder) / "out"
            time.sleep(settle_s)
            record = measured(step + settings, ["scan", str(store), "--out", str(out), *extra], env, timeout_s, out)
            if n_scanned is None:  # a range to --to: what its manifest says it read
                n_scanned = (record.get("manifest") or {}).get("n_transactions")
            record.update(kind=kind, scanned_txns=n_scanned, env=extra_env or {}, settle_s=settle_s,
                          txn_per_s=n_scanned / record["wall_s"] if record["returncode"] == 0 and n_scanned else None)
            payload["steps"].append(record)
            shutil.rmtree(out, ignore_errors=True)

        for index in day_indices:
            i = index % len(scan_days)
            extra, label = ["--as-of", scan_days[i]], f"T+1 day {i + 1}"
            if history is not None:
                copy = Path(folder) / "history.sqlite"
                shutil.copyfile(history, copy)
                extra, label = extra + ["--store", str(copy)], label + f" into a copy of {history.name}"
            scan(label, extra, _window_rows(store, scan_days, i), "T+1")
            if history is not None:
                copy.unlink()
        if with_range:
            cluster = ["--workers", str(workers)] if workers else []
            until = ["--to", last_day] if last_day else []
            scan((f"range on {workers} workers" if workers else "range") + (f" to {last_day}" if last_day else ""),
                 cluster + until + (["--block-days", str(block_days)] if block_days else [])
                 + (["--block-memory", str(block_memory_gib)] if block_memory_gib else []),
                 rows if last_day is None else None, "range")
            payload["steps"][-1]["workers"] = workers or 1
    return payload


def write_results(payload: dict, results: Path) -> None:
    write_json(results / "storebound.json", payload)
    b = payload["bank"] or {}
    lines = [*results_header("T+1 and range scans of one transaction store (issue 14, item 5)", payload),
             f"Store: {payload['n_txns']:,} transactions, {payload['business_days']} business days "
             f"{payload['first_day']} .. {payload['last_day']}"
             + (f" (`flowgraph simulate --seed {b['seed']} --customers {b['n_customers']} --days {b['n_days']} "
                f"--start {b['start']} --into STORE`)" if b else "") + ".", "",
             "Each step is a fresh `python -m flowgraph.cli scan` process. Read = the transactions of the scanned "
             "days and the 76 business days before the first (T+1), or of every day (range); txn/s counts the "
             "transactions read by a T+1 and every transaction by a range; per core divides it by the "
             "machine's cores (a scan in one process runs its kernels and two detectors at a time on both). "
             "Steal: CPU seconds the host gave other guests during the step, over all cores (– where not "
             "recorded). Huge pages: of the machine's transparent huge pages asked for on a first touch during the "
             "step, those given / those refused (the step took small pages instead), and the times a fault waited "
             "for the kernel to compact memory (`/proc/vmstat`; – where not recorded).", ""]
    cores = payload["machine"]["cores_available"]
    rows = []
    for st in payload["steps"]:
        t = st.get("timings_s") or {}
        manifest = st.get("manifest") or {}
        rows.append([st["step"], "`flowgraph " + " ".join(a if "/" not in a else Path(a).name for a in st["args"]) + "`",
                     "ok" if st["returncode"] == 0 else f"exit {st['returncode']}", fmt(st["wall_s"]),
                     fmt(manifest.get("n_transactions")), fmt(st.get("txn_per_s")),
                     fmt(st["txn_per_s"] / cores if st.get("txn_per_s") else None),
                     fmt(st["peak_rss_bytes"], scale=1 / GIB), fmt(st["peak_tree_rss_bytes"], scale=1 / GIB),
                     fmt(manifest.get("n_hits")), fmt(st.get("steal_s")), _huge_pages(st.get("vm_events")),
                     ", ".join(f"{k} {v:.1f}" for k, v in t.items())])
    lines += md_table(["step", "command", "", "wall s", "txns read", "txn/s", "per core", "peak RSS GiB", "tree GiB",
                       "hits", "steal s", "huge pages", "stages s"], rows)
    clusters = [st for st in payload["steps"] if st.get("workers", 1) > 1 and st["returncode"] == 0]
    if clusters:  # the latest cluster range
        st = clusters[-1]
        lines += ["", *projection_lines(cluster_projection(
            st["scanned_txns"], st["txn_per_s"] / st["workers"], st["peak_started_process_bytes"],
            f"the peak per worker is that of blocks of {_option(st['args'], '--block-days') or 'the default'} "
            "business days of this bank (each reads its days and at least the 101 before them, more from the "
            "first of its first month or where a traced run starts earlier); a bank with busier days has larger "
            "blocks unless they are cut shorter"))]
    if payload.get("findings"):
        lines += ["", "## Findings", "", payload["findings"].strip()]
    (results / "storebound.md").write_text("\n".join(lines) + "\n")


def _huge_pages(events: dict | None) -> str:
    """A step's huge pages given / refused and compaction stalls (:func:`bench.common.vm_events`)."""
    if not events:
        return "–"
    return (f"{events.get('thp_fault_alloc', 0):,} / {events.get('thp_fault_fallback', 0):,}, "
            f"{events.get('compact_stall', 0):,} stalls")


def _option(args: list[str], name: str) -> str | None:
    """The value given to option ``name`` in a command's ``args`` (None when absent)."""
    return args[args.index(name) + 1] if name in args else None


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("store", type=Path)
    parser.add_argument("--days", type=int, nargs="*", default=None,
                        help="Business-day indices of the T+1 scans (negative from the end) [default: 59, middle, -1].")
    parser.add_argument("--no-range", action="store_true")
    parser.add_argument("--block-days", type=int, default=None,
                        help="The range's block in business days [default: flowgraph's, the longest that fit].")
    parser.add_argument("--block-memory", type=float, default=None, metavar="GIB",
                        help="Memory the range's scan may use [default: flowgraph's, 60%% of the machine's].")
    parser.add_argument("--workers", type=int, default=None,
                        help="Run the range on a local Dask cluster of this many worker processes.")
    parser.add_argument("--keep-from", type=Path, default=None,
                        help="A storebound.json whose steps are kept (listed first, not run again).")
    parser.add_argument("--history", type=Path, default=None,
                        help="A run store each T+1 writes into a fresh copy of (e.g. a range's OUT/store.sqlite).")
    parser.add_argument("--to", default=None, metavar="DATE",
                        help="End the range on this business day [default: the store's last].")
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                        help="Set in every scan's environment and recorded with its step (repeatable).")
    parser.add_argument("--settle-s", type=float, default=0, metavar="S",
                        help="Wait S seconds before each step, so that each starts with its memory cold.")
    parser.add_argument("--timeout-s", type=float, default=3_600)
    parser.add_argument("--results", type=Path, default=RESULTS_DIR)
    parser.add_argument("--rewrite", action="store_true", help="Only write the markdown again from the JSON.")
    args = parser.parse_args(argv)
    if any("=" not in e for e in args.env):
        parser.error("--env takes NAME=VALUE")
    if args.rewrite:
        write_results(json.loads((args.results / "storebound.json").read_text()), args.results)
        return
    _, days = store_rows(args.store)
    n = len(business_days(days))
    payload = {"started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
               "command": " ".join(["bench.storebound", *(argv if argv is not None else sys.argv[1:])]),
               "machine": machine_stamp()}
    kept = json.loads(args.keep_from.read_text())["steps"] if args.keep_from else []
    payload.update(run(args.store, args.days if args.days is not None else [59, n // 2, -1], not args.no_range,
                       args.timeout_s, args.block_days, args.history, args.workers, args.block_memory, args.to,
                       dict(e.split("=", 1) for e in args.env), args.settle_s))
    payload["steps"] = [{**k, "kept_from": str(args.keep_from)} for k in kept] + payload["steps"]
    write_results(payload, args.results)


if __name__ == "__main__":
    main()

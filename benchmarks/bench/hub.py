"""One busy account (a hub) in a small bank: does the detection grow with the hub's
transactions as they do, or faster? (Sweep C, D1: the gather-scatter windows once cost
``O(links x links in a window)`` per hub, 18 s at N = 2,500 and hours at N = 100,000.)

Account ``HUB`` pays and is paid ``N`` times (each shape below), beside 3,600 background
payments (``S{i} -> D{i}``, 100 CNY, 18 days): the shapes of a merchant, payment processor
or settlement account.

- ``sweep``: Sweep C's repro exactly (``gen.py N``): N payments in from ``S{i % 5000}`` and
  N out to ``D{i % 3000}``, 1-9,000 CNY, spread over one business day (2024-09-03);
- ``same_time``: the same rows, every hub payment at one timestamp;
- ``net_inflow``: N in, N / 2 out (what the hub held since a payment keeps growing: few
  payments out can forward it);
- ``processor``: N receipts of 5,000-9,000 CNY, and after each 100 a settlement of their sum;
- ``relay``: per round a payment of 6,000 CNY in, 1,000,000 in from ``BIG``, 6,000 out
  (in the small payment's band, but paid while the hub held a million more) and
  1,000,000 out to ``R`` (out of its band): the out-edge index's hard case
  (:mod:`flowgraph._kernels.flows`), N rounds;
- ``ten_days``: the sweep's rows spread over ten business days.

Per shape and N, in a fresh process per tree of the code (``--tree LABEL=SRC``, default
this tree's ``src``): load and build the graph, then each registered detector as a scan
runs it (relaxed parameters of the tolerance band, then strict, registry order, one
thread), timed; with ``--scan`` also the whole ``flowgraph scan`` command (wall time,
peak RSS and the stage times of its manifest; ``--scan-only``: that alone). A run over
``--timeout`` seconds is killed and reported as such. Run from ``benchmarks/``:

    PYTHONPATH=../src python -m bench.hub --sizes 2500 10000 100000 --shapes sweep \\
        --tree fix=../src --tree base=/path/to/base/src --scan

Results: ``results/hub.json`` and ``results/hub.md`` (``--results NAME``), stamped with the
machine and its load (timings on a shared machine are noisy: trees are run back to back).
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

from .common import (
    BENCH_DIR,
    DATA_DIR,
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

SHAPES = ("sweep", "same_time", "net_inflow", "processor", "relay", "ten_days")
HEADER = ["txn_id", "timestamp", "src_account", "dst_account", "amount", "currency", "channel"]
TEN_DAYS = ["2024-09-03", "2024-09-04", "2024-09-05", "2024-09-06", "2024-09-09", "2024-09-10", "2024-09-11",
            "2024-09-12", "2024-09-13", "2024-09-18"]  # business days (PRC calendar)


def _stamp(i: int, n: int, second: int, day: str = "2024-09-03") -> str:
    return f"{day}T{8 + i * 10 // n:02d}:{(i * 600 // n) % 60:02d}:{second % 60:02d}"


def hub_rows(n: int, shape: str):
    """The hub's rows of ``shape`` (module docstring), then the background's."""
    rng = random.Random(2)
    k = 0

    def row(when, src, dst, amount):
        nonlocal k
        k += 1
        return [f"X{k - 1}", when, src, dst, f"{amount:.2f}", "CNY", "transfer"]

    if shape in ("sweep", "same_time", "ten_days", "net_inflow"):
        for i in range(n):
            day = TEN_DAYS[i * 10 // n] if shape == "ten_days" else "2024-09-03"
            stamps = ["2024-09-03T12:00:00"] * 2 if shape == "same_time" else \
                [_stamp(i, n, i, day), _stamp(i, n, i + 30, day)]
            yield row(stamps[0], f"S{i % 5000}", "HUB", rng.uniform(1, 9000))
            if shape != "net_inflow" or i % 2:
                yield row(stamps[1], "HUB", f"D{i % 3000}", rng.uniform(1, 9000))
    elif shape == "relay":
        for i in range(n):
            when = _stamp(i, n, i)
            yield row(when, f"S{i % 5000}", "HUB", 6000.0)
            yield row(when, "BIG", "HUB", 1_000_000.0)
            yield row(when, "HUB", f"D{i % 3000}", 6000.0)
            yield row(when, "HUB", "R", 1_000_000.0)
    elif shape == "processor":
        batch = 0.0
        for i in range(n):
            amount = round(rng.uniform(5000, 9000), 2)
            batch += amount
            yield row(_stamp(i, n, i), f"S{i % 5000}", "HUB", amount)
            if i % 100 == 99:
                yield row(_stamp(i, n, i + 30), "HUB", f"D{i // 100 % 3000}", batch)
                batch = 0.0
    else:
        raise ValueError(f"unknown shape {shape!r}; one of {SHAPES}")
    for d in range(2, 20):
        for i in range(200):
            yield row(f"2024-09-{d:02d}T1{i % 10}:00:00", f"S{i}", f"D{i}", 100.0)


def ensure_hub(n: int, shape: str) -> Path:
    """The CSV of ``shape`` at ``n``, made once into ``benchmarks/.data/hub/``."""
    path = DATA_DIR / "hub" / f"{shape}-{n}.csv"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        with tmp.open("w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(HEADER)
            writer.writerows(hub_rows(n, shape))
        tmp.replace(path)
    return path


def time_detection(path: Path) -> dict:
    """In a child: each registered detector on ``path`` as a scan runs it, timed."""
    from flowgraph import build_graph, load_dataset
    from flowgraph.detectors import REGISTRY
    from flowgraph.scan_config import ScanConfig

    config = ScanConfig()
    start = time.perf_counter()
    dataset = load_dataset(path)
    graph = build_graph(dataset.transactions.table, dataset.accounts.table, config.calendar())
    prepare_s = time.perf_counter() - start
    days = (0, graph.n_days - 1)
    band = config.model.tolerance_band
    detectors = {}
    for name, entry in REGISTRY.items():
        params = config.detector_params[name]
        seconds, hits = 0.0, 0
        for version in dict.fromkeys([params.relaxed(band) if band > 0 else params, params]):
            start = time.perf_counter()
            hits += len(entry.detect(graph, version, days).frame)
            seconds += time.perf_counter() - start
        detectors[name] = {"s": seconds, "hits": hits}
    return {"n_txns": len(dataset.transactions.table), "load_and_graph_s": prepare_s, "detectors": detectors,
            "detect_s": sum(d["s"] for d in detectors.values())}


def measure(trees: dict[str, Path], sizes: list[int], shapes: list[str], with_scan: bool, timeout_s: float,
            with_detectors: bool = True) -> list:
    entries = []
    with tempfile.TemporaryDirectory(prefix="bench-hub-") as folder:
        key = Path(folder) / "key"
        for shape in shapes:
            for n in sizes:
                path = ensure_hub(n, shape)
                for label, src in trees.items():  # back to back, so the machine's load is alike
                    env = child_env(f"{src}:{BENCH_DIR}", key)
                    entry = {"shape": shape, "n": n, "tree": label, "src": str(src)}
                    if with_detectors:
                        out = Path(folder) / "detect.json"
                        log(f"{shape} N={n:,} {label}: detectors")
                        run = run_child([sys.executable, "-m", "bench.hub", "--child", str(path), str(out)], env,
                                        timeout_s)
                        entry["detect_run"] = {k: run[k] for k in ("returncode", "wall_s", "peak_rss_bytes")}
                        if run["returncode"] == 0:
                            entry.update(json.loads(out.read_text()))
                        else:
                            entry["error"] = run["stderr_tail"][-500:] if run["returncode"] != -9 else \
                                f"killed after {timeout_s:.0f} s"
                    if with_scan:
                        scan_out = Path(folder) / "scan"
                        log(f"{shape} N={n:,} {label}: flowgraph scan")
                        run = run_child([sys.executable, "-m", "flowgraph.cli", "scan", str(path), "--out",
                                         str(scan_out)], env, timeout_s)
                        manifest = scan_out / "manifest.json"
                        entry["scan"] = {k: run[k] for k in ("returncode", "wall_s", "peak_rss_bytes")}
                        if run["returncode"] == 0 and manifest.exists():
                            entry["scan"]["timings_s"] = json.loads(manifest.read_text())["timings_s"]
                        shutil.rmtree(scan_out, ignore_errors=True)
                    entries.append(entry)
    return entries


def markdown(payload: dict) -> list[str]:
    lines = results_header("One busy account: detection time against its transactions", payload)
    slow = lambda e: max(e.get("detectors", {}).items(), key=lambda d: d[1]["s"], default=(None, {}))
    rows = []
    for e in payload["entries"]:
        name, top = slow(e)
        scan = e.get("scan", {})
        rows.append([e["shape"], fmt(e["n"]), e["tree"], fmt(e.get("n_txns")),
                     fmt(e.get("detect_s")) if "detect_s" in e else e.get("error", "–")[:60],
                     f"{name} {fmt(top.get('s'))}" if name else "–",
                     fmt(scan.get("wall_s")) if scan.get("returncode") == 0 else
                     (f"killed > {payload['timeout_s']:.0f}" if scan.get("returncode") == -9 else "–"),
                     fmt((scan.get("timings_s") or {}).get("detect")),
                     fmt(scan.get("peak_rss_bytes"), scale=1 / 2**30) if scan.get("returncode") == 0 else "–"])
    lines += md_table(["shape", "N", "tree", "transactions", "detection s (one thread)", "slowest detector s",
                       "scan wall s", "scan detect s", "scan peak GiB"], rows)
    lines += ["", ("Detection = every registered detector as a scan runs it (tolerance band's relaxed parameters, "
                   "then strict), one after another in one thread. The scan runs two detectors at a time, so its "
                   "`detect` stage may be shorter than the sum. Trees run back to back per shape and N.")]
    return lines


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        Path(argv[2]).write_text(json.dumps(time_detection(Path(argv[1]))))
        return
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[2_500, 10_000, 100_000])
    ap.add_argument("--shapes", nargs="+", choices=SHAPES, default=list(SHAPES))
    ap.add_argument("--tree", action="append", default=[], metavar="LABEL=SRC",
                    help="a tree of the code to time (its src folder); default: this tree")
    ap.add_argument("--scan", action="store_true", help="also time the whole flowgraph scan command")
    ap.add_argument("--scan-only", action="store_true", help="time the scan command alone, not each detector")
    ap.add_argument("--timeout", type=float, default=1800.0, help="seconds before a run is killed [1800]")
    ap.add_argument("--results", default="hub", help="results/NAME.json and .md [hub]")
    args = ap.parse_args(argv)
    trees = dict(t.split("=", 1) for t in args.tree) or {"current": str(BENCH_DIR.parent / "src")}
    payload = {"started_at": time.strftime("%Y-%m-%d %H:%M:%S"), "command": " ".join(["python -m bench.hub", *argv]),
               "machine": machine_stamp(), "timeout_s": args.timeout, "trees": trees,
               "entries": measure({k: Path(v).resolve() for k, v in trees.items()}, args.sizes, args.shapes,
                                  args.scan or args.scan_only, args.timeout, not args.scan_only)}
    write_json(RESULTS_DIR / f"{args.results}.json", payload)
    (RESULTS_DIR / f"{args.results}.md").write_text("\n".join(markdown(payload)) + "\n")
    log(f"wrote {RESULTS_DIR / args.results}.json and .md")


if __name__ == "__main__":
    main()

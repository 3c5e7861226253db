"""How fast and how big: the synthetic bank at 1 M and 10 M transactions.

    .venv/bin/python benchmarks/bench_simulate.py [--sizes 1000000 10000000] [--repeats N]

Each run is a fresh process (peak memory per size) that times ``simulate`` (population,
background, planted patterns, ground truth) and ``write_simulation`` (three Parquet
files), and, as the floor in the same run, ``random_transactions`` for the same number
of transactions (structureless traffic: no calendar, no segments, no patterns). Writes
``results/simulate.json`` (machine, versions, commit, seeds, every run) and
``results/simulate.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS_DIR, git_info, machine_info, rss, spread  # noqa: E402

SEED = 20241124
TXNS_PER_CUSTOMER = 61.8  # measured: ~1.03 transactions per customer per business day, 60 days
N_DAYS = 60


def _worker(size: int, out: Path) -> None:
    from flowgraph.simulate import random_transactions, simulate, write_simulation

    n_customers = int(round(size / TXNS_PER_CUSTOMER))
    result = {"size_target": size, "n_customers": n_customers, "n_days": N_DAYS}
    t0 = time.perf_counter()
    bank = simulate(seed=SEED, n_customers=n_customers, n_days=N_DAYS)
    result["simulate_s"] = time.perf_counter() - t0
    result["rss_after_simulate"] = rss()
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        paths = write_simulation(bank, tmp)
        result["write_s"] = time.perf_counter() - t0
        result["file_bytes"] = {k: p.stat().st_size for k, p in paths.items()}
    n = len(bank.transactions)
    result.update(n_txns=n, n_laundering=int(bank.transactions.is_laundering.sum()),
                  n_patterns=len(bank.patterns),
                  table_bytes_per_txn=bank.transactions.memory_usage(deep=True).sum() / n)
    peak_simulate = rss()["hwm_bytes"]
    del bank
    t0 = time.perf_counter()
    random_transactions(n, n_accounts=max(1_000, n // 10), seed=SEED)
    result["random_transactions_s"] = time.perf_counter() - t0
    result["peak"] = rss()
    result["peak_after_simulate_bytes"] = peak_simulate
    out.write_text(json.dumps(result))


def run_once(size: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        proc = subprocess.run([sys.executable, __file__, "--worker", str(size), str(out)],
                              capture_output=True, text=True)
        if proc.returncode != 0 or not out.exists():
            return {"error": proc.stderr[-2000:] or f"exit {proc.returncode}"}
        return json.loads(out.read_text())


def markdown(report: dict) -> str:
    m = report["machine"]
    lines = [
        "# Synthetic bank: simulate and write",
        "",
        f"{report['date']} — {m['cpu_model']}, {m['nproc']} cores, {m['mem_total_bytes'] / 2**30:.1f} GiB, "
        f"Python {m['python']}, commit {str(report['git']['commit'])[:10]}; seed {SEED}, {N_DAYS} business days.",
        "",
        "| transactions | customers | patterns | simulate s | write s | txn/s (simulate) | peak RSS GB "
        "| random_transactions s (floor) | simulate / floor |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for size in report["sizes"]:
        s = size["stats"]
        if s is None:
            lines.append(f"| {size['size_target']:,} | error: {size['runs'][0].get('error', '')[:80]} |")
            continue
        sim, floor = s["simulate_s"]["median"], s["random_transactions_s"]["median"]
        lines.append(
            f"| {size['n_txns']:,} | {size['n_customers']:,} | {size['n_patterns']:,} "
            f"| {sim:.2f} ({s['simulate_s']['min']:.2f}–{s['simulate_s']['max']:.2f}) "
            f"| {s['write_s']['median']:.2f} | {size['n_txns'] / sim / 1e6:.2f} M "
            f"| {s['peak_after_simulate_gb']['median']:.2f} | {floor:.2f} | {sim / floor:.2f} |")
    lines += ["", "Peak RSS is the process's high-water mark after simulate (before the floor "
              "generator runs). Median (min–max) over the repeats."]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--repeats", type=int, default=None, help="default: 3 up to 2 M, 1 above")
    parser.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        _worker(int(args.worker[0]), Path(args.worker[1]))
        return 0
    report = {"benchmark": "simulate", "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
              "machine": machine_info(), "git": git_info(), "seed": SEED, "sizes": []}
    for size in args.sizes:
        repeats = args.repeats or (3 if size <= 2_000_000 else 1)
        runs = [run_once(size) for _ in range(repeats)]
        ok = [r for r in runs if "error" not in r]
        entry = {"size_target": size, "runs": runs, "stats": None}
        if ok:
            entry.update(n_txns=ok[0]["n_txns"], n_customers=ok[0]["n_customers"], n_patterns=ok[0]["n_patterns"])
            entry["stats"] = {k: spread([r[k] for r in ok]) for k in ("simulate_s", "write_s", "random_transactions_s")}
            entry["stats"]["peak_after_simulate_gb"] = spread([r["peak_after_simulate_bytes"] / 1e9 for r in ok])
        report["sizes"].append(entry)
        print(f"{size:,}: {entry['stats']}", flush=True)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / "simulate.json").write_text(json.dumps(report, indent=2))
    (RESULTS_DIR / "simulate.md").write_text(markdown(report))
    print(markdown(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())

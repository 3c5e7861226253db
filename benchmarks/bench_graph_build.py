"""Benchmark: Parquet -> validated tables -> time-sliced account graph.

Usage (from the repository root)::

    .venv/bin/python benchmarks/bench_graph_build.py [--sizes 1000000 10000000] [--repeats N]

For each size the script

1. generates random traffic once (``flowgraph.simulate.random_transactions``,
   ``n_accounts = size // 10``, fixed seed) and writes ``benchmarks/.data/txns_<size>.parquet``
   and ``accounts_<size>.parquet`` (reused when present and generated with the same
   parameters, checked against a ``.json`` sidecar);
2. runs every repeat in a fresh subprocess, so peak RSS belongs to one size and one run, and
   times three stages with ``time.perf_counter``:

   - ``read``     ``pd.read_parquet`` of both files (the floor, see ../shared/PEERS.md);
   - ``validate`` ``validate_transactions`` + ``validate_accounts``;
   - ``build``    ``build_graph``.

   The raw frames are dropped after validation, as ``flowgraph.io.read_transactions`` does.
   The PRC calendar and the default rate table are loaded before the clock starts (one-off
   set-up cost, recorded as ``setup_s``). The Parquet files are read from the page cache
   (they were just written or already read), so ``read`` is a warm read.
3. writes ``benchmarks/results/graph_build.json`` (machine, versions, seeds, every run,
   medians and spreads) and ``benchmarks/results/graph_build.md`` (a summary table).

The goal (<= 64 bytes of graph edge + index arrays per transaction, beside the original
table) is reported as data, never asserted.

``--profile`` adds one cProfile'd run per size (not counted with the timed ones) and writes the
top functions of each stage to ``benchmarks/results/graph_build_profile_<size>.txt``;
``--repeats 0 --profile`` does only that and leaves ``graph_build.json``/``.md`` alone.
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

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _common import DATA_DIR, RESULTS_DIR, git_info, machine_info, spread  # noqa: E402
from _common import rss as _rss  # noqa: E402

DEFAULT_SIZES = (1_000_000, 10_000_000)
SEED = 20240902
ACCOUNTS_PER_TXN = 10  # n_accounts = size // 10
GOAL_GRAPH_BYTES_PER_TXN = 64.0
STAGES = ("read", "validate", "build")
SLOW_STAGE_S = 600.0  # a stage slower than this is a problem worth investigating


def default_repeats(size: int) -> int:
    # about 4 s per run at 1 M and 40 s at 10 M on 2 cores: the whole default run,
    # data generation included, stays well under 15 minutes
    return 5 if size <= 2_000_000 else 3


# -- data ---------------------------------------------------------------------------------

def data_paths(size: int) -> tuple[Path, Path, Path]:
    return (DATA_DIR / f"txns_{size}.parquet", DATA_DIR / f"accounts_{size}.parquet",
            DATA_DIR / f"txns_{size}.json")


def data_params(size: int, seed: int) -> dict:
    return {"generator": "flowgraph.simulate.random_transactions", "n_txns": size,
            "n_accounts": size // ACCOUNTS_PER_TXN, "seed": seed}


def ensure_data(size: int, seed: int, timeout: float) -> dict:
    """Generate the Parquet files for ``size`` in a subprocess unless they already exist
    with the same parameters. Returns the sidecar metadata."""
    txns, accounts, meta = data_paths(size)
    wanted = data_params(size, seed)
    if txns.exists() and accounts.exists() and meta.exists():
        info = json.loads(meta.read_text())
        if info.get("params") == wanted:
            info["reused"] = True
            return info
    log(f"[data] generating {size:,} transactions (seed {seed}) ...")
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, str(Path(__file__).resolve()), "--_generate", str(size), "--seed", str(seed)]
    proc = subprocess.run(cmd, timeout=timeout, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"data generation for {size} failed ({proc.returncode}):\n{proc.stderr}")
    info = json.loads(meta.read_text())
    info["reused"] = False
    log(f"[data] {size:,}: generated in {info['generate_s']:.1f} s, written in {info['write_s']:.1f} s, "
        f"{info['txns_file_bytes'] / 1e6:.0f} MB")
    return info


def _generate(size: int, seed: int) -> None:
    import resource

    from flowgraph.simulate import random_transactions

    txns_path, accounts_path, meta_path = data_paths(size)
    params = data_params(size, seed)
    t0 = time.perf_counter()
    txns, accounts = random_transactions(size, n_accounts=params["n_accounts"], seed=seed)
    t1 = time.perf_counter()
    for frame, path in ((txns, txns_path), (accounts, accounts_path)):
        tmp = path.with_suffix(".parquet.tmp")
        frame.to_parquet(tmp, index=False)
        tmp.replace(path)
    t2 = time.perf_counter()
    meta_path.write_text(json.dumps({
        "params": params, "generate_s": t1 - t0, "write_s": t2 - t1,
        "generate_peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "txns_file_bytes": txns_path.stat().st_size, "accounts_file_bytes": accounts_path.stat().st_size,
        "n_accounts_rows": len(accounts), "created": dt.datetime.now(dt.timezone.utc).isoformat(),
    }, indent=2))


# -- one measured run (in its own process) -------------------------------------------------

def _worker(size: int, out: Path, profile: bool) -> None:
    import gc

    t0 = time.perf_counter()
    import pandas as pd

    from flowgraph import build_graph, default_rates, prc_calendar, validate_accounts, validate_transactions
    t1 = time.perf_counter()
    prc_calendar()
    default_rates()
    t2 = time.perf_counter()
    gc.collect()

    txns_path, accounts_path, _ = data_paths(size)
    result: dict = {"size": size, "import_s": t1 - t0, "setup_s": t2 - t1, "stages": {},
                    "rss_start": _rss()}
    profiles = {}

    def run(stage, fn):
        if profile:
            import cProfile
            import io
            import pstats
            prof = cProfile.Profile()
            start = time.perf_counter()
            value = prof.runcall(fn)
            elapsed = time.perf_counter() - start
            buf = io.StringIO()
            pstats.Stats(prof, stream=buf).sort_stats("cumulative").print_stats(35)
            buf.write("\n--- by own time ---\n")
            pstats.Stats(prof, stream=buf).sort_stats("tottime").print_stats(20)
            profiles[stage] = buf.getvalue()
        else:
            start = time.perf_counter()
            value = fn()
            elapsed = time.perf_counter() - start
        result["stages"][stage] = {"s": elapsed, **_rss()}
        print(f"  {stage:<8} {elapsed:8.2f} s  rss {result['stages'][stage]['rss_bytes'] / 2**30:6.2f} GiB"
              f"  peak {result['stages'][stage]['hwm_bytes'] / 2**30:6.2f} GiB", file=sys.stderr, flush=True)
        return value

    def read():
        start = time.perf_counter()
        t = pd.read_parquet(txns_path)
        result["read_txns_s"] = time.perf_counter() - start
        return t, pd.read_parquet(accounts_path)

    raw_txns, raw_accounts = run("read", read)
    result["raw_table_bytes"] = int(raw_txns.memory_usage(deep=True).sum())
    v, a = run("validate", lambda: (validate_transactions(raw_txns, str(txns_path)),
                                    validate_accounts(raw_accounts, str(accounts_path))))
    del raw_txns, raw_accounts  # as flowgraph.io.read_transactions does
    gc.collect()
    result["rss_after_drop_raw"] = _rss()
    g = run("build", lambda: build_graph(v.table, a.table))

    n = len(v.table)
    result.update({
        "n_input": v.report.n_input, "n_accepted": v.report.n_accepted, "n_rejected": v.report.n_rejected,
        "accounts_rejected": a.report.n_rejected,
        "graph_bytes": int(g.nbytes),
        "graph_bytes_by_array": {name: int(getattr(g, name).nbytes) for name in
                                 ("src", "dst", "timestamp_ns", "day", "amount_cny", "amount_usd",
                                  "channel", "is_home_currency", "txn_pos", "out_indptr", "out_edges",
                                  "in_indptr", "in_edges", "day_indptr")},
        "table_bytes": int(v.table.memory_usage(deep=True).sum()),
        "table_bytes_by_column": {k: int(x) for k, x in v.table.memory_usage(deep=True).items()},
        "summary": g.summary(),
        "peak": _rss(),
    })
    result["graph_bytes_per_txn"] = result["graph_bytes"] / n if n else None
    result["table_bytes_per_txn"] = result["table_bytes"] / n if n else None
    out.write_text(json.dumps(result, default=str))
    if profile:
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        path = RESULTS_DIR / f"graph_build_profile_{size}.txt"
        path.write_text("".join(f"===== {stage} ({result['stages'][stage]['s']:.2f} s under cProfile) "
                                f"=====\n{text}\n" for stage, text in profiles.items()))
        print(f"  profile written to {path}", file=sys.stderr, flush=True)


def run_once(size: int, timeout: float, profile: bool = False) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run.json"
        cmd = [sys.executable, str(Path(__file__).resolve()), "--_worker", str(size), "--_out", str(out)]
        if profile:
            cmd.append("--profile")
        start = time.perf_counter()
        try:
            proc = subprocess.run(cmd, timeout=timeout, stdout=subprocess.PIPE, stderr=None, text=True)
        except subprocess.TimeoutExpired:
            return {"size": size, "error": f"timed out after {timeout:.0f} s",
                    "wall_s": time.perf_counter() - start}
        wall = time.perf_counter() - start
        if proc.returncode != 0 or not out.exists():
            hint = " (killed: out of memory?)" if proc.returncode in (-9, 137) else ""
            return {"size": size, "error": f"worker exited with {proc.returncode}{hint}", "wall_s": wall}
        result = json.loads(out.read_text())
        result["wall_s"] = wall
        return result


# -- aggregation and reports ---------------------------------------------------------------

def aggregate(size: int, runs: list[dict]) -> dict:
    ok = [r for r in runs if "error" not in r]
    if not ok:
        return {"size": size, "ok_runs": 0, "errors": [r["error"] for r in runs]}
    n = ok[0]["n_accepted"]
    stage_s = {s: [r["stages"][s]["s"] for r in ok] for s in STAGES}
    read_s = stage_s["read"]
    per_run = {
        "read_s": read_s,
        "read_txns_s": [r["read_txns_s"] for r in ok],
        "validate_s": stage_s["validate"],
        "build_s": stage_s["build"],
        "total_s": [sum(r["stages"][s]["s"] for s in STAGES) for r in ok],
        "peak_rss_bytes": [r["peak"]["ru_maxrss_bytes"] for r in ok],
        "peak_vmhwm_bytes": [r["peak"]["hwm_bytes"] for r in ok],
        "build_txn_per_s": [n / r["stages"]["build"]["s"] for r in ok],
        "end_to_end_txn_per_s": [n / sum(r["stages"][s]["s"] for s in STAGES) for r in ok],
        "read_txn_per_s": [n / r["read_txns_s"] for r in ok],
        "build_over_read": [r["stages"]["build"]["s"] / r["stages"]["read"]["s"] for r in ok],
        "validate_build_over_read": [(r["stages"]["validate"]["s"] + r["stages"]["build"]["s"])
                                     / r["stages"]["read"]["s"] for r in ok],
        "rss_after_read_bytes": [r["stages"]["read"]["rss_bytes"] for r in ok],
        "rss_after_validate_bytes": [r["stages"]["validate"]["rss_bytes"] for r in ok],
        "rss_after_build_bytes": [r["stages"]["build"]["rss_bytes"] for r in ok],
        "peak_after_read_bytes": [r["stages"]["read"]["hwm_bytes"] for r in ok],
        "peak_after_validate_bytes": [r["stages"]["validate"]["hwm_bytes"] for r in ok],
    }
    first = ok[0]
    graph_bpt = first["graph_bytes_per_txn"]
    slow = sorted({s for r in ok for s in STAGES if r["stages"][s]["s"] > SLOW_STAGE_S})
    return {
        "size": size, "ok_runs": len(ok), "errors": [r["error"] for r in runs if "error" in r],
        "n_transactions": n, "n_rejected": first["n_rejected"],
        "n_accounts": first["summary"]["accounts"],
        "stats": {k: spread(v) for k, v in per_run.items()},
        "graph_bytes": first["graph_bytes"], "graph_bytes_per_txn": graph_bpt,
        "graph_bytes_by_array": first["graph_bytes_by_array"],
        "table_bytes": first["table_bytes"], "table_bytes_per_txn": first["table_bytes_per_txn"],
        "table_bytes_by_column": first["table_bytes_by_column"],
        "raw_table_bytes_per_txn": first["raw_table_bytes"] / n if n else None,
        "goal": {"graph_bytes_per_txn_max": GOAL_GRAPH_BYTES_PER_TXN,
                 "graph_bytes_per_txn": graph_bpt,
                 "pass": graph_bpt is not None and graph_bpt <= GOAL_GRAPH_BYTES_PER_TXN},
        "stages_over_limit": slow, "stage_limit_s": SLOW_STAGE_S,
        "summary": first["summary"],
    }


def _fmt(stat: dict, scale: float = 1.0, digits: int = 2) -> str:
    if stat["median"] is None:
        return "—"
    med = stat["median"] / scale
    if stat["n"] == 1:
        return f"{med:.{digits}f}"
    return f"{med:.{digits}f} ({stat['min'] / scale:.{digits}f}–{stat['max'] / scale:.{digits}f})"


def markdown(report: dict) -> str:
    m = report["machine"]
    lines = [
        "# Graph build benchmark",
        "",
        f"{report['date']} · {m['cpu_model']} · {m['nproc']} cores · "
        f"{m['mem_total_bytes'] / 2**30:.1f} GiB · Python {m['python']} · "
        + " · ".join(f"{k} {v}" for k, v in m["versions"].items() if v),
        f"commit {str(report['git']['commit'])[:12]}"
        + (" (src/ had uncommitted changes)" if report["git"]["src_dirty"] else "")
        + f" · seed {report['seed']} · `{report['command']}`",
        "",
        "Median over repeats, (min–max) when more than one; each repeat in a fresh process. "
        "`read` = pd.read_parquet of transactions + accounts (the floor); ratios are per run, "
        f"then the median. Goal: graph arrays ≤ {GOAL_GRAPH_BYTES_PER_TXN:.0f} B per transaction.",
        "",
        "| transactions | runs | read s | validate s | build s | total s | peak RSS GB | "
        "graph B/txn | table B/txn | build/read | (validate+build)/read | build Mtxn/s | "
        "end-to-end Mtxn/s | goal ≤ 64 B |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|:---:|",
    ]
    for agg in report["results"]:
        if not agg.get("ok_runs"):
            lines.append(f"| {agg['size']:,} | 0 | failed: {'; '.join(agg['errors'])} |||||||||||")
            continue
        s = agg["stats"]
        lines.append(
            f"| {agg['n_transactions']:,} | {agg['ok_runs']} | {_fmt(s['read_s'])} | "
            f"{_fmt(s['validate_s'])} | {_fmt(s['build_s'])} | {_fmt(s['total_s'])} | "
            f"{_fmt(s['peak_rss_bytes'], 1e9)} | {agg['graph_bytes_per_txn']:.1f} | "
            f"{agg['table_bytes_per_txn']:.1f} | {_fmt(s['build_over_read'], digits=1)} | "
            f"{_fmt(s['validate_build_over_read'], digits=1)} | {_fmt(s['build_txn_per_s'], 1e6)} | "
            f"{_fmt(s['end_to_end_txn_per_s'], 1e6)} | {'pass' if agg['goal']['pass'] else 'FAIL'} |")
    lines += ["", "Memory after each stage (median, GB; the raw frames are dropped after validation):", "",
              "| transactions | RSS after read | peak after read | RSS after validate | peak after validate "
              "| RSS after build | peak |", "|---:|---:|---:|---:|---:|---:|---:|"]
    for agg in report["results"]:
        if agg.get("ok_runs"):
            s = agg["stats"]
            g = lambda k: f"{s[k]['median'] / 1e9:.2f}"  # noqa: E731
            lines.append(f"| {agg['n_transactions']:,} | {g('rss_after_read_bytes')} | {g('peak_after_read_bytes')} "
                         f"| {g('rss_after_validate_bytes')} | {g('peak_after_validate_bytes')} "
                         f"| {g('rss_after_build_bytes')} | {g('peak_rss_bytes')} |")
    over = [f"{a['size']:,}: {', '.join(a['stages_over_limit'])}" for a in report["results"]
            if a.get("stages_over_limit")]
    if over:
        lines += ["", f"Stages slower than {SLOW_STAGE_S:.0f} s: " + "; ".join(over)]
    lines += ["", "Full figures, per-run values and per-array bytes: `graph_build.json`.", ""]
    return "\n".join(lines)


def write_reports(report: dict) -> None:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / "graph_build.json").write_text(json.dumps(report, indent=2, default=str) + "\n")
    (RESULTS_DIR / "graph_build.md").write_text(markdown(report))


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=list(DEFAULT_SIZES))
    parser.add_argument("--repeats", type=int, default=None,
                        help="runs per size (default: 5 up to 2 M transactions, 3 above); "
                             "0 with --profile: only the profiled runs, results files untouched")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds per run (default 3600)")
    parser.add_argument("--profile", action="store_true",
                        help="add one cProfile'd run per size (results/graph_build_profile_<size>.txt)")
    parser.add_argument("--_worker", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--_out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--_generate", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args._generate is not None:
        _generate(args._generate, args.seed)
        return 0
    if args._worker is not None:
        _worker(args._worker, args._out, args.profile)
        return 0

    command = " ".join([".venv/bin/python", "benchmarks/bench_graph_build.py", *(argv or sys.argv[1:])])
    report = {
        "benchmark": "graph_build",
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "command": command, "machine": machine_info(), "git": git_info(),
        "seed": args.seed, "sizes": args.sizes,
        "data_params": {"generator": "flowgraph.simulate.random_transactions",
                        "n_accounts": f"size // {ACCOUNTS_PER_TXN}", "seed": args.seed},
        "goal": {"graph_bytes_per_txn_max": GOAL_GRAPH_BYTES_PER_TXN},
        "method": {"stages": {"read": "pd.read_parquet(txns) + pd.read_parquet(accounts)",
                              "validate": "validate_transactions + validate_accounts",
                              "build": "build_graph(v.table, a.table)"},
                   "timer": "time.perf_counter", "peak_rss": "resource.getrusage(RUSAGE_SELF).ru_maxrss "
                   "of the run's own process (cross-checked with VmHWM)",
                   "isolation": "one fresh subprocess per repeat; calendar and rate table loaded "
                                "before timing; raw frames dropped after validation; warm page cache",
                   "graph_bytes": "TransactionGraph.nbytes (edge + index arrays)",
                   "table_bytes": "validated table memory_usage(deep=True)"},
        "data": {}, "runs": {}, "results": [],
    }
    for size in args.sizes:
        report["data"][str(size)] = ensure_data(size, args.seed, args.timeout)
    profile_only = args.repeats == 0 and args.profile
    for size in args.sizes if not profile_only else ():
        repeats = args.repeats if args.repeats is not None else default_repeats(size)
        runs = []
        for i in range(repeats):
            log(f"[run] {size:,} transactions, repeat {i + 1}/{repeats}")
            r = run_once(size, args.timeout)
            if "error" in r:
                log(f"  ERROR: {r['error']}")
            runs.append(r)
        report["runs"][str(size)] = runs
        report["results"].append(aggregate(size, runs))
        write_reports(report)  # after every size, so a later failure keeps the earlier figures
    if args.profile:
        for size in args.sizes:
            log(f"[profile] {size:,} transactions")
            run_once(size, args.timeout, profile=True)
    if profile_only:  # leave the timed results of the last full run alone
        return 0
    write_reports(report)
    print(markdown(report))
    return 0 if all(a.get("ok_runs") for a in report["results"]) else 1


if __name__ == "__main__":
    sys.exit(main())

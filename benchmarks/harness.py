"""The benchmark harness (issue 11): ``flowgraph scan`` as users run it, against the
previous release and snapml's GraphFeaturePreprocessor, and the quality of its hits.

    PYTHONPATH=src .venv/bin/python benchmarks/harness.py            # full: 1e6 and 1e7
    PYTHONPATH=src .venv/bin/python benchmarks/harness.py --quick    # smoke run at 1e5
    PYTHONPATH=src .venv/bin/python benchmarks/harness.py --skip baseline quality

Parts (``bench/``; every measurement is a fresh process on the public API and CLI):
``scale`` (the whole scan command, this tree, ``--baseline`` and ``--engine``),
``chunking`` (one long bank, ``chunk_days`` 5 vs one chunk), ``detectors`` (each
detector's time inside the detection), ``peers`` (GFP's fan, cycle and scatter-gather
families on the same edges) and ``quality`` (held-out seeds, AMLSim samples). Writes ``results/harness.json`` (machine,
versions, commits, seeds, every repeat) and ``results/harness.md`` (the tables); see
``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import sys
import tempfile
import time
from pathlib import Path

# the bench package, and this tree's flowgraph for the quality scoring (as its scans use)
sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parents[1] / "src")]
from bench import detectors, peers, quality, scale  # noqa: E402
from bench.baseline import checkout  # noqa: E402
from bench.cli import Tree, Workspace, imported_from  # noqa: E402
from bench.common import REPO, RESULTS_DIR, log, machine_stamp, write_json  # noqa: E402
from bench.data import BankSpec, ensure_bank, scale_spec  # noqa: E402

PARTS = ("scale", "baseline", "engine", "chunking", "detectors", "peers", "quality", "amlsim")
BASELINE_COMMIT = "0ee599c"        # main before issue 11
ENGINE_COMMIT = "deb766d"          # main after issue 11, before the multi-hop detectors of issue 12
SPEED_SEED = 20241124
QUALITY_SEEDS = [9001, 9002, 9003]  # never used in development
AMLSIM_FOLDERS = ["20K_fanin200", "20K_fanin200cycle200", "20K_cycle200"]
LARGE_SIZE = 2_000_000             # above this, at most --repeats-large timed scans

FULL = {"sizes": [1_000_000, 10_000_000], "repeats": 3, "peer_sizes": [1_000_000], "gfp_budget": 120.0,
        "quality_seeds": QUALITY_SEEDS, "quality_customers": 16_200, "patterns": 40, "lookalikes": 30,
        "amlsim": AMLSIM_FOLDERS, "long_days": 1440}
QUICK = {"sizes": [100_000], "repeats": 2, "peer_sizes": [100_000], "gfp_budget": 30.0,
         "quality_seeds": QUALITY_SEEDS[:1], "quality_customers": 2_000, "patterns": None, "lookalikes": None,
         "amlsim": AMLSIM_FOLDERS[:1], "long_days": 240}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="smoke run: 1e5 transactions, one seed, short budgets")
    ap.add_argument("--sizes", type=int, nargs="+", help="scale: transactions per bank [1e6 1e7; quick 1e5]")
    ap.add_argument("--repeats", type=int, help="timed scans per bank and tree [3; quick 2]")
    ap.add_argument("--repeats-large", type=int, default=2, help=f"at most this many above {LARGE_SIZE:,} [2]")
    ap.add_argument("--seed", type=int, default=SPEED_SEED, help=f"seed of the speed banks [{SPEED_SEED}]")
    ap.add_argument("--baseline", default=BASELINE_COMMIT, help=f"commit compared with [{BASELINE_COMMIT}]")
    ap.add_argument("--engine", default=ENGINE_COMMIT, help=f"issue-11 engine compared with [{ENGINE_COMMIT}]")
    ap.add_argument("--peer-sizes", type=int, nargs="+", help="banks GFP runs on [1e6; quick 1e5]")
    ap.add_argument("--gfp-budget", type=float, help="seconds of GFP streaming per bank and family [120; quick 30]")
    ap.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)), help="GFP threads [all cores]")
    ap.add_argument("--quality-seeds", type=int, nargs="+", help=f"held-out seeds {QUALITY_SEEDS} [quick: first]")
    ap.add_argument("--quality-customers", type=int, help="customers per quality bank [16,200; quick 2,000]")
    ap.add_argument("--patterns", type=int, help="planted patterns per typology [40; quick: simulator default]")
    ap.add_argument("--lookalikes", type=int, help="look-alikes per kind [30; quick: simulator default]")
    ap.add_argument("--amlsim", nargs="+", help="AMLSim sample folders [all three; quick: 20K_fanin200]")
    ap.add_argument("--long-days", type=int, help="business days of the chunking bank [1,440; quick 240]")
    ap.add_argument("--skip", nargs="+", default=[], choices=PARTS, help="parts not to run")
    ap.add_argument("--timeout", type=float, default=3600.0, help="seconds before one scan is killed [3600]")
    ap.add_argument("--results", type=Path, default=RESULTS_DIR, help="output folder [benchmarks/results]")
    args = ap.parse_args(argv)
    for name, default in (QUICK if args.quick else FULL).items():
        if getattr(args, name) is None:
            setattr(args, name, default)
    return args


def run_scale(args, trees: list[Tree], ws: Workspace) -> dict:
    sizes = []
    for size in args.sizes:
        repeats = args.repeats if size <= LARGE_SIZE else min(args.repeats, args.repeats_large)
        sizes.append(scale.measure_size(size, args.seed, trees, ws, repeats))
    return {"seed": args.seed, "sizes": sizes}


def run_quality(args, tree: Tree, ws: Workspace) -> dict:
    seeds = [quality.seed_quality(tree, BankSpec(seed, args.quality_customers, patterns_per_typology=args.patterns,
                                                 lookalikes_per_kind=args.lookalikes), ws)
             for seed in args.quality_seeds]
    return {"seeds": seeds, "pooled": quality.pool(seeds)}


def measure(args, report: dict, ws: Workspace, stack: contextlib.ExitStack) -> None:
    """Every part not skipped, into ``report``; the baseline worktree lives on ``stack``."""
    skip = set(args.skip)
    trees = [Tree("current", REPO / "src", report["machine"]["commit"])]
    for label, commit in (("baseline", args.baseline), ("engine", args.engine)):
        if not skip & {"scale", label}:
            tree, sha = stack.enter_context(checkout(commit))
            trees.append(Tree(label, tree / "src", sha))
    report["trees"] = {t.label: {"commit": t.commit, "imported_from": imported_from(t, ws)} for t in trees}
    warm_bank = ensure_bank(scale_spec(min(args.sizes), args.seed), ws.key_file, ws.timeout_s)
    report["warm_up"] = {t.label: scale.warm_up(t, Path(warm_bank["folder"]), ws) for t in trees}
    if "scale" not in skip:
        report["scale"] = run_scale(args, trees, ws)
    if "chunking" not in skip:
        report["chunking"] = scale.chunking(trees[0], ws, args.repeats, args.seed, args.long_days)
    measured = {e["size"]: e for e in report.get("scale", {}).get("sizes", [])}
    if "detectors" not in skip:
        report["detectors"] = [detectors.measure(size, args.seed, ws, measured.get(size)) for size in args.sizes]
    if "scale" in report:
        report["scale"]["engine_budget"] = scale.engine_budget(report["scale"], report.get("detectors"))
    if "peers" not in skip:
        by_size = {e["size"]: e for e in report.get("detectors", []) if "error" not in e}
        report["peers"] = [peers.measure(size, args.seed, args.threads, args.gfp_budget, ws, measured.get(size),
                                         by_size.get(size))
                           for size in args.peer_sizes]
    if "quality" not in skip:
        report["quality"] = run_quality(args, trees[0], ws)
    if "amlsim" not in skip:
        report["amlsim"] = quality.amlsim(trees[0], ws, args.amlsim)


def markdown(report: dict) -> str:
    m = report["machine"]
    lines = ["# flowgraph benchmark harness", "",
             f"{report['date']} · `{report['command']}` · {report['wall_s'] / 60:.1f} min", "",
             f"Machine: {m['cpu_model']}, {m['cores_available']} of {m['cores']} cores, "
             f"{m['memory_bytes'] / 2**30:.1f} GiB, Python {m['python']}, numba {m['versions']['numba']}, "
             f"load average at start {m['load_average_at_start'][0]:.2f}.", ""]
    lines += [f"- {label}: `{t['commit'][:12] if t['commit'] else '?'}`" for label, t in report["trees"].items()]
    lines.append("")
    for part, render in (("scale", scale.markdown), ("chunking", scale.markdown_chunking),
                         ("detectors", detectors.markdown), ("peers", peers.markdown), ("quality", quality.markdown),
                         ("amlsim", quality.markdown_amlsim)):
        if part in report:
            lines += render(report[part]) + [""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    start = time.perf_counter()
    report = {"date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
              "command": "benchmarks/harness.py " + " ".join(sys.argv[1:] if argv is None else argv),
              "args": vars(args), "machine": machine_stamp()}
    with tempfile.TemporaryDirectory(prefix="flowgraph-harness-") as tmp, contextlib.ExitStack() as stack:
        ws = Workspace(Path(tmp), Path(tmp) / "pseudonym.key", args.timeout)
        try:
            measure(args, report, ws, stack)
        except RuntimeError as exc:  # a bad --baseline, a failed simulation or warm-up scan
            log(f"error: {exc}")
            return 1
    report["wall_s"] = time.perf_counter() - start
    report["load_average_at_end"] = os.getloadavg()
    write_json(args.results / "harness.json", report)
    text = markdown(report)
    (args.results / "harness.md").write_text(text)
    print(text)
    log(f"done in {report['wall_s'] / 60:.1f} min; wrote {args.results / 'harness.json'} and harness.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Speed and memory of the simulator streamed into a transaction store (issue 14, item 4).

``flowgraph simulate --into STORE`` in a fresh process per size (a bank of 60 business
days, customers scaled as the harness's banks), timed with its peak RSS; beside it, the
in-memory simulator (``simulate`` + ``write_simulation``, what ``--out`` runs) on the
same bank for comparison. From the largest measured size, a **projection** (labelled as
such) of time and peak RSS at 1e8 transactions: peak RSS fitted as a line through the
measured sizes (population and one day both grow with the customers at 60 days).

Run from ``benchmarks/``: ``python -m bench.simstore --sizes 1000000 3000000 10000000``. Sizes of
1e7 and more run only when the machine is quiet (1-minute load average under
``QUIET_LOAD``) unless ``--force``; skipped sizes are listed in the results. Results:
``results/simstore.json`` and ``results/simstore.md``, stamped with the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from .common import (BENCH_DIR, REPO, RESULTS_DIR, fmt, log, machine_stamp, md_table, results_header, run_child,
                     write_json)
from .data import SCALE_DAYS, TXNS_PER_CUSTOMER_60_DAYS

GIB = 2**30
QUIET_LOAD = 1.5
LARGE = 10_000_000
PROJECTED_TXNS = 100_000_000
#: The seed of every measured bank (the harness's).
SEED = 20241124
#: Launderers' recruiting pool large enough for the default typology counts at every size.
RECRUIT_POOL_SHARE = 0.25


def _params(n_txns: int) -> dict:
    return {"seed": SEED, "n_customers": round(n_txns / TXNS_PER_CUSTOMER_60_DAYS), "n_days": SCALE_DAYS,
            "recruit_pool_share": RECRUIT_POOL_SHARE}


def child(mode: str, params_json: str, folder: str) -> None:
    """One measured run (in its own process): prints a JSON line of counts and stage times."""
    from flowgraph.simulate import simulate, simulate_into, write_simulation

    params = json.loads(params_json)
    start = time.perf_counter()
    if mode == "into":
        summary, plan = simulate_into(Path(folder) / "store", **params)
        n_txns, n_days = summary.manifest["rows_new"], len(summary.manifest["days_touched"])
        n_patterns = len(plan.patterns)
    else:
        bank = simulate(**params)
        write_simulation(bank, Path(folder) / "bank")
        n_txns, n_days, n_patterns = len(bank.transactions), None, len(bank.patterns)
    print(json.dumps({"n_txns": n_txns, "n_day_partitions": n_days, "n_patterns": n_patterns,
                      "inner_s": time.perf_counter() - start}))


def measure(n_txns: int, mode: str, timeout_s: float) -> dict:
    """``mode`` ("into" or "out") at about ``n_txns`` transactions, in a child process."""
    params = _params(n_txns)
    env = dict(os.environ, PYTHONPATH=f"{REPO / 'src'}:{BENCH_DIR}")
    with tempfile.TemporaryDirectory(prefix="simstore-") as folder:
        log(f"simulate --{mode} at {n_txns:,} transactions ({params['n_customers']:,} customers) ...")
        run = run_child([sys.executable, "-m", "bench.simstore", "--child", mode, json.dumps(params), folder],
                        env, timeout_s)
    if run["returncode"] != 0:
        raise RuntimeError(f"simulate --{mode} at {n_txns:,} failed:\n{run['stderr_tail']}")
    inner = json.loads(run["stdout_tail"].strip().splitlines()[-1])
    return {"mode": mode, "target_txns": n_txns, "params": params, **inner, "wall_s": run["wall_s"],
            "peak_rss_bytes": run["peak_rss_bytes"], "txn_per_s": inner["n_txns"] / run["wall_s"],
            "user_s": run["user_s"], "sys_s": run["sys_s"]}


def projection(runs: list[dict]) -> dict | None:
    """Time and peak RSS of ``--into`` at :data:`PROJECTED_TXNS`: the rate of the largest
    measured size; peak RSS on the line through the measured sizes (None below two sizes)."""
    into = sorted((r for r in runs if r["mode"] == "into"), key=lambda r: r["n_txns"])
    if len(into) < 2:
        return None
    x = np.array([r["n_txns"] for r in into], float)
    y = np.array([r["peak_rss_bytes"] for r in into], float)
    slope, intercept = np.polyfit(x, y, 1)
    return {"label": "PROJECTION, not a measurement", "n_txns": PROJECTED_TXNS,
            "from_sizes": [int(v) for v in x], "rate_txn_per_s": into[-1]["txn_per_s"],
            "wall_s": PROJECTED_TXNS / into[-1]["txn_per_s"],
            "peak_rss_bytes": float(intercept + slope * PROJECTED_TXNS),
            "model": "peak RSS = a + b * transactions, fitted on the measured --into sizes (60 business days: "
                     "customers and the busiest day both grow with the transactions); time = transactions / "
                     "the largest size's rate"}


def write_results(payload: dict, results: Path) -> None:
    write_json(results / "simstore.json", payload)
    lines = [*results_header("The simulator streamed into a transaction store (issue 14, item 4)", payload),
             "Each run is a fresh process (peak RSS from `wait4`); a bank of 60 business days, the seed and "
             "customer scaling of the harness. `--into`: `flowgraph simulate --into STORE` (validated, "
             "written day by day); `--out`: the in-memory `simulate` + `write_simulation`.", ""]
    rows = [[f"--{r['mode']}", fmt(r["n_txns"]), fmt(r["params"]["n_customers"]), fmt(r["n_day_partitions"]),
             fmt(r["wall_s"]), fmt(r["txn_per_s"]), fmt(r["peak_rss_bytes"], scale=1 / GIB)]
            for r in payload["runs"]]
    lines += md_table(["mode", "transactions", "customers", "day partitions", "wall s", "txn/s",
                       "peak RSS GiB"], rows)
    if payload["skipped"]:
        lines += ["", "Not run: " + "; ".join(f"{s['n_txns']:,} ({s['reason']})" for s in payload["skipped"])]
    p = payload["projection"]
    if p:
        lines += ["", f"**{p['label']}** at {p['n_txns']:,} transactions (`--into`, from the sizes "
                      f"{', '.join(f'{v:,}' for v in p['from_sizes'])}): ≈ {p['wall_s'] / 60:,.0f} min at "
                      f"{p['rate_txn_per_s']:,.0f} txn/s, peak RSS ≈ {p['peak_rss_bytes'] / GIB:,.1f} GiB. "
                      f"Model: {p['model']}."]
    (results / "simstore.md").write_text("\n".join(lines) + "\n")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 3_000_000, 10_000_000])
    parser.add_argument("--no-out", action="store_true", help="Skip the in-memory comparison runs.")
    parser.add_argument("--force", action="store_true", help="Run large sizes even on a busy machine.")
    parser.add_argument("--timeout-s", type=float, default=3_600)
    parser.add_argument("--results", type=Path, default=RESULTS_DIR)
    args = parser.parse_args(argv)
    payload = {"started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "command": " ".join(["bench.simstore", *(argv or sys.argv[1:])]),
               "machine": machine_stamp(), "runs": [], "skipped": []}
    for n_txns in sorted(args.sizes):
        load = os.getloadavg()[0]
        if n_txns >= LARGE and load >= QUIET_LOAD and not args.force:
            payload["skipped"].append({"n_txns": n_txns, "reason": f"machine busy: load average {load:.2f}"})
            log(f"skipping {n_txns:,}: load average {load:.2f} >= {QUIET_LOAD}")
            continue
        for mode in ("into",) if args.no_out else ("into", "out"):
            payload["runs"].append({**measure(n_txns, mode, args.timeout_s), "load_average_before": load})
    payload["projection"] = projection(payload["runs"])
    write_results(payload, args.results)
    log(f"wrote {args.results / 'simstore.json'} and simstore.md")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        child(*sys.argv[2:5])
    else:
        main()

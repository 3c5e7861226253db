"""Alert-level quality: what a monitoring team sees after scoring (SPEC §5, §6).

    .venv/bin/python benchmarks/bench_alerts.py [--seeds 101 102] [--customers 16200]

For each seed (not used in development), simulates a bank of about 1 M transactions
(40 patterns per typology, 30 look-alikes per kind), runs the full scan (every detector,
tolerance band, alerts, store) and measures: the share of raised alerts whose customer
belongs to a laundering pattern (precision), and per typology and behaviour the share of
patterns whose subject's customer has a raised alert (for look-alikes: the false-alert
rate). Writes ``results/alerts.json`` and ``results/alerts.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS_DIR, git_info, machine_info  # noqa: E402


def measure(seed: int, n_customers: int) -> dict:
    from flowgraph.io import load_dataset
    from flowgraph.scan import run_scan
    from flowgraph.simulate import simulate, write_simulation

    bank = simulate(seed=seed, n_customers=n_customers, n_days=60, patterns_per_typology=40, lookalikes_per_kind=30)
    with tempfile.TemporaryDirectory() as tmp:
        write_simulation(bank, Path(tmp) / "data")
        start = time.perf_counter()
        result = run_scan(load_dataset(Path(tmp) / "data"), Path(tmp) / "scan", progress=False,
                          key_file=Path(tmp) / "key")
        elapsed = time.perf_counter() - start
    p, accounts, alerts = bank.patterns, bank.accounts, result.alerts
    customer = dict(zip(accounts.account_id, accounts.customer_id))
    laundering = {customer[a] for accts, b in zip(p.accounts, p.behaviour) if b != "lookalike" for a in accts}
    raised = alerts[alerts.raised]
    alerted = set(raised.customer)
    p = p.assign(alerted=[customer[s] in alerted for s in p.subject])
    rates = p.groupby(["typology", "behaviour"]).alerted.agg(["sum", "count"])
    return {"seed": seed, "transactions": len(bank.transactions), "scan_s": round(elapsed, 1),
            "hits": len(result.hits), "alerts_raised": len(raised),
            "precision": round(float(raised.customer.isin(laundering).mean()), 4),
            "alerted": {f"{t}/{b}": [int(r["sum"]), int(r["count"])] for (t, b), r in rates.iterrows()}}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[101, 102])
    parser.add_argument("--customers", type=int, default=16_200)
    args = parser.parse_args(argv)
    runs = [measure(s, args.customers) for s in args.seeds]
    report = {"benchmark": "alerts", "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
              "machine": machine_info(), "git": git_info(), "seeds": args.seeds, "runs": runs}
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / "alerts.json").write_text(json.dumps(report, indent=2))
    keys = sorted({k for r in runs for k in r["alerted"]})
    lines = ["# Alert-level quality", "", f"{report['date']}, commit {str(report['git']['commit'])[:10]}; "
             f"{report['machine']['cpu_model']}, {report['machine']['nproc']} cores. Default configuration.", "",
             "| seed | transactions | scan s | hits | alerts raised | precision |", "|---:|---:|---:|---:|---:|---:|"]
    lines += [f"| {r['seed']} | {r['transactions']:,} | {r['scan_s']} | {r['hits']:,} | {r['alerts_raised']:,} "
              f"| {r['precision']:.3f} |" for r in runs]
    lines += ["", "Patterns whose subject's customer has a raised alert (found / planted, pooled over seeds):", "",
              "| typology / behaviour | alerted | rate |", "|---|---:|---:|"]
    for k in keys:
        found = sum(r["alerted"].get(k, [0, 0])[0] for r in runs)
        total = sum(r["alerted"].get(k, [0, 0])[1] for r in runs)
        lines.append(f"| {k} | {found}/{total} | {found / total:.3f} |")
    (RESULTS_DIR / "alerts.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())

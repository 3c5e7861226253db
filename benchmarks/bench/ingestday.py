"""A bank's daily ingest into a store with a long history (issue 14): ``flowgraph ingest
DAY --into STORE`` of one new business day, timed end to end, into a copy of a large store
and into an empty one, by this tree and by a baseline commit in the same run.

The day file is hand-built (not by the simulator): ``--rows`` transactions between the
store's own accounts, amounts lognormal, dated the first business day after the store's
last, with ids of one of two kinds (``--ids``):

- ``time``: ``D<day>-<n>``, ids that grow with time, as most banks' references do;
- ``random``: 16 random hex digits, which no range of the index can exclude.

Each run copies the store (untimed) so every ingest starts from the same history. What
should not grow with the history is the ingest into the large store against the one into an
empty store; the baseline shows what it was. Results: ``results/ingestday.json`` and
``results/ingestday.md`` (``--results``), stamped with the machine; ``--rewrite`` writes the
markdown again from the JSON after its hand-written ``findings`` were edited.

Run from ``benchmarks/``: ``python -m bench.ingestday /tmp/st8/store --baseline c888229``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from . import baseline
from .common import REPO, RESULTS_DIR, child_env, fmt, log, machine_stamp, md_table, ratio, results_header, \
    run_child, write_json

TIMEOUT_S = 3600.0


def day_file(store: Path, rows: int, ids: str, out: Path, seed: int = 20261205) -> tuple[str, int]:
    """Write the day file (module docstring) to ``out``; its day and the store's rows."""
    sys.path.insert(0, str(REPO / "src"))
    from flowgraph.calendar import prc_calendar
    from flowgraph.txstore import TransactionStore

    txstore = TransactionStore(store)
    day = str(prc_calendar().next_business_day(np.datetime64(txstore.days()[-1], "D") + 1))
    accounts = txstore.accounts().column("account_id").to_numpy(zero_copy_only=False)
    n_stored = sum(txstore.day_rows(txstore.days()[0], txstore.days()[-1]).values())
    rng = np.random.default_rng(seed)
    src = rng.integers(0, len(accounts), rows)
    dst = (src + 1 + rng.integers(0, len(accounts) - 1, rows)) % len(accounts)
    txn_ids = np.char.add(f"D{day.replace('-', '')}-", np.arange(rows).astype(str)) if ids == "time" else \
        np.array([f"{v:016x}" for v in rng.integers(0, 1 << 63, rows)])
    stamps = np.datetime64(day, "s") + np.sort(rng.integers(8 * 3600, 20 * 3600, rows)).astype("timedelta64[s]")
    pq.write_table(pa.table({"txn_id": txn_ids, "timestamp": stamps, "src_account": accounts[src],
                             "dst_account": accounts[dst], "amount": np.round(rng.lognormal(7, 1.5, rows), 2),
                             "currency": np.full(rows, "CNY"),
                             "channel": np.where(rng.random(rows) < 0.1, "cash", "transfer")}), out)
    return day, n_stored


def ingest(tree: Path, day: Path, into: Path, key: Path) -> dict:
    """One timed ``flowgraph ingest DAY --into INTO`` by the code of ``tree``."""
    result = run_child([sys.executable, "-m", "flowgraph.cli", "ingest", str(day), "--into", str(into)],
                       child_env(tree / "src", key), TIMEOUT_S)
    if result["returncode"] != 0:
        log(f"ingest failed ({result['returncode']}): {result['stderr_tail'][-500:]}")
    return result


def run(store: Path, rows: int, id_kinds: list[str], base: str, work: Path) -> dict:
    steps = []
    with baseline.checkout(base) as (base_tree, base_sha):
        for kind in id_kinds:
            day_path = work / f"day-{kind}.parquet"
            day, n_stored = day_file(store, rows, kind, day_path)
            for tree, code in ((REPO, "current"), (base_tree, f"baseline {base_sha[:12]}")):
                for target in ("history", "empty"):
                    into = work / "into"
                    shutil.rmtree(into, ignore_errors=True)
                    if target == "history":
                        log(f"copying {store}")
                        shutil.copytree(store, into)
                    log(f"{code}: ingest {rows:,} rows ({kind} ids) of {day} into {target}")
                    result = ingest(tree, day_path, into, work / "key")
                    steps.append({"code": code, "ids": kind, "into": target, "day": day, "rows": rows,
                                  "stored_rows": n_stored if target == "history" else 0, **result})
                    log(f"  {result['wall_s']:.1f} s, exit {result['returncode']}")
            shutil.rmtree(work / "into", ignore_errors=True)
    return {"steps": steps, "baseline": base_sha}


def write_results(payload: dict, results: Path) -> None:
    write_json(results / "ingestday.json", payload)
    lines = results_header("A daily ingest into a store with a long history (issue 14)", payload)
    lines += ["Each row: `python -m flowgraph.cli ingest DAY --into STORE`, one fresh process, into a copy of the "
              f"store ({payload['store']}) or an empty one; the day file hand-built (`bench.ingestday`). "
              "Ratio: the baseline's wall time over this tree's, same ids and target.", ""]
    by = {(s["code"], s["ids"], s["into"]): s for s in payload["steps"]}
    rows = []
    for s in payload["steps"]:
        other = by.get((f"baseline {payload['baseline'][:12]}", s["ids"], s["into"]))
        rows.append([s["code"], s["ids"], s["into"], fmt(s["stored_rows"]), fmt(s["rows"]),
                     "ok" if s["returncode"] == 0 else f"exit {s['returncode']}", fmt(s["wall_s"], 1),
                     fmt(s["rows"] / s["wall_s"] if s["wall_s"] else None), fmt(s["peak_rss_bytes"], 2, 1 / 2**30),
                     fmt(ratio(other["wall_s"], s["wall_s"]) if other and s["code"] == "current" else None)])
    lines += md_table(["code", "ids", "into", "stored rows", "day rows", "", "wall s", "rows/s", "peak RSS GiB",
                       "baseline ÷ current"], rows)
    for finding in payload.get("findings", []):
        lines += ["", finding]
    (results / "ingestday.md").write_text("\n".join(lines) + "\n")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("store", type=Path, help="A transaction store with a long history (it is copied, not changed).")
    parser.add_argument("--rows", type=int, default=2_000_000, help="Transactions of the day [default: 2,000,000].")
    parser.add_argument("--ids", nargs="+", default=["time", "random"], choices=["time", "random"])
    parser.add_argument("--baseline", default="c888229", help="The commit to compare with [default: c888229].")
    parser.add_argument("--work", type=Path, default=None, help="Where the copies go [default: a temporary folder].")
    parser.add_argument("--results", type=Path, default=RESULTS_DIR)
    parser.add_argument("--rewrite", action="store_true", help="Write the markdown again from the JSON.")
    args = parser.parse_args(argv)
    if args.rewrite:
        write_results(json.loads((args.results / "ingestday.json").read_text()), args.results)
        return
    work = args.work or Path(tempfile.mkdtemp(prefix="ingestday-"))
    work.mkdir(parents=True, exist_ok=True)
    payload = {"started_at": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S%z"),
               "command": " ".join(["bench.ingestday", *(argv if argv is not None else sys.argv[1:])]),
               "machine": machine_stamp(), "store": str(args.store), "findings": []}
    payload.update(run(args.store, args.rows, args.ids, args.baseline, work))
    write_results(payload, args.results)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

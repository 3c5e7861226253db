"""flowgraph against its closest peer, IBM snapml's GraphFeaturePreprocessor (GFP), on the
same transfer edges (issue 11, item 6: ≥ 100× GFP fan-only at 1e6).

GFP computes only windowed fan-in/fan-out features (``fan``, 10-day window in seconds,
global ``time_window`` -1 so it does not cap the window; no degree, cycles,
scatter-gather or vertex statistics), fed in time order through ``transform`` in chunks
of 10,000 edges: the streaming mode whose counts are exact windowed counts
(``../shared/PEERS.md``). It stops after a time budget and its rate is taken over the
edges it did. The ratio compares that rate with the throughput of the whole
``flowgraph scan`` command on the same bank (from :mod:`bench.scale`).

Run as ``python -m bench.peers BANK_FOLDER THREADS BUDGET_S OUT_JSON`` (what
:func:`measure` does, in a child process whose peak memory is measured).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

from .common import BENCH_DIR, child_env, fmt, log, md_table, ratio, run_child
from .data import ensure_bank, scale_spec

GOAL_RATIO = 100.0
WINDOW_S = 10 * 86_400
CHUNK_EDGES = 10_000
FAN_BINS = [2, 3, 4, 5, 6, 8, 10, 20, 50]
GFP_PARAMS = {"fan": True, "fan_tw": WINDOW_S, "fan_bins": FAN_BINS, "time_window": -1, "degree": False,
              "scatter-gather": False, "temp-cycle": False, "lc-cycle": False, "vertex_stats": False}


def transfer_edges(bank_folder: Path) -> np.ndarray:
    """GFP's input: ``[edge id, src id, dst id, timestamp s]`` of every transaction with an
    account on both sides, in time order (float64, C-contiguous)."""
    import pandas as pd

    tx = pd.read_parquet(bank_folder / "transactions.parquet", columns=["timestamp", "src_account", "dst_account"])
    tx = tx[tx["src_account"].notna() & tx["dst_account"].notna()]
    codes, _ = pd.factorize(pd.concat([tx["src_account"], tx["dst_account"]], ignore_index=True))
    seconds = tx["timestamp"].to_numpy("datetime64[s]").astype(np.int64)
    edges = np.column_stack([np.arange(len(tx)), codes[:len(tx)], codes[len(tx):], seconds]).astype(np.float64)
    return np.ascontiguousarray(edges[np.argsort(seconds, kind="stable")])


def gfp_fan_stream(edges: np.ndarray, threads: int, budget_s: float) -> dict:
    """Stream ``edges`` through GFP's fan features until done or ``budget_s`` is spent."""
    from snapml import GraphFeaturePreprocessor

    gfp = GraphFeaturePreprocessor()
    params = {**GFP_PARAMS, "num_threads": threads}
    gfp.set_params(params)
    done, start = 0, time.perf_counter()
    while done < len(edges) and time.perf_counter() - start < budget_s:
        gfp.transform(edges[done:done + CHUNK_EDGES])
        done = min(done + CHUNK_EDGES, len(edges))
    seconds = time.perf_counter() - start
    return {"params": params, "edges": done, "edges_total": len(edges), "partial": done < len(edges),
            "budget_s": budget_s, "s": seconds, "edges_per_s": done / seconds}


def measure(size: int, seed: int, threads: int, budget_s: float, ws, scan_entry: dict | None) -> dict:
    """GFP on the ``size`` bank's transfer edges, in a child; the ratio to ``scan_entry``
    (the :mod:`bench.scale` result for the same bank, if it was measured)."""
    bank = ensure_bank(scale_spec(size, seed), ws.key_file, ws.timeout_s)
    out = ws.tmp / f"gfp_{size}.json"
    log(f"GFP fan-only streaming on the {size:,} bank ({threads} threads, budget {budget_s:.0f} s)")
    run = run_child([sys.executable, "-m", "bench.peers", bank["folder"], str(threads), str(budget_s), str(out)],
                    child_env(BENCH_DIR, ws.key_file), budget_s + ws.timeout_s)
    gfp = json.loads(out.read_text()) if run["returncode"] == 0 else {"error": run["stderr_tail"][-800:]}
    if "error" in gfp:
        return {"size": size, "error": gfp["error"]}
    gfp.update(peak_rss_bytes=run["peak_rss_bytes"], child_wall_s=run["wall_s"])
    current = (scan_entry or {}).get("trees", {}).get("current", {})
    edges_per_s = ratio(bank["n_transfer_edges"], current.get("wall_s", {}).get("median"))
    return {"size": size, "threads": threads, "gfp": gfp, "flowgraph_scan_txn_per_s": current.get("txn_per_s"),
            "flowgraph_scan_transfer_edges_per_s": edges_per_s,
            "ratio": ratio(current.get("txn_per_s"), gfp["edges_per_s"]),
            "ratio_same_edges": ratio(edges_per_s, gfp["edges_per_s"]), "goal_ratio": GOAL_RATIO}


def markdown(section: list[dict]) -> list[str]:
    lines = ["## Peers: snapml GraphFeaturePreprocessor, fan-in/fan-out only, streaming", ""]
    rows = []
    for e in section:
        if "error" in e:
            rows.append([fmt(e["size"]), e["error"][:160], "", "", "", ""])
            continue
        g = e["gfp"]
        done = f"{fmt(g['edges'])} of {fmt(g['edges_total'])}" + (" (budget)" if g["partial"] else "")
        rows.append([fmt(e["size"]), done, fmt(g["edges_per_s"]), fmt(e["flowgraph_scan_txn_per_s"]),
                     fmt(e["ratio"]), fmt(e["ratio_same_edges"])])
    lines += md_table(["bank", "GFP edges done", "GFP edges/s", "flowgraph scan txn/s", "ratio",
                       "ratio, transfer edges only"], rows)
    lines += ["", f"Ratio = `flowgraph scan` transactions/s (whole command) ÷ GFP edges/s; goal ≥ {GOAL_RATIO:.0f}× "
              "at 1e6. The last column counts only the transfer edges GFP sees."]
    return lines


def main(folder: str, threads: str, budget_s: str, out: str) -> None:
    try:
        result = gfp_fan_stream(transfer_edges(Path(folder)), int(threads), float(budget_s))
    except ImportError as exc:
        result = {"error": f"snapml is not installed ({exc}); pip install snapml (the 'bench' extra)"}
    Path(out).write_text(json.dumps(result))


if __name__ == "__main__":
    main(*sys.argv[1:])

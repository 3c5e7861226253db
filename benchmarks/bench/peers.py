"""flowgraph against its closest peer, IBM snapml's GraphFeaturePreprocessor (GFP), on the
same transfer edges (issue 11, item 6: ≥ 100× GFP fan-only at 1e6; issue 12, item 9: the
multi-hop detectors against GFP's ``temp-cycle`` and ``scatter-gather``).

GFP computes one pattern family at a time, each in its own run (global ``time_window`` -1
so it does not cap the pattern's window; degree and vertex statistics off), fed in time
order through ``transform`` in chunks of 10,000 edges: the streaming mode whose counts are
exact windowed counts (``../shared/PEERS.md``). Each run stops after a time budget and its
rate is taken over the edges it did. The families (parameter names as snapml 1.17 has
them, ``GraphFeaturePreprocessor().get_params()``):

- ``fan``: fan-in/fan-out, ``fan_tw`` 10 days (as measured since issue 11);
- ``temp-cycle``: time-respecting cycles within ``temp-cycle_tw`` = the cycles
  detector's window. GFP bounds them by the window only: it has no cycle-length
  parameter (its bins only group the lengths found);
- ``lc-cycle``: simple cycles of at most ``lc-cycle_len`` = the cycles detector's
  ``max_hops`` (6) hops within the same window, not required to respect time: GFP's
  length-bounded search, beside its time-respecting one;
- ``scatter-gather``: within ``scatter-gather_tw`` = the scatter-gather detector's window.

A window of business days is given to GFP as the calendar days it spans at most without
holidays (10 business days: 14 days), in seconds. The ratio compares each rate with the
throughput of the whole ``flowgraph scan`` command on the same bank (:mod:`bench.scale`),
and with the throughput of the flowgraph detector that finds that pattern
(:mod:`bench.detectors`, its tolerance-band run) when that part ran.

Run as ``python -m bench.peers BANK_FOLDER '<json GFP params>' BUDGET_S OUT_JSON`` (what
:func:`measure` does, in a child process per family whose peak memory is measured).
"""

from __future__ import annotations

import json
import math
import sys
import time
from pathlib import Path

import numpy as np

from .common import BENCH_DIR, child_env, fmt, log, md_table, ratio, run_child
from .data import ensure_bank, scale_spec

GOAL_RATIO = 100.0
DAY_S = 86_400
FAN_WINDOW_S = 10 * DAY_S
CHUNK_EDGES = 10_000
FAN_BINS = [2, 3, 4, 5, 6, 8, 10, 20, 50]
#: Every family off: each run switches on one.
GFP_OFF = {"time_window": -1, "fan": False, "degree": False, "scatter-gather": False, "temp-cycle": False,
           "lc-cycle": False, "vertex_stats": False}
#: GFP family -> the flowgraph detector (registry name) that finds that pattern.
DETECTOR_OF = {"fan": "fan", "temp-cycle": "cycles", "lc-cycle": "cycles", "scatter-gather": "scatter_gather"}


def window_s(days: int, unit: str) -> int:
    """A detector's window in seconds: calendar days as they are; business days as the
    calendar days they span at most without holidays (five in every seven)."""
    return (days if unit == "calendar" else math.ceil(days * 7 / 5)) * DAY_S


def family_params() -> dict[str, dict]:
    """GFP's parameters for each family measured, from flowgraph's default parameters."""
    from flowgraph.detectors import CycleParams, ScatterParams

    cycles, scatter = CycleParams(), ScatterParams()
    cycle_tw = window_s(cycles.window_days, cycles.window_unit)
    cycle_bins = list(range(2, cycles.max_hops + 1))
    return {"fan": {"fan": True, "fan_tw": FAN_WINDOW_S, "fan_bins": FAN_BINS},
            "temp-cycle": {"temp-cycle": True, "temp-cycle_tw": cycle_tw, "temp-cycle_bins": cycle_bins},
            "lc-cycle": {"lc-cycle": True, "lc-cycle_tw": cycle_tw, "lc-cycle_len": cycles.max_hops,
                         "lc-cycle_bins": cycle_bins},
            "scatter-gather": {"scatter-gather": True,
                               "scatter-gather_tw": window_s(scatter.window_days, scatter.window_unit),
                               "scatter-gather_bins": FAN_BINS}}


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


def gfp_stream(edges: np.ndarray, params: dict, budget_s: float) -> dict:
    """Stream ``edges`` through GFP with ``params`` until done or ``budget_s`` is spent."""
    from snapml import GraphFeaturePreprocessor

    gfp = GraphFeaturePreprocessor()
    gfp.set_params(params)
    done, start = 0, time.perf_counter()
    while done < len(edges) and time.perf_counter() - start < budget_s:
        gfp.transform(edges[done:done + CHUNK_EDGES])
        done = min(done + CHUNK_EDGES, len(edges))
    seconds = time.perf_counter() - start
    return {"params": params, "edges": done, "edges_total": len(edges), "partial": done < len(edges),
            "budget_s": budget_s, "s": seconds, "edges_per_s": done / seconds}


def measure_family(bank: dict, family: str, params: dict, budget_s: float, ws) -> dict:
    """One GFP family on ``bank``'s transfer edges, in a child."""
    out = ws.tmp / f"gfp_{bank['n_txns']}_{family}.json"
    log(f"GFP {family} streaming on the {bank['n_txns']:,} bank ({params['num_threads']} threads, "
        f"budget {budget_s:.0f} s)")
    run = run_child([sys.executable, "-m", "bench.peers", bank["folder"], json.dumps(params), str(budget_s),
                     str(out)], child_env(BENCH_DIR, ws.key_file), budget_s + ws.timeout_s)
    gfp = json.loads(out.read_text()) if run["returncode"] == 0 else {"error": run["stderr_tail"][-800:]}
    if "error" not in gfp:
        gfp.update(peak_rss_bytes=run["peak_rss_bytes"], child_wall_s=run["wall_s"])
    return gfp


def measure(size: int, seed: int, threads: int, budget_s: float, ws, scan_entry: dict | None,
            detectors_entry: dict | None = None) -> dict:
    """Each GFP family on the ``size`` bank's transfer edges; the ratios to ``scan_entry``
    (the :mod:`bench.scale` result for the same bank) and to ``detectors_entry`` (the
    :mod:`bench.detectors` one), where they were measured."""
    bank = ensure_bank(scale_spec(size, seed), ws.key_file, ws.timeout_s)
    current = (scan_entry or {}).get("trees", {}).get("current", {})
    scan_txn_per_s = current.get("txn_per_s")
    edges_per_s = ratio(bank["n_transfer_edges"], current.get("wall_s", {}).get("median"))
    detector_rates = {name: d["band_txn_per_s"] for name, d in (detectors_entry or {}).get("detectors", {}).items()}
    families = {}
    for family, params in family_params().items():
        gfp = measure_family(bank, family, {**GFP_OFF, **params, "num_threads": threads}, budget_s, ws)
        if "error" not in gfp:
            detector = DETECTOR_OF[family]
            gfp.update(ratio=ratio(scan_txn_per_s, gfp["edges_per_s"]),
                       ratio_same_edges=ratio(edges_per_s, gfp["edges_per_s"]), detector=detector,
                       detector_txn_per_s=detector_rates.get(detector),
                       ratio_detector=ratio(detector_rates.get(detector), gfp["edges_per_s"]))
        families[family] = gfp
    return {"size": size, "threads": threads, "families": families, "flowgraph_scan_txn_per_s": scan_txn_per_s,
            "flowgraph_scan_transfer_edges_per_s": edges_per_s, "goal_ratio_fan": GOAL_RATIO}


def markdown(section: list[dict]) -> list[str]:
    lines = ["## Peers: snapml GraphFeaturePreprocessor, one pattern family at a time, streaming", ""]
    rows = []
    for e in section:
        for family, g in e["families"].items():
            if "error" in g:
                rows.append([fmt(e["size"]), family, g["error"][:160], "", "", "", "", ""])
                continue
            tw = next((v for k, v in g["params"].items() if k.endswith("_tw")), None)
            done = f"{fmt(g['edges'])} of {fmt(g['edges_total'])}" + (" (budget)" if g["partial"] else "")
            rows.append([fmt(e["size"]), f"{family} (tw {fmt(tw // DAY_S)} d)", done, fmt(g["edges_per_s"]),
                         fmt(e["flowgraph_scan_txn_per_s"]), fmt(g["ratio"]), fmt(g["ratio_same_edges"]),
                         f"{g['detector']}: {fmt(g['ratio_detector'])}"])
    lines += md_table(["bank", "GFP family", "GFP edges done", "GFP edges/s", "flowgraph scan txn/s", "ratio",
                       "ratio, transfer edges only", "detector txn/s ÷ GFP edges/s"], rows)
    lines += ["", f"Ratio = `flowgraph scan` transactions/s (whole command) ÷ GFP edges/s; goal ≥ {GOAL_RATIO:.0f}× "
              "for fan at 1e6. The next column counts only the transfer edges GFP sees; the last sets the "
              "flowgraph detector that finds the pattern (its tolerance-band run, all transactions) beside GFP. "
              "GFP's temp-cycle has no length bound (flowgraph's cycles: at most 6 hops); lc-cycle is its "
              "6-hop search that ignores time order. A run stopped by its budget flatters GFP (its rate falls "
              "as the window graph fills)."]
    return lines


def main(folder: str, params_json: str, budget_s: str, out: str) -> None:
    try:
        result = gfp_stream(transfer_edges(Path(folder)), json.loads(params_json), float(budget_s))
    except ImportError as exc:
        result = {"error": f"snapml is not installed ({exc}); pip install snapml (the 'bench' extra)"}
    Path(out).write_text(json.dumps(result))


if __name__ == "__main__":
    main(*sys.argv[1:])

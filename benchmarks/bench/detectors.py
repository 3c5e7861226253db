"""Time per detector inside the scan's detection (issue 12, item 9): what each registered
detector costs of the ``detect`` stage of ``flowgraph scan``, and the hits it finds.

In a child process, on the public API (``load_dataset``, ``build_graph``, ``ScanConfig``,
``flowgraph.detectors.REGISTRY``): load the bank and build its graph, then

1. the tolerance-band run as the scan does it (``flowgraph.scan.scan_hits``): each
   detector in registry order with its relaxed parameters, then its strict ones, over
   all days. This comes first, in a fresh process, so that it pays what a scan pays
   (numba kernels loaded from the warm cache on their first call);
2. the strict run alone, on a graph built again, so nothing the first run derived and
   kept with its graph (Φ per edge, forwarding links) carries over.

Within a run, what several detectors derive from one graph is derived once and kept
with it: the first detector in registry order that needs it pays for it (the
multi-hop detectors share their forwarding links). The sum over detectors is thus the
detection's cost, and one detector's share depends on the order, as in a scan.

Run as ``python -m bench.detectors BANK_FOLDER OUT_JSON`` (what :func:`measure` does, in
a child process whose peak memory is measured).
"""

from __future__ import annotations

import gc
import json
import sys
import time
from pathlib import Path

from .common import BENCH_DIR, REPO, child_env, fmt, log, md_table, ratio, run_child
from .data import ensure_bank, scale_spec

#: The detectors issue 12 added: paths of money over several hops.
MULTI_HOP = ("cycles", "forwarding_chains", "scatter_gather", "layered")


def _timed(detect, graph, params, days) -> tuple[float, dict]:
    start = time.perf_counter()
    frame = detect(graph, params, days).frame
    seconds = time.perf_counter() - start
    return seconds, {"hits": len(frame), "by_typology": frame["typology"].value_counts().sort_index().to_dict()}


def time_detectors(folder: Path) -> dict:
    """Seconds and hits of every registered detector on the bank in ``folder`` (see the
    module docstring)."""
    from flowgraph import build_graph, load_dataset
    from flowgraph.detectors import REGISTRY
    from flowgraph.scan_config import ScanConfig

    config = ScanConfig()
    start = time.perf_counter()
    dataset = load_dataset(folder)
    load_s = time.perf_counter() - start
    table, accounts = dataset.transactions.table, dataset.accounts.table

    def graph_and_seconds():
        start = time.perf_counter()
        graph = build_graph(table, accounts, config.calendar())
        return graph, time.perf_counter() - start

    graph, graph_s = graph_and_seconds()
    days = (0, graph.n_days - 1)
    band = config.model.tolerance_band
    detectors = {}
    for name, entry in REGISTRY.items():
        params = config.detector_params[name]
        relaxed_params = params.relaxed(band) if band > 0 else params
        relaxed_s, relaxed = (0.0, None) if relaxed_params == params else _timed(entry.detect, graph, relaxed_params,
                                                                                  days)
        strict_s, strict = _timed(entry.detect, graph, params, days)
        detectors[name] = {"multi_hop": name in MULTI_HOP, "band_relaxed_s": relaxed_s, "band_strict_s": strict_s,
                           "band_s": relaxed_s + strict_s, "relaxed": relaxed, "strict": strict}
        log(f"  {name}: band run {relaxed_s + strict_s:.2f} s")
    del graph
    gc.collect()
    graph, _ = graph_and_seconds()
    for name, entry in REGISTRY.items():
        detectors[name]["strict_s"], _ = _timed(entry.detect, graph, config.detector_params[name], days)
    return {"n_txns": len(table), "n_business_days": days[1] + 1, "tolerance_band": band, "load_s": load_s,
            "graph_s": graph_s, "detectors": detectors}


def measure(size: int, seed: int, ws, scan_entry: dict | None) -> dict:
    """Every detector on the ``size`` bank, in a child; the detection's share of the
    ``flowgraph scan`` wall time (``scan_entry``: the :mod:`bench.scale` result for the
    same bank, if it was measured)."""
    bank = ensure_bank(scale_spec(size, seed), ws.key_file, ws.timeout_s)
    out = ws.tmp / f"detectors_{size}.json"
    log(f"detectors one by one on the {bank['n_txns']:,} bank")
    run = run_child([sys.executable, "-m", "bench.detectors", bank["folder"], str(out)],
                    child_env(f"{REPO / 'src'}:{BENCH_DIR}", ws.key_file), ws.timeout_s)
    if run["returncode"] != 0:
        return {"size": size, "error": run["stderr_tail"][-800:]}
    result = json.loads(out.read_text())
    n_txns = result["n_txns"]
    for d in result["detectors"].values():
        d["strict_txn_per_s"] = ratio(n_txns, d["strict_s"])
        d["band_txn_per_s"] = ratio(n_txns, d["band_s"])
    band_total = sum(d["band_s"] for d in result["detectors"].values())
    multi_hop = sum(d["band_s"] for d in result["detectors"].values() if d["multi_hop"])
    current = (scan_entry or {}).get("trees", {}).get("current", {})
    return {"size": size, "bank": bank["folder"], **result, "band_s_all": band_total, "band_s_multi_hop": multi_hop,
            "multi_hop_txn_per_s": ratio(n_txns, multi_hop), "peak_rss_bytes": run["peak_rss_bytes"],
            "child_wall_s": run["wall_s"], "scan_wall_s": current.get("wall_s", {}).get("median")}


def markdown(section: list[dict]) -> list[str]:
    lines = ["## Detectors: time of each inside the scan's detection", ""]
    for e in section:
        if "error" in e:
            lines += [f"{fmt(e['size'])} bank: {e['error'][:300]}", ""]
            continue
        rows = [[name + (" ★" if d["multi_hop"] else ""), fmt(d["band_s"]), fmt(d["band_txn_per_s"]),
                 fmt(d["strict_s"]), fmt(d["strict_txn_per_s"]), fmt(d["strict"]["hits"]),
                 fmt(d["relaxed"]["hits"]) if d["relaxed"] else "–"]
                for name, d in e["detectors"].items()]
        rows.append(["all detectors", fmt(e["band_s_all"]), fmt(ratio(e["n_txns"], e["band_s_all"])),
                     "", "", "", ""])
        rows.append(["multi-hop ★", fmt(e["band_s_multi_hop"]), fmt(e["multi_hop_txn_per_s"]), "", "", "", ""])
        lines += [f"{e['n_txns']:,} transactions, {e['n_business_days']} business days (load {fmt(e['load_s'])} s, "
                  f"graph {fmt(e['graph_s'])} s, peak RSS of the child {fmt(e['peak_rss_bytes'] / 2**30)} GiB):", ""]
        lines += md_table(["detector", "band run s", "band run txn/s", "strict s", "strict txn/s", "hits (strict)",
                           "hits (relaxed)"], rows)
        if e["scan_wall_s"]:
            lines += ["", f"Multi-hop detectors (★): {fmt(e['band_s_multi_hop'])} s of the "
                      f"{fmt(e['scan_wall_s'])} s `flowgraph scan` median "
                      f"({fmt(100 * e['band_s_multi_hop'] / e['scan_wall_s'], 1)} %)."]
        lines.append("")
    lines += ["Band run = the scan's: relaxed parameters (tolerance band), then strict, in registry order, in a "
              "fresh process; strict = the strict parameters alone on a graph built again. Arrays several "
              "detectors derive from one graph (Φ per edge, forwarding links) are paid by the first that needs "
              "them. Transactions/s = all transactions of the bank ÷ the detector's seconds."]
    return lines


def main(folder: str, out: str) -> None:
    Path(out).write_text(json.dumps(time_detectors(Path(folder)), default=int))


if __name__ == "__main__":
    main(*sys.argv[1:])

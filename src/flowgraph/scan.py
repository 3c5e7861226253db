"""A scan run: configuration -> graph -> detectors -> hits -> alerts -> store and exports.

``run_scan`` scans a whole date range, or with ``as_of`` the one new business day (T+1,
004 ch.3) with its trailing windows. The days are scanned in chunks of ``chunk_days``,
each committed to the store in one transaction with a mark that it is done; a run that
is killed leaves every committed chunk and nothing half-written, and the next run over
the same data, configuration and days resumes after the last committed chunk.
Re-running adds nothing twice: hits and alerts have deterministic ids.

After the chunks, the alerts of every monitoring unit touched are rebuilt from all of its
stored hits (so a T+1 hit joins yesterday's alert), hits with utilisation u > 1 are
cross-checked against large-value hits (SPEC §4: a flow above its ceiling must have
triggered a large-value rule; any that did not point at a bug or a missing rule), and
de-identified exports are written: ``hits.parquet``, ``alerts.parquet``, ``manifest.json``.
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd

from ._files import write_atomically, write_parquet
from .alerts import build_alerts
from .deid import Pseudonymizer, deidentify, load_key
from .detectors import DETECTORS
from .errors import ConfigError
from .graph import TransactionGraph, build_graph
from .hits import hits_frame
from .io import Dataset, load_dataset
from .scan_config import ScanConfig
from .store import Store, now

#: Tests set this to kill a scan after so many committed chunks.
FAIL_AFTER_ENV = "FLOWGRAPH_FAIL_AFTER_CHUNKS"


@dataclass
class ScanResult:
    """What a scan run produced (real ids; exports on disk are de-identified)."""

    run_id: str
    hits: pd.DataFrame
    alerts: pd.DataFrame
    manifest: dict
    paths: dict


def data_fingerprint(table: pd.DataFrame) -> str:
    """A hash of the accepted transactions (ids, times, parties, amounts)."""
    cols = [c for c in ("txn_id", "timestamp", "src_account", "dst_account", "amount", "currency", "channel")
            if c in table.columns]
    h = pd.util.hash_pandas_object(table[cols].astype(str), index=False).to_numpy()
    return f"{len(table)}-{int(np.bitwise_xor.reduce(h) if len(h) else 0):016x}-{int(h.sum() if len(h) else 0) & (2**64 - 1):016x}"


def scan_hits(graph: TransactionGraph, config: ScanConfig, days: tuple[int, int]) -> pd.DataFrame:
    """Every detector over ``days``, plus the tolerance band: hits found only with the
    relaxed parameters, marked ``in_band``."""
    frames = []
    band = config.model.tolerance_band
    for name, (module, _) in DETECTORS.items():
        params = config.detector_params[name]
        strict = hits_frame(module.detect(graph, params, days))
        strict["in_band"] = False
        frames.append(strict)
        relaxed_params = params.relaxed(band) if band > 0 else params
        if relaxed_params == params:
            continue
        relaxed = hits_frame(module.detect(graph, relaxed_params, days))
        if relaxed.empty:
            continue
        covered = _covered(relaxed, strict)
        extra = relaxed[~covered].copy()
        extra["in_band"] = True
        frames.append(extra)
    frames = [f for f in frames if len(f)]
    if not frames:
        return hits_frame([]).assign(in_band=pd.Series(dtype=bool))
    return pd.concat(frames, ignore_index=True)


def _covered(relaxed: pd.DataFrame, strict: pd.DataFrame) -> np.ndarray:
    """Relaxed hits that a strict hit of the same typology and subject already covers
    (overlapping windows)."""
    if strict.empty:
        return np.zeros(len(relaxed), bool)
    merged = relaxed.reset_index().merge(strict[["typology", "subject", "window_start", "window_end"]],
                                         on=["typology", "subject"], suffixes=("", "_s"))
    overlap = (merged["window_start"] <= merged["window_end_s"]) & (merged["window_start_s"] <= merged["window_end"])
    out = np.zeros(len(relaxed), bool)
    out[merged.loc[overlap, "index"].to_numpy()] = True
    return out


def _chunks(first: int, last: int, size: int) -> list[tuple[int, int]]:
    return [(d, min(d + size - 1, last)) for d in range(first, last + 1, size)]


def _large_value_cross_check(hits: pd.DataFrame) -> list[dict]:
    """Hits above their ceiling (u > 1) with no large-value hit on the same customer in
    their window."""
    over = hits[(hits["utilisation"] > 1) & (hits["detector"] != "large_value")]
    lv = hits[hits["typology"].isin(["large_value_single", "large_value_daily"])]
    missing = []
    for r in over.itertuples():
        unit_lv = lv[((lv["customer"] == r.customer) & (r.customer != "")) | (lv["subject"] == r.subject)]
        if not ((unit_lv["window_start"] <= r.window_end) & (unit_lv["window_end"] >= r.window_start)).any():
            missing.append({"hit_id": r.hit_id, "typology": r.typology, "utilisation": round(float(r.utilisation), 4)})
    return missing


def run_scan(dataset: Dataset | str | Path, out: str | Path, config: ScanConfig | None = None,
             as_of: str | None = None, store_path: str | Path | None = None, reveal_ids: bool = False,
             key_file: str | Path | None = None, progress: bool = True) -> ScanResult:
    """Run a scan and write its store rows and exports.

    Parameters
    ----------
    dataset : Dataset or path
        Validated input, or anything :func:`flowgraph.io.load_dataset` reads.
    out : path
        Folder for ``hits.parquet``, ``alerts.parquet``, ``manifest.json`` (and the store,
        by default ``OUT/store.sqlite``).
    config : ScanConfig, optional
        Default: every SPEC default.
    as_of : str, optional
        T+1: scan only this business day (with its trailing windows).
    store_path : path, optional
        The run store; default ``OUT/store.sqlite``.
    reveal_ids : bool
        Write real account and customer ids into the exports (logged in the store's
        audit table). Default: keyed pseudonyms.
    key_file : path, optional
        Pseudonym key (see :mod:`flowgraph.deid`).
    progress : bool
        Show a progress bar on a terminal.
    """
    config = config or ScanConfig()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if not isinstance(dataset, Dataset):
        dataset = load_dataset(dataset)
    table = dataset.transactions.table
    graph = build_graph(table, dataset.accounts.table, config.calendar())
    if graph.n_days == 0:
        raise ConfigError("the data holds no accepted transaction: nothing to scan")
    if as_of is not None:
        d = graph.day_index(as_of)
        first, last, mode = d, d, "t+1"
    else:
        first, last, mode = 0, graph.n_days - 1, "range"
    store = Store(store_path or out / "store.sqlite")
    try:
        fingerprint = data_fingerprint(table)
        scan_first, scan_last = str(graph.business_days[first]), str(graph.business_days[last])
        run_id = store.incomplete_run(fingerprint, config.config_hash, scan_first, scan_last)
        resumed = run_id is not None
        chunks = _chunks(first, last, config.chunk_days)
        if not resumed:
            run_id = uuid.uuid4().hex[:16]
            store.start_run({
                "run_id": run_id, "started_at": now(), "status": "running", "mode": mode, "as_of": as_of,
                "scan_first": scan_first, "scan_last": scan_last,
                "data_first": str(graph.business_days[0]), "data_last": str(graph.business_days[-1]),
                "data_fingerprint": fingerprint, "n_transactions": int(graph.n_edges),
                "config_hash": config.config_hash, "config": json.dumps(config.to_dict(), sort_keys=True),
                "calendar": json.dumps(graph.calendar.describe()), "code_version": metadata.version("flowgraph"),
                "n_chunks": len(chunks)})
        done = store.done_chunks(run_id)
        fail_after = int(os.environ.get(FAIL_AFTER_ENV, "0") or 0)
        committed = 0
        todo = [(i, c) for i, c in enumerate(chunks) if i not in done]
        for i, (d0, d1) in _progress(todo, progress, f"scan {scan_first}..{scan_last}"):
            hits = scan_hits(graph, config, (d0, d1)).assign(config_hash=config.config_hash, run_id=run_id)
            hits["w"] = _w_column(hits)
            store.commit_chunk(run_id, i, str(graph.business_days[d0]), str(graph.business_days[d1]), hits)
            committed += 1
            if fail_after and committed >= fail_after:
                os._exit(17)  # a hard kill: no cleanup, no finally
        # alerts of every monitoring unit this scan touched, from all their stored hits
        run_hits = store.hits(config.config_hash, run_id=run_id)
        units = set(np.where(run_hits["customer"] != "", run_hits["customer"], run_hits["subject"]))
        alerts = build_alerts(store.hits(config.config_hash, units=units), config.model, config.config_hash)
        store.replace_alerts(config.config_hash, units, alerts, run_id)
        checks = {"u_above_1_without_large_value": _large_value_cross_check(run_hits)}
        found = set(run_hits["hit_id"])
        run_alerts = alerts[alerts["hit_ids"].map(lambda ids: not found.isdisjoint(ids))].reset_index(drop=True)
        store.finish_run(run_id, len(run_hits), int(run_alerts["raised"].sum()), checks)
        manifest = {**store.query("SELECT * FROM runs WHERE run_id = ?", [run_id]).iloc[0].to_dict(),
                    "resumed": resumed, "checks": checks}
        manifest["deidentified"] = not reveal_ids
        paths = _export(store, out, run_hits, run_alerts, manifest, reveal_ids, key_file)
        return ScanResult(run_id, run_hits, run_alerts, manifest, paths)
    finally:
        store.close()


def _w_column(hits: pd.DataFrame) -> pd.Series:
    from .ceiling import W

    if hits.empty:
        return pd.Series([], dtype=float)
    return pd.Series(W(hits["n_accounts"].clip(lower=1).to_numpy(), hits["n_days"].clip(lower=1).to_numpy()),
                     index=hits.index)


def _progress(items, enabled: bool, desc: str):
    if not enabled:
        return items
    from tqdm import tqdm

    return tqdm(items, desc=desc, unit="chunk", disable=None)


def _export(store: Store, out: Path, hits: pd.DataFrame, alerts: pd.DataFrame, manifest: dict,
            reveal_ids: bool, key_file) -> dict:
    hits_out = hits.drop(columns=["config_hash"], errors="ignore")
    alerts_out = alerts.copy()
    if reveal_ids:
        store.audit("export_real_ids", json.dumps({"out": str(out), "run_id": manifest["run_id"],
                                                   "hits": len(hits_out), "alerts": len(alerts_out)}))
    else:
        pseudo = Pseudonymizer(load_key(key_file))
        hits_out = deidentify(hits_out, pseudo)
        alerts_out = deidentify(alerts_out, pseudo)
    paths = {"hits": out / "hits.parquet", "alerts": out / "alerts.parquet", "manifest": out / "manifest.json"}
    write_parquet(hits_out, paths["hits"])
    write_parquet(alerts_out, paths["alerts"])
    write_atomically(paths["manifest"], lambda p: p.write_text(json.dumps(manifest, indent=2, default=str)))
    return paths

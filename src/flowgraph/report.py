"""Rule-effectiveness metrics (SPEC §6, 004 ch.5) from the run store.

Per indicator (hit typology) and overall, for one configuration (default: the latest
complete run's):

- ``alert_rate`` (预警率) = alerted transactions / transactions scanned. The alerted
  transactions of an indicator are the distinct evidence transactions of its hits in raised
  alerts, whatever its weight: an indicator of weight 0 raises nothing alone, but what its
  hits name in a raised alert is in front of the analyst; overall, the distinct evidence
  transactions of every hit in raised alerts. The transactions scanned are those counted
  toward the business days the runs scanned, each day once
  (:meth:`flowgraph.store.Store.scanned_transactions`): a month of nightly T+1 scans counts
  the month, not each night's trailing window again;
- ``report_rate`` (报告率) = reported alerts / raised alerts; ``case_rate`` (成案率) =
  cases / reported; ``exclusion_rate`` = excluded / decided: they need dispositions, and
  are None (not 0) while none of the alerts is decided;
- ``disabled``: the scan could not run the indicator's detector (an optional column is
  absent), in every run that recorded it (``runs.disabled_detectors``; for runs of earlier
  versions, the run's ``manifest.json`` beside the store); None when none did;
- flags: ``never_triggered`` (SPEC §6: no hit within a year): True only when the runs
  scanned every business day of a year (:func:`year_scanned`), None while they have not, or
  when the detector was disabled; ``concentrated`` (the top 5 customers hold more than half
  of the indicator's hits, with at least 10 hits), and ``high_exclusion`` (more than 80 % of
  at least 5 decisions were exclusions).

:func:`alert_list` lists the alerts themselves (ids to copy into ``flowgraph dispose``),
by score, with their latest decision; it shows no customer or account id.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .alerts import DEFAULT_WEIGHTS
from .calendar import BusinessCalendar
from .desk.evidence import run_calendar
from .detectors import REGISTRY
from .errors import ConfigError
from .exports import EXPORT_FILES
from .store import Store

#: Days beyond the scanned ones in which :func:`year_scanned` looks for the business days
#: before and after them (the longest PRC holiday, Spring Festival, is 9 days).
NEIGHBOUR_DAYS = 31


def effectiveness(store: Store, config_hash: str | None = None) -> tuple[pd.DataFrame, dict]:
    """Metrics per indicator and overall.

    Parameters
    ----------
    store : Store
    config_hash : str, optional
        Default: the configuration of the latest complete run.

    Returns
    -------
    metrics : DataFrame
        One row per indicator.
    overall : dict
        Also ``first_day``, ``last_day`` (the scanned business days' range) and
        ``year_scanned`` (whether ``never_triggered`` can be judged).
    """
    runs = store.query("SELECT * FROM runs WHERE status = 'complete' ORDER BY finished_at")
    if runs.empty:
        return pd.DataFrame(), {"runs": 0}
    config_hash = config_hash or runs["config_hash"].iloc[-1]
    runs = runs[runs["config_hash"] == config_hash]
    n_txns = store.scanned_transactions(config_hash)
    config = json.loads(runs["config"].iloc[-1])
    weights = config["model"]["weights"]
    a_year = year_scanned(runs, config)
    disabled = disabled_typologies(store, runs)
    hits = store.hit_units(config_hash).to_pandas()  # every hit, without its evidence
    alerts = store.alerts(config_hash)
    decisions = store.latest_dispositions().set_index("alert_id")["disposition"]
    raised = alerts[alerts["raised"]]
    hit_alert = {h: a for a, hs in zip(raised["alert_id"], raised["hit_ids"]) for h in hs}
    alerted = _alerted_transactions(store, config_hash, hit_alert)
    rows = []
    for typology in sorted(set(weights) | set(DEFAULT_WEIGHTS) | set(hits["typology"])):
        mine = hits[(hits["typology"] == typology).to_numpy(dtype=bool)]
        units = mine["unit"].value_counts()
        alert_ids = {hit_alert[h] for h in mine["hit_id"] if h in hit_alert}
        n_alerted = int(alerted.get(typology, 0))
        d = decisions[decisions.index.isin(alert_ids)]
        decided, excluded = len(d), int((d == "excluded").sum())
        reported, cases = int((d == "reported").sum()) + int((d == "case").sum()), int((d == "case").sum())
        top5 = float(units.head(5).sum() / len(mine)) if len(mine) else 0.0
        off = None if disabled is None else disabled.get(typology, False)
        rows.append({
            "indicator": typology, "weight": weights.get(typology, 0.0), "disabled": off, "hits": len(mine),
            "customers": len(units), "top5_customer_share": round(top5, 4),
            "alerts": len(alert_ids), "alerted_transactions": n_alerted,
            "alert_rate": n_alerted / n_txns if n_txns else 0.0,
            "decided": decided, "exclusion_rate": excluded / decided if decided else None,
            "report_rate": reported / len(alert_ids) if decided else None,
            "case_rate": cases / reported if reported else None,
            "never_triggered": False if len(mine) else (True if a_year and not off else None),
            "concentrated": len(mine) >= 10 and top5 > 0.5,
            "high_exclusion": decided >= 5 and excluded / decided > 0.8,
        })
    metrics = pd.DataFrame(rows)
    n_all_alerted = int(alerted.get(None, 0))
    d = decisions[decisions.index.isin(set(raised["alert_id"]))]
    reported = int(d.isin(["reported", "case"]).sum())
    overall = {"config_hash": config_hash, "runs": len(runs), "transactions": n_txns, "hits": len(hits),
               "alerts_raised": len(raised), "alerted_transactions": n_all_alerted,
               "alert_rate": round(n_all_alerted / n_txns, 6) if n_txns else 0.0,
               "decided": len(d), "exclusion_rate": round(float((d == "excluded").mean()), 4) if len(d) else None,
               "report_rate": round(reported / len(raised), 4) if len(d) else None,
               "case_rate": round(int((d == "case").sum()) / reported, 4) if reported else None,
               "first_day": runs["scan_first"].min(), "last_day": runs["scan_last"].max(), "year_scanned": a_year}
    return metrics, overall


def _alerted_transactions(store: Store, config_hash: str, hit_alert: dict[str, str]) -> dict:
    """Distinct evidence transactions of the hits in raised alerts (``hit_alert``: hit id
    -> its raised alert), per indicator (typology -> count) and over all of them (key
    None). Only those hits' evidence is read (a store of a year of scans holds millions of
    hits listing tens of millions of transactions; raised alerts hold a few thousand), and
    counted by Arrow, without a Python object per id."""
    if not hit_alert:
        return {}
    evidence = store.hit_evidence(config_hash, list(hit_alert))
    typologies, at, parts = evidence["typology"].combine_chunks(), 0, []
    for lists in evidence["txn_ids"].chunks:  # chunks as parsed: one array of every id could pass 2 GiB
        owner = pc.add(pc.list_parent_indices(lists), at)
        parts.append(pa.table({"typology": typologies.take(owner), "txn_id": lists.flatten()}))
        at += len(lists)
    if not parts:  # the alerts' hits are not stored (a store written by hand)
        return {}
    pairs = pa.concat_tables(parts).group_by(["typology", "txn_id"]).aggregate([])
    per = pairs.group_by("typology").aggregate([([], "count_all")])
    counts = dict(zip(per["typology"].to_pylist(), per["count_all"].to_pylist()))
    return {**counts, None: pc.count_distinct(pairs["txn_id"]).as_py()}


def year_scanned(runs: pd.DataFrame, config: dict) -> bool:
    """Whether the runs (rows of the store's ``runs``, one configuration ``config``)
    scanned every business day of some year, so that an indicator without a hit has
    "never triggered within a year" (SPEC §6, 004 ch.5).

    A stretch of consecutive scanned business days stands for the calendar days from the
    day after the business day before it to the day before the business day after it (a
    weekend's or holiday's transactions count toward the next business day,
    :meth:`flowgraph.calendar.BusinessCalendar.business_day_index`): a scan of 2022's
    business days (4 January to 30 December) covers a year. The days are the runs'
    ``scan_first .. scan_last`` on their calendar; when it cannot be rebuilt (a holidays
    file moved away), on weekdays, where a holiday between two daily scans is a gap. Runs
    without days recorded scanned none.
    """
    runs = runs.dropna(subset=["scan_first", "scan_last"])  # a row written by hand may have no days
    if runs.empty:
        return False
    first, last = np.datetime64(runs["scan_first"].min(), "D"), np.datetime64(runs["scan_last"].max(), "D")
    ranges = [(np.datetime64(a, "D"), np.datetime64(b, "D")) for a, b in zip(runs["scan_first"], runs["scan_last"])]
    try:
        days = run_calendar(config).business_days(first - NEIGHBOUR_DAYS, last + NEIGHBOUR_DAYS)
    except ConfigError:
        days = BusinessCalendar.weekdays_only().business_days(first - NEIGHBOUR_DAYS, last + NEIGHBOUR_DAYS)
    scanned = np.zeros(len(days), dtype=bool)
    for a, b in ranges:
        scanned |= (days >= a) & (days <= b)
    # stretches of scanned days: [starts[k], ends[k]) in positions of ``days``
    edges = np.diff(np.concatenate([[0], scanned.astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    for lo, hi in zip(starts, ends):
        before = days[lo - 1] if lo > 0 else days[lo] - 1
        after = days[hi] if hi < len(days) else days[hi - 1] + 1
        if pd.Timestamp(after) >= pd.Timestamp(before) + pd.Timedelta(days=1) + pd.DateOffset(years=1):
            return True
    return False


def disabled_typologies(store: Store, runs: pd.DataFrame) -> dict[str, bool] | None:
    """Typology -> whether its detector was disabled (the scan could not run it: an absent
    optional column) in every run of ``runs`` that recorded it; None when none did.

    Runs record it in the store (``runs.disabled_detectors``; a scan in blocks, what no
    block could run). Runs of earlier versions did not: for them, the run's
    ``manifest.json`` is read, when the one beside the store (the scan's ``--out`` folder,
    where the store is by default) is one of these runs'.
    """
    recorded = [json.loads(x) for x in runs["disabled_detectors"] if isinstance(x, str)] \
        if "disabled_detectors" in runs.columns else []
    if recorded:
        return _typologies_of(set.intersection(*(set(r) for r in recorded)))
    path = store.path.parent / EXPORT_FILES["manifest"]
    try:
        manifest = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(manifest, dict) or manifest.get("run_id") not in set(runs["run_id"]) \
            or not isinstance(manifest.get("disabled_detectors"), dict):
        return None
    return _typologies_of(set(manifest["disabled_detectors"]))


def _typologies_of(disabled: set[str]) -> dict[str, bool]:
    """Typology -> whether its detector is one of ``disabled`` (detector names)."""
    return {t.name: name in disabled for name, detector in REGISTRY.items() for t in detector.typologies}


def alert_list(store: Store, config_hash: str | None = None, raised_only: bool = True) -> pd.DataFrame:
    """The alerts of one configuration (default: the latest complete run's), highest
    score first (ties by id), with their latest decision.

    Returns
    -------
    DataFrame
        ``alert_id, score, raised, window_start, window_end, n_hits, disposition,
        n_decisions`` (no customer or account ids: the list is for display).
    """
    runs = store.query("SELECT config_hash FROM runs WHERE status = 'complete' ORDER BY finished_at")
    columns = ["alert_id", "score", "raised", "window_start", "window_end", "n_hits", "disposition", "n_decisions"]
    if runs.empty:
        return pd.DataFrame(columns=columns)
    alerts = store.alerts(config_hash or runs["config_hash"].iloc[-1])
    if raised_only:
        alerts = alerts[alerts["raised"]]
    decided = store.latest_dispositions().set_index("alert_id")
    out = alerts.assign(disposition=alerts["alert_id"].map(decided["disposition"]).astype(object).fillna(""),
                        n_decisions=alerts["alert_id"].map(decided["n_decisions"]).fillna(0).astype(int))
    return out.sort_values(["score", "alert_id"], ascending=[False, True])[columns].reset_index(drop=True)

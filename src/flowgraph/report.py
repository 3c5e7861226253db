"""Rule-effectiveness metrics (SPEC §6, 004 ch.5) from the run store.

Per indicator (hit typology) and overall, for one configuration (default: the latest
complete run's):

- ``alert_rate`` (预警率) = transactions in raised alerts / transactions scanned, counting
  the evidence of indicators with a weight (a large-value report alone alerts nothing); the
  transactions scanned are those counted toward the business days the runs scanned, each
  day once (:meth:`flowgraph.store.Store.scanned_transactions`): a month of nightly T+1
  scans counts the month, not each night's trailing window again;
- ``report_rate`` (报告率) = reported alerts / raised alerts; ``case_rate`` (成案率) =
  cases / reported; ``exclusion_rate`` = excluded / decided (need dispositions);
- flags: ``never_triggered`` (no hit over the scanned period), ``concentrated`` (the top
  5 customers hold more than half of the indicator's hits, with at least 10 hits), and
  ``high_exclusion`` (more than 80 % of at least 5 decisions were exclusions).

:func:`alert_list` lists the alerts themselves (ids to copy into ``flowgraph dispose``),
by score, with their latest decision; it shows no customer or account id.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from .alerts import DEFAULT_WEIGHTS
from .store import Store


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
    """
    runs = store.query("SELECT * FROM runs WHERE status = 'complete' ORDER BY finished_at")
    if runs.empty:
        return pd.DataFrame(), {"runs": 0}
    config_hash = config_hash or runs["config_hash"].iloc[-1]
    runs = runs[runs["config_hash"] == config_hash]
    n_txns = store.scanned_transactions(config_hash)
    weights = json.loads(runs["config"].iloc[-1])["model"]["weights"]
    hits = store.hits(config_hash)
    alerts = store.alerts(config_hash)
    decisions = store.latest_dispositions().set_index("alert_id")["disposition"]
    raised = alerts[alerts["raised"]]
    hit_alert = {h: a for a, hs in zip(raised["alert_id"], raised["hit_ids"]) for h in hs}
    unit = np.where(hits["customer"] != "", hits["customer"], hits["subject"]) if len(hits) else np.array([])
    rows = []
    for typology in sorted(set(weights) | set(DEFAULT_WEIGHTS) | set(hits["typology"] if len(hits) else [])):
        sel = hits["typology"] == typology if len(hits) else np.zeros(0, bool)
        mine = hits[sel]
        units = pd.Series(unit[np.asarray(sel)]).value_counts()
        in_alerts = mine[mine["hit_id"].isin(hit_alert)]
        alert_ids = {hit_alert[h] for h in in_alerts["hit_id"]}
        # an indicator of weight 0 (a reportable fact) alerts no transaction by itself
        alerted_txns = {t for ts in in_alerts["txn_ids"] for t in ts} if weights.get(typology, 0.0) > 0 else set()
        d = decisions[decisions.index.isin(alert_ids)]
        decided, excluded = len(d), int((d == "excluded").sum())
        reported, cases = int((d == "reported").sum()) + int((d == "case").sum()), int((d == "case").sum())
        top5 = float(units.head(5).sum() / len(mine)) if len(mine) else 0.0
        rows.append({
            "indicator": typology, "weight": weights.get(typology, 0.0), "hits": len(mine),
            "customers": len(units), "top5_customer_share": round(top5, 4),
            "alerts": len(alert_ids), "alerted_transactions": len(alerted_txns),
            "alert_rate": len(alerted_txns) / n_txns if n_txns else 0.0,
            "decided": decided, "exclusion_rate": excluded / decided if decided else None,
            "report_rate": reported / len(alert_ids) if alert_ids else None,
            "case_rate": cases / reported if reported else None,
            "never_triggered": len(mine) == 0, "concentrated": len(mine) >= 10 and top5 > 0.5,
            "high_exclusion": decided >= 5 and excluded / decided > 0.8,
        })
    metrics = pd.DataFrame(rows)
    weighted = hits[hits["typology"].map(lambda t: weights.get(t, 0.0) > 0)] if len(hits) else hits
    all_alerted = {t for h, ts in zip(weighted["hit_id"], weighted["txn_ids"]) if h in hit_alert for t in ts}
    d = decisions[decisions.index.isin(set(raised["alert_id"]))]
    reported = int(d.isin(["reported", "case"]).sum())
    overall = {"config_hash": config_hash, "runs": len(runs), "transactions": n_txns, "hits": len(hits),
               "alerts_raised": len(raised), "alerted_transactions": len(all_alerted),
               "alert_rate": round(len(all_alerted) / n_txns, 6) if n_txns else 0.0,
               "decided": len(d), "exclusion_rate": round(float((d == "excluded").mean()), 4) if len(d) else None,
               "report_rate": round(reported / len(raised), 4) if len(raised) else None,
               "case_rate": round(int((d == "case").sum()) / reported, 4) if reported else None}
    return metrics, overall


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
    out = alerts.assign(disposition=alerts["alert_id"].map(decided["disposition"]).fillna(""),
                        n_decisions=alerts["alert_id"].map(decided["n_decisions"]).fillna(0).astype(int))
    return out.sort_values(["score", "alert_id"], ascending=[False, True])[columns].reset_index(drop=True)

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
import pyarrow as pa
import pyarrow.compute as pc

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
    hits = store.hit_units(config_hash)  # every hit, without its evidence
    alerts = store.alerts(config_hash)
    decisions = store.latest_dispositions().set_index("alert_id")["disposition"]
    raised = alerts[alerts["raised"]]
    hit_alert = {h: a for a, hs in zip(raised["alert_id"], raised["hit_ids"]) for h in hs}
    alerted = _alerted_transactions(store, config_hash, hits, hit_alert, weights)
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
        rows.append({
            "indicator": typology, "weight": weights.get(typology, 0.0), "hits": len(mine),
            "customers": len(units), "top5_customer_share": round(top5, 4),
            "alerts": len(alert_ids), "alerted_transactions": n_alerted,
            "alert_rate": n_alerted / n_txns if n_txns else 0.0,
            "decided": decided, "exclusion_rate": excluded / decided if decided else None,
            "report_rate": reported / len(alert_ids) if alert_ids else None,
            "case_rate": cases / reported if reported else None,
            "never_triggered": len(mine) == 0, "concentrated": len(mine) >= 10 and top5 > 0.5,
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
               "report_rate": round(reported / len(raised), 4) if len(raised) else None,
               "case_rate": round(int((d == "case").sum()) / reported, 4) if reported else None}
    return metrics, overall


def _alerted_transactions(store: Store, config_hash: str, hits: pd.DataFrame, hit_alert: dict[str, str],
                          weights: dict[str, float]) -> dict:
    """Distinct evidence transactions of the hits in raised alerts, per indicator with a
    weight (typology -> count) and over all of them (key None). Only those hits' evidence
    is read (a store of a year of scans holds millions of hits listing tens of millions of
    transactions; raised alerts hold a few thousand)."""
    weighted = hits[hits["hit_id"].isin(hit_alert).to_numpy(dtype=bool)
                    & hits["typology"].map(lambda t: weights.get(t, 0.0) > 0).to_numpy(dtype=bool)]
    if weighted.empty:
        return {}
    evidence = store.hits(config_hash, ids=weighted["hit_id"].tolist())
    lists = pa.chunked_array(evidence["txn_ids"].array.__arrow_array__()).combine_chunks()
    pairs = pd.DataFrame({"typology": evidence["typology"].to_numpy(dtype=object)[
        np.asarray(pc.list_parent_indices(lists))], "txn_id": lists.flatten().to_numpy(zero_copy_only=False)})
    counts = pairs.drop_duplicates().groupby("typology").size().to_dict()
    return {**counts, None: pairs["txn_id"].nunique()}


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

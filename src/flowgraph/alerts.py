"""Hits become alerts: the model of 004 ch.2 §4 (indicators, ranks/weights, tolerance
bands) and the grouping of SPEC §5.

- **Indicators and weights** (位阶): each hit typology is an indicator with a weight
  (configuration, :class:`ModelConfig`). A hit found only with the relaxed parameters of
  the tolerance band (容错区间: values just outside a threshold) counts at
  ``band_weight`` × its weight.
- **Grouping**: an alert is one customer's (the monitoring unit's) hits whose evidence
  shares a transaction or whose windows overlap, merged transitively. Hits with no
  customer are grouped by their subject account.
- **Score**: per indicator, its weight × the strongest of its hits (1 inside the
  thresholds, ``band_weight`` in the band); per family of indicators (:data:`FAMILIES`)
  the largest of those; summed over families, plus ``utilisation_weight`` × the highest
  utilisation u of W(N, D) among hits of weighted indicators (capped at 1). The
  explanation lists every indicator, its hits and its contribution, and u. An alert is
  raised when its score reaches ``alert_threshold``.
- **Ids**: an alert's id is a hash of the configuration, the customer and its earliest
  hit, so re-running a day (or adding later hits to the group) keeps the id.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .detectors._params import check_number
from .errors import ConfigError

DEFAULT_WEIGHTS = {
    # the paper's evasive features are strong on their own
    "pass_through": 1.0, "pass_through_chain": 1.5,
    "structuring": 1.0, "structuring_daily": 1.0,
    # the regulatory combinations are also ordinary commerce for many companies: alone they
    # stay under the threshold, with a second family (e.g. pass-through) they raise an alert
    "dispersed_in_concentrated_out": 0.8, "concentrated_in_dispersed_out": 0.8,
    # building blocks and reportable facts alone do not make an alert
    "fan_in": 0.2, "fan_out": 0.2, "frequent_daily": 0.3, "frequent_consecutive": 0.3,
    "large_value_single": 0.0, "large_value_daily": 0.0,
}

#: Indicators that describe one behaviour count once: an alert takes the strongest of a
#: family (a dispersed-in hub is always a fan-in hub too).
FAMILIES = {
    "fan_in": "fan", "fan_out": "fan", "dispersed_in_concentrated_out": "fan", "concentrated_in_dispersed_out": "fan",
    "pass_through": "pass_through", "pass_through_chain": "pass_through",
    "structuring": "structuring", "structuring_daily": "structuring",
    "frequent_daily": "frequent", "frequent_consecutive": "frequent",
    "large_value_single": "large_value", "large_value_daily": "large_value",
}


@dataclass(frozen=True)
class ModelConfig:
    """The alert model (004 ch.2 §4); the bank's own, confidential configuration.

    Parameters
    ----------
    weights : dict
        Hit typology -> weight (位阶). Typologies absent weigh 0.
    alert_threshold : float
        Least score that raises an alert.
    tolerance_band : float
        Relative width of the tolerance band: detectors also run with thresholds
        relaxed by this share, and hits found only so count at ``band_weight``.
    band_weight : float
        Factor of a hit found only in the tolerance band.
    utilisation_weight : float
        Weight of the highest W(N, D) utilisation in an alert's score.
    """

    weights: dict = field(default_factory=lambda: dict(DEFAULT_WEIGHTS), hash=False)
    alert_threshold: float = 1.0
    tolerance_band: float = 0.2
    band_weight: float = 0.5
    utilisation_weight: float = 0.5

    def __post_init__(self) -> None:
        check_number(self, "alert_threshold", float, 0.0)
        check_number(self, "tolerance_band", float, 0.0, 0.9)
        check_number(self, "band_weight", float, 0.0, 1.0)
        check_number(self, "utilisation_weight", float, 0.0)
        for name, w in self.weights.items():
            if not isinstance(w, (int, float)) or w < 0:
                raise ConfigError(f"The weight of indicator {name!r} in ModelConfig must be a float in the "
                                  f"range [0, inf). Got {w!r} instead.")


def _components(hits: pd.DataFrame) -> list[list[int]]:
    """Row groups of one customer's hits linked by a shared transaction or overlapping
    windows (transitively)."""
    n = len(hits)
    parent = list(range(n))

    def find(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    order = np.argsort(hits["window_start"].to_numpy(), kind="stable")
    starts = hits["window_start"].to_numpy()[order]
    ends = hits["window_end"].to_numpy()[order]
    reach = None
    for k in range(n):  # windows sorted by start: overlapping ones chain up
        if reach is not None and starts[k] <= reach:
            parent[find(order[k])] = find(order[k - 1])
        reach = ends[k] if reach is None else max(reach, ends[k])
    seen: dict[str, int] = {}
    for i, txns in enumerate(hits["txn_ids"]):
        for t in txns:
            if t in seen:
                parent[find(i)] = find(seen[t])
            else:
                seen[t] = i
    groups: dict[int, list[int]] = {}
    for i in range(n):
        groups.setdefault(find(i), []).append(i)
    return list(groups.values())


def build_alerts(hits: pd.DataFrame, model: ModelConfig, config_hash: str) -> pd.DataFrame:
    """Group scored hits into alerts.

    Parameters
    ----------
    hits : DataFrame
        Hits (``hits_frame`` columns) with a boolean ``in_band`` column: True for hits
        found only in the tolerance band.
    model : ModelConfig
    config_hash : str
        Part of every alert id.

    Returns
    -------
    DataFrame
        One row per alert: ``alert_id, customer, subject, score, raised, window_start,
        window_end, n_hits, hit_ids, utilisation, explanation`` (JSON).
    """
    columns = ["alert_id", "customer", "subject", "score", "raised", "window_start", "window_end",
               "n_hits", "hit_ids", "utilisation", "explanation"]
    if hits.empty:
        return pd.DataFrame(columns=columns)
    hits = hits.reset_index(drop=True)
    unit = np.where(hits["customer"].fillna("") != "", "customer:" + hits["customer"].fillna(""),
                    "account:" + hits["subject"])
    rows = []
    for key, idx in pd.Series(np.arange(len(hits))).groupby(unit).groups.items():
        mine = hits.loc[np.asarray(idx)].reset_index(drop=True)
        for group in _components(mine):
            g = mine.loc[group].sort_values(["window_start", "hit_id"], kind="stable")
            contributions = []
            family_best: dict[str, float] = {}
            for typology, t in g.groupby("typology", sort=True):
                weight = float(model.weights.get(typology, 0.0))
                strength = 1.0 if (~t["in_band"]).any() else model.band_weight
                value = weight * strength
                family = FAMILIES.get(typology, typology)
                family_best[family] = max(family_best.get(family, 0.0), value)
                contributions.append({"indicator": typology, "family": family, "weight": weight,
                                      "hits": int(len(t)), "in_band_only": bool(strength < 1.0), "value": value})
            taken: set[str] = set()
            for c in contributions:  # only the strongest indicator of a family contributes
                value = c.pop("value")
                take = value == family_best[c["family"]] and c["family"] not in taken
                c["contribution"] = round(value, 6) if take else 0.0
                if take:
                    taken.add(c["family"])
            score = float(sum(c["contribution"] for c in contributions))
            weighted = g[g["typology"].map(lambda t: model.weights.get(t, 0.0) > 0)]
            u = weighted["utilisation"].replace([np.inf], np.nan).max() if len(weighted) else np.nan
            u = 0.0 if pd.isna(u) else float(u)
            u_part = model.utilisation_weight * min(u, 1.0)
            score += u_part
            first = g.iloc[0]
            alert_id = hashlib.sha1(json.dumps([config_hash, key, first["hit_id"]]).encode()).hexdigest()[:16]
            rows.append({
                "alert_id": alert_id, "customer": first["customer"] or "", "subject": first["subject"],
                "score": round(score, 6), "raised": bool(score >= model.alert_threshold),
                "window_start": g["window_start"].min(), "window_end": g["window_end"].max(),
                "n_hits": int(len(g)), "hit_ids": list(g["hit_id"]), "utilisation": round(u, 6),
                "explanation": json.dumps({"indicators": contributions, "utilisation": round(u, 6),
                                           "utilisation_contribution": round(u_part, 6),
                                           "threshold": model.alert_threshold}, sort_keys=True),
            })
    out = pd.DataFrame(rows, columns=columns)
    return out.sort_values(["score", "alert_id"], ascending=[False, True], kind="stable").reset_index(drop=True)

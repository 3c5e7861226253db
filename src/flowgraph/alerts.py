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
import itertools
import json
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import pandas as pd

from .detectors import TYPOLOGIES
from .detectors._params import Constraint, Interval, validate_params
from .errors import ConfigError

#: Indicator (hit typology) -> default weight (位阶), from the detector registry, where each
#: typology's weight is chosen and explained.
DEFAULT_WEIGHTS = {name: t.weight for name, t in TYPOLOGIES.items()}

#: Indicators that describe one behaviour count once: an alert takes the strongest of a
#: family (a dispersed-in hub is always a fan-in hub too).
FAMILIES = {name: t.family for name, t in TYPOLOGIES.items()}


class _Weights(Constraint):
    """Indicator weights: a dict from known typologies (:data:`DEFAULT_WEIGHTS`) to
    floats in [0, inf); the typologies it leaves out keep their default weight."""

    description = "a dict from indicator names to floats"
    weight = Interval(float, 0.0)

    def accepts(self, value) -> bool:
        return isinstance(value, dict)

    def check(self, owner, name, value):
        super().check(owner, name, value)
        unknown = sorted(set(value) - set(DEFAULT_WEIGHTS), key=str)
        if unknown:
            raise ConfigError(f"The 'weights' parameter of {type(owner).__name__} has unknown indicator(s) "
                              f"{unknown}; known: {sorted(DEFAULT_WEIGHTS)}. Fix: correct the name.")
        for typology, w in value.items():
            if not self.weight.accepts(w):
                raise ConfigError(f"The weight of indicator {typology!r} in {type(owner).__name__} must be "
                                  f"{self.weight.description}. Got {w!r} instead.")
        return {**DEFAULT_WEIGHTS, **{t: float(w) for t, w in value.items()}}


@dataclass(frozen=True)
class ModelConfig:
    """The alert model (004 ch.2 §4); the bank's own, confidential configuration.

    Parameters
    ----------
    weights : dict
        Hit typology -> weight (位阶), overriding :data:`DEFAULT_WEIGHTS`: typologies
        left out keep their default weight (give 0 to silence one). Unknown typologies
        are refused.
    alert_threshold : float
        Least score that raises an alert.
    tolerance_band : float
        Relative width of the tolerance band, in [0, 0.9]: detectors also run with
        thresholds relaxed by this share, and hits found only so count at ``band_weight``.
    band_weight : float
        Factor of a hit found only in the tolerance band, in [0, 1].
    utilisation_weight : float
        Weight of the highest W(N, D) utilisation in an alert's score.
    """

    weights: dict = field(default_factory=lambda: dict(DEFAULT_WEIGHTS), hash=False)
    alert_threshold: float = 1.0
    tolerance_band: float = 0.2
    band_weight: float = 0.5
    utilisation_weight: float = 0.5

    _parameter_constraints: ClassVar[dict] = {
        "weights": _Weights(),
        "alert_threshold": Interval(float, 0.0),
        "tolerance_band": Interval(float, 0.0, 0.9),
        "band_weight": Interval(float, 0.0, 1.0),
        "utilisation_weight": Interval(float, 0.0),
    }

    def __post_init__(self) -> None:
        validate_params(self)


def _groups(unit_code: np.ndarray, start: np.ndarray, end: np.ndarray, txn_ids: list) -> list[list[int]]:
    """Hits (by position) grouped into alerts: within a monitoring unit, hits whose windows
    overlap (sorted by start, chaining while they overlap) or that share a transaction are
    one group, transitively (connected components of those links)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    n = len(unit_code)
    order = np.lexsort((start, unit_code))
    unit_sorted = unit_code[order]
    # a hit joins the hits before it in its unit when it starts before they all ended
    reach = pd.Series(end[order]).groupby(unit_sorted).cummax().groupby(unit_sorted).shift(1).to_numpy()
    chained = start[order] <= np.nan_to_num(reach, nan=-np.inf)
    links = [(order[1:][chained[1:]], order[:-1][chained[1:]])]
    # hits of one unit that share a transaction
    lengths = np.fromiter((len(t) for t in txn_ids), np.int64, n)
    owner = np.repeat(np.arange(n), lengths)
    txn_code = pd.factorize(np.fromiter(itertools.chain.from_iterable(txn_ids), object, int(lengths.sum())))[0]
    key = unit_code[owner].astype(np.int64) * (int(txn_code.max(initial=0)) + 1) + txn_code
    by_key = np.argsort(key, kind="stable")
    shared = key[by_key][1:] == key[by_key][:-1]
    links.append((owner[by_key][1:][shared], owner[by_key][:-1][shared]))
    a = np.concatenate([x for x, _ in links])
    b = np.concatenate([y for _, y in links])
    _, label = connected_components(coo_matrix((np.ones(len(a)), (a, b)), shape=(n, n)), directed=False)
    members = np.argsort(label, kind="stable")
    return [g.tolist() for g in np.split(members, np.flatnonzero(np.diff(label[members])) + 1)]


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
    # plain arrays and one pass each: this runs over every hit of a scan
    hits = hits.reset_index(drop=True)
    customer = hits["customer"].fillna("").astype(str).to_numpy(dtype=object)
    subject = hits["subject"].astype(str).to_numpy(dtype=object)
    unit = np.where(customer != "", "customer:" + customer, "account:" + subject)
    unit_code = pd.factorize(unit)[0]
    start = hits["window_start"].to_numpy(dtype="datetime64[ns]").view(np.int64)
    end = hits["window_end"].to_numpy(dtype="datetime64[ns]").view(np.int64)
    hit_id = hits["hit_id"].to_numpy(dtype=object)
    typology = hits["typology"].to_numpy(dtype=object)
    strict = ~hits["in_band"].to_numpy(dtype=bool)
    utilisation = hits["utilisation"].to_numpy(dtype=float)
    groups = _groups(unit_code, start, end, hits["txn_ids"].tolist())

    rows = []
    for members in groups:
        members.sort(key=lambda i: (start[i], hit_id[i]))
        by_typology: dict[str, list] = {}
        for i in members:
            entry = by_typology.setdefault(typology[i], [0, False])
            entry[0] += 1
            entry[1] |= bool(strict[i])
        contributions = []
        family_best: dict[str, float] = {}
        for name in sorted(by_typology):
            count, any_strict = by_typology[name]
            weight = float(model.weights.get(name, 0.0))
            strength = 1.0 if any_strict else model.band_weight
            family = FAMILIES.get(name, name)
            family_best[family] = max(family_best.get(family, 0.0), weight * strength)
            contributions.append({"indicator": name, "family": family, "weight": weight, "hits": count,
                                  "in_band_only": bool(strength < 1.0), "value": weight * strength})
        taken: set[str] = set()
        for c in contributions:  # only the strongest indicator of a family contributes
            value = c.pop("value")
            take = value == family_best[c["family"]] and c["family"] not in taken
            c["contribution"] = round(value, 6) if take else 0.0
            if take:
                taken.add(c["family"])
        weighted_u = [utilisation[i] for i in members
                      if model.weights.get(typology[i], 0.0) > 0 and np.isfinite(utilisation[i])]
        u = float(max(weighted_u)) if weighted_u else 0.0
        u_part = model.utilisation_weight * min(u, 1.0)
        score = float(sum(c["contribution"] for c in contributions)) + u_part
        first = members[0]
        alert_id = hashlib.sha1(json.dumps([config_hash, unit[first], hit_id[first]]).encode()).hexdigest()[:16]
        rows.append({
            "alert_id": alert_id, "customer": customer[first], "subject": subject[first],
            "score": round(score, 6), "raised": bool(score >= model.alert_threshold),
            "window_start": min(start[i] for i in members), "window_end": max(end[i] for i in members),
            "n_hits": len(members), "hit_ids": [hit_id[i] for i in members], "utilisation": round(u, 6),
            "explanation": json.dumps({"indicators": contributions, "utilisation": round(u, 6),
                                       "utilisation_contribution": round(u_part, 6),
                                       "threshold": model.alert_threshold}, sort_keys=True),
        })
    out = pd.DataFrame(rows, columns=columns)
    out["window_start"] = pd.to_datetime(out["window_start"].astype(np.int64))
    out["window_end"] = pd.to_datetime(out["window_end"].astype(np.int64))
    return out.sort_values(["score", "alert_id"], ascending=[False, True], kind="stable").reset_index(drop=True)

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
import math
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

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


def _groups(unit_code: np.ndarray, start: np.ndarray, end: np.ndarray, txn_ids) -> np.ndarray:
    """The group (alert) label of each hit: within a monitoring unit, hits whose windows
    overlap (sorted by start, chaining while they overlap) or that share a transaction are
    one group, transitively (connected components of those links). ``txn_ids``: each hit's
    evidence transaction ids (an Arrow list column or lists)."""
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
    lengths, txn_code = _flat_codes(txn_ids)
    owner = np.repeat(np.arange(n), lengths)
    key = unit_code[owner].astype(np.int64) * (int(txn_code.max(initial=0)) + 1) + txn_code
    by_key = np.argsort(key, kind="stable")
    shared = key[by_key][1:] == key[by_key][:-1]
    links.append((owner[by_key][1:][shared], owner[by_key][:-1][shared]))
    a = np.concatenate([x for x, _ in links])
    b = np.concatenate([y for _, y in links])
    return connected_components(coo_matrix((np.ones(len(a)), (a, b)), shape=(n, n)), directed=False)[1]


def _flat_codes(lists) -> tuple[np.ndarray, np.ndarray]:
    """Lengths of the lists and a code per element (equal values, equal codes)."""
    arrow = lists.array.__arrow_array__() if isinstance(getattr(lists, "dtype", None), pd.ArrowDtype) else None
    if arrow is None:
        lists = list(lists)
        lengths = np.fromiter((len(t) for t in lists), np.int64, len(lists))
        flat = pa.array(itertools.chain.from_iterable(lists), pa.string(), size=int(lengths.sum()))
    else:
        arrow = arrow.combine_chunks() if isinstance(arrow, pa.ChunkedArray) else arrow
        lengths = pc.list_value_length(arrow).fill_null(0).to_numpy().astype(np.int64)
        flat = arrow.flatten()
    codes = pc.dictionary_encode(flat).indices.to_numpy(zero_copy_only=False)
    return lengths, codes.astype(np.int64)


COLUMNS = ("alert_id", "customer", "subject", "score", "raised", "window_start", "window_end", "n_hits",
           "hit_ids", "utilisation", "explanation")


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
        window_end, n_hits, hit_ids, utilisation, explanation`` (JSON), highest score first.
    """
    if hits.empty:
        return pd.DataFrame(columns=list(COLUMNS))
    # arrays over every hit of a scan, no Python loop per alert
    hits = hits.reset_index(drop=True)
    customer = hits["customer"].fillna("").astype(str).to_numpy(dtype=object)
    subject = hits["subject"].astype(str).to_numpy(dtype=object)
    unit = np.where(customer != "", "customer:" + customer, "account:" + subject)
    start = hits["window_start"].to_numpy(dtype="datetime64[ns]").view(np.int64)
    end = hits["window_end"].to_numpy(dtype="datetime64[ns]").view(np.int64)
    hit_id = hits["hit_id"].to_numpy(dtype=object)
    label = _groups(pd.factorize(unit)[0], start, end, hits["txn_ids"])
    # members of each alert in order of (start, hit id); the first names the alert
    order = np.lexsort((pd.factorize(hit_id, sort=True)[0], start, label))
    bounds = np.flatnonzero(np.r_[True, np.diff(label[order]) != 0])
    first = order[bounds]
    n_hits = np.diff(np.r_[bounds, len(order)])
    names, typology = np.unique(hits["typology"].to_numpy(dtype=str), return_inverse=True)
    weight = np.array([float(model.weights.get(t, 0.0)) for t in names])
    u = _utilisation(hits["utilisation"].to_numpy(dtype=float), weight[typology] > 0, label, len(first))
    u_part = model.utilisation_weight * np.minimum(u, 1.0)
    indicators, contribution = _indicators(names, typology, weight, ~hits["in_band"].to_numpy(dtype=bool),
                                           model.band_weight, label, len(first))
    score = np.array([round(x, 6) for x in (contribution + u_part).tolist()])
    explanation = [f'{{"indicators": [{i}], "threshold": {_number(model.alert_threshold)}, '
                   f'"utilisation": {_number(round(x, 6))}, "utilisation_contribution": {_number(round(y, 6))}}}'
                   for i, x, y in zip(indicators, u.tolist(), u_part.tolist())]
    alert_id = [hashlib.sha1(json.dumps([config_hash, unit[i], hit_id[i]]).encode()).hexdigest()[:16]
                for i in first.tolist()]
    out = pd.DataFrame({
        "alert_id": alert_id, "customer": customer[first], "subject": subject[first], "score": score,
        "raised": (contribution + u_part) >= model.alert_threshold,
        "window_start": pd.to_datetime(np.minimum.reduceat(start[order], bounds)),
        "window_end": pd.to_datetime(np.maximum.reduceat(end[order], bounds)),
        "n_hits": n_hits.astype(np.int64), "hit_ids": np.split(hit_id[order], bounds[1:]),
        "utilisation": [round(x, 6) for x in u.tolist()], "explanation": explanation})
    out["hit_ids"] = [list(x) for x in out["hit_ids"]]
    return out.sort_values(["score", "alert_id"], ascending=[False, True], kind="stable").reset_index(drop=True)


def _utilisation(utilisation: np.ndarray, weighted: np.ndarray, label: np.ndarray, n_alerts: int) -> np.ndarray:
    """Per alert, the highest finite utilisation among hits of weighted indicators (0 if none)."""
    counted = weighted & np.isfinite(utilisation)
    u = np.full(n_alerts, -np.inf)
    np.maximum.at(u, label[counted], utilisation[counted])
    return np.where(np.isfinite(u), u, 0.0)


def _indicators(names: np.ndarray, typology: np.ndarray, weight_of_name: np.ndarray, strict: np.ndarray,
                band_weight: float, label: np.ndarray, n_alerts: int) -> tuple[list, np.ndarray]:
    """Per alert, the JSON of its indicators (sorted by name) and the sum of their
    contributions: each indicator's weight × its strength (1 with a strict hit, else
    ``band_weight``); only the first strongest indicator of a family contributes.

    ``names``: the sorted typology names; ``typology``: each hit's index into them."""
    # one row per (alert, indicator), in name order within an alert
    pair = label.astype(np.int64) * len(names) + typology
    pairs, pair_of_hit = np.unique(pair, return_inverse=True)
    alert, name = pairs // len(names), pairs % len(names)
    count = np.bincount(pair_of_hit, minlength=len(pairs))
    any_strict = np.bincount(pair_of_hit, weights=strict, minlength=len(pairs)) > 0
    weight = weight_of_name[name]
    strength = np.where(any_strict, 1.0, band_weight)
    value = weight * strength
    family = pd.factorize(np.array([FAMILIES.get(t, t) for t in names], dtype=object)[name])[0]
    alert_family = alert * (int(family.max()) + 1) + family
    best = pd.Series(value).groupby(alert_family).transform("max").to_numpy()
    is_best = value == best
    take = is_best & ~pd.Series(np.where(is_best, alert_family, -1 - np.arange(len(pairs)))).duplicated().to_numpy()
    contribution = [round(v, 6) if t else 0.0 for v, t in zip(value.tolist(), take.tolist())]
    quoted = {i: json.dumps(t) for i, t in enumerate(names)}
    family_quoted = [json.dumps(FAMILIES.get(t, t)) for t in names]
    text = [f'{{"contribution": {_number(c)}, "family": {family_quoted[n]}, "hits": {k}, '
            f'"in_band_only": {"true" if s < 1.0 else "false"}, "indicator": {quoted[n]}, "weight": {_number(w)}}}'
            for c, n, k, s, w in zip(contribution, name.tolist(), count.tolist(), strength.tolist(), weight.tolist())]
    offsets = np.r_[0, np.cumsum(np.bincount(alert, minlength=n_alerts))]
    joined = pc.binary_join(pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), pa.array(text, pa.string())), ", ")
    return joined.to_pylist(), np.bincount(alert, weights=contribution, minlength=n_alerts)


def _number(value: float) -> str:
    """A float as ``json.dumps`` writes it."""
    return repr(value) if math.isfinite(value) else json.dumps(value)

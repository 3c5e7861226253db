"""Hits become alerts: the model of 004 ch.2 §4 (indicators, ranks/weights, tolerance
bands) and the grouping of SPEC §5.

- **Grouping**: an alert is one customer's (the monitoring unit's) hits whose evidence
  spans overlap, merged while they chain, for at most ``alert_days`` calendar days. A
  hit's span is the business days its evidence covers: its window, widened to its run
  (``run_first`` .. ``run_last``, a run continued over days). Two hits sharing a
  transaction both cover its business day, so their spans overlap. Hits are taken in
  order of span start (then hit id): a hit joins the open alert when it starts by the
  latest end of the alert's hits and ends within ``alert_days`` of the alert's start;
  otherwise it opens the next alert. A business whose hubs trip detectors every week
  thus gets an alert per period, not one alert for its whole history, and a scan of a
  new day changes only the alerts from the first one its hits reach (see
  :mod:`flowgraph.scan`). Hits with no customer are grouped by their subject account.
- **Features** of an alert (each ≥ 0, see :data:`FEATURES`):
    - one per indicator (hit typology, 位阶): its strength, 1 with a hit inside the
      thresholds, ``band_weight`` with hits only in the tolerance band (容错区间: values
      just outside a threshold), 0 without a hit;
    - ``utilisation``: log2(1 + the highest W(N, D) utilisation u of its hits): 1 at u = 1,
      the paper's signature of an adaptive launderer using its evasion capacity to the
      full (001); not capped, so flows beyond the ceiling still rank by size;
    - ``closeness``: how far into the near-threshold band [0.8 Φ, Φ) (SPEC §3.3) its hits'
      transactions sit, from 0 (at 0.8 Φ or below) to 1 (at Φ): per hit, its transaction
      size as a share c of Σ_m Φ_m (= ceiling / W) — the largest amount the detector
      lists (a chain's hops, a layered flow's legs: :data:`LISTED_AMOUNTS`), else the
      mean amount A per evidence transaction — the largest c under 1 taken (at or above
      Φ a transaction is reported anyway), mapped to (c - 0.8) / 0.2. Launderers push
      each transaction toward the ceiling (001); benign hubs move many small amounts;
    - ``size``: the same share c (at most 1, the largest of its hits) on a log scale,
      max(0, 2 + log10 c): 0 at 1 % of Φ or less, 2 at Φ. Below the band, closeness says
      nothing; size still tells a payroll's or a shop's many small payments (a few % of
      the Φ that applies to them) from a mule's few large ones;
    - ``amount``: log10(1 + the largest amount A one hit moved), in the home currency;
    - ``families``: distinct indicator families among its hits, minus one;
    - ``repetition``: log2 of the distinct business days its hits' windows end on (a run
      cut where a month ends, :mod:`flowgraph._kernels.runs`, counts once: by its last piece);
    - ``reach``: log2 of the distinct accounts in its hits' evidence (counterparties; not
      the customer's own accounts that account-opening hits list);
    - ``recurrence``: log2(1 + the distinct calendar weeks, among the ``recurrence_weeks``
      weeks before the alert's first week, in which counted hits of its monitoring unit
      end): how often the customer tripped a detector before (the hits at hand: a scan's,
      or the store's for the customer). 0 for a customer seen first in this alert. Only
      the past counts, so an alert's score is what it was on its last day: a later day's
      hits never change it (004 ch.3: a run can be reproduced), and a daily scan reads
      the customer's last ``recurrence_weeks`` weeks, not its whole history.

  ``repetition``, ``reach`` and ``recurrence`` may weigh below 0 (:data:`SIGNED_FEATURES`):
  a business's flows recur over the whole period and touch many counterparts (employees,
  buyers, clients) — its hubs trip the fan detectors week after week — while a laundering
  pattern is a short burst through a few recruited accounts (a mule account is used
  intensively for a short time, then dropped; 001: temporal concentration). A negative
  contribution is listed in the explanation like any other. ``recurrence`` is fitted on
  top of the other features' score (``benchmarks/bench/fit_model.py``), so where a
  customer has no other weeks of hits (a short history, a new customer) the score is the
  model without it.
  Large-value hits (:data:`REPORTABLE_FAMILIES`) are facts to report, not evidence of a
  typology: they join alerts and have an indicator, but feed no other feature.
- **Score**: a linear (additive) model, the log-odds of a logistic regression without
  its intercept: Σ weight × feature. Indicator weights are ≥ 0, so no indicator lowers a
  score; of the features only :data:`SIGNED_FEATURES` may; the score does not saturate.
  The explanation gives every feature's value, weight and contribution; the
  ``contributions`` column has the contributions alone (JSON). An alert is raised when
  its score reaches ``alert_threshold`` (``flowgraph learn``: minus the fitted intercept,
  a probability of 0.5; the default: chosen on the training seeds, see
  ``benchmarks/bench/fit_model.py``). Ties are broken by the alert id.
- **Defaults**: the weights were fitted by ``benchmarks/bench/fit_model.py`` (an L2
  logistic regression, :func:`flowgraph.learn.fit_weights`) on alerts of the simulator's
  training seeds, labelled by its ground truth; the held-out seeds of the quality
  benchmark were never used. ``flowgraph learn`` fits them again from a bank's own
  dispositions (:mod:`flowgraph.learn`).
- **Ids**: an alert's id is a hash of the configuration, the customer and its earliest
  hit, so re-running a day (or adding later hits to the group) keeps the id.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import re
from dataclasses import dataclass, field
from typing import ClassVar, Iterable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ._arrow import one_array
from .config import RuleSet
from .detectors import TYPOLOGIES
from .detectors._params import Constraint, Interval, validate_params
from .errors import ConfigError
from .hits import id_sort_key

#: Indicator (hit typology) -> default weight (位阶), from the detector registry, where each
#: typology's weight is chosen and explained.
DEFAULT_WEIGHTS = {name: t.weight for name, t in TYPOLOGIES.items()}

#: Indicator -> its family (one behaviour); the ``families`` feature counts distinct ones.
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


#: The features besides the indicators, each with its ModelConfig weight field.
FEATURES = ("utilisation", "closeness", "amount", "families", "repetition", "reach", "size", "recurrence")

#: Features whose weight may be negative (module docstring: business routine, not a burst).
SIGNED_FEATURES = ("repetition", "reach", "recurrence")

#: Low end of the near-threshold band 0.8 Φ ≤ amount < Φ (SPEC §3.3): the "large" fraction
#: of SPEC §1, from the rule-set defaults in flowgraph.config.
BAND_LOW = RuleSet.large_fraction

#: Families of hits that are reportable facts (SPEC §2), not evidence of a typology.
REPORTABLE_FAMILIES = ("large_value",)


@dataclass(frozen=True)
class ModelConfig:
    """The alert model (004 ch.2 §4); the bank's own, confidential configuration.

    Every weight is in log-odds per unit of its feature (see the module docstring) and
    ≥ 0, but those of :data:`SIGNED_FEATURES`. The defaults were fitted on the simulator's
    training seeds (module docstring); ``flowgraph learn`` fits a bank's own.

    Parameters
    ----------
    weights : dict
        Indicator (hit typology) -> weight (位阶), overriding :data:`DEFAULT_WEIGHTS`:
        typologies left out keep their default weight (give 0 to silence one). Unknown
        typologies are refused.
    alert_threshold : float
        Least score that raises an alert.
    tolerance_band : float
        Relative width of the tolerance band, in [0, 0.9]: detectors also run with
        thresholds relaxed by this share, and hits found only so count at ``band_weight``.
    band_weight : float
        Strength of an indicator whose hits are all in the tolerance band, in [0, 1].
    utilisation_weight : float
        Weight of log2(1 + the highest W(N, D) utilisation).
    closeness_weight : float
        Weight of the highest closeness of a hit's transactions to Φ (capped at 1).
    amount_weight : float
        Weight of log10(1 + the largest amount a hit moved).
    families_weight : float
        Weight of the number of distinct indicator families beyond the first.
    repetition_weight : float
        Weight of log2(distinct business days the hits' windows end on); may be < 0.
    reach_weight : float
        Weight of log2(distinct accounts in the evidence); may be < 0.
    size_weight : float
        Weight of max(0, 2 + log10(the largest transaction size as a share of Φ)).
    recurrence_weight : float
        Weight of log2(1 + the distinct calendar weeks before the alert in which hits of
        its customer end, within ``recurrence_weeks``); may be < 0.
    recurrence_weeks : int
        Weeks before an alert's first week that ``recurrence`` looks at.
    alert_days : int
        Calendar days an alert's hits span at most (from its first hit's span start to
        its last span end; a single longer hit is an alert of its own).
    """

    weights: dict = field(default_factory=lambda: dict(DEFAULT_WEIGHTS), hash=False)
    # fitted with the indicator weights by benchmarks/bench/fit_model.py on training seeds
    # 7001-7004 (6,000 customers, 60 days each; L2 0.001 chosen by 5-fold CV; repetition,
    # reach and recurrence signed, amount came out 0; recurrence in a second stage on top of
    # the rest's score); the threshold is the middle of the training seeds' range where every
    # adaptive pattern is raised and look-alikes stay <= 2 % (0.7-1.5; issue 14: spans, past-only
    # recurrence)
    alert_threshold: float = 1.1
    tolerance_band: float = 0.2
    band_weight: float = 0.5
    utilisation_weight: float = 1.77
    closeness_weight: float = 2.76
    amount_weight: float = 0.0
    families_weight: float = 0.56
    repetition_weight: float = -1.71
    reach_weight: float = -1.37
    size_weight: float = 2.42
    recurrence_weight: float = -1.09
    # a quarter each: the training banks' 60 business days (about 12 weeks) are what the
    # weights were fitted on, so neither limit cuts a training alert or its history
    recurrence_weeks: int = 13
    alert_days: int = 92

    _parameter_constraints: ClassVar[dict] = {
        "weights": _Weights(),
        "alert_threshold": Interval(float, 0.0),
        "tolerance_band": Interval(float, 0.0, 0.9),
        "band_weight": Interval(float, 0.0, 1.0),
        "utilisation_weight": Interval(float, 0.0),
        "closeness_weight": Interval(float, 0.0),
        "amount_weight": Interval(float, 0.0),
        "families_weight": Interval(float, 0.0),
        "repetition_weight": Interval(float, -math.inf),  # SIGNED_FEATURES
        "reach_weight": Interval(float, -math.inf),
        "size_weight": Interval(float, 0.0),
        "recurrence_weight": Interval(float, -math.inf),
        "recurrence_weeks": Interval(int, 1),
        "alert_days": Interval(int, 1),
    }

    def __post_init__(self) -> None:
        validate_params(self)

    def feature_weights(self) -> dict:
        """Feature (:data:`FEATURES`) -> its weight."""
        return {name: getattr(self, f"{name}_weight") for name in FEATURES}


def hit_spans(hits: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Per hit, the first and last day its evidence covers, in ns since 1970: its window,
    widened to its run (``run_first`` .. ``run_last``) where it has one. (A business day's
    evidence may hold transactions of the calendar days before it that are not business
    days; they are booked on it, as the day's slice is.)"""
    start = hits["window_start"].to_numpy(dtype="datetime64[ns]").view(np.int64)
    end = hits["window_end"].to_numpy(dtype="datetime64[ns]").view(np.int64)
    if "run_first" in hits and "run_last" in hits:
        first = pd.to_datetime(hits["run_first"]).to_numpy(dtype="datetime64[ns]")
        last = pd.to_datetime(hits["run_last"]).to_numpy(dtype="datetime64[ns]")
        start = np.where(np.isnat(first), start, np.minimum(start, first.view(np.int64)))
        end = np.where(np.isnat(last), end, np.maximum(end, last.view(np.int64)))
    return start, end


def _groups(unit_code: np.ndarray, start: np.ndarray, end: np.ndarray, rank: np.ndarray,
            longest: int) -> np.ndarray:
    """The group (alert) label of each hit (module docstring): within a monitoring unit,
    hits in order of (``start``, ``rank``) join the open group while they start by its
    latest ``end`` and end within ``longest`` of its start; otherwise they open the next.
    Times in any one integer unit (``longest`` in it too)."""
    order = np.lexsort((rank, start, unit_code))
    unit, first, last = unit_code[order], start[order], end[order]
    # chains: a hit continues the hits before it in its unit when it starts before they all ended
    reach = pd.Series(last).groupby(unit).cummax().groupby(unit).shift(1).to_numpy()
    opens = ~(first <= np.nan_to_num(reach, nan=-np.inf))
    # a chain longer than ``longest`` is cut, hit by hit, into groups that are not
    chain_at = np.flatnonzero(opens)
    chain_end = np.maximum.reduceat(last, chain_at) if len(last) else last
    for lo, hi in zip(chain_at[chain_end - first[chain_at] > longest].tolist(),
                      np.r_[chain_at[1:], len(last)][chain_end - first[chain_at] > longest].tolist()):
        group_first, group_last = first[lo], last[lo]
        for i in range(lo + 1, hi):
            if first[i] <= group_last and last[i] <= group_first + longest:
                group_last = max(group_last, last[i])
            else:
                opens[i] = True
                group_first, group_last = first[i], last[i]
    label = np.empty(len(order), np.int64)
    label[order] = np.cumsum(opens) - 1
    return label


def _lengths(lists) -> np.ndarray:
    """The length of each list (an Arrow list column or lists)."""
    if isinstance(getattr(lists, "dtype", None), pd.ArrowDtype):
        return pc.list_value_length(lists.array.__arrow_array__()).to_numpy(zero_copy_only=False).astype(np.int64)
    return np.fromiter((len(t) for t in lists), np.int64, len(lists))


def _flat_codes(lists, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lengths of the lists at positions ``rows`` (of an Arrow list column or of lists) and
    a code per element of those (equal values, equal codes)."""
    arrow = lists.array.__arrow_array__() if isinstance(getattr(lists, "dtype", None), pd.ArrowDtype) else None
    if arrow is None:
        values = list(lists)
        lists = [values[i] for i in rows.tolist()]
        lengths = _lengths(lists)
        flat = pa.array(itertools.chain.from_iterable(lists), pa.string(), size=int(lengths.sum()))
    else:
        arrow = one_array(arrow)
        arrow = arrow.take(pa.array(rows, pa.int64()))
        lengths = pc.list_value_length(arrow).fill_null(0).to_numpy().astype(np.int64)
        flat = arrow.flatten()
    codes = pc.dictionary_encode(flat).indices.to_numpy(zero_copy_only=False)
    return lengths, codes.astype(np.int64)


COLUMNS = ("alert_id", "customer", "subject", "score", "raised", "window_start", "window_end", "n_hits",
           "hit_ids", "utilisation", "explanation", "contributions")


@dataclass(frozen=True)
class AlertInputs:
    """Alerts before scoring: each one's members and features.

    ``frame`` holds the columns of :data:`COLUMNS` that do not depend on weights;
    ``indicators``: the indicator names (sorted), ``strength``: alerts × indicators
    (1, ``band_weight`` or 0), ``hits``: alerts × indicators hit counts, ``features``:
    alerts × :data:`FEATURES` values, ``utilisation``: the uncapped highest utilisation.
    """

    frame: pd.DataFrame
    indicators: np.ndarray
    strength: np.ndarray
    hits: np.ndarray
    features: np.ndarray
    utilisation: np.ndarray

    def design(self) -> tuple[np.ndarray, list[str]]:
        """The feature matrix a model multiplies by its weights, and its column names."""
        return np.hstack([self.strength, self.features]), [*self.indicators.tolist(), *FEATURES]


def concat_inputs(parts: list[AlertInputs]) -> AlertInputs:
    """The alerts of several :func:`alert_inputs` of disjoint monitoring units, made with
    the same ``typologies``, as one, in the order given."""
    if any(not np.array_equal(p.indicators, parts[0].indicators) for p in parts):
        raise ValueError("alert inputs of different indicators: give alert_inputs every part's typologies")
    return AlertInputs(pd.concat([p.frame for p in parts], ignore_index=True), parts[0].indicators,
                       *(np.concatenate([getattr(p, f) for p in parts])
                         for f in ("strength", "hits", "features", "utilisation")))


def alert_inputs(hits: pd.DataFrame, model: ModelConfig, config_hash: str,
                 earlier: pd.DataFrame | None = None, typologies: Iterable[str] = ()) -> AlertInputs:
    """Group hits into alerts and compute each alert's features (module docstring).

    Parameters
    ----------
    hits : DataFrame
        Hits (``hits_frame`` columns, at least ``hit_id, customer, subject, typology,
        txn_ids, accounts, window_start, window_end, amount, w, ceiling, utilisation``) with a boolean
        ``in_band`` column: True for hits found only in the tolerance band.
    model : ModelConfig
        ``band_weight`` (the strength of band-only indicators), ``alert_days`` and
        ``recurrence_weeks`` are read.
    config_hash : str
        Part of every alert id.
    earlier : DataFrame, optional
        Hits of the same monitoring units in alerts that stay as they are (a daily scan's
        settled alerts, :mod:`flowgraph.scan`): they count for ``recurrence`` only.
        Columns ``customer, subject, typology`` and ``last_day`` (the last day of the
        hit's span, :func:`hit_spans`).
    typologies : iterable of str
        More indicators to give a column (of hits elsewhere, so that alert inputs of
        several parts have the same columns, :func:`concat_inputs`).
    """
    hits = hits.reset_index(drop=True)
    customer = hits["customer"].fillna("").astype(str).to_numpy(dtype=object)
    subject = hits["subject"].astype(str).to_numpy(dtype=object)
    unit = _units(hits)
    start, end = hit_spans(hits)
    hit_id = hits["hit_id"].to_numpy(dtype=object)
    rank = id_sort_key(hits["hit_id"])  # Arrow text: read from its buffers
    unit_code, units = pd.factorize(unit, sort=True)
    label = _groups(unit_code, start, end, rank, model.alert_days * NS_PER_DAY)
    # members of each alert in order of (span start, hit id); the first names the alert
    order = np.lexsort((rank, start, label))
    bounds = np.flatnonzero(np.r_[True, np.diff(label[order]) != 0])
    first = order[bounds]
    n_alerts = len(first)
    names = np.array(sorted(set(TYPOLOGIES) | set(hits["typology"].unique().tolist()) | set(typologies)),
                     dtype=object)
    typology = pd.Categorical(hits["typology"], categories=names).codes.astype(np.int64)
    strict = ~hits["in_band"].to_numpy(dtype=bool)
    cell = label.astype(np.int64) * len(names) + typology
    hit_count = np.bincount(cell, minlength=n_alerts * len(names)).reshape(n_alerts, len(names))
    any_strict = np.bincount(cell, weights=strict, minlength=n_alerts * len(names)).reshape(n_alerts, len(names)) > 0
    strength = np.where(any_strict, 1.0, np.where(hit_count > 0, model.band_weight, 0.0))
    family_of = np.array([FAMILIES.get(t, t) for t in names], dtype=object)
    counted = ~np.isin(family_of[typology], REPORTABLE_FAMILIES)
    u = _highest(hits["utilisation"].to_numpy(dtype=float), counted, label, n_alerts)
    amount_of_hit = hits["amount"].to_numpy(dtype=float)
    amount = _highest(amount_of_hit, counted, label, n_alerts)
    share = transaction_share(hits)
    # at or above Φ a transaction is reported (large value): under it is where evaders sit
    closeness = _highest(share, counted & (share < 1.0), label, n_alerts)
    closeness = np.clip((closeness - BAND_LOW) / (1.0 - BAND_LOW), 0.0, 1.0)
    size = _highest(np.where(np.isfinite(share), np.minimum(share, 1.0), np.nan), counted, label, n_alerts)
    size = np.maximum(0.0, SIZE_DECADES + np.log10(np.maximum(size, 1e-300)))
    families = _distinct(label, pd.factorize(family_of[typology])[0], counted, n_alerts)
    window_end = hits["window_end"].to_numpy(dtype="datetime64[ns]").view(np.int64)
    days = _distinct(label, pd.factorize(window_end)[0], counted & ~_continued(hits, label), n_alerts)
    # counterparties only: hits listing the customer's own accounts (account opening) are left
    # out, and so are reportable hits (the accounts of a day's large-value report: 13 M of the
    # 18 M listed on the 1e8 bank's 240-day range), which count for no indicator
    counterparts = np.array([TYPOLOGIES[t].counterparts if t in TYPOLOGIES else True for t in names])[typology]
    reached = np.flatnonzero(counted & counterparts)
    lengths, account_code = _flat_codes(hits["accounts"], reached)
    reach = _distinct(np.repeat(label[reached], lengths), account_code, None, n_alerts)
    group_end = np.maximum.reduceat(end[order], bounds)
    group_start = np.minimum.reduceat(start[order], bounds)
    weeks = _past_weeks(units, unit_code, _week(end), counted, earlier, unit_code[first], _week(group_start),
                        model.recurrence_weeks)
    features = np.column_stack([np.log2(1.0 + u), closeness, np.log10(1.0 + amount), np.maximum(families - 1, 0),
                                np.log2(np.maximum(days, 1)), np.log2(np.maximum(reach, 1)), size,
                                np.log2(1.0 + weeks)])
    alert_id = [hashlib.sha1(json.dumps([config_hash, unit[i], hit_id[i]]).encode()).hexdigest()[:16]
                for i in first.tolist()]
    frame = pd.DataFrame({
        "alert_id": alert_id, "customer": customer[first], "subject": subject[first],
        "window_start": pd.to_datetime(group_start),
        "window_end": pd.to_datetime(group_end),
        "n_hits": np.diff(np.r_[bounds, len(order)]).astype(np.int64),
        "hit_ids": [list(x) for x in np.split(hit_id[order], bounds[1:])]})
    return AlertInputs(frame, names, strength, hit_count, features, u)


def build_alerts(hits: pd.DataFrame, model: ModelConfig, config_hash: str,
                 earlier: pd.DataFrame | None = None) -> pd.DataFrame:
    """Group scored hits into alerts and score them.

    Parameters
    ----------
    hits : DataFrame
        As for :func:`alert_inputs`.
    model : ModelConfig
    config_hash : str
        Part of every alert id.
    earlier : DataFrame, optional
        As for :func:`alert_inputs`.

    Returns
    -------
    DataFrame
        One row per alert: ``alert_id, customer, subject, score, raised, window_start,
        window_end, n_hits, hit_ids, utilisation, explanation`` (JSON: every indicator of
        the alert and every feature, with value, weight and contribution),
        ``contributions`` (JSON: feature -> contribution), highest score first, ties by id.
    """
    if hits.empty:
        return pd.DataFrame(columns=list(COLUMNS))
    inputs = alert_inputs(hits, model, config_hash, earlier)
    return score_alerts(inputs, model)


def score_alerts(inputs: AlertInputs, model: ModelConfig) -> pd.DataFrame:
    """The alerts of :func:`alert_inputs` scored with ``model``'s weights (see
    :func:`build_alerts`)."""
    names = inputs.indicators
    weight = np.array([float(model.weights.get(t, 0.0)) for t in names])
    feature_weight = np.array([model.feature_weights()[f] for f in FEATURES])
    indicator_part = np.round(inputs.strength * weight, 6)
    feature_part = np.round(inputs.features * feature_weight, 6)
    total = indicator_part.sum(axis=1) + feature_part.sum(axis=1)
    score = np.round(total, 6)
    # JSON text built column by column (Arrow string kernels), not one Python call per alert
    alert, which = np.nonzero(inputs.hits)  # one (alert, indicator) row per indicator it has, in name order
    quoted = np.array([json.dumps(t) for t in names.tolist()], dtype=object)
    family = np.array([json.dumps(FAMILIES.get(t, t)) for t in names.tolist()], dtype=object)
    rows = _concat('{"contribution": ', _numbers(indicator_part[alert, which]), ', "family": ', family[which],
                   ', "hits": ', inputs.hits[alert, which].astype(str), ', "in_band_only": ',
                   np.where(inputs.strength[alert, which] < 1.0, "true", "false"), ', "indicator": ', quoted[which],
                   ', "weight": ', _numbers(weight[which]), "}")
    indicators = _joined(rows, alert, len(score))
    values = _numbers(np.round(inputs.features, 6))
    parts = _numbers(feature_part)
    weights = _numbers(feature_weight)
    features = pc.binary_join_element_wise(*[
        _concat('{"contribution": ', parts[:, j], f', "feature": "{f}", "value": ', values[:, j],
                f', "weight": {weights[j]}}}') for j, f in enumerate(FEATURES)], ", ")
    u = np.round(inputs.utilisation, 6)
    explanation = _concat('{"features": [', features, '], "indicators": [', indicators, '], "threshold": ',
                          _number(model.alert_threshold), ', "utilisation": ', _numbers(u),
                          ', "utilisation_contribution": ', parts[:, 0], "}")
    per_alert = _joined(_concat(quoted[which], ": ", _numbers(indicator_part[alert, which])), alert, len(score))
    contributions = _concat("{", per_alert, *[x for j, f in enumerate(FEATURES) for x in (f', "{f}": ', parts[:, j])],
                            "}")
    out = inputs.frame.assign(score=score, raised=total >= model.alert_threshold, utilisation=u,
                              explanation=explanation.to_pylist(), contributions=contributions.to_pylist())
    out = out[list(COLUMNS)]
    return out.sort_values(["score", "alert_id"], ascending=[False, True], kind="stable").reset_index(drop=True)


def _joined(texts: pa.Array, alert: np.ndarray, n_alerts: int) -> pa.Array:
    """Per alert, its ``texts`` (rows sorted by alert) joined by ", "."""
    offsets = np.r_[0, np.cumsum(np.bincount(alert, minlength=n_alerts))]
    return pc.binary_join(pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), texts), ", ")


def _concat(*parts) -> pa.Array:
    """Element-wise concatenation of string arrays and constant strings."""
    return pc.binary_join_element_wise(*[p if isinstance(p, (str, pa.Array)) else pa.array(p, pa.string())
                                         for p in parts], "")


def _numbers(values: np.ndarray) -> np.ndarray:
    """Finite floats as ``json.dumps`` writes them (numpy's shortest round-trip repr)."""
    return np.asarray(values, dtype=float).astype(str)


#: Hit measures that list the amounts of the hit's transactions (chains' hops, layered
#: flows' legs): the largest of them is the hit's transaction size.
LISTED_AMOUNTS = ("hop_amounts", "leg_amounts")
#: Hit measure that states the mean of the hit's evidence transactions, for hits whose A is
#: not their evidence's total (one side of receipts and payments: structuring, "frequent",
#: :func:`flowgraph.detectors._common.one_sided`), where A / evidence transactions would
#: understate the transaction size.
MEAN_AMOUNT = "mean_amount"
#: Decades of transaction size below Φ the ``size`` feature counts: 0 at 1 % of Φ or less.
SIZE_DECADES = 2.0


def transaction_share(hits: pd.DataFrame) -> np.ndarray:
    """Per hit, its transactions' size as a share of Σ_m Φ_m (= ceiling / W): the largest
    listed amount (:data:`LISTED_AMOUNTS`) where the detector lists them, else the mean the
    hit states (:data:`MEAN_AMOUNT`), else the mean amount A / evidence transactions. NaN
    without evidence or with W = 0."""
    n_txns = _lengths(hits["txn_ids"])
    amount = hits["amount"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        phi_sum = hits["ceiling"].to_numpy(dtype=float) / hits["w"].to_numpy(dtype=float)
        per_txn = amount / n_txns
    if "measures" in hits:  # the few hits that list amounts, found by Arrow, not a Python test per hit
        measures = pa.array(hits["measures"], pa.string(), from_pandas=True)
        stated = pc.struct_field(pc.extract_regex(measures, re.escape(json.dumps(MEAN_AMOUNT)) + r": (?P<mean>[^,}]+)"),
                                 "mean")
        has = np.flatnonzero(np.asarray(pc.is_valid(stated), dtype=bool))
        if len(has):  # the text of the few that state one, as numbers ("null": none stated)
            values = pd.to_numeric(pd.Series(pc.take(stated, pa.array(has)).to_pylist()), errors="coerce")
            per_txn[has] = np.where(np.isnan(values), per_txn[has], values)
        pattern = "|".join(re.escape(json.dumps(k)) for k in LISTED_AMOUNTS)
        listed = np.flatnonzero(pc.match_substring_regex(measures, pattern).fill_null(False).to_numpy(
            zero_copy_only=False))
        for i in listed.tolist():
            found = json.loads(measures[i].as_py())
            values = list(found.get("hop_amounts") or []) + [x for leg in found.get("leg_amounts") or [] for x in leg]
            if values:
                per_txn[i] = max(values)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(n_txns > 0, per_txn / phi_sum, np.nan)


#: Calendar days a month's last business day and the next month's first can lie apart
#: (the Spring Festival and National Day closures with their weekends stay within it).
MONTH_TURN_DAYS = 12


def _continued(hits: pd.DataFrame, label: np.ndarray) -> np.ndarray:
    """Which hits another hit of the same alert continues: one of the same typology and
    subject (in the tolerance band or not: a pattern that firms up) whose run starts in
    the next month, at most :data:`MONTH_TURN_DAYS` calendar days after this run's last
    day — the run went on and was cut where the month ended. All False without run
    columns."""
    if not {"run_first", "run_last"} <= set(hits.columns) or hits.empty:
        return np.zeros(len(hits), bool)
    first = pd.to_datetime(hits["run_first"]).to_numpy(dtype="datetime64[D]")
    last = pd.to_datetime(hits["run_last"]).to_numpy(dtype="datetime64[D]")
    # one integer per (alert, typology, subject): the three codes side by side (texts joined
    # per hit took 0.75 s of 890,804 hits' alerts)
    typology = pd.factorize(hits["typology"].astype(str).to_numpy())[0].astype(np.int64)
    subject = pd.factorize(hits["subject"].astype(str).to_numpy())[0].astype(np.int64)
    pair = pd.factorize(label.astype(np.int64) * (typology.max() + 1) + typology)[0].astype(np.int64)
    same = pair * (subject.max() + 1) + subject  # below 2**63 for up to 3e9 hits
    order = np.lexsort((first, same))
    nxt = order[1:]
    cur = order[:-1]
    continues = ((same[cur] == same[nxt]) & (first[nxt] > last[cur])
                 & (first[nxt].astype("datetime64[M]") == last[cur].astype("datetime64[M]") + 1)
                 & ((first[nxt] - last[cur]).astype(np.int64) <= MONTH_TURN_DAYS))
    out = np.zeros(len(hits), bool)
    out[cur[continues]] = True
    return out


#: Nanoseconds in a day (alert spans are compared in ns since 1970).
NS_PER_DAY = 86_400 * 10**9


def _week(ns: np.ndarray) -> np.ndarray:
    """The calendar week (Monday to Sunday; a count from the week of 1970-01-01) of each
    time in nanoseconds since 1970."""
    return (ns // NS_PER_DAY + 3) // 7


def _units(hits: pd.DataFrame) -> np.ndarray:
    """Each hit's monitoring unit: ``customer:ID``, or ``account:ID`` (its subject) for a
    hit without a customer."""
    customer = hits["customer"].fillna("").astype(str).to_numpy(dtype=object)
    subject = hits["subject"].astype(str).to_numpy(dtype=object)
    return np.where(customer != "", "customer:" + customer, "account:" + subject)


def _past_weeks(units: np.ndarray, code: np.ndarray, week: np.ndarray, counted: np.ndarray,
                earlier: pd.DataFrame | None, unit_of_alert: np.ndarray, first_week: np.ndarray,
                horizon: int) -> np.ndarray:
    """Per alert, the distinct calendar weeks among the ``horizon`` weeks before its
    ``first_week`` in which counted hits of its monitoring unit end: its hits (``code``,
    ``week``, ``counted`` per hit; ``units`` the distinct units, which ``code`` and
    ``unit_of_alert`` index) and ``earlier`` ones (:func:`alert_inputs`)."""
    code = code.astype(np.int64)
    if earlier is not None and not earlier.empty:
        family = earlier["typology"].map(lambda t: FAMILIES.get(t, t)).to_numpy(dtype=object)
        earlier_code = pd.Index(units).get_indexer(_units(earlier)).astype(np.int64)  # a hash lookup
        mine = earlier_code >= 0
        code = np.concatenate([code, earlier_code[mine]])
        last_day = earlier["last_day"].to_numpy(dtype="datetime64[ns]").view(np.int64)
        week = np.concatenate([week, _week(last_day)[mine]])
        counted = np.concatenate([counted, ~np.isin(family, REPORTABLE_FAMILIES)[mine]])
    span = int(max(week.max(initial=0), first_week.max(initial=0))) + 2
    keys = np.unique(code[counted] * span + week[counted])
    base = unit_of_alert.astype(np.int64) * span
    low = base + np.maximum(first_week - horizon, 0)
    return (np.searchsorted(keys, base + first_week, "left") - np.searchsorted(keys, low, "left")).astype(float)


def _highest(values: np.ndarray, counted: np.ndarray, label: np.ndarray, n_alerts: int) -> np.ndarray:
    """Per alert, the highest finite value among its counted hits (0 if none)."""
    keep = counted & np.isfinite(values)
    out = np.full(n_alerts, -np.inf)
    np.maximum.at(out, label[keep], values[keep])
    return np.where(np.isfinite(out), np.maximum(out, 0.0), 0.0)


def _distinct(label: np.ndarray, code: np.ndarray, counted: np.ndarray | None, n_alerts: int) -> np.ndarray:
    """Per alert, the number of distinct codes among its counted entries (None: all of them)."""
    if counted is not None:
        label, code = label[counted], code[counted]
    pairs = pd.unique(label.astype(np.int64) * (int(code.max(initial=0)) + 1) + code)
    return np.bincount(pairs // (int(code.max(initial=0)) + 1), minlength=n_alerts).astype(float)


def _number(value: float) -> str:
    """A float as ``json.dumps`` writes it."""
    return repr(value) if math.isfinite(value) else json.dumps(value)

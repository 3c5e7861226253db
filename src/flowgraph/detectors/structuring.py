"""Near-threshold, low-variance structuring (SPEC §3.3, from 001): "more than 80 % of an
account's transactions have a standard deviation σ < 0.05 Φ".

For each account, method (channel) and business day of the scan, over the trailing
window: the band is the transactions with ``band_low · Φ <= amount < Φ`` (Φ: the
threshold of the large-value rule each transaction falls under); a hit when the band
holds at least ``min_band`` transactions ("frequent"), more than ``min_share`` of the
account's transactions of that method, with σ below ``sigma_max · Φ`` (population
standard deviation). The same test on daily cumulative sums (per direction, over the
transactions that add up toward one daily threshold: one channel, currency class and Φ):
a band day is a day whose sum sits in the band and is made of at least two transactions
(split).

The band tests are exact: amounts, daily sums, Φ and ``band_low`` · Φ are integer cents
(of the currency the rule compares), so a daily sum of exactly Φ is outside the band and
Φ − 0.01 inside. σ stays a float in units of Φ: it is a spread statistic, not a
threshold crossing.

Temporal concentration (001: evasive records bunch in time) is reported: the busiest
day's share of the band and the share of the window's days that hold band items.
A = the band's sum.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from .._kernels.structuring import daily_structuring_runs, structuring_runs
from ..config import CHANNELS
from ..hits import Hit, make_hit, params_fingerprint
from ._common import edge_phi_cents, monitored, n_chunks, phi_by_channel, phi_ratio, prepare, share_cents
from ._params import MAX_WINDOW_DAYS, Boolean, Interval, KnownRuleSet, validate_params

TYPOLOGIES = ("structuring", "structuring_daily")


#: Largest σ limit, × Φ: values in [0, Φ) have σ below Φ / 2.
MAX_SIGMA = 0.5


@dataclass(frozen=True)
class StructuringParams:
    """Parameters of the structuring detector (defaults from 001 and SPEC §3.3).

    Parameters
    ----------
    window_days : int
        Trailing window, business days (short term, 10); at most 250 (one year).
    band_low : float
        Band floor as a share of Φ ("large", 0.8), in [0, 1).
    min_band : int
        Least transactions (or days) in the band ("frequent", 3).
    min_share : float
        The band must be more than this share of the method's transactions (0.8), in [0, 1).
    sigma_max : float
        σ of the band must be below this × Φ (0.05), in (0, 0.5]: band values lie in
        [0, Φ), so their σ never exceeds Φ / 2 and a larger limit would test nothing.
    daily : bool
        Also test daily cumulative sums.
    rule_set : str
        Rule set whose thresholds are Φ (``flowgraph.config.RULE_SETS``).
    """

    window_days: int = 10
    band_low: float = 0.8
    min_band: int = 3
    min_share: float = 0.8
    sigma_max: float = 0.05
    daily: bool = True
    rule_set: str = "PBOC-2016"

    _parameter_constraints: ClassVar[dict] = {
        "window_days": Interval(int, 1, MAX_WINDOW_DAYS),
        "band_low": Interval(float, 0.0, 1.0, closed="left"),
        "min_band": Interval(int, 1),
        "min_share": Interval(float, 0.0, 1.0, closed="left"),
        "sigma_max": Interval(float, 0.0, MAX_SIGMA, closed="right"),
        "daily": Boolean(),
        "rule_set": KnownRuleSet(),
    }

    def __post_init__(self) -> None:
        validate_params(self)

    def relaxed(self, band: float) -> "StructuringParams":
        """The tolerance band's version: σ limit raised and the share lowered by ``band``."""
        return dataclasses.replace(self, sigma_max=min(self.sigma_max * (1 + band), MAX_SIGMA),
                                   min_share=self.min_share * (1 - band))


def detect(graph, params: StructuringParams = StructuringParams(), days=None) -> list[Hit]:
    """Structuring hits (per transaction and by daily cumulative sum) over the scan range.

    Parameters
    ----------
    graph : TransactionGraph
    params : StructuringParams
    days : (first, last), optional
        Business-day indices or dates of the scan; default the whole graph.

    Returns
    -------
    list of Hit
    """
    prepared = prepare(graph, params, days)
    if prepared is None:
        return []
    rules, first, last = prepared
    amount_cents, phi_cents = edge_phi_cents(graph, rules)
    low_cents = share_cents(params.band_low, phi_cents)
    in_band = (low_cents <= amount_cents) & (amount_cents < phi_cents)
    ratio = phi_ratio(amount_cents, phi_cents)
    graph_arrays = (graph.in_indptr, graph.in_edges, graph.out_indptr, graph.out_edges, graph.src, graph.dst,
                    graph.day)
    tests = (first, last, params.window_days, params.min_band, float(params.min_share), float(params.sigma_max),
             n_chunks())
    pid = params_fingerprint(params)
    hits = []
    runs, sigma = structuring_runs(*graph_arrays, graph.channel, amount_cents, low_cents, phi_cents, ratio, *tests)
    subjects = monitored(graph)
    for (a, c, run_first, run_last, best, n_band, n_all), (sig,) in zip(runs.tolist(), sigma.tolist()):
        if not subjects[a]:
            continue
        window = (max(0, best - params.window_days + 1), best)
        edges = _account_edges(graph, a, window, c, None)
        band = edges[in_band[edges]]
        hits.append(_hit(graph, rules, pid, "structuring", a, c, band, run_first, run_last, best,
                         {"band_transactions": n_band, "method_transactions": n_all,
                          "band_share": round(n_band / n_all, 6), "sigma_phi": round(sig, 9)}, window))
    if params.daily:
        series, series_channel, series_phi = _daily_series(graph, phi_cents)
        series_low = share_cents(params.band_low, series_phi)
        runs, sigma = daily_structuring_runs(*graph_arrays, series, amount_cents, series_low, series_phi, *tests)
        for (a, row, run_first, run_last, best, n_band, n_active), (sig,) in zip(runs.tolist(), sigma.tolist()):
            if not subjects[a]:
                continue
            direction, s = divmod(row, len(series_phi))
            c = int(series_channel[s])
            window = (max(0, best - params.window_days + 1), best)
            edges = _account_edges(graph, a, window, c, "in" if direction == 0 else "out")
            edges = edges[series[edges] == s]
            offset = graph.day[edges] - window[0]
            day_sum = np.zeros(params.window_days, np.int64)
            np.add.at(day_sum, offset, amount_cents[edges])
            day_cnt = np.bincount(offset, minlength=params.window_days)
            band_days = np.flatnonzero((day_cnt >= 2) & (day_sum >= series_low[s]) & (day_sum < series_phi[s]))
            band = edges[np.isin(offset, band_days)]
            hits.append(_hit(graph, rules, pid, "structuring_daily", a, c, band, run_first, run_last, best,
                             {"direction": "in" if direction == 0 else "out", "band_days": n_band,
                              "active_days": n_active, "band_share": round(n_band / n_active, 6),
                              "sigma_phi": round(sig, 9)}, window))
    return hits


def _daily_series(graph, phi_cents: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Group edges into daily-cumulative series: one channel, currency class and Φ (only
    such transactions add up toward one daily large-value threshold).

    Returns
    -------
    series : ndarray of int64
        Each edge's series.
    series_channel, series_phi_cents : ndarray of int64
        Per series, its channel and Φ in cents.
    """
    phis, phi_idx = np.unique(phi_cents, return_inverse=True)
    # one int per (channel, currency class, Φ), ordered as those tuples
    key = (graph.channel.astype(np.int64) * 2 + ~graph.is_home_currency) * len(phis) + phi_idx.reshape(-1)
    keys, series = np.unique(key, return_inverse=True)
    return series.reshape(-1).astype(np.int64), keys // (2 * len(phis)), phis[keys % len(phis)]


def _account_edges(graph, a: int, window: tuple[int, int], c: int, direction: str | None) -> np.ndarray:
    ins = graph.in_edges_of(a, window)
    ins = ins[graph.src[ins] != a]
    outs = graph.out_edges_of(a, window)
    if direction == "in":
        edges = ins
    elif direction == "out":
        edges = outs[graph.dst[outs] != a]
    else:
        edges = np.concatenate([ins, outs])
    return np.sort(edges[graph.channel[edges] == c])


def _hit(graph, rules, pid, typology, a, c, band, run_first, run_last, best, measures, window) -> Hit:
    per_day = np.bincount(graph.day[band] - window[0]) if len(band) else np.array([0])
    measures = {**measures, "method": CHANNELS[c],
                "busiest_day_share": round(float(per_day.max() / max(len(band), 1)), 6),
                "active_day_share": round(float((per_day > 0).sum() / (window[1] - window[0] + 1)), 6),
                "best_day": str(graph.business_days[best]),
                "run_first_day": str(graph.business_days[run_first]),
                "run_last_day": str(graph.business_days[run_last])}
    amount = float(graph.amount_cny[band].sum())
    return make_hit(graph, "structuring", typology, pid, a, band, amount, phi_by_channel(graph, rules, a), measures)

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

A is one-sided: the band's sum on the side where it is larger, received or paid
(``amount_in``, ``amount_out``: both sides are measures; :func:`._common.side_cents`). The
large-value rules sum receipts and payments apart (003 二㈠), and W(N, D) · Φ is the most
that can move one way without a report (001: what the first account can send), so a band
of money passed through the account — each amount received paid on — is the money once,
not twice: summed over both sides its utilisation would double, and a u > 1 would claim
large-value reports that need not exist. A daily-cumulative hit is one direction's already.
``mean_amount`` is the band's mean transaction (both sides): the size the alert model's
closeness reads (:func:`flowgraph.alerts.transaction_share`), which A over the band's
count would halve.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from .._kernels.segments import segment_day_profile
from .._kernels.runs import day_runs, keep_rows, take
from .._kernels.structuring import (SIGMA_TIE, daily_structuring_days, daily_structuring_evidence, edge_series,
                                    structuring_days, structuring_days_met, structuring_evidence)
from ..config import CHANNELS
from ..hits import HitParts, HitTable, hit_table, params_fingerprint
from ._common import (edge_phi_cents, in_scan, memo, monitored, n_chunks, narrowed, period_first, phi_codes,
                      one_sided, phi_table, prepare, share_cents)
from ._contract import Detector, Typology
from ._params import MAX_WINDOW_DAYS, Boolean, Interval, KnownRuleSet, validate_params

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


def detect(graph, params: StructuringParams = StructuringParams(), days=None) -> HitTable:
    """Structuring hits (per transaction and daily cumulative) whose runs reach the scan range.

    Parameters
    ----------
    graph : TransactionGraph
    params : StructuringParams
    days : (first, last), optional
        Business-day indices or dates of the scan; default the whole graph.

    Returns
    -------
    HitTable
    """
    prepared = prepare(graph, params, days)
    if prepared is None:
        return HitTable.empty()
    rules, first, last = prepared
    amount_cents, phi_cents = edge_phi_cents(graph, rules)
    # per edge, once per graph, rule set and band (the tolerance band's run shares them)
    low_cents = memo(graph, ("band", rules, params.band_low), lambda: share_cents(params.band_low, phi_cents),
                     own=True)
    g = graph.arrays
    # runs are traced from the first day of the scan's first month, where any run that
    # reaches the scan starts: a scan's first day cuts none
    start = period_first(graph, first)
    tests = (start, last, params.window_days, params.min_band, params.min_share, params.sigma_max, n_chunks())
    pid, phi = params_fingerprint(params), phi_table(graph, rules)
    # what the kernels count does not depend on the share or σ limit (the tolerance band's run is narrowed)
    key, bounds = (start, last, params.window_days, params.min_band, params.band_low, rules), (params.min_share,
                                                                                         -params.sigma_max)

    def narrow(held):
        offsets, days_met = held
        return keep_rows(offsets, days_met, structuring_days_met(days_met, params.min_band, params.min_share,
                                                                 params.sigma_max))

    offsets, days_met = narrowed(graph, ("structuring",) + key, bounds,
                                 lambda: structuring_days(g, amount_cents, low_cents, phi_cents, *tests), narrow)
    runs, best = _runs(graph, offsets, days_met, len(CHANNELS), first)
    account, method = runs.account, runs.key
    offsets, edges = structuring_evidence(account, method, best.day, params.window_days, g, amount_cents, low_cents,
                                          phi_cents)
    per_txn = _parts(graph, params, "structuring", runs, best, method, offsets, edges,
                     {"band_transactions": best.n_band, "method_transactions": best.n_all,
                      "band_share": np.round(best.n_band / np.maximum(best.n_all, 1), 6),
                      "sigma_phi": np.round(best.sigma, 9)},
                     key=method)
    tables = [hit_table(graph, "structuring", pid, phi, per_txn)]
    if params.daily:
        series, series_kind, series_phi = _daily_series(graph, phi_cents)
        series_low = share_cents(params.band_low, series_phi)
        offsets, days_met = narrowed(
            graph, ("structuring_daily",) + key, bounds,
            lambda: daily_structuring_days(g, series, amount_cents, series_low, series_phi, *tests), narrow)
        runs, best = _runs(graph, offsets, days_met, 2 * len(series_phi), first)
        account = runs.account
        direction, which = np.divmod(runs.key, len(series_phi))
        offsets, edges = daily_structuring_evidence(account, direction, which, best.day, params.window_days, g,
                                                    series, amount_cents, series_low, series_phi)
        daily = _parts(graph, params, "structuring_daily", runs, best, series_kind[which] // 2, offsets, edges,
                       {"direction": np.where(direction == 0, "in", "out").astype(object), "band_days": best.n_band,
                        "active_days": best.n_all, "band_share": np.round(best.n_band / np.maximum(best.n_all, 1), 6),
                        "sigma_phi": np.round(best.sigma, 9)},
                       # one run per account, direction and series: channel, currency class and Φ,
                       # not the series' number, which counts the series the read holds (a
                       # block or day with one more gave the same run another id)
                       key=np.array([f"{d}:{k}:{p}" for d, k, p in zip(direction.tolist(), series_kind[which].tolist(),
                                                                       series_phi[which].tolist())], dtype=object))
        tables.append(hit_table(graph, "structuring", pid, phi, daily))
    return HitTable.concat(tables)


def _runs(graph, offsets, days_met, n_keys, first):
    """Runs of the qualifying days whose subject is monitored and that reach the scan's
    first day, with their best days' rows."""
    runs = day_runs(offsets, days_met, n_keys, graph.period_last, tie=SIGMA_TIE)
    runs = take(runs, monitored(graph)[runs.account] & in_scan(runs.last_day, first))
    return runs, take(days_met, runs.best_row)


def _parts(graph, params, typology, runs, best, method, offsets, edges, measures, key) -> HitParts:
    """Hit parts of structuring results, with the measures both kinds share; A = the
    band's sum on its larger side, received or paid (CNY cents; module docstring)."""
    best_day = best.day
    window_first = np.maximum(best_day - params.window_days + 1, 0)
    busiest, active = segment_day_profile(offsets, edges, graph.day, best_day - params.window_days + 1,
                                          params.window_days)
    day_text = graph.business_days.astype(str)
    measures = {**measures, "method": np.asarray(CHANNELS, dtype=object)[method],
                "busiest_day_share": np.round(busiest, 6),
                "active_day_share": np.round(active * params.window_days / (best_day - window_first + 1), 6),
                "best_day": day_text[best_day], "run_first_day": day_text[runs.first_day],
                "run_last_day": day_text[runs.last_day]}
    a_cents, sides = one_sided(graph, runs.account, offsets, edges)
    return HitParts(np.full(len(runs.account), typology, object), runs.account, runs.first_day, runs.last_day,
                    offsets, edges, a_cents, {**measures, **sides}, key=key)


def _daily_series(graph, phi_cents: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`_series_of` once per graph and Φ array (the tolerance band runs twice)."""
    return memo(graph, ("daily_series", id(phi_cents)), lambda: _series_of(graph, phi_cents), own=True)


def _series_of(graph, phi_cents: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Group edges into daily-cumulative series: one channel, currency class and Φ (only
    such transactions add up toward one daily large-value threshold).

    Returns
    -------
    series : ndarray of int64
        Each edge's series.
    series_kind, series_phi_cents : ndarray of int64
        Per series, ``channel * 2 + foreign currency`` (channel -1: unknown) and Φ in
        cents: what tells one series from another in any read.
    """
    codes, found = phi_codes(phi_cents)
    order = np.argsort(found)
    phis = found[order]
    # one int per (channel, currency class, Φ), ordered as those tuples; the series are the keys present
    series, keys = edge_series(graph.channel, graph.is_home_currency, np.argsort(order).astype(np.int64),
                               np.asarray(codes, np.int64), len(phis))
    return series, keys // len(phis), phis[keys % len(phis)]


DETECTOR = Detector("structuring", StructuringParams, detect, (
    # the paper's evasive feature (001): strong on its own
    Typology("structuring", "structuring", 0.3, finds=("structuring",), imitated_by=("rent_under_round",)),
    Typology("structuring_daily", "structuring", 0.48, finds=("structuring_daily",)),
), first_day_selects_runs=True)

"""The large-value rules and "frequent" as detectors (SPEC §2, §1, §3.4).

- ``large_value_single``: a transaction at or above the threshold of a rule it falls
  under (one hit per transaction and rule; 003: a transaction meeting two rules is two
  reports). Subject: the paying account if it is the bank's customer's, else the payee.
- ``large_value_daily``: per customer, direction, currency class (CNY; foreign in USD)
  and business day, the cumulative sum of a rule's transactions at or above its
  threshold, made of at least two transactions (one alone is the single hit).
  Subject: the customer's account with the largest share.
- ``frequent_daily`` / ``frequent_consecutive``: an account's "large" transactions
  (>= ``large_fraction`` · Φ, SPEC §1): at least ``per_day`` on one business day, or on at
  least ``consecutive`` consecutive business days.

Every comparison with a threshold is in integer cents (fen for CNY, US cents for foreign
currencies): amounts, daily sums, thresholds and ``large_fraction`` · Φ alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from .._kernels.large_value import daily_cumulative, frequent_runs
from ..hits import Hit, make_hit, params_fingerprint
from ..money import rule_applies
from ._common import edge_phi_cents, monitored, phi_by_channel, prepare, share_cents, threshold_cents
from ._params import MAX_WINDOW_DAYS, Interval, KnownRuleSet, validate_params

TYPOLOGIES = ("large_value_single", "large_value_daily", "frequent_daily", "frequent_consecutive")


@dataclass(frozen=True)
class LargeValueParams:
    """Parameters of the large-value and frequency detector.

    Parameters
    ----------
    rule_set : str
        Rule set whose rules are applied (``flowgraph.config.RULE_SETS``).
    large_fraction : float
        "Large" for the frequency rule: this share of Φ (SPEC §1: 0.8), in (0, 1].
    per_day : int
        "Frequent": at least this many large transactions on one business day (3).
    consecutive : int
        "Frequent": large transactions on at least this many consecutive business days
        (3); at most 250 (one year).
    """

    rule_set: str = "PBOC-2016"
    large_fraction: float = 0.8
    per_day: int = 3
    consecutive: int = 3

    _parameter_constraints: ClassVar[dict] = {
        "rule_set": KnownRuleSet(),
        "large_fraction": Interval(float, 0.0, 1.0, closed="right"),
        "per_day": Interval(int, 1),
        "consecutive": Interval(int, 1, MAX_WINDOW_DAYS),
    }

    def __post_init__(self) -> None:
        validate_params(self)

    def relaxed(self, band: float) -> "LargeValueParams":
        """Regulatory reporting rules have no tolerance band: the same parameters."""
        return self


def detect(graph, params: LargeValueParams = LargeValueParams(), days=None) -> list[Hit]:
    """Large-value and frequency hits over the scan range.

    Parameters
    ----------
    graph : TransactionGraph
    params : LargeValueParams
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
    pid = params_fingerprint(params)
    party = lambda idx: np.where(idx >= 0, graph.account_party[np.maximum(idx, 0)], -1)
    src_party, dst_party = party(graph.src), party(graph.dst)
    cust = lambda idx: np.where(idx >= 0, graph.account_customer[np.maximum(idx, 0)], -1).astype(np.int64)
    src_cust, dst_cust = cust(graph.src), cust(graph.dst)
    in_scan = np.zeros(graph.n_edges, bool)
    in_scan[graph.day_indptr[first]:graph.day_indptr[last + 1]] = True
    foreign = ~graph.is_home_currency
    value_cents = np.where(foreign, graph.amount_usd_cents, graph.amount_cny_cents)
    hits: list[Hit] = []
    for rule in rules.rules:
        applies = rule_applies(rule.parties, rule.channels, graph.channel, src_party, dst_party)
        cny_cents, usd_cents = threshold_cents(rule.threshold_cny), threshold_cents(rule.threshold_usd)
        threshold = np.where(foreign, usd_cents, cny_cents)
        measures = lambda **kw: {"rule": rule.code, "threshold_cny": rule.threshold_cny,
                                 "threshold_usd": rule.threshold_usd, **kw}
        for e in np.flatnonzero(applies & in_scan & (value_cents >= threshold)).tolist():
            subject = int(graph.src[e]) if src_cust[e] >= 0 else int(graph.dst[e])
            if subject < 0:
                continue  # neither side is the bank's customer
            hits.append(make_hit(graph, "large_value", "large_value_single", pid, subject, np.array([e]),
                                 float(graph.amount_cny[e]), phi_by_channel(graph, rules, subject),
                                 measures(currency_class="foreign" if foreign[e] else "CNY",
                                          value=int(value_cents[e]) / 100)))
        found = daily_cumulative(graph.day_indptr, src_cust, dst_cust, applies, value_cents, foreign,
                                 cny_cents, usd_cents, graph.n_customers, first, last)
        if not len(found):
            continue
        # every covered edge once per side, sorted by (customer, day, currency class, direction),
        # so each daily hit's evidence is one searchsorted range
        covered = np.flatnonzero(applies & in_scan)
        side_edge = np.concatenate([covered, covered])
        side_cust = np.concatenate([dst_cust[covered], src_cust[covered]])
        side_dir = np.repeat(np.array([0, 1]), len(covered))
        keep = side_cust >= 0
        side_edge, side_key = side_edge[keep], _daily_key(side_cust[keep], graph.day[side_edge[keep]],
                                                          foreign[side_edge[keep]], side_dir[keep], graph.n_days)
        order = np.argsort(side_key, kind="stable")
        side_edge, side_key = side_edge[order], side_key[order]
        wanted = _daily_key(found[:, 0], found[:, 1], found[:, 3], found[:, 2], graph.n_days)
        lo_at = np.searchsorted(side_key, wanted, "left")
        hi_at = np.searchsorted(side_key, wanted, "right")
        for (c, d, direction, cc, n, total_cents), lo, hi in zip(found.tolist(), lo_at, hi_at):
            if n < 2:
                continue
            edges = np.sort(side_edge[lo:hi])
            own = graph.dst[edges] if direction == 0 else graph.src[edges]
            uniq, inverse = np.unique(own, return_inverse=True)
            subject = int(uniq[np.argmax(np.bincount(inverse, weights=graph.amount_cny[edges]))])
            hits.append(make_hit(graph, "large_value", "large_value_daily", pid, subject, edges,
                                 float(graph.amount_cny[edges].sum()), phi_by_channel(graph, rules, subject),
                                 measures(direction="in" if direction == 0 else "out",
                                          currency_class="foreign" if cc else "CNY",
                                          transactions=n, daily_sum=total_cents / 100)))
    hits.extend(_frequent(graph, rules, params, pid, first, last))
    return hits


def _daily_key(customer, day, foreign, direction, n_days: int) -> np.ndarray:
    """One int64 per (customer, business day, currency class, direction)."""
    return ((np.asarray(customer, np.int64) * n_days + np.asarray(day, np.int64)) * 2
            + np.asarray(foreign, np.int64)) * 2 + np.asarray(direction, np.int64)


def _frequent(graph, rules, params, pid, first, last) -> list[Hit]:
    amount_cents, phi_cents = edge_phi_cents(graph, rules)
    lo, hi = int(graph.day_indptr[first]), int(graph.day_indptr[last + 1])
    # an edge no rule covers has no Φ, so it is never "large"
    is_large = (phi_cents > 0) & (amount_cents >= share_cents(params.large_fraction, phi_cents))
    large = lo + np.flatnonzero(is_large[lo:hi])
    src, dst = graph.src[large], graph.dst[large]
    # each large transaction counts once for each of its accounts (a self-transfer once)
    account = np.concatenate([src[src >= 0], dst[(dst >= 0) & (dst != src)]])
    edge = np.concatenate([large[src >= 0], large[(dst >= 0) & (dst != src)]])
    order = np.lexsort((edge, graph.day[edge], account))
    account, edge = account[order].astype(np.int64), edge[order]
    days = graph.day[edge].astype(np.int64)
    found = frequent_runs(account, days, params.per_day, params.consecutive)
    hits = []
    subjects = monitored(graph)
    for a, kind, d0, d1, n in found.tolist():
        if not subjects[a]:
            continue
        lo_i, hi_i = np.searchsorted(account, a, "left"), np.searchsorted(account, a, "right")
        mine, mine_days = edge[lo_i:hi_i], days[lo_i:hi_i]
        sel = mine[(mine_days >= d0) & (mine_days <= d1)]
        typology = "frequent_daily" if kind == 0 else "frequent_consecutive"
        hits.append(make_hit(graph, "large_value", typology, pid, a, sel, float(graph.amount_cny[sel].sum()),
                             phi_by_channel(graph, rules, a),
                             {"large_transactions": n, "days": d1 - d0 + 1,
                              "large_fraction": params.large_fraction}))
    return hits

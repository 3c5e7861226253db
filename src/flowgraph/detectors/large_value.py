"""The large-value rules and "frequent" as detectors (SPEC §2, §1, §3.4).

- ``large_value_single``: a transaction at or above the threshold of a rule it falls
  under (one hit per transaction and rule; 003: a transaction meeting two rules is two
  reports). Subject: the paying account if it is the bank's, else the payee if it is;
  when both are, the payee (another account) has a hit of its own too, its "in" side
  (003 二㈠: each customer's receipts and payments are reported one-sided).
- ``large_value_daily``: per monitoring unit (the customer), direction, currency class (the
  rule set's home currency; foreign, in its foreign currency) and business day, the
  cumulative sum of a rule's transactions at or above its threshold, made of at least two
  transactions (one alone is the single hit). Subject: the unit's account with the largest share.

Which accounts are the bank's, when the accounts table is incomplete
(:mod:`flowgraph.graph`, "Which accounts are the bank's own"; :func:`._common.monitored`):
a listed account; an unlisted account of a transaction that names no listed account;
every account when there is no accounts table. So a cash deposit and a cash withdrawal at
an unlisted account are reported alike (cash moves only at the bank's own accounts; 003
二㈠: large cash transactions include deposits and withdrawals, 现金缴存、支取), a transfer between two unlisted accounts is reported on both sides (one
of them is the bank's and the data cannot say which: a report too many is checked and
dropped by an analyst, one too few is a missed filing), and an unlisted counterparty of a
listed account is never a subject (another bank's account). An unlisted account of the
bank is its own monitoring unit (its customer is unknown: the hit's ``customer`` is empty
and the report draft says it is not in the accounts table, where 003 二㈡ elements 4 and 7
want the customer's name and number), and its unknown party type counts as a natural
person's: the person thresholds (LV-PERSON, 500,000 CNY) are the lower ones, so an unknown
party never hides a report that the entity threshold (LV-ENTITY, 2,000,000) would let pass
(SPEC §2, 003 二㈠; the tool's default for an unknown party, :mod:`flowgraph._kernels.phi`).
A scan warns how many such accounts there are (:func:`flowgraph.scan.unlisted_accounts_warning`).
- ``frequent_daily`` / ``frequent_consecutive``: an account's "large" transactions
  (>= ``large_fraction`` · Φ, SPEC §1): at least ``per_day`` on one business day, or on at
  least ``consecutive`` consecutive business days. Received and paid count alike toward
  "frequent"; A is one-sided, the larger of the two sums (``amount_in``, ``amount_out``:
  :func:`._common.one_sided`), as W(N, D) · Φ bounds what moves one way: money received and
  paid on is counted once.

Every comparison with a threshold is in integer cents (of the home currency, or of the
rule set's foreign currency for the others): amounts, daily sums, thresholds and
``large_fraction`` · Φ alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from .._kernels.large_value import daily_cumulative, daily_cumulative_evidence, frequent_runs
from .._kernels.phi import edge_rule_tests
from .._kernels.runs import take
from .._kernels.segments import segment_sum, segment_top_party_of_side
from ..hits import HitParts, HitTable, hit_table, params_fingerprint, ranges
from ._common import (edge_phi_cents, edge_units, in_scan, memo, monitored, n_chunks, one_sided, phi_table,
                      prepare, rule_kernel_args, share_cents, threshold_cents)
from ._contract import Detector, Typology
from ._params import MAX_WINDOW_DAYS, Interval, KnownRuleSet, validate_params


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


def detect(graph, params: LargeValueParams = LargeValueParams(), days=None) -> HitTable:
    """Large-value and frequency hits over the scan range.

    Parameters
    ----------
    graph : TransactionGraph
    params : LargeValueParams
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
    pid, phi = params_fingerprint(params), phi_table(graph, rules)
    sides = memo(graph, "edge_sides", lambda: _edge_sides(graph, rules), own=True)
    src_cust, dst_cust, n_units, foreign, value_cents = sides
    lo, hi = int(graph.day_indptr[first]), int(graph.day_indptr[last + 1])  # the scanned edges
    covers, at_or_above_rule = memo(graph, ("rule_edges", rules), lambda: _rule_edges(graph, rules), own=True)
    singles = []
    for r, (rule, at_or_above) in enumerate(zip(rules.rules, at_or_above_rule)):
        scanned = at_or_above[(at_or_above >= lo) & (at_or_above < hi)]
        # the subject: the paying account if it is the bank's, else the payee if it is (a
        # unit >= 0: monitored); every transaction has one (the graph's rule, module docstring)
        subject = np.where(src_cust[scanned] >= 0, graph.src[scanned],
                           np.where(dst_cust[scanned] >= 0, graph.dst[scanned], -1))
        single, subject = scanned[subject >= 0], subject[subject >= 0]
        singles.append(_single_parts(graph, single, subject, f"{rule.code}:", foreign, value_cents,
                                     _rule_measures(np.full(len(single), r), rules)))
        # the payee's own hit when the one above names the payer and the payee is the bank's
        # too (003 二㈠: per customer, receipts and payments one-sided, as the daily
        # sums count them). Its key starts "in:", which no built-in rule code does: an id of its
        # own, even where the payee's account has payer hits of its own. Not for a
        # self-transfer: its one account has its hit, and a report tells the side from the
        # payer (desk.large_value), so a second would read "out" too.
        both = (src_cust[scanned] >= 0) & (dst_cust[scanned] >= 0) & (graph.src[scanned] != graph.dst[scanned])
        payee = scanned[both]
        singles.append(_single_parts(graph, payee, graph.dst[payee], f"in:{rule.code}:", foreign, value_cents,
                                     _rule_measures(np.full(len(payee), r), rules)))
    thresholds = [np.array([threshold_cents(getattr(r, f)) for r in rules.rules], np.int64)
                  for f in ("threshold_home", "threshold_foreign")]
    found = daily_cumulative(graph.day_indptr, src_cust, dst_cust, covers, value_cents, foreign, *thresholds,
                             n_units, first, last, n_chunks())
    found = take(found, found.n_transactions >= 2)  # one transaction alone is the single-transaction hit
    dailies = _daily_parts(graph, found, covers, src_cust, dst_cust, n_units, foreign, rules)
    parts = (HitParts.concat(singles), dailies, _frequent(graph, rules, params, first, last))
    return HitTable.concat([hit_table(graph, "large_value", pid, phi, p) for p in parts])


def _single_parts(graph, edges, subject, key_prefix, foreign, value_cents, measures) -> HitParts:
    """Single-transaction hits, one per edge of ``edges`` (a rule's, at or above its
    threshold) on the account ``subject`` of the same position; key: ``key_prefix`` and the
    transaction id."""
    day = graph.day[edges]
    return HitParts(
        np.full(len(edges), "large_value_single", object), subject, day, day,
        np.arange(len(edges) + 1, dtype=np.int64), edges, graph.amount_home_cents[edges],
        {**measures, "currency_class": np.where(foreign[edges], "foreign", graph.home_currency).astype(object),
         "value": value_cents[edges] / 100},
        key=np.char.add(key_prefix, graph.txn_ids(edges).astype(str)))


def _edge_sides(graph, rules) -> tuple[np.ndarray, np.ndarray, int, np.ndarray, np.ndarray]:
    """Per edge: the payer's and the payee's monitoring unit (:func:`._common.edge_units`:
    the customer, or an unlisted account of the bank on its own; -1: no account, or not the
    bank's on that transaction), how many units, whether it is in a foreign currency, and its value in cents of
    the currency the rules compare (fen, or US cents for foreign currencies: the amounts
    :func:`._common.edge_phi_cents` keeps, the same under any rule set, not made twice)."""
    # int32 like account_customer: these live with the graph for its lifetime (memo)
    src_cust, dst_cust, n_units = edge_units(graph)
    return src_cust, dst_cust, n_units, ~graph.is_home_currency, edge_phi_cents(graph, rules)[0]


def _rule_edges(graph, rules) -> tuple[np.ndarray, list[np.ndarray]]:
    """Which edges each rule covers (bool, shape (n_rules, n_edges)), and per rule the ids
    of those at or above its threshold on their own (ascending)."""
    covers, at_or_above = edge_rule_tests(*rule_kernel_args(graph, rules))
    return covers, [np.flatnonzero(row) for row in at_or_above]


def _rule_measures(rule: np.ndarray, rules) -> dict[str, np.ndarray]:
    """The measures naming each hit's rule (``rule``: its row in ``rules.rules``), each of
    the type the values of the rules named have (a threshold written as an integer stays one)."""
    named = np.unique(rule)
    where = np.searchsorted(named, rule)
    column = lambda f: np.array([f(rules.rules[i]) for i in named.tolist()])[where]
    return {"rule": column(lambda r: r.code).astype(object), "threshold_home": column(lambda r: r.threshold_home),
            "threshold_foreign": column(lambda r: r.threshold_foreign)}


def _daily_parts(graph, found, covers, src_cust, dst_cust, n_units, foreign, rules) -> HitParts:
    """Daily cumulative hits: per found (rule, unit, day, direction, currency class), the
    rule's transactions of that unit and day on that side (from the kernel's own
    rule); subject: the unit's account with the largest share."""
    offsets, edges = daily_cumulative_evidence(graph.day_indptr, src_cust, dst_cust, covers, foreign, found, n_units,
                                               n_chunks())
    day, direction, currency_class = found.day, found.direction, found.currency_class
    cents = graph.amount_home_cents
    subject = segment_top_party_of_side(offsets, edges, direction == 1, graph.dst, graph.src, cents)
    codes = np.array([f"{r.code}:" for r in rules.rules])[found.rule]
    return HitParts(
        np.full(len(day), "large_value_daily", object), subject, day, day, offsets, edges,
        segment_sum(offsets, edges, cents),
        {**_rule_measures(found.rule, rules), "direction": np.where(direction == 0, "in", "out").astype(object),
         "currency_class": np.where(currency_class == 1, "foreign", graph.home_currency).astype(object),
         "transactions": found.n_transactions, "daily_sum": found.sum_cents / 100},
        key=np.char.add(codes, (direction * 2 + currency_class).astype(str)))


def _large_edges(graph, rules, params) -> np.ndarray:
    """Ids of the "large" edges (at or above ``large_fraction`` · Φ), ascending; an edge no
    rule covers has no Φ, so it is never large."""
    amount_cents, phi_cents = edge_phi_cents(graph, rules)
    return np.flatnonzero((phi_cents > 0) & (amount_cents >= share_cents(params.large_fraction, phi_cents)))


def _frequent(graph, rules, params, first, last) -> HitParts:
    """"Frequent" runs of an account's large transactions, traced from the first day of
    the data; those reaching the scan range."""
    large = memo(graph, ("large_edges", rules, params.large_fraction), lambda: _large_edges(graph, rules, params),
                 own=True)
    large = large[:np.searchsorted(large, graph.day_indptr[last + 1])]
    src, dst = graph.src[large], graph.dst[large]
    # each large transaction counts once for each of its accounts (a self-transfer once)
    account = np.concatenate([src[src >= 0], dst[(dst >= 0) & (dst != src)]]).astype(np.int64)
    edge = np.concatenate([large[src >= 0], large[(dst >= 0) & (dst != src)]]).astype(np.int64)
    # by account, then edge (edges are in time order, so by day too): one int64 key sorts both
    by_account_edge = np.sort(account * graph.n_edges + edge)
    account, edge = np.divmod(by_account_edge, graph.n_edges)
    days = graph.day[edge].astype(np.int64)
    found = frequent_runs(account, days, params.per_day, params.consecutive, graph.period_last)
    # a piece of a run that became frequent only in the next month is found on that day
    keep = monitored(graph)[found.account] & in_scan(found.found_day, first)
    a, kind, d0, d1, n = (column[keep] for column in found[:5])
    key = account * graph.n_days + days
    offsets, evidence = ranges(np.searchsorted(key, a * graph.n_days + d0, "left"),
                               np.searchsorted(key, a * graph.n_days + d1, "right"), edge)
    a_cents, sides = one_sided(graph, a, offsets, evidence)
    return HitParts(np.where(kind == 0, "frequent_daily", "frequent_consecutive").astype(object), a, d0, d1,
                    offsets, evidence, a_cents,
                    {"large_transactions": n, "days": d1 - d0 + 1,
                     "large_fraction": np.full(len(a), params.large_fraction), **sides})


DETECTOR = Detector("large_value", LargeValueParams, detect, (
    # reportable facts: they make reports, not alerts, on their own
    Typology("large_value_single", "large_value", 0.0),
    Typology("large_value_daily", "large_value", 0.68),
    Typology("frequent_daily", "frequent", 0.51),
    Typology("frequent_consecutive", "frequent", 0.0),
))

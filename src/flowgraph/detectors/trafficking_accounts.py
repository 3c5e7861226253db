"""The trafficking pack's red flags read from the accounts table (000, SPEC §9: "many
accounts and cards under aliases", "shared contact details"): accounts opened close
together under one customer, and one contact key given by many customers.

Both count account openings (``opened_on``, optional accounts column) in a trailing window
of business days with :func:`flowgraph._kernels.trafficking.window_runs`, one series per
customer or per contact key; a run of qualifying days starts on the day the qualifying
opening happens (the ``min_accounts``-th account, or the last of ``min_customers``
customers to open an account with the key) and ends when the window no longer holds
enough: a function of the accounts table only, not of where a scan ends. Openings after
the scan's last day are not seen.

A hit lists the accounts opened in its run's windows (``accounts``, first opened first:
the subject is the first of them) and, as evidence, each one's first transaction on or
after the day it opened (none for an account without one yet). A run that began before
the first business day of the transactions is reported from that day.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from .._kernels.segments import segment_span, segment_sum
from .._kernels.trafficking import window_runs
from ..hits import HitParts, HitTable, hit_table, params_fingerprint, ranges
from ._common import in_scan, monitored, phi_table, prepare
from ._params import (
    MAX_WINDOW_DAYS,
    Interval,
    KnownRuleSet,
    relaxed_count,
    validate_params,
)


@dataclass(frozen=True)
class ManyAccountsParams:
    """Parameters of ``trafficking_many_accounts``.

    Parameters
    ----------
    rule_set : str
    window_days : int
        Trailing window of openings, business days (20: about a month).
    min_accounts : int
        Least number of accounts one customer opens within the window (4: a person opening
        a salary account, a savings account and a card account at once stays under it;
        illustrative).
    """

    rule_set: str = "PBOC-2016"
    window_days: int = 20
    min_accounts: int = 4

    _parameter_constraints: ClassVar[dict] = {
        "rule_set": KnownRuleSet(),
        "window_days": Interval(int, 1, MAX_WINDOW_DAYS),
        "min_accounts": Interval(int, 2, 1000),
    }

    def __post_init__(self) -> None:
        validate_params(self)

    def relaxed(self, band: float) -> ManyAccountsParams:
        """One account fewer at most (lowered by ``band``, at least 2)."""
        return dataclasses.replace(self, min_accounts=relaxed_count(self.min_accounts, band))


@dataclass(frozen=True)
class SharedContactParams:
    """Parameters of ``trafficking_shared_contact``.

    Parameters
    ----------
    rule_set : str
    window_days : int
        Trailing window of openings, business days (20).
    min_customers : int
        Least number of distinct customers opening accounts with one contact key within the
        window (5: more than a household's adults opening accounts together; illustrative).
    """

    rule_set: str = "PBOC-2016"
    window_days: int = 20
    min_customers: int = 5

    _parameter_constraints: ClassVar[dict] = {
        "rule_set": KnownRuleSet(),
        "window_days": Interval(int, 1, MAX_WINDOW_DAYS),
        "min_customers": Interval(int, 2, 1000),
    }

    def __post_init__(self) -> None:
        validate_params(self)

    def relaxed(self, band: float) -> SharedContactParams:
        """Fewer customers (lowered by ``band``, at least 2)."""
        return dataclasses.replace(self, min_customers=relaxed_count(self.min_customers, band))


NEEDS = {"trafficking_many_accounts": ("opened_on",), "trafficking_shared_contact": ("opened_on", "contact_id")}


def unavailable(name: str, graph) -> str | None:
    """Why ``name`` cannot run on ``graph``: the accounts table lacks a column it needs."""
    present = {"opened_on": graph.account_opened is not None, "contact_id": graph.account_contact is not None}
    missing = [c for c in NEEDS[name] if not present[c]]
    if missing:
        return (f"{name} disabled: the accounts table has no {' or '.join(repr(c) for c in missing)} column "
                "(optional; see flowgraph.schema). Add it to run this human-trafficking red flag (000).")
    return None


def opening_days(graph, window_days: int) -> np.ndarray:
    """Business-day index (from the graph's first business day, negative before it) of each
    account's opening; a large negative number where unknown or too early to matter (more
    than ``window_days`` business days before the first day)."""
    none = np.iinfo(np.int64).min // 4
    out = np.full(graph.n_accounts, none, np.int64)
    if graph.n_days == 0:
        return out
    opened = graph.account_opened
    start = graph.business_days[0]
    later = ~np.isnat(opened) & (opened >= start)
    out[later] = np.searchsorted(graph.business_days, opened[later], "left")
    earliest = start - (2 * window_days + 30)  # holds window_days business days
    earlier = ~np.isnat(opened) & (opened < start) & (opened >= earliest)
    if earlier.any():
        before = graph.calendar.business_days(earliest, start - 1)
        out[earlier] = np.searchsorted(before, opened[earlier], "left") - len(before)
    return out


def first_edges(graph, opened_day: np.ndarray, last: int) -> np.ndarray:
    """Each account's first edge on or after its opening day, up to day ``last`` (-1: none)."""
    first = np.full(graph.n_accounts, graph.n_edges, np.int64)
    within = graph.day <= last
    for side in (graph.src, graph.dst):
        edge = np.flatnonzero((side >= 0) & within)
        edge = edge[graph.day[edge] >= opened_day[side[edge]]]
        np.minimum.at(first, side[edge], edge)
    return np.where(first < graph.n_edges, first, -1)


def _opening_hits(graph, detector: str, params, days, series: np.ndarray, n_series: int, group: np.ndarray,
                  n_groups: int, min_events: int, min_groups: int, measures) -> HitTable:
    """Hits of one opening detector: ``series`` (per account, -1 none) is what openings are
    counted by (customer, contact key), ``group`` what must be distinct (customer)."""
    prepared = prepare(graph, params, days)
    if prepared is None or unavailable(detector, graph) is not None:
        return HitTable.empty()
    rules, first, last = prepared
    window = params.window_days
    opened_day = opening_days(graph, window)
    account = np.flatnonzero((series >= 0) & (opened_day >= -window) & (opened_day <= last))
    order = np.lexsort((account, opened_day[account], series[account]))
    account = account[order]
    axis, day = series[account].astype(np.int64), opened_day[account]
    offsets = np.searchsorted(axis, np.arange(n_series + 1)).astype(np.int64)
    runs = window_runs(offsets, day, group[account].astype(np.int64), np.zeros(len(account), np.int64), n_groups,
                       window, min_events, min_groups, 0.0, last, graph.period_last)
    chosen = in_scan(runs.last_day, max(first, 0))
    runs = type(runs)(*(column[chosen] for column in runs))
    # the accounts opened in the run's windows, first opened first
    key = axis * (last + 2 * window + 2) + (day + window)
    window_first = np.maximum(runs.first_day - window + 1, -window)
    lo = np.searchsorted(key, runs.account * (last + 2 * window + 2) + (window_first + window), "left")
    hi = np.searchsorted(key, runs.account * (last + 2 * window + 2) + (runs.last_day + window), "right")
    acc_offsets, accounts = ranges(lo, hi, account)
    subject = accounts[acc_offsets[:-1]]
    keep = monitored(graph)[subject]
    if not keep.any():
        return HitTable.empty()
    runs = type(runs)(*(column[keep] for column in runs))
    acc_offsets, accounts = ranges(acc_offsets[:-1][keep], acc_offsets[1:][keep], accounts)
    subject = subject[keep]
    evidence_of = first_edges(graph, opened_day, last)[accounts]
    has = evidence_of >= 0
    evidence_offsets = np.concatenate([[0], np.cumsum(np.add.reduceat(has.astype(np.int64), acc_offsets[:-1]) if len(has) else [])])
    evidence_offsets = evidence_offsets.astype(np.int64)
    evidence = evidence_of[has]
    run_first = np.maximum(runs.first_day, 0)
    opened_first = np.maximum(opened_day[subject], 0)
    span_first, span_last = segment_span(evidence_offsets, evidence, graph.day, opened_first.copy(),
                                         runs.last_day.copy())
    n_accounts = np.diff(acc_offsets)
    parts = HitParts(np.full(len(subject), detector, object), subject, run_first, runs.last_day,
                     evidence_offsets, evidence, segment_sum(evidence_offsets, evidence, graph.amount_home_cents),
                     {"window_days": np.full(len(subject), window), "accounts_opened": n_accounts,
                      **measures(runs)},
                     window=(np.minimum(span_first, opened_first), np.maximum(span_last, runs.last_day)),
                     accounts=(acc_offsets, accounts))
    return hit_table(graph, detector, params_fingerprint(params), phi_table(graph, rules), parts)


def detect_many_accounts(graph, params: ManyAccountsParams = ManyAccountsParams(), days=None) -> HitTable:
    """``trafficking_many_accounts``: a customer with at least ``min_accounts`` accounts
    opened within ``window_days`` business days (module docstring); needs ``opened_on``.

    Parameters
    ----------
    graph : TransactionGraph
    params : ManyAccountsParams
    days : (first, last), optional

    Returns
    -------
    HitTable
    """
    if graph.account_opened is None:
        return HitTable.empty()
    customer = graph.account_customer.astype(np.int64)
    return _opening_hits(graph, "trafficking_many_accounts", params, days, customer, graph.n_customers,
                         np.zeros(graph.n_accounts, np.int64), 1, params.min_accounts, 1,
                         lambda runs: {"min_accounts": np.full(len(runs.account), params.min_accounts)})


def detect_shared_contact(graph, params: SharedContactParams = SharedContactParams(), days=None) -> HitTable:
    """``trafficking_shared_contact``: one contact key given by at least ``min_customers``
    distinct customers whose accounts with it were opened within ``window_days`` business
    days (module docstring); needs ``opened_on`` and ``contact_id``. The key is an
    id-bearing measure (``contact_id``), pseudonymised in exports.

    Parameters
    ----------
    graph : TransactionGraph
    params : SharedContactParams
    days : (first, last), optional

    Returns
    -------
    HitTable
    """
    if graph.account_opened is None or graph.account_contact is None:
        return HitTable.empty()
    contact = np.where(graph.account_customer >= 0, graph.account_contact, -1)
    return _opening_hits(graph, "trafficking_shared_contact", params, days, contact, len(graph.contact_ids),
                         graph.account_customer.astype(np.int64), max(graph.n_customers, 1), params.min_customers,
                         params.min_customers,
                         lambda runs: {"customers": runs.peak_groups,
                                       "contact_id": graph.contact_ids[runs.account].astype(object)})

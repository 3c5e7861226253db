"""What every detector needs: the scan range, thresholds per account, evidence edges."""

from __future__ import annotations

import math
import threading
import weakref
from contextlib import contextmanager
from decimal import Decimal

import numpy as np
import pandas as pd

from .._kernels.distinct import few_distinct, few_distinct_codes, replaced
from .._kernels.large_value import edge_customers
from .._kernels.segments import segment_sum
from .._kernels.phi import ANY_PERSON_CODE, ANYONE_CODE, BOTH_ENTITY_CODE
from .._kernels.phi import edge_phi_cents as phi_kernel
from ..config import ANY_PERSON, ANYONE, BOTH_ENTITY, CHANNELS, RuleSet, get_rule_set
from ..money import PARTY_ENTITY


def prepare(graph, params, days):
    """What every ``detect`` starts with: the rule set and the scan's first and last
    business-day index, or None when there is nothing to scan."""
    rules = get_rule_set(params.rule_set)
    first, last = scan_range(graph, days)
    if graph.n_edges == 0 or last < first:
        return None
    return rules, first, last


def scan_range(graph, days) -> tuple[int, int]:
    """Business-day indices (first, last) of the scan: ``None`` for the whole graph, a
    pair of indices, or a pair of dates (each rolled to its business day and clipped to
    the graph's days; a range outside them is empty: first > last)."""
    if graph.n_days == 0:
        return 0, -1
    if days is None:
        return 0, graph.n_days - 1
    first, last = days
    if not isinstance(first, (int, np.integer)):
        first = int(np.searchsorted(graph.business_days, graph.calendar.next_business_day(first)))
    if not isinstance(last, (int, np.integer)):
        last_day = np.datetime64(last, "D")
        last = int(np.searchsorted(graph.business_days, last_day, side="right")) - 1
    first, last = max(int(first), 0), min(int(last), graph.n_days - 1)
    return (first, last) if first <= last else (0, -1)


def period_first(graph, first: int) -> int:
    """The first business day (index) of the period (calendar month) of day ``first``: a
    run of qualifying days that reaches ``first`` starts there or later (runs never cross a
    period: :mod:`flowgraph._kernels.runs`), so a run kernel evaluates days from there on
    and reads only the edges their windows hold, however much history the graph has."""
    if first <= 0:
        return 0
    return int(np.searchsorted(graph.period_last, graph.period_last[first]))


def monitored(graph) -> np.ndarray:
    """Accounts a hit may name as its subject (bool per account): those the accounts table
    lists, the bank's customers'; every account when none is listed (no accounts table).
    An unlisted account, e.g. at another bank, is evidence but never the subject of a
    pattern. Decided by the accounts table alone, never by which days a read holds, so a
    scan cut into blocks names the subjects one scan of every day names. (Large-value hits
    also name an unlisted account on a transaction that names no listed account:
    :func:`edge_units`.)"""
    if graph.n_customers == 0:
        return np.ones(graph.n_accounts, bool)
    return graph.account_customer >= 0


def edge_units(graph) -> tuple[np.ndarray, np.ndarray, int]:
    """Per edge, the monitoring unit (SPEC §1: the customer) of its payer and of its payee
    (int32; -1: no account, as for cash, or an account that is not the bank's on this
    transaction), and how many units there are.

    A listed account's unit is its customer (0 .. n_customers - 1); an unlisted account is
    a unit of its own (numbered after the customers, in account order), and it is the
    bank's on a transaction that names no listed account (:mod:`flowgraph.graph`, "Which
    accounts are the bank's own": cash at it, a transfer between unlisted accounts), a
    listed account's counterparty (-1) on the others. Decided transaction by transaction,
    so the days a read holds never change it."""
    listed = graph.account_customer >= 0
    unit = graph.account_customer.astype(np.int32)  # a copy
    unit[~listed] = graph.n_customers + np.arange(int((~listed).sum()), dtype=np.int32)
    src_unit, dst_unit = edge_customers(graph.src, graph.dst, unit)
    if listed.any() and not listed.all():  # no accounts table, or a complete one: every side as it is
        src_listed = (graph.src >= 0) & listed[graph.src]
        dst_listed = (graph.dst >= 0) & listed[graph.dst]
        placed = src_listed | dst_listed  # the transaction names a listed account
        src_unit[placed & ~src_listed] = -1
        dst_unit[placed & ~dst_listed] = -1
    return src_unit, dst_unit, graph.n_customers + int((~listed).sum())


def transfer_threshold(graph, rules: RuleSet) -> np.ndarray:
    """Per account, the large-value threshold (home currency) of its domestic transfers: the entity
    rule for entities, the person rule otherwise (unknown parties count as persons)."""
    person = rules.rule("LV-PERSON").threshold_home
    entity = rules.rule("LV-ENTITY").threshold_home
    return np.where(graph.account_party == PARTY_ENTITY, entity, person).astype(np.float64)


def phi_table(graph, rules: RuleSet) -> np.ndarray:
    """Φ (home currency) of each method for each account (:func:`_phi_table`), once per graph and rule set."""
    return memo(graph, ("phi_table", rules), lambda: _phi_table(graph, rules))


def _phi_table(graph, rules: RuleSet) -> np.ndarray:
    """Φ (home currency) of each method (columns in :data:`flowgraph.config.CHANNELS` order) for each
    account (SPEC §2): the rule its transactions fall under — cash: LV-CASH; transfers:
    LV-ENTITY for entities, LV-PERSON otherwise; cross-border: LV-ENTITY for entities,
    LV-PERSON-XB otherwise (LV-ENTITY where the rule set has no such rule)."""
    entity = graph.account_party == PARTY_ENTITY
    codes = {r.code for r in rules.rules}
    person_xb = rules.rule("LV-PERSON-XB" if "LV-PERSON-XB" in codes else "LV-ENTITY").threshold_home
    entity_cny, person_cny = rules.rule("LV-ENTITY").threshold_home, rules.rule("LV-PERSON").threshold_home
    by_channel = {"cash": np.full(graph.n_accounts, rules.rule("LV-CASH").threshold_home),
                  "transfer": np.where(entity, entity_cny, person_cny),
                  "cross_border": np.where(entity, entity_cny, person_xb)}
    return np.column_stack([by_channel[c] for c in CHANNELS]).astype(np.float64).reshape(graph.n_accounts, len(CHANNELS))


def in_scan(runs_last: np.ndarray, first: int) -> np.ndarray:
    """Results whose run of qualifying days reaches the scan's first day: every run is
    traced from the first day of the data or of the scan's first month (:func:`period_first`),
    where any run that reaches the scan starts, so where a scan starts cuts none."""
    return np.asarray(runs_last) >= first


def cents(amount: np.ndarray) -> np.ndarray:
    """Amounts in major units (floats) rounded to whole cents (int64)."""
    return np.round(np.asarray(amount, np.float64) * 100.0).astype(np.int64)


def n_chunks() -> int:
    """How many pieces a parallel kernel splits its accounts into (a few per thread, so
    a busy account does not leave a thread idle)."""
    import numba

    return numba.get_num_threads() * 8


def threshold_cents(threshold: float) -> int:
    """A threshold in major units as the least whole number of cents that meets it ("at or
    above", SPEC §1). Thresholds have at most two decimals; a scaled one
    (``RuleSet.scaled``) may have more, so round up, after dropping the float noise of the
    multiplication (below 10^-6 cent)."""
    return math.ceil(round(float(threshold) * 100.0, 6))


def share_cents(fraction: float, phi_cents: np.ndarray) -> np.ndarray:
    """Per Φ (int64 cents), the least whole number of cents at or above ``fraction`` · Φ.

    The fraction is taken as written (0.8 is four fifths, not its binary neighbour), so
    an amount of exactly 0.8 Φ is in a band that starts at 0.8 Φ.
    """
    fraction = Decimal(repr(float(fraction)))
    phi_cents = np.ascontiguousarray(phi_cents, np.int64)
    flat = phi_cents.reshape(-1)
    ok, uniq = few_distinct(flat, FEW_PHI_VALUES)
    codes = None
    if not ok:  # many distinct Φ: hashed
        codes, uniq = pd.factorize(flat)
    floors = np.array([math.ceil(fraction * int(p)) for p in uniq.tolist()], np.int64)
    # a handful of Φ (the rule thresholds): each edge's floor looked up by comparison, in
    # one pass writing the floors (no code per edge first)
    shares = replaced(flat, uniq, floors) if codes is None else floors[codes]
    return shares.reshape(phi_cents.shape)


#: Distinct Φ values :func:`phi_codes` looks for by comparison before it hashes (a rule
#: set has a few thresholds; Φ of a whole account table may have more).
FEW_PHI_VALUES = 32


def phi_codes(phi_cents: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``pd.factorize`` of int64 cents with few distinct values (Φ per edge): codes in
    order of first appearance and the distinct values, by one comparing pass
    (:func:`~flowgraph._kernels.distinct.few_distinct_codes`), hashed past
    :data:`FEW_PHI_VALUES` distinct values."""
    phi_cents = np.ascontiguousarray(phi_cents, np.int64)
    ok, codes, uniques = few_distinct_codes(phi_cents, FEW_PHI_VALUES)
    return (codes, uniques) if ok else pd.factorize(phi_cents)


def memo(graph, key, compute, own: bool = False):
    """``compute()``, kept with the graph under ``key``: arrays every detector (and the
    tolerance band's second run) derives from one graph and rule set are derived once, also
    when detectors run in threads (a second asker waits for the first's result).

    ``own``: only the detector asking derives from it (its passes share it, no other
    detector does), so within a :func:`detector_scope` it is let go of when that detector is
    done, not held until every detector ran (:func:`forget`)."""
    cache = _cache(graph)
    if key in cache:
        return cache[key]
    with _GUARD:
        lock = _LOCKS.setdefault((id(graph), key), threading.Lock())
    with lock:
        if key not in cache:
            cache[key] = compute()
            if own:
                _owned(key)
    return cache[key]


_MEMO: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()
_LOCKS: dict = {}
_GUARD = threading.Lock()
_SCOPE = threading.local()  # ``keys``: what the detector running on this thread keeps for itself


def _owned(key) -> None:
    """Note ``key`` as the running detector's own (nothing outside a :func:`detector_scope`)."""
    keys = getattr(_SCOPE, "keys", None)
    if keys is not None:
        keys.append(key)


@contextmanager
def detector_scope(graph):
    """Around one detector's passes on ``graph`` (on one thread): what it kept for itself
    (:func:`memo` with ``own``, :func:`narrowed`) is let go of when they end. On the 1e8
    bank's range, structuring's, large value's, fan's and the others' own arrays, held until
    the last detector ended, raised detect's peak by 0.8-1.4 GiB."""
    _SCOPE.keys = keys = []
    try:
        yield
    finally:
        _SCOPE.keys = None
        with _GUARD:
            cache = _MEMO.get(graph, {})
            for key in keys:
                cache.pop(key, None)
                _LOCKS.pop((id(graph), key), None)


def _cache(graph) -> dict:
    with _GUARD:
        return _MEMO.setdefault(graph, {})


def narrowed(graph, key, bounds: tuple, compute, narrow):
    """A kernel's qualifying rows under thresholds ``bounds``, where what the kernel counts
    does not depend on the thresholds (only which rows qualify): it runs once per graph and
    ``key``; a later call whose every bound is at least as strict (``>=``, elementwise)
    gets ``narrow(rows)`` of the rows kept instead of a second run. The tolerance band's
    relaxed run comes first in a scan, so the strict run costs a filter.

    Parameters
    ----------
    bounds : tuple of scalars or arrays
        Larger is stricter (give a tolerance negated).
    compute : callable
        ``compute()``: the rows under ``bounds``.
    narrow : callable
        ``narrow(rows)``: the rows that also qualify under ``bounds``, by the kernel's own
        test.
    """
    cache = _cache(graph)
    held = cache.get(("narrowed",) + key)
    if held is not None:
        held_bounds, rows = held
        if all(np.array_equal(b, h) for b, h in zip(bounds, held_bounds)):
            return rows
        if all(np.all(np.asarray(b) >= np.asarray(h)) for b, h in zip(bounds, held_bounds)):
            return narrow(rows)
    rows = compute()
    cache[("narrowed",) + key] = (bounds, rows)
    _owned(("narrowed",) + key)  # the passes of the detector whose kernel it is
    return rows


def forget(graph) -> None:
    """Let go of what :func:`memo` kept for ``graph`` (a scan does once every detector ran:
    at 1e7 transactions it is some 600 MB)."""
    with _GUARD:
        _MEMO.pop(graph, None)
        for key in [k for k in _LOCKS if k[0] == id(graph)]:
            del _LOCKS[key]


def edge_phi_cents(graph, rules: RuleSet) -> tuple[np.ndarray, np.ndarray]:
    """Each edge's amount and Φ in integer cents (:func:`_edge_phi_cents`), once per graph
    and rule set."""
    return memo(graph, ("edge_phi_cents", rules), lambda: _edge_phi_cents(graph, rules))


def _edge_phi_cents(graph, rules: RuleSet) -> tuple[np.ndarray, np.ndarray]:
    """Each edge's amount and Φ in integer cents of the currency the large-value rules
    compare (SPEC §2, 003 art. 5; :func:`flowgraph._kernels.phi.edge_phi_cents`): home-currency
    edges against the home threshold, the others in the rule set's foreign currency against
    the foreign one.

    Returns
    -------
    amount_cents, phi_cents : ndarray of int64
        Φ is the threshold of the rule the edge falls under (the lowest if several
        apply); 0 where no rule covers the edge.
    """
    return phi_kernel(*rule_kernel_args(graph, rules))


def rule_kernel_args(graph, rules: RuleSet) -> tuple:
    """The arguments of the kernels of :mod:`flowgraph._kernels.phi`: the graph's edge
    arrays, then the rules as small tables (per rule: a bit mask of its channels, its
    party condition's code, its home and foreign thresholds in cents)."""
    parties = {ANYONE: ANYONE_CODE, ANY_PERSON: ANY_PERSON_CODE, BOTH_ENTITY: BOTH_ENTITY_CODE}
    table = lambda f: np.array([f(r) for r in rules.rules], np.int64)
    return (graph.src, graph.dst, graph.account_party, graph.channel, graph.is_home_currency,
            graph.amount_home_cents, graph.amount_foreign_cents,
            table(lambda r: sum(1 << CHANNELS.index(c) for c in r.channels)),
            table(lambda r: parties[r.parties]), table(lambda r: threshold_cents(r.threshold_home)),
            table(lambda r: threshold_cents(r.threshold_foreign)))


def phi_ratio(amount_cents: np.ndarray, phi_cents: np.ndarray) -> np.ndarray:
    """Amount / Φ as a float, 0 where Φ is 0 (no rule): for spreads and pictures; band
    and threshold tests compare the cents."""
    return np.divide(amount_cents, phi_cents, out=np.zeros(len(amount_cents)), where=phi_cents > 0)


def edge_phi_ratio(graph, rules: RuleSet) -> np.ndarray:
    """Each edge's amount as a share of its Φ (:func:`edge_phi_cents`, :func:`phi_ratio`)."""
    return phi_ratio(*edge_phi_cents(graph, rules))


def side_cents(graph, subject: np.ndarray, offsets: np.ndarray, edges: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per hit, what its subject account received and paid in its evidence (integer cents
    of the home currency): the evidence summed one-sided, receipts and payments apart, as the
    large-value rules sum them (003 二㈠: per customer and direction; SPEC §1). A
    self-transfer counts once, as paid (as the structuring kernels count it); an evidence
    edge the subject is no party to counts on neither side.

    Parameters
    ----------
    subject : ndarray of int
        Dense index of each hit's subject.
    offsets, edges : ndarray of int64
        Each hit's evidence edges as segments.

    Returns
    -------
    in_cents, out_cents : ndarray of int64
    """
    owner = np.repeat(np.asarray(subject, np.int64), np.diff(offsets))
    paid = graph.src[edges] == owner
    received = (graph.dst[edges] == owner) & ~paid
    cents = graph.amount_home_cents[edges].astype(np.int64)
    sums = []
    for side in (received, paid):
        # a running total read at the segment bounds: exact in int64, no Python loop per hit
        total = np.concatenate([[0], np.cumsum(np.where(side, cents, 0))]).astype(np.int64)
        sums.append(total[offsets[1:]] - total[offsets[:-1]])
    return sums[0], sums[1]


def one_sided(graph, subject: np.ndarray, offsets: np.ndarray, edges: np.ndarray) -> tuple[np.ndarray, dict]:
    """A of hits whose evidence is their subject's receipts and payments (structuring,
    "frequent"): the larger side, in cents (:func:`side_cents`), and the measures that go
    with it: ``amount_in`` and ``amount_out`` (home currency) and ``mean_amount``, the
    evidence's mean transaction (both sides; what :func:`flowgraph.alerts.transaction_share`
    reads as the hit's transaction size, where A over the evidence count would halve it).

    W(N, D) · Φ is the most that can move one way without a large-value report (001: what
    the first account can send; the rules sum receipts and payments apart, 003 二㈠), so A
    compared with it is one-sided: money received and paid on is counted once, and u > 1
    means some day's receipts or payments reached a large-value threshold.
    """
    in_cents, out_cents = side_cents(graph, subject, offsets, edges)
    n_txns = np.diff(offsets)
    total = segment_sum(offsets, edges, graph.amount_home_cents) / 100.0
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(n_txns > 0, total / n_txns, np.nan)
    return np.maximum(in_cents, out_cents), {"amount_in": in_cents / 100, "amount_out": out_cents / 100,
                                             "mean_amount": mean}

"""Φ per edge: the threshold of the large-value rule a transaction falls under (SPEC §2,
003 art. 5), in integer cents of the currency the rule compares.

A rule covers an edge when its channel is among the rule's and its parties qualify:
``anyone``; ``any_person`` (a natural person, or an unknown party, on at least one side:
unknown parties are taken as persons, the lower thresholds; a side without an account is
unknown); ``both_entity`` (entities on both sides). Home-currency edges compare their cents
with the home threshold, the others their cents of the foreign currency with the foreign
threshold; of several rules the lowest Φ counts.
One pass over the edges, in parallel; the rules arrive as small tables.
:func:`edge_rule_tests` is the same pass rule by rule: which edges each rule covers and
which of those are at or above its threshold on their own (the large-value detector's
single-transaction test).
"""

from __future__ import annotations

import numba
import numpy as np

from ._jit import jit

#: rule party conditions, as codes in ``rule_parties``
ANYONE_CODE, ANY_PERSON_CODE, BOTH_ENTITY_CODE = 0, 1, 2
PERSON, ENTITY, UNKNOWN = 0, 1, -1


@jit(parallel=True)
def edge_phi_cents(src, dst, account_party, channel, is_home_currency, amount_home_cents, amount_foreign_cents,
                   rule_channels, rule_parties, rule_cny_cents, rule_usd_cents):
    """Each edge's amount and Φ in cents.

    Parameters
    ----------
    src, dst : ndarray of int
        Account of each side; -1 for cash (no party).
    account_party : ndarray of int8
        0 person, 1 entity, -1 unknown.
    channel : ndarray of int8
        Channel code (-1: none).
    is_home_currency : ndarray of bool
    amount_home_cents, amount_foreign_cents : ndarray of int64
    rule_channels : ndarray of int64
        Per rule, a bit mask of the channel codes it covers.
    rule_parties : ndarray of int64
        Per rule, ANYONE_CODE, ANY_PERSON_CODE or BOTH_ENTITY_CODE.
    rule_cny_cents, rule_usd_cents : ndarray of int64
        Per rule, its thresholds in cents.

    Returns
    -------
    amount_cents, phi_cents : ndarray of int64
        0 Φ where no rule covers the edge.
    """
    n = len(src)
    amount_cents = np.empty(n, np.int64)
    phi_cents = np.zeros(n, np.int64)
    for e in numba.prange(n):
        foreign = not is_home_currency[e]
        amount_cents[e] = amount_foreign_cents[e] if foreign else amount_home_cents[e]
        c = channel[e]
        # a side without an account (cash, a counterparty the data does not name) is unknown
        s = account_party[src[e]] if src[e] >= 0 else UNKNOWN
        d = account_party[dst[e]] if dst[e] >= 0 else UNKNOWN
        phi = 0
        for r in range(len(rule_parties)):
            if not _covers(rule_channels[r], rule_parties[r], c, s, d):
                continue
            threshold = rule_usd_cents[r] if foreign else rule_cny_cents[r]
            if phi == 0 or threshold < phi:
                phi = threshold
        phi_cents[e] = phi
    return amount_cents, phi_cents


@jit(parallel=True)
def edge_rule_tests(src, dst, account_party, channel, is_home_currency, amount_home_cents, amount_foreign_cents,
                    rule_channels, rule_parties, rule_cny_cents, rule_usd_cents):
    """Per rule and edge: whether the rule covers the edge, and whether the edge is also
    at or above the rule's threshold on its own (its cents of the currency compared,
    as :func:`edge_phi_cents`). Arguments as for :func:`edge_phi_cents`.

    Returns
    -------
    covers, at_or_above : ndarray of bool, shape (n_rules, n_edges)
        Row ``r`` (contiguous) is rule ``r``'s.
    """
    n = len(src)
    covers = np.zeros((len(rule_parties), n), np.bool_)
    at_or_above = np.zeros((len(rule_parties), n), np.bool_)
    for e in numba.prange(n):
        foreign = not is_home_currency[e]
        cents = amount_foreign_cents[e] if foreign else amount_home_cents[e]
        c = channel[e]
        s = account_party[src[e]] if src[e] >= 0 else UNKNOWN
        d = account_party[dst[e]] if dst[e] >= 0 else UNKNOWN
        for r in range(len(rule_parties)):
            if _covers(rule_channels[r], rule_parties[r], c, s, d):
                covers[r, e] = True
                at_or_above[r, e] = cents >= (rule_usd_cents[r] if foreign else rule_cny_cents[r])
    return covers, at_or_above


@jit
def _covers(channels_mask, parties, c, s, d):
    """Whether a rule (its channel bit mask and party condition) covers an edge of
    channel ``c`` (-1: none) between parties ``s`` and ``d`` (a side without an account
    is unknown)."""
    if c < 0 or not (channels_mask >> c) & 1:
        return False
    if parties == ANY_PERSON_CODE:
        return s == PERSON or s == UNKNOWN or d == PERSON or d == UNKNOWN
    if parties == BOTH_ENTITY_CODE:
        return s == ENTITY and d == ENTITY
    return True

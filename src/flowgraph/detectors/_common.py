"""What every detector needs: the scan range, thresholds per account, evidence edges."""

from __future__ import annotations

import numpy as np

from ..config import RuleSet, get_rule_set
from ..money import PARTY_ENTITY, rule_applies


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


def monitored(graph) -> np.ndarray:
    """Accounts the bank monitors: those of its customers (an account that appears only
    as a counterparty, e.g. at another bank, is evidence but never a hit's subject)."""
    if graph.n_customers == 0:
        return np.ones(graph.n_accounts, bool)
    return graph.account_customer >= 0


def transfer_threshold(graph, rules: RuleSet) -> np.ndarray:
    """Per account, the CNY large-value threshold of its domestic transfers: the entity
    rule for entities, the person rule otherwise (unknown parties count as persons)."""
    person = rules.rule("LV-PERSON").threshold_cny
    entity = rules.rule("LV-ENTITY").threshold_cny
    return np.where(graph.account_party == PARTY_ENTITY, entity, person).astype(np.float64)


def phi_by_channel(graph, rules: RuleSet, account: int) -> dict[str, float]:
    """Φ (CNY) per method for one account (SPEC §2): the rule its transactions fall under."""
    entity = graph.account_party[account] == PARTY_ENTITY
    codes = {r.code for r in rules.rules}
    cross = "LV-ENTITY" if entity or "LV-PERSON-XB" not in codes else "LV-PERSON-XB"
    return {
        "cash": rules.rule("LV-CASH").threshold_cny,
        "transfer": rules.rule("LV-ENTITY" if entity else "LV-PERSON").threshold_cny,
        "cross_border": rules.rule(cross).threshold_cny,
    }


def n_chunks() -> int:
    """How many pieces a parallel kernel splits its accounts into (a few per thread, so
    a busy account does not leave a thread idle)."""
    import numba

    return numba.get_num_threads() * 8


def counterparty_edges(graph, account: int, days: tuple[int, int], direction: str,
                       min_amount: float = 0.0) -> np.ndarray:
    """An account's edges in a window that have a counterparty (no cash, no
    self-transfer, not another account of the same customer) and at least
    ``min_amount`` (CNY)."""
    if direction == "in":
        edges = graph.in_edges_of(account, days)
        other = graph.src[edges]
    else:
        edges = graph.out_edges_of(account, days)
        other = graph.dst[edges]
    own = graph.account_customer[account]
    same_customer = (own >= 0) & (graph.account_customer[np.maximum(other, 0)] == own)
    return edges[(other >= 0) & (other != account) & ~same_customer & (graph.amount_cny[edges] >= min_amount)]


def top_share(counterparty: np.ndarray, amount: np.ndarray) -> tuple[float, float]:
    """Share of the largest counterparty in amount and in count."""
    if len(counterparty) == 0:
        return 0.0, 0.0
    uniq, inverse = np.unique(counterparty, return_inverse=True)
    by_amount = np.bincount(inverse, weights=amount)
    by_count = np.bincount(inverse)
    total = amount.sum()
    return (float(by_amount.max() / total) if total > 0 else 0.0, float(by_count.max() / len(counterparty)))




def edge_phi_ratio(graph, rules: RuleSet) -> np.ndarray:
    """Each edge's amount as a share of Φ: the threshold of the rule it falls under (the
    lowest if several apply), CNY amounts against CNY thresholds and foreign ones in USD
    against USD thresholds. Edges no rule covers get ratio 0."""
    party = lambda idx: np.where(idx >= 0, graph.account_party[np.maximum(idx, 0)], -1)
    src_party, dst_party = party(graph.src), party(graph.dst)
    out = np.zeros(graph.n_edges)
    for rule in rules.rules:
        applies = rule_applies(rule.parties, rule.channels, graph.channel, src_party, dst_party)
        ratio = np.where(graph.is_home_currency, graph.amount_cny / rule.threshold_cny,
                         graph.amount_usd / rule.threshold_usd)
        out = np.where(applies, np.maximum(out, ratio), out)
    return out

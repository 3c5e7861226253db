"""Reference for the large-value rules of SPEC §2, written for clarity, not speed:
one Python loop over the transactions.

A rule is met by a single transaction at or above its threshold, or by the daily
cumulative sum per customer, direction (in/out), business day and currency class
(CNY against the CNY threshold, foreign currencies in USD against the USD threshold).

Money is exact: amounts and thresholds are ``Decimal`` of their shortest decimal form
(amounts are rounded to the cent on ingest), sums are ``Decimal`` sums, never float ones.
"""

from collections import defaultdict
from decimal import Decimal

from flowgraph.config import ANY_PERSON, ANYONE, BOTH_ENTITY


def _applies(rule, channel, src_party, dst_party):
    if channel not in rule.channels:
        return False
    person = lambda p: p in ("person", None)
    if rule.parties == ANYONE:
        return True
    if rule.parties == ANY_PERSON:
        return person(src_party) or person(dst_party)
    if rule.parties == BOTH_ENTITY:
        return src_party == "entity" and dst_party == "entity"
    raise ValueError(rule.parties)


def large_value_reference(rows, rules):
    """Evaluate every rule.

    Parameters
    ----------
    rows : iterable of dict
        Keys: txn_id, business_day, src_customer, dst_customer (None if no customer),
        src_party, dst_party ("person", "entity" or None), channel, is_home_currency,
        amount_cny, amount_usd.
    rules : RuleSet

    Returns
    -------
    single : set of (txn_id, rule code)
        Transactions at or above a threshold on their own.
    daily : dict of (customer, business_day, direction, currency class, rule code) -> Decimal
        Every daily cumulative sum in major units, exact (whether or not it crosses).
    """
    exact = lambda x: Decimal(repr(float(x)))
    single = set()
    daily = defaultdict(Decimal)
    for r in rows:
        for rule in rules.rules:
            if not _applies(rule, r["channel"], r["src_party"], r["dst_party"]):
                continue
            home = r["is_home_currency"]
            value = exact(r["amount_cny"] if home else r["amount_usd"])
            threshold = exact(rule.threshold_home if home else rule.threshold_foreign)
            if value >= threshold:
                single.add((r["txn_id"], rule.code))
            for customer, direction in ((r["src_customer"], "out"), (r["dst_customer"], "in")):
                if customer is not None:
                    daily[(customer, r["business_day"], direction, "CNY" if home else "FX", rule.code)] += value
    return single, daily


def edge_customers_reference(graph) -> tuple[list[int], list[int]]:
    """Per edge, the customer of its payer and of its payee (-1: none), edge by edge."""
    customer = lambda account: int(graph.account_customer[account]) if account >= 0 else -1
    return ([customer(int(graph.src[e])) for e in range(graph.n_edges)],
            [customer(int(graph.dst[e])) for e in range(graph.n_edges)])

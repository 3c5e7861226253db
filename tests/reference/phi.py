"""Φ of each edge written out rule by rule, edge by edge (for flowgraph._kernels.phi)."""

from flowgraph.config import CHANNELS
from flowgraph.detectors._common import threshold_cents


def _covers(graph, rule, e) -> bool:
    """Whether ``rule`` covers edge ``e``: its channel, and who its parties are."""
    def person(account):  # unknown parties count as persons, and so does a side without an account
        return account < 0 or graph.account_party[account] in (0, -1)

    def entity(account):
        return account >= 0 and graph.account_party[account] == 1

    s, d, c = int(graph.src[e]), int(graph.dst[e]), int(graph.channel[e])
    if c < 0 or CHANNELS[c] not in rule.channels:
        return False
    if rule.parties == "any_person":
        return person(s) or person(d)
    if rule.parties == "both_entity":
        return entity(s) and entity(d)
    return True


def _amount_cents(graph, e) -> int:
    """The cents a rule compares: of the home currency, or converted into the foreign one."""
    return int(graph.amount_home_cents[e] if graph.is_home_currency[e] else graph.amount_foreign_cents[e])


def _threshold_cents(graph, rule, e) -> int:
    return threshold_cents(rule.threshold_home if graph.is_home_currency[e] else rule.threshold_foreign)


def edge_phi_reference(graph, rules) -> tuple[list[int], list[int]]:
    """(amount cents, Φ cents) per edge: the lowest threshold of the rules covering it."""
    phis = []
    for e in range(graph.n_edges):
        covering = [_threshold_cents(graph, rule, e) for rule in rules.rules if _covers(graph, rule, e)]
        phis.append(min(covering) if covering else 0)
    return [_amount_cents(graph, e) for e in range(graph.n_edges)], phis


def edge_rule_tests_reference(graph, rules) -> list[tuple[list[int], list[int]]]:
    """Per rule: the edges it covers, and those of them at or above its threshold."""
    out = []
    for rule in rules.rules:
        covered = [e for e in range(graph.n_edges) if _covers(graph, rule, e)]
        out.append((covered, [e for e in covered if _amount_cents(graph, e) >= _threshold_cents(graph, rule, e)]))
    return out

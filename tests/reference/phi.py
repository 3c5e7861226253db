"""Φ of each edge written out rule by rule, edge by edge (for flowgraph._kernels.phi)."""

from flowgraph.config import CHANNELS
from flowgraph.detectors._common import threshold_cents


def edge_phi_reference(graph, rules) -> tuple[list[int], list[int]]:
    """(amount cents, Φ cents) per edge: the lowest threshold of the rules covering it."""
    def person(account):  # unknown parties count as persons, and so does a side without an account
        return account < 0 or graph.account_party[account] in (0, -1)

    def entity(account):
        return account >= 0 and graph.account_party[account] == 1

    amounts, phis = [], []
    for e in range(graph.n_edges):
        home = bool(graph.is_home_currency[e])
        amounts.append(int(graph.amount_home_cents[e] if home else graph.amount_foreign_cents[e]))
        s, d, c = int(graph.src[e]), int(graph.dst[e]), int(graph.channel[e])
        covering = []
        for rule in rules.rules:
            if c < 0 or CHANNELS[c] not in rule.channels:
                continue
            if rule.parties == "any_person" and not (person(s) or person(d)):
                continue
            if rule.parties == "both_entity" and not (entity(s) and entity(d)):
                continue
            covering.append(threshold_cents(rule.threshold_home if home else rule.threshold_foreign))
        phis.append(min(covering) if covering else 0)
    return amounts, phis

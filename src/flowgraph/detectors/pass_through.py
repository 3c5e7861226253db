"""Pass-through accounts 过渡账户 (SPEC §3.2, from 001): "within 10 business days, any 3
consecutive business days whose total inflow and total outflow differ by no more than
5 %".

Every business day of the scan is the last day of a run of ``run_days`` business days;
the run qualifies when ``|in - out| <= tolerance · max(in, out)`` and ``min(in, out) >=
material_fraction ×`` the account's large-value threshold. Cash in and out count (cash
in, transfer out is the classic pattern); self-transfers and moves between one
customer's own accounts (treasury sweeps) do not. Consecutive qualifying
days make one hit, whose evidence is its best run (smallest gap). A = min(in, out).

Chains (layering): pass-through hits link into one hit of typology
``pass_through_chain`` when one pays another with a transaction inside both their runs
carrying at least ``link_fraction`` of the smaller one's amount; its subject is the first
intermediary (the member no other member paid), its evidence every member's, and A the
smallest member's amount.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from .._kernels.pass_through import pass_through_runs
from ..hits import Hit, make_hit, params_fingerprint
from ._common import monitored, n_chunks, phi_by_channel, prepare, transfer_threshold
from ._params import MAX_WINDOW_DAYS, Boolean, Interval, KnownRuleSet, validate_params


#: Largest gap tolerance: beyond half, inflow and outflow no longer "match".
MAX_TOLERANCE = 0.5


@dataclass(frozen=True)
class PassThroughParams:
    """Parameters of the pass-through detector (defaults from 001 and SPEC §3.2).

    Parameters
    ----------
    run_days : int
        Consecutive business days whose totals are compared (001: 3); at most 250.
    tolerance : float
        Largest relative gap |in - out| / max(in, out) (001: 0.05), in [0, 0.5]: beyond
        half, in and out no longer "match".
    material_fraction : float
        min(in, out) must reach this × the account's large-value threshold (SPEC: 0.8),
        in [0, 1].
    link_chains : bool
        Link pass-through accounts into chains.
    link_fraction : float
        A payment links two members when it is in both their runs and carries at least
        this share of the smaller member's amount (flowgraph's choice: card payments
        between busy accounts must not chain them).
    rule_set : str
        Rule set whose thresholds apply (``flowgraph.config.RULE_SETS``).
    """

    run_days: int = 3
    tolerance: float = 0.05
    material_fraction: float = 0.8
    link_chains: bool = True
    link_fraction: float = 0.25
    rule_set: str = "PBOC-2016"

    _parameter_constraints: ClassVar[dict] = {
        "run_days": Interval(int, 1, MAX_WINDOW_DAYS),
        "tolerance": Interval(float, 0.0, MAX_TOLERANCE),
        "material_fraction": Interval(float, 0.0, 1.0),
        "link_chains": Boolean(),
        "link_fraction": Interval(float, 0.0, 1.0),
        "rule_set": KnownRuleSet(),
    }

    def __post_init__(self) -> None:
        validate_params(self)

    def relaxed(self, band: float) -> "PassThroughParams":
        """The tolerance band's version: the gap tolerance widened and the materiality
        floor lowered by ``band``."""
        return dataclasses.replace(self, tolerance=min(self.tolerance * (1 + band), MAX_TOLERANCE),
                                   material_fraction=self.material_fraction * (1 - band))


def _evidence(graph, a: int, days: tuple[int, int]) -> np.ndarray:
    """The run's in and out edges, without self-transfers and the customer's own moves."""
    ins = graph.in_edges_of(a, days)
    outs = graph.out_edges_of(a, days)
    return np.concatenate([ins[~_own(graph, a, graph.src[ins])], outs[~_own(graph, a, graph.dst[outs])]])


def _own(graph, a: int, other: np.ndarray) -> np.ndarray:
    c = graph.account_customer[a]
    same = np.zeros(len(other), bool) if c < 0 else (other >= 0) & (graph.account_customer[np.maximum(other, 0)] == c)
    return (other == a) | same


def detect(graph, params: PassThroughParams = PassThroughParams(), days=None) -> list[Hit]:
    """Pass-through hits (single accounts and chains) over the scan range.

    Parameters
    ----------
    graph : TransactionGraph
    params : PassThroughParams
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
    floor = params.material_fraction * transfer_threshold(graph, rules)
    runs, amounts = pass_through_runs(graph.in_indptr, graph.in_edges, graph.out_indptr, graph.out_edges,
                                      graph.src, graph.dst, graph.day, graph.amount_cny, first, last,
                                      params.run_days, floor, float(params.tolerance),
                                      graph.account_customer, n_chunks())
    pid = params_fingerprint(params)
    subjects = monitored(graph)
    results = []
    for (a, run_first, run_last, best), (amt_in, amt_out) in zip(runs.tolist(), amounts.tolist()):
        if not subjects[a]:
            continue
        window = (max(0, best - params.run_days + 1), best)
        hi = max(amt_in, amt_out)
        results.append({
            "account": a, "window": window, "evidence": _evidence(graph, a, window),
            "amount": min(amt_in, amt_out),
            "measures": {"amount_in": round(amt_in, 2), "amount_out": round(amt_out, 2),
                         "gap": round((hi - min(amt_in, amt_out)) / hi, 9), "run_days": params.run_days,
                         "best_day": str(graph.business_days[best]),
                         "run_first_day": str(graph.business_days[run_first]),
                         "run_last_day": str(graph.business_days[run_last])},
        })
    groups = _chains(graph, results, params.link_fraction) if params.link_chains else [[i] for i in range(len(results))]
    hits = []
    for group in groups:
        if len(group) == 1:
            r = results[group[0]]
            hits.append(make_hit(graph, "pass_through", "pass_through", pid, r["account"], r["evidence"],
                                 r["amount"], phi_by_channel(graph, rules, r["account"]), r["measures"]))
            continue
        members = [results[i] for i in group]
        subject = members[0]["account"]
        accounts = list(dict.fromkeys(m["account"] for m in members))  # an account may have two runs
        evidence = np.concatenate([m["evidence"] for m in members])
        measures = {"chain_length": len(accounts),
                    "members": [str(graph.account_ids[a]) for a in accounts],
                    "gaps": [m["measures"]["gap"] for m in members],
                    "amount_in": members[0]["measures"]["amount_in"],
                    "amount_out": members[-1]["measures"]["amount_out"]}
        touched = np.concatenate([graph.src[evidence], graph.dst[evidence]])
        others = [int(x) for x in np.unique(touched[touched >= 0]) if int(x) not in accounts]
        hits.append(make_hit(graph, "pass_through", "pass_through_chain", pid, subject, evidence,
                             min(m["amount"] for m in members), phi_by_channel(graph, rules, subject),
                             measures, accounts=accounts + others))
    return hits


def _chains(graph, results: list[dict], link_fraction: float) -> list[list[int]]:
    """Group results linked by money passed between them: a transaction from one
    member's account to another's that lies in both members' evidence (the first's run
    paid it, the second's run received it) and carries at least ``link_fraction`` of the
    smaller member's amount. Each group in chain order (members nobody in the group paid
    first, then by best day)."""
    received_in: dict[int, list[int]] = {}
    for j, r in enumerate(results):
        for e in r["evidence"][graph.dst[r["evidence"]] == r["account"]].tolist():
            received_in.setdefault(e, []).append(j)
    parent = list(range(len(results)))

    def find(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    paid_by_member = set()
    for i, r in enumerate(results):
        for e in r["evidence"][graph.src[r["evidence"]] == r["account"]].tolist():
            for j in received_in.get(e, ()):
                if j != i and graph.amount_cny[e] >= link_fraction * min(r["amount"], results[j]["amount"]):
                    parent[find(i)] = find(j)
                    paid_by_member.add(j)
    groups: dict[int, list[int]] = {}
    for i in range(len(results)):
        groups.setdefault(find(i), []).append(i)
    ordered = []
    for members in groups.values():
        members.sort(key=lambda i: (i in paid_by_member, results[i]["window"][1], results[i]["account"]))
        ordered.append(members)
    ordered.sort(key=lambda g: g[0])
    return ordered

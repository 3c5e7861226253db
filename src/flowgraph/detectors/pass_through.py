"""Pass-through accounts 过渡账户 (SPEC §3.2, from 001): "within 10 business days, any 3
consecutive business days whose total inflow and total outflow differ by no more than
5 %".

Every business day of the scan is the last day of a run of ``run_days`` business days;
the run qualifies when ``|in - out| <= tolerance · max(in, out)`` and ``min(in, out) >=
material_fraction ×`` the account's large-value threshold. Cash in and out count (cash
in, transfer out is the classic pattern); self-transfers and moves between one
customer's own accounts (treasury sweeps) do not. Consecutive qualifying
days make one hit, whose evidence is its best run (smallest gap). A = min(in, out).

Chains (layering): pass-through hits whose accounts pay one another within
``window_days`` business days link into one hit of typology ``pass_through_chain``; its
subject is the first intermediary (the member no other member paid), its evidence every
member's, and A the smallest member's amount.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from .._kernels.pass_through import pass_through_runs
from ..config import get_rule_set
from ..hits import Hit, make_hit, params_fingerprint
from ._common import n_chunks, phi_by_channel, scan_range, transfer_threshold
from ._params import check_number


@dataclass(frozen=True)
class PassThroughParams:
    """Parameters of the pass-through detector (defaults from 001 and SPEC §3.2).

    Parameters
    ----------
    run_days : int
        Consecutive business days whose totals are compared (001: 3).
    tolerance : float
        Largest relative gap |in - out| / max(in, out) (001: 0.05).
    material_fraction : float
        min(in, out) must reach this × the account's large-value threshold (SPEC: 0.8).
    window_days : int
        Short term (001: 10): chains link hits that pay one another within it.
    link_chains : bool
        Link pass-through accounts into chains.
    rule_set : str
        Rule set whose thresholds apply.
    """

    run_days: int = 3
    tolerance: float = 0.05
    material_fraction: float = 0.8
    window_days: int = 10
    link_chains: bool = True
    rule_set: str = "PBOC-2016"

    def __post_init__(self) -> None:
        check_number(self, "run_days", int, 1)
        check_number(self, "tolerance", float, 0.0, 1.0, high_open=True)
        check_number(self, "material_fraction", float, 0.0)
        check_number(self, "window_days", int, self.run_days)
        get_rule_set(self.rule_set)

    def relaxed(self, band: float) -> "PassThroughParams":
        """The tolerance band's version: the gap tolerance widened and the materiality
        floor lowered by ``band``."""
        return dataclasses.replace(self, tolerance=min(self.tolerance * (1 + band), 0.99),
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
    rules = get_rule_set(params.rule_set)
    first, last = scan_range(graph, days)
    if graph.n_edges == 0 or last < first:
        return []
    floor = params.material_fraction * transfer_threshold(graph, rules)
    runs, amounts = pass_through_runs(graph.in_indptr, graph.in_edges, graph.out_indptr, graph.out_edges,
                                      graph.src, graph.dst, graph.day, graph.amount_cny, first, last,
                                      params.run_days, floor, float(params.tolerance),
                                      graph.account_customer, n_chunks())
    pid = params_fingerprint(params)
    results = []
    for (a, run_first, run_last, best), (amt_in, amt_out) in zip(runs.tolist(), amounts.tolist()):
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
    groups = _chains(graph, results, params.window_days) if params.link_chains else [[i] for i in range(len(results))]
    hits = []
    for group in groups:
        if len(group) == 1:
            r = results[group[0]]
            hits.append(make_hit(graph, "pass_through", "pass_through", pid, r["account"], r["evidence"],
                                 r["amount"], phi_by_channel(graph, rules, r["account"]), r["measures"]))
            continue
        members = [results[i] for i in group]
        subject = members[0]["account"]
        accounts = [m["account"] for m in members]
        evidence = np.concatenate([m["evidence"] for m in members])
        measures = {"chain_length": len(members),
                    "members": [str(graph.account_ids[m["account"]]) for m in members],
                    "gaps": [m["measures"]["gap"] for m in members],
                    "amount_in": members[0]["measures"]["amount_in"],
                    "amount_out": members[-1]["measures"]["amount_out"]}
        touched = np.concatenate([graph.src[evidence], graph.dst[evidence]])
        others = [int(x) for x in np.unique(touched[touched >= 0]) if int(x) not in accounts]
        hits.append(make_hit(graph, "pass_through", "pass_through_chain", pid, subject, evidence,
                             min(m["amount"] for m in members), phi_by_channel(graph, rules, subject),
                             measures, accounts=accounts + others))
    return hits


def _chains(graph, results: list[dict], window_days: int) -> list[list[int]]:
    """Group results whose accounts pay one another within the window; each group in
    chain order (members nobody in the group paid first, then by best day)."""
    by_account: dict[int, list[int]] = {}
    for i, r in enumerate(results):
        by_account.setdefault(r["account"], []).append(i)
    parent = list(range(len(results)))

    def find(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    paid_by_member = set()
    for i, r in enumerate(results):
        lo, hi = r["window"][0], r["window"][1]
        outs = graph.out_edges_of(r["account"], (max(0, hi - window_days + 1), min(graph.n_days - 1, lo + window_days - 1)))
        for b in set(graph.dst[outs].tolist()) - {r["account"]}:
            for j in by_account.get(b, ()):
                if j != i and abs(results[j]["window"][1] - hi) < window_days:
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

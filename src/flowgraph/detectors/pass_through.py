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

Chain identity: a chain's id is anchored at its earliest member run (first day, then
account), which stays put while runs extend and members join later, so a chain that goes
on is the same hit, updated. Its make-up can still change (two chains merge, or a member's
best run moves and a link goes), so a scan reports every chain that has a run reaching its
days or that lost such a member since the day before, and :func:`stale_chains` names the
stored chain hits the scan must retract: those with a member run it traced again (measure
``member_first_days``) that it did not find again.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .._kernels.pass_through import pass_through_days, pass_through_days_met, pass_through_evidence
from .._kernels.runs import day_runs, keep_rows, row_owner, take
from .._kernels.segments import segment_accounts
from ..hits import HitParts, HitTable, hit_table, params_fingerprint, segments
from ._common import cents, in_scan, monitored, n_chunks, narrowed, phi_table, prepare, transfer_threshold
from ._contract import Detector, Typology
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


def detect(graph, params: PassThroughParams = PassThroughParams(), days=None) -> HitTable:
    """Pass-through hits (single accounts and chains) whose runs reach the scan range, and
    the chains whose make-up the scan's days changed.

    Parameters
    ----------
    graph : TransactionGraph
    params : PassThroughParams
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
    floor_cents = cents(params.material_fraction * transfer_threshold(graph, rules))

    def narrow(held):
        offsets, days_met = held
        met = pass_through_days_met(days_met, floor_cents[row_owner(offsets)], params.tolerance)
        return keep_rows(offsets, days_met, met)

    # the run sums do not depend on the floor or the tolerance (the tolerance band's run is narrowed)
    day_offsets, days_met = narrowed(
        graph, ("pass_through", last, params.run_days, rules), (floor_cents, -params.tolerance),
        lambda: pass_through_days(graph.arrays, last, params.run_days, floor_cents, params.tolerance, n_chunks()),
        narrow)
    members = _member_runs(graph, day_offsets, days_met, params.run_days)
    account, run_first, run_last, best = members["account"], members["run_first"], members["run_last"], members["best"]
    keep = in_scan(run_last, first)
    day_text = graph.business_days.astype(str)
    single = HitParts(
        np.full(int(keep.sum()), "pass_through", object), account[keep], run_first[keep], run_last[keep],
        *_take(members["offsets"], members["edges"], keep), members["a_cents"][keep],
        {"amount_in": members["in_cents"][keep] / 100, "amount_out": members["out_cents"][keep] / 100,
         "gap": members["gap"][keep], "run_days": np.full(int(keep.sum()), params.run_days),
         "best_day": day_text[best[keep]], "run_first_day": day_text[run_first[keep]],
         "run_last_day": day_text[run_last[keep]]})
    pid, phi = params_fingerprint(params), phi_table(graph, rules)
    tables = [hit_table(graph, "pass_through", pid, phi, single)]
    if params.link_chains:
        unsettled = _unsettled_runs(graph, day_offsets, days_met, params, first)
        reported = [g for g in _chains(graph, members, params.link_fraction)
                    if max(int(run_last[i]) for i in g) >= first
                    or any((int(account[i]), int(run_first[i])) in unsettled for i in g)]
        tables.append(hit_table(graph, "pass_through", pid, phi, _chain_parts(graph, members, reported)))
    return HitTable.concat(tables)


def _member_runs(graph, day_offsets: np.ndarray, days_met, run_days: int) -> dict:
    """The runs of qualifying days of monitored accounts, each with its best run: the
    run's account, first and last day, best day, evidence (segments of edges), in, out,
    A = min(in, out) in cents, and gap."""
    runs = day_runs(day_offsets, days_met, 1, graph.period_last)
    runs = take(runs, monitored(graph)[runs.account])
    best_run = take(days_met, runs.best_row)
    offsets, edges = pass_through_evidence(runs.account, best_run.day, run_days, graph.arrays)
    in_cents, out_cents = best_run.in_cents, best_run.out_cents
    a_cents = np.minimum(in_cents, out_cents)
    larger = np.maximum(in_cents, out_cents)
    gap = np.round((larger - a_cents) / np.maximum(larger, 1), 9)
    return {"account": runs.account, "run_first": runs.first_day, "run_last": runs.last_day, "best": best_run.day,
            "offsets": offsets, "edges": edges, "a_cents": a_cents, "in_cents": in_cents, "out_cents": out_cents,
            "gap": gap}


def _unsettled_runs(graph, day_offsets: np.ndarray, days_met, params: PassThroughParams,
                    first: int) -> set[tuple[int, int]]:
    """Member runs, as (account, first day), of the chains as they stood on the day before
    the scan that had a member run still open that day: the scan's days may have moved
    that member's best run and cut a link, so every chain one of them belongs to now is
    reported again (a chain that lost a member may no longer reach the scan)."""
    if first == 0:
        return set()
    before = days_met.day < first  # which days qualify never depends on later days
    m = _member_runs(graph, np.concatenate([[0], np.cumsum(before)])[day_offsets], take(days_met, before),
                     params.run_days)
    return {(int(m["account"][i]), int(m["run_first"][i])) for g in _chains(graph, m, params.link_fraction)
            if max(int(m["run_last"][i]) for i in g) == first - 1 for i in g}


def _take(offsets: np.ndarray, values: np.ndarray, keep: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The kept segments."""
    lengths = np.diff(offsets)[keep]
    rows = np.repeat(keep, np.diff(offsets))
    return np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64), values[rows]


def _chains(graph, m: dict, link_fraction: float) -> list[list[int]]:
    """Group results linked by money passed between them: a transaction from one
    member's account to another's that lies in both members' evidence (the first's run
    paid it, the second's run received it) and carries at least ``link_fraction`` of the
    smaller member's amount. Each group of two or more in chain order (members nobody in
    the group paid first, then by best day, then account)."""
    n = len(m["account"])
    owner = np.repeat(np.arange(n), np.diff(m["offsets"]))
    edges = m["edges"]
    paid = graph.src[edges] == m["account"][owner]
    received = graph.dst[edges] == m["account"][owner]
    payer = pd.DataFrame({"edge": edges[paid], "i": owner[paid]})
    payee = pd.DataFrame({"edge": edges[received], "j": owner[received]})
    links = payer.merge(payee, on="edge")
    links = links[links["i"] != links["j"]]
    smaller = np.minimum(m["a_cents"][links["i"]], m["a_cents"][links["j"]])
    links = links[graph.amount_home_cents[links["edge"].to_numpy()] >= link_fraction * smaller]
    parent = list(range(n))

    def find(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, j in zip(links["i"].tolist(), links["j"].tolist()):
        parent[find(i)] = find(j)
    paid_by_member = set(links["j"].tolist())
    groups: dict[int, list[int]] = {}
    for i in sorted({int(x) for x in links["i"]} | paid_by_member):
        groups.setdefault(find(i), []).append(i)
    ordered = [sorted(g, key=lambda i: (i in paid_by_member, int(m["best"][i]), int(m["account"][i])))
               for g in groups.values() if len(g) > 1]
    return sorted(ordered, key=lambda g: g[0])


def _chain_parts(graph, m: dict, groups: list[list[int]]) -> HitParts:
    """One chain hit per group; subject: its first member; id anchored at its earliest
    member run (first day, then account)."""
    if not groups:
        return HitParts.empty()
    day_text = graph.business_days.astype(str)
    per_group = lambda key: [[m[key][i] for i in g] for g in groups]
    evidence_offsets, evidence = segments([np.concatenate([m["edges"][m["offsets"][i]:m["offsets"][i + 1]] for i in g])
                                           for g in groups])
    member_accounts = [list(dict.fromkeys(int(a) for a in accts)) for accts in per_group("account")]
    subject = np.array([a[0] for a in member_accounts], np.int64)
    anchor = np.array([m["account"][min(g, key=lambda i: (int(m["run_first"][i]), int(m["account"][i])))]
                       for g in groups], np.int64)
    # members first (in chain order), then every other account their evidence touched
    touched_off, touched = segment_accounts(evidence_offsets, evidence, graph.src, graph.dst, subject)
    accounts = [a + [x for x in touched[touched_off[k] + 1:touched_off[k + 1]].tolist() if x not in a]
                for k, a in enumerate(member_accounts)]
    run_first = np.array([min(x) for x in per_group("run_first")], np.int64)
    return HitParts(
        np.full(len(groups), "pass_through_chain", object), subject, run_first,
        np.array([max(x) for x in per_group("run_last")], np.int64), evidence_offsets, evidence,
        np.array([min(x) for x in per_group("a_cents")], np.int64),
        {"chain_length": np.array([len(a) for a in member_accounts], np.int64),
         "members": [[str(graph.account_ids[a]) for a in acc] for acc in member_accounts],
         "member_first_days": [[[str(day_text[m["run_first"][i]]) for i in g if m["account"][i] == a] for a in acc]
                               for g, acc in zip(groups, member_accounts)],
         "gaps": [[float(x) for x in gaps] for gaps in per_group("gap")],
         "amount_in": np.array([m["in_cents"][g[0]] / 100 for g in groups]),
         "amount_out": np.array([m["out_cents"][g[-1]] / 100 for g in groups]),
         "run_first_day": day_text[run_first]},
        accounts=segments([np.array(a, np.int64) for a in accounts]), anchor=anchor)


#: The typologies whose hits are made of pass-through runs (:func:`member_runs`).
MEMBER_TYPOLOGIES = ("pass_through", "pass_through_chain")


def member_runs(hits: pd.DataFrame) -> pd.DataFrame:
    """The pass-through runs hits are made of: a ``pass_through`` hit's own run, every
    member's of a ``pass_through_chain`` hit.

    Parameters
    ----------
    hits : DataFrame
        Hits (a hit table, or hits as the store holds them) with ``hit_id``, ``typology``,
        ``params_id``, ``subject``, ``run_first`` and ``measures`` (JSON text).

    Returns
    -------
    DataFrame
        One row per (hit, run): ``hit_id, params_id, account, run_first`` (ISO day).
    """
    single = hits[hits["typology"] == "pass_through"]
    rows = [(h, p, a, d) for h, p, a, d in zip(single["hit_id"], single["params_id"], single["subject"],
                                               _iso_days(single["run_first"]))]
    chains = hits[hits["typology"] == "pass_through_chain"]
    for hit_id, params_id, measures in zip(chains["hit_id"], chains["params_id"], chains["measures"]):
        m = json.loads(measures)
        # a chain stored by a version without member_first_days names no runs
        rows += [(hit_id, params_id, a, d) for a, first_days in zip(m["members"], m.get("member_first_days", ()))
                 for d in first_days]
    return pd.DataFrame(rows, columns=["hit_id", "params_id", "account", "run_first"])


def stale_chains(stored: pd.DataFrame, recomputed: pd.DataFrame, found: pa.Array) -> list[str]:
    """Ids of stored chain hits that a scan recomputed — one of their member runs is a run
    the scan traced again — and did not find again: their members now make another chain,
    or none.

    Parameters
    ----------
    stored : DataFrame
        Stored hits (columns as for :func:`member_runs`); only chain hits are looked at.
    recomputed : DataFrame
        :func:`member_runs` of the scan's hits.
    found : pyarrow string array
        Ids of the scan's hits.

    Returns
    -------
    list of str
    """
    chains = member_runs(stored[stored["typology"] == "pass_through_chain"])
    touched = chains.merge(recomputed.drop(columns="hit_id"), on=["params_id", "account", "run_first"])
    touched = pa.array(sorted(set(touched["hit_id"])), pa.string())
    return touched.filter(pc.invert(pc.is_in(touched, value_set=found))).to_pylist()


def _iso_days(values) -> np.ndarray:
    """Days (timestamps or ISO text) as ISO text."""
    return pd.Series(values).to_numpy(dtype="datetime64[D]").astype(str)


DETECTOR = Detector("pass_through", PassThroughParams, detect, (
    # the paper's evasive feature (001): strong on its own
    Typology("pass_through", "pass_through", 4.86, finds=("pass_through",), imitated_by=("treasury_sweep",)),
    Typology("pass_through_chain", "pass_through", 1.08, finds=("pass_through",), imitated_by=("treasury_sweep",),
             id_measures=("members",)),
))

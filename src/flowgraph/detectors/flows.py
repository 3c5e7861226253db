"""Multi-hop flows (issue 12): money followed hop by hop through forwarding links
(:mod:`flowgraph._kernels.flows`: an account passes on, soon after, between
``min_forward_share`` and ``1 + forward_tolerance`` of a payment it received).

What the detectors here share: the forwarding links of a graph for a set of parameters
(:func:`graph_links`), windows that count business days (PRC calendar, the default) or
calendar days (``window_unit``; seven-day-a-week data such as card networks), and hits
that show the path of the money hop by hop (:func:`path_measures`): the accounts in
order, each hop's transaction id, amount and calendar date. Windows and runs of hits are
always reported in business days (the business day each edge counts toward).

``cycles`` — time-respecting cycles (round-tripping, SPEC §3.5): money leaving account
``u`` comes back to ``u`` through 2..``max_hops`` forwarding hops inside the window, each
hop after the previous one, no account passed twice, every edge at least
``min_amount_fraction`` × its sender's large-value threshold for transfers. One hit per
cycle, found from its earliest edge (the algorithm and its cost: the kernels' module
docstring); subject = ``u``; A = the amount that came back; key = the first
transaction's id.

``forwarding_chains`` — layering through accounts that each pass the money on (the
"random" typology of AMLworld, 001's layering): a path of at least ``min_hops``
forwarding links, each hop at most ``hop_days`` window days after the one before, the
longest path from a payment nobody forwarded (kernels' module docstring). One hit per
chain; subject = the first intermediary (the payee of the first hop; a chain whose first
intermediary is not monitored is left out); A = the amount the last hop paid; key = the
first transaction's id. Where paths fork, the hit follows the longest branch; where
chains from several first payments merge, each keeps its own hit.

``scatter_gather`` — the forwarding links of a scan grouped two ways (windows and
clusters: :func:`flowgraph._kernels.flows.group_flows`):

- ``scatter_gather``: by (source ``u``, sink ``w``, ``u != w``): ``u`` pays at least
  ``min_intermediaries`` distinct accounts that each forward to ``w``, every leg inside
  the window (intermediaries may have no other transaction); subject = ``w``;
- ``gather_scatter``: by hub: at least ``min_counterparties`` distinct payers whose money
  the hub forwards to at least ``min_counterparties`` distinct payees inside the window
  (where the fan detector sees only the hub's own in- and out-degree, this follows each
  payment through the hub); subject = the hub.

Consecutive qualifying windows of a group make one hit whose evidence is every leg
(in-edge and out-edge of each link) of those windows; A = the amount passed on (the sum
of the distinct out-edges); key = the first leg's transaction id.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from .._kernels.flows import (
    cycles,
    follow_chains,
    forwarding_links,
    group_flows,
    longest_chains,
    ppm,
    successors,
)
from ..graph import WINDOW_UNITS
from ..hits import HitParts, HitTable, hit_table, params_fingerprint, ranges, segments
from ._common import (
    cents,
    in_scan,
    monitored,
    n_chunks,
    phi_table,
    prepare,
    share_cents,
    transfer_threshold,
)
from ._contract import Detector, Typology
from ._params import MAX_WINDOW_DAYS, Interval, KnownRuleSet, Options, validate_params

#: Most link expansions one search may spend (a bound on a user's budget, not a default).
MAX_SEARCH_BUDGET = 10**8


def floor_cents(graph, rules, fraction: float) -> np.ndarray:
    """Per account, the least amount (int cents) of an edge it sends that takes part:
    ``fraction`` × its large-value threshold for transfers, rounded up."""
    return share_cents(fraction, cents(transfer_threshold(graph, rules)))


def graph_links(graph, last: int, params, hop_days: int, floor: np.ndarray):
    """Forwarding links among the edges up to business day ``last`` for ``params``
    (``window_unit``, ``min_forward_share``, ``forward_tolerance``, ``max_links_per_edge``)."""
    n_edges = int(graph.day_indptr[last + 1])
    _, links = forwarding_links(graph.arrays, graph.window_day(params.window_unit), n_edges, hop_days,
                                ppm(params.min_forward_share), ppm(params.forward_tolerance), floor,
                                params.max_links_per_edge, n_chunks())
    return n_edges, links


def path_measures(graph, offsets: np.ndarray, path: np.ndarray) -> dict:
    """The money's path per hit, hop by hop (``path[offsets[i]:offsets[i + 1]]`` in
    order): accounts paying each hop then the last payee, transaction ids, amounts (CNY)
    and calendar dates."""
    cut = offsets[1:-1]
    split = lambda values: [list(x) for x in np.split(np.asarray(values, dtype=object), cut)]
    payers = split(graph.account_ids[graph.src[path]])
    payees = graph.account_ids[graph.dst[path[offsets[1:] - 1]]] if len(path) else np.zeros(0, object)
    return {
        "hops": np.diff(offsets).astype(np.int64),
        "path_accounts": [p + [str(last)] for p, last in zip(payers, payees)],
        "path_txn_ids": split(graph.txn_ids(path)),
        "hop_amounts": split(graph.amount_cny[path].tolist()),
        "hop_dates": split(graph.timestamp_ns[path].astype("datetime64[ns]").astype("datetime64[D]").astype(str)),
    }


#: Constraints of the parameters every forwarding-link detector has.
LINK_CONSTRAINTS = {
    "window_unit": Options(*WINDOW_UNITS),
    "min_forward_share": Interval(float, 0.0, 1.0),
    "forward_tolerance": Interval(float, 0.0, 1.0),
    "min_amount_fraction": Interval(float, 0.0, 1.0),
    "max_links_per_edge": Interval(int, 1, 10_000),
    "rule_set": KnownRuleSet(),
}


@dataclass(frozen=True)
class CycleParams:
    """Parameters of the time-respecting cycle detector.

    Parameters
    ----------
    window_days : int
        The whole cycle lies within this many window days, first and last day included
        ("short term", 001: 10 business days); at most 250.
    window_unit : {"business", "calendar"}
        What ``window_days`` counts: business days of the scan's calendar (default) or
        calendar days.
    max_hops : int
        Longest cycle, in hops (k, issue 12: 6); at least 2 (A -> B -> A), at most 12.
    min_forward_share : float
        Each account passes on at least this share of what it received (fees and skims
        are at most 1 minus it; flowgraph's choice 0.9), in [0, 1], to the millionth.
    forward_tolerance : float
        ... and at most ``1 + forward_tolerance`` times it (0.05: 001's pass-through
        tolerance), in [0, 1], to the millionth.
    min_amount_fraction : float
        Every edge is at least this × its sender's large-value threshold for transfers
        (materiality; 1 % is 5,000 CNY for a person, as the fan detector's de minimis).
    search_budget : int
        Link expansions one start edge's search may spend (the enumeration bound).
    max_links_per_edge : int
        Forwarding links kept per received payment, the earliest (bounds hubs).
    rule_set : str
        Rule set whose thresholds apply (``flowgraph.config.RULE_SETS``).
    """

    window_days: int = 10
    window_unit: str = "business"
    max_hops: int = 6
    min_forward_share: float = 0.9
    forward_tolerance: float = 0.05
    min_amount_fraction: float = 0.01
    search_budget: int = 10_000
    max_links_per_edge: int = 32
    rule_set: str = "PBOC-2016"

    _parameter_constraints: ClassVar[dict] = {
        "window_days": Interval(int, 1, MAX_WINDOW_DAYS),
        "max_hops": Interval(int, 2, 12),
        "search_budget": Interval(int, 1, MAX_SEARCH_BUDGET),
        **LINK_CONSTRAINTS,
    }

    def __post_init__(self) -> None:
        validate_params(self)

    def relaxed(self, band: float) -> CycleParams:
        """The tolerance band's version (004 ch.2 §4): the forwarded share and the
        materiality floor lowered by ``band``."""
        return dataclasses.replace(self, min_forward_share=self.min_forward_share * (1 - band),
                                   min_amount_fraction=self.min_amount_fraction * (1 - band))


def detect_cycles(graph, params: CycleParams = CycleParams(), days=None) -> HitTable:
    """Cycle hits that end in the scan range (a cycle is one day's run: its first to
    its last hop).

    Parameters
    ----------
    graph : TransactionGraph
    params : CycleParams
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
    floor = floor_cents(graph, rules, params.min_amount_fraction)
    n_edges, links = graph_links(graph, last, params, params.window_days - 1, floor)
    src, dst = graph.src[:n_edges], graph.dst[:n_edges]
    sender = np.maximum(src, 0)
    # a cycle starts with a material transfer from a monitored account to another account
    starts = np.flatnonzero((src >= 0) & (dst >= 0) & (src != dst) & monitored(graph)[sender]
                            & (graph.amount_cny_cents[:n_edges] >= floor[sender])).astype(np.int64)
    offsets, path = cycles(starts, graph.arrays, graph.window_day(params.window_unit), *successors(links, n_edges),
                           params.max_hops, params.window_days, params.search_budget, n_chunks())
    found = np.flatnonzero(np.diff(offsets) > 0)
    rows = found[in_scan(graph.day[path[offsets[found + 1] - 1]], first)]
    if len(rows) == 0:
        return HitTable.empty()
    offsets, path = ranges(offsets[rows], offsets[rows + 1], path)
    first_edge, last_edge = path[offsets[:-1]], path[offsets[1:] - 1]
    out_cents, back_cents = graph.amount_cny_cents[first_edge], graph.amount_cny_cents[last_edge]
    measures = path_measures(graph, offsets, path)
    measures.update({"amount_out": out_cents / 100, "amount_back": back_cents / 100,
                     "returned_share": np.round(back_cents / np.maximum(out_cents, 1), 6),
                     "window_unit": np.full(len(rows), params.window_unit, object)})
    subject = graph.src[first_edge].astype(np.int64)
    parts = HitParts(np.full(len(rows), "cycle", object), subject, graph.day[first_edge].astype(np.int64),
                     graph.day[last_edge].astype(np.int64), offsets, path, back_cents, measures,
                     key=graph.txn_ids(first_edge).astype(str),
                     accounts=(offsets, graph.src[path].astype(np.int64)))
    return hit_table(graph, "cycles", params_fingerprint(params), phi_table(graph, rules), parts)


CYCLES = Detector("cycles", CycleParams, detect_cycles, (
    # money that comes back to where it left is round-tripping; families paying each
    # other back look alike, so alone it stays at the weight of one strong indicator
    Typology("cycle", "cycle", 1.0, finds=("cycle",), imitated_by=("family_round_trip",),
             id_measures=("path_accounts",)),
))


@dataclass(frozen=True)
class ChainParams:
    """Parameters of the forwarding-chain detector.

    Parameters
    ----------
    hop_days : int
        Each hop at most this many window days after the hop before it ("within a few
        days"; flowgraph's choice 3), in [0, 250].
    window_unit : {"business", "calendar"}
        What ``hop_days`` counts: business days (default) or calendar days.
    min_hops : int
        Shortest chain reported, in hops (issue 12: 3), in [2, 100].
    min_forward_share, forward_tolerance, min_amount_fraction, max_links_per_edge, rule_set
        As for :class:`CycleParams`.
    """

    hop_days: int = 3
    window_unit: str = "business"
    min_hops: int = 3
    min_forward_share: float = 0.9
    forward_tolerance: float = 0.05
    min_amount_fraction: float = 0.01
    max_links_per_edge: int = 32
    rule_set: str = "PBOC-2016"

    _parameter_constraints: ClassVar[dict] = {
        "hop_days": Interval(int, 0, MAX_WINDOW_DAYS),
        "min_hops": Interval(int, 2, 100),
        **LINK_CONSTRAINTS,
    }

    def __post_init__(self) -> None:
        validate_params(self)

    def relaxed(self, band: float) -> ChainParams:
        """The tolerance band's version: the forwarded share and the materiality floor
        lowered by ``band``."""
        return dataclasses.replace(self, min_forward_share=self.min_forward_share * (1 - band),
                                   min_amount_fraction=self.min_amount_fraction * (1 - band))


def detect_chains(graph, params: ChainParams = ChainParams(), days=None) -> HitTable:
    """Forwarding-chain hits whose last hop is in the scan range or after its first day
    (the run: the business days of the first to the last hop).

    Parameters
    ----------
    graph : TransactionGraph
    params : ChainParams
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
    floor = floor_cents(graph, rules, params.min_amount_fraction)
    n_edges, links = graph_links(graph, last, params, params.hop_days, floor)
    hops, next_edge = longest_chains(*successors(links, n_edges))
    roots = np.setdiff1d(links.in_edge, links.out_edge)  # nobody forwarded this money to its payer
    roots = roots[(hops[roots] >= params.min_hops) & monitored(graph)[graph.dst[roots]]]
    offsets, path = follow_chains(roots, hops, next_edge)
    keep = np.flatnonzero(in_scan(graph.day[path[offsets[1:] - 1]], first))
    if len(keep) == 0:
        return HitTable.empty()
    offsets, path = ranges(offsets[keep], offsets[keep + 1], path)
    first_edge, last_edge = path[offsets[:-1]], path[offsets[1:] - 1]
    in_cents, out_cents = graph.amount_cny_cents[first_edge], graph.amount_cny_cents[last_edge]
    measures = path_measures(graph, offsets, path)
    measures.update({"amount_in": in_cents / 100, "amount_out": out_cents / 100,
                     "window_unit": np.full(len(keep), params.window_unit, object)})
    # N counts each account once, in the order the money reached it
    in_order = [list(dict.fromkeys(p)) for p in measures["path_accounts"]]
    accounts = segments([graph.account_index(a[1:] + a[:1]) for a in in_order])
    parts = HitParts(np.full(len(keep), "forwarding_chain", object), graph.dst[first_edge].astype(np.int64),
                     graph.day[first_edge].astype(np.int64), graph.day[last_edge].astype(np.int64), offsets, path,
                     out_cents, measures, key=graph.txn_ids(first_edge).astype(str), accounts=accounts)
    return hit_table(graph, "forwarding_chains", params_fingerprint(params), phi_table(graph, rules), parts)


CHAINS = Detector("forwarding_chains", ChainParams, detect_chains, (
    # layering through accounts that hold nothing, the behaviour pass-through accounts
    # show too: one family, so the two count once in an alert
    Typology("forwarding_chain", "pass_through", 1.0, finds=("pass_through", "random", "stack"),
             imitated_by=("supplier_chain",), id_measures=("path_accounts",)),
))


@dataclass(frozen=True)
class ScatterParams:
    """Parameters of the scatter-gather / gather-scatter detector.

    Parameters
    ----------
    window_days : int
        Every leg of a hit's window lies within this many window days (001: 10), in
        [1, 250].
    window_unit : {"business", "calendar"}
        What ``window_days`` counts: business days (default) or calendar days.
    min_intermediaries : int
        Scatter-gather: at least this many distinct intermediaries between one source and
        one sink (flowgraph's choice 3), in [2, 1000].
    min_counterparties : int
        Gather-scatter: at least this many distinct payers and payees whose money passes
        through the hub (SPEC §3.1's "many": 5), in [2, 1000].
    min_forward_share, forward_tolerance, min_amount_fraction, max_links_per_edge, rule_set
        As for :class:`CycleParams`.
    """

    window_days: int = 10
    window_unit: str = "business"
    min_intermediaries: int = 3
    min_counterparties: int = 5
    min_forward_share: float = 0.9
    forward_tolerance: float = 0.05
    min_amount_fraction: float = 0.01
    max_links_per_edge: int = 32
    rule_set: str = "PBOC-2016"

    _parameter_constraints: ClassVar[dict] = {
        "window_days": Interval(int, 1, MAX_WINDOW_DAYS),
        "min_intermediaries": Interval(int, 2, 1000),
        "min_counterparties": Interval(int, 2, 1000),
        **LINK_CONSTRAINTS,
    }

    def __post_init__(self) -> None:
        validate_params(self)

    def relaxed(self, band: float) -> ScatterParams:
        """The tolerance band's version: the forwarded share and the materiality floor
        lowered by ``band`` (the counts stay: one account fewer is another pattern)."""
        return dataclasses.replace(self, min_forward_share=self.min_forward_share * (1 - band),
                                   min_amount_fraction=self.min_amount_fraction * (1 - band))


def _clusters(graph, links, group_key, key_a, key_b, wday, params, min_a, min_b):
    """Clusters of qualifying windows of links grouped by ``group_key``: per cluster its
    link rows (into ``links`` as given), as segments."""
    order = np.lexsort((links.out_edge, group_key))
    sorted_key = group_key[order]
    starts = np.flatnonzero(np.concatenate([[True], sorted_key[1:] != sorted_key[:-1]])) if len(order) else \
        np.zeros(0, np.int64)
    indptr = np.concatenate([starts, [len(order)]]).astype(np.int64)
    _, flows = group_flows(indptr, key_a[order], key_b[order], wday[links.in_edge[order]],
                           wday[links.out_edge[order]], params.window_days, min_a, min_b, graph.n_accounts,
                           n_chunks())
    new = np.concatenate([[True], flows.cluster[1:] != flows.cluster[:-1]]) if len(flows.cluster) else \
        np.zeros(0, bool)
    offsets = np.concatenate([np.flatnonzero(new), [len(flows.link)]]).astype(np.int64)
    return offsets, order[flows.link]


def _scatter_parts(graph, links, offsets, rows, typology, subject, first, sides, unit):
    """Hit parts of link clusters (``rows[offsets[i]:offsets[i + 1]]``); ``sides`` names
    the id-list measures: measure name -> per-link account."""
    in_edge, out_edge = links.in_edge[rows], links.out_edge[rows]
    start = offsets[:-1]
    first_in = np.minimum.reduceat(in_edge, start) if len(start) else np.zeros(0, np.int64)
    last_out = np.maximum.reduceat(out_edge, start) if len(start) else np.zeros(0, np.int64)
    keep = np.flatnonzero(in_scan(graph.day[last_out], first) & monitored(graph)[subject])
    if len(keep) == 0:
        return HitParts.empty()
    offsets, rows = ranges(offsets[keep], offsets[keep + 1], rows)
    in_edge, out_edge, subject = links.in_edge[rows], links.out_edge[rows], subject[keep]
    first_in, last_out = first_in[keep], last_out[keep]
    cut = offsets[1:-1]
    per_hit = lambda values: [list(x) for x in np.split(np.asarray(values, dtype=object), cut)]
    distinct = lambda values: [list(dict.fromkeys(x)) for x in per_hit(values)]
    ins, outs = per_hit(in_edge), per_hit(out_edge)
    in_cents = np.array([graph.amount_cny_cents[list(dict.fromkeys(x))].sum() for x in ins], np.int64)
    out_cents = np.array([graph.amount_cny_cents[list(dict.fromkeys(x))].sum() for x in outs], np.int64)
    date = lambda e: graph.timestamp_ns[e].astype("datetime64[ns]").astype("datetime64[D]").astype(str)
    measures = {name: distinct(graph.account_ids[account[rows]]) for name, account in sides.items()}
    measures.update({
        # each leg hop by hop: [money in, money passed on]
        "leg_txn_ids": [[list(p) for p in zip(a, b)] for a, b in zip(per_hit(graph.txn_ids(in_edge)),
                                                                       per_hit(graph.txn_ids(out_edge)))],
        "leg_amounts": [[list(p) for p in zip(a, b)] for a, b in zip(per_hit(graph.amount_cny[in_edge].tolist()),
                                                                       per_hit(graph.amount_cny[out_edge].tolist()))],
        "leg_dates": [[list(p) for p in zip(a, b)] for a, b in zip(per_hit(date(in_edge)), per_hit(date(out_edge)))],
        "amount_in": in_cents / 100, "amount_out": out_cents / 100,
        "window_unit": np.full(len(keep), unit, object),
    })
    evidence_offsets = offsets * 2
    evidence = np.column_stack([in_edge, out_edge]).reshape(-1)
    return HitParts(np.full(len(keep), typology, object), subject.astype(np.int64),
                    graph.day[first_in].astype(np.int64), graph.day[last_out].astype(np.int64), evidence_offsets,
                    evidence, out_cents, measures, key=graph.txn_ids(first_in).astype(str))


def detect_scatter(graph, params: ScatterParams = ScatterParams(), days=None) -> HitTable:
    """Scatter-gather and gather-scatter hits whose last leg is in the scan range or after
    its first day.

    Parameters
    ----------
    graph : TransactionGraph
    params : ScatterParams
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
    floor = floor_cents(graph, rules, params.min_amount_fraction)
    _, links = graph_links(graph, last, params, params.window_days - 1, floor)
    wday = graph.window_day(params.window_unit)
    payer = graph.src[links.in_edge].astype(np.int64)
    hub = graph.dst[links.in_edge].astype(np.int64)
    payee = graph.dst[links.out_edge].astype(np.int64)
    parts = []
    # scatter-gather: per (source, sink), distinct intermediaries
    two_ends = np.flatnonzero(payer != payee)
    pair = links._make(x[two_ends] for x in links)
    offsets, rows = _clusters(graph, pair, payer[two_ends] * graph.n_accounts + payee[two_ends], hub[two_ends],
                              hub[two_ends], wday, params, params.min_intermediaries, 1)
    sink = payee[two_ends][rows[offsets[:-1]]]
    parts.append(_scatter_parts(graph, pair, offsets, rows, "scatter_gather", sink, first,
                                {"intermediaries": hub[two_ends], "ends": payer[two_ends]}, params.window_unit))
    # gather-scatter: per hub, distinct payers and payees
    offsets, rows = _clusters(graph, links, hub, payer, payee, wday, params, params.min_counterparties,
                              params.min_counterparties)
    parts.append(_scatter_parts(graph, links, offsets, rows, "gather_scatter", hub[rows[offsets[:-1]]], first,
                                {"payers": payer, "payees": payee}, params.window_unit))
    pid, phi = params_fingerprint(params), phi_table(graph, rules)
    return HitTable.concat([hit_table(graph, "scatter_gather", pid, phi, p) for p in parts])


SCATTER = Detector("scatter_gather", ScatterParams, detect_scatter, (
    Typology("scatter_gather", "scatter_gather", 1.0, finds=("scatter_gather",),
             imitated_by=("settlement_layers",), id_measures=("intermediaries", "ends")),
    # a hub passing many payers' money on to many payees; a payment processor's
    # settlement looks alike, so it weighs as the fan combinations do
    Typology("gather_scatter", "scatter_gather", 0.8, finds=("gather_scatter",),
             imitated_by=("settlement_layers",), id_measures=("payers", "payees")),
))

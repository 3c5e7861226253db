"""Time-respecting cycles over forwarding links (issue 12; see :mod:`flowgraph.detectors.flows`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from .._kernels.flows import (
    cycle_starts,
    cycles,
    successors,
)
from ..hits import HitParts, HitTable, hit_table, params_fingerprint, ranges
from ._common import (
    in_scan,
    monitored,
    n_chunks,
    phi_table,
    prepare,
)
from ._contract import Detector, Typology
from ._params import MAX_WINDOW_DAYS, Interval
from .flows import (
    LINK_CONSTRAINTS,
    MAX_SEARCH_BUDGET,
    LinkParams,
    graph_links,
    path_measures,
)


@dataclass(frozen=True)
class CycleParams(LinkParams):
    """Parameters of the time-respecting cycle detector.

    Parameters
    ----------
    window_days : int
        The whole cycle lies within this many window days, first and last day included
        ("short term", 001: 10 business days); at most 250.
    max_hops : int
        Longest cycle, in hops (k, issue 12: 6); at least 2 (A -> B -> A), at most 12.
    search_budget : int
        Link expansions one start edge's search may spend (the enumeration bound).
    window_unit, min_forward_share, forward_tolerance, min_amount_fraction, max_links_per_edge, rule_set
        As for :class:`~flowgraph.detectors.flows.LinkParams` (the unit of window_days).
    """

    window_days: int = 10
    max_hops: int = 6
    search_budget: int = 10_000

    _parameter_constraints: ClassVar[dict] = {
        "window_days": Interval(int, 1, MAX_WINDOW_DAYS),
        "max_hops": Interval(int, 2, 12),
        "search_budget": Interval(int, 1, MAX_SEARCH_BUDGET),
        **LINK_CONSTRAINTS,
    }


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
    n_edges, links, floor = graph_links(graph, rules, last, params)
    # a cycle starts with a material transfer from a monitored account to another account
    succ = successors(links)
    starts = cycle_starts(succ.edge, graph.src, graph.dst, graph.amount_home_cents, monitored(graph), floor, n_edges)
    offsets, path = cycles(starts, graph.arrays, graph.window_day(params.window_unit), succ, params.max_hops,
                           params.window_days, params.search_budget, n_chunks())
    found = np.flatnonzero(np.diff(offsets) > 0)
    rows = found[in_scan(graph.day[path[offsets[found + 1] - 1]], first)]
    if len(rows) == 0:
        return HitTable.empty()
    offsets, path = ranges(offsets[rows], offsets[rows + 1], path)
    first_edge, last_edge = path[offsets[:-1]], path[offsets[1:] - 1]
    out_cents, back_cents = graph.amount_home_cents[first_edge], graph.amount_home_cents[last_edge]
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
    Typology("cycle", "cycle", 0.47, finds=("cycle",), imitated_by=("family_round_trip",),
             id_measures=("path_accounts",)),
), first_day_selects_runs=True)

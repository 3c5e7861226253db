"""Forwarding chains: layering through accounts that pass the money on (issue 12; see
:mod:`flowgraph.detectors.flows`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from .._kernels.flows import (
    follow_chains,
    longest_chains,
    successors,
)
from ..hits import HitParts, HitTable, hit_table, params_fingerprint, ranges, segments
from ._common import (
    in_scan,
    monitored,
    phi_table,
    prepare,
)
from ._contract import Detector, Typology
from ._params import MAX_WINDOW_DAYS, Interval
from .flows import (
    LINK_CONSTRAINTS,
    LinkParams,
    graph_links,
    path_measures,
)


@dataclass(frozen=True)
class ChainParams(LinkParams):
    """Parameters of the forwarding-chain detector.

    Parameters
    ----------
    hop_days : int
        Each hop at most this many window days after the hop before it ("within a few
        days"; flowgraph's choice 3), in [0, 250].
    min_hops : int
        Shortest chain reported, in hops (issue 12: 3), in [2, 100].
    window_unit, min_forward_share, forward_tolerance, min_amount_fraction, max_links_per_edge, rule_set
        As for :class:`~flowgraph.detectors.flows.LinkParams` (the unit of hop_days).
    """

    hop_days: int = 3
    min_hops: int = 3

    _parameter_constraints: ClassVar[dict] = {
        "hop_days": Interval(int, 0, MAX_WINDOW_DAYS),
        "min_hops": Interval(int, 2, 100),
        **LINK_CONSTRAINTS,
    }

    @property
    def link_hop_days(self) -> int:
        """Links are followed hop by hop: each at most ``hop_days`` apart."""
        return self.hop_days


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
    _, links, _ = graph_links(graph, rules, last, params)
    succ = successors(links)
    hops, next_edge = longest_chains(*succ)
    roots = np.setdiff1d(links.in_edge, links.out_edge)  # nobody forwarded this money to its payer
    roots = roots[(hops[np.searchsorted(succ.edge, roots)] >= params.min_hops) & monitored(graph)[graph.dst[roots]]]
    offsets, path = follow_chains(roots, succ.edge, hops, next_edge)
    keep = np.flatnonzero(in_scan(graph.day[path[offsets[1:] - 1]], first))
    if len(keep) == 0:
        return HitTable.empty()
    offsets, path = ranges(offsets[keep], offsets[keep + 1], path)
    first_edge, last_edge = path[offsets[:-1]], path[offsets[1:] - 1]
    in_cents, out_cents = graph.amount_home_cents[first_edge], graph.amount_home_cents[last_edge]
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
    Typology("forwarding_chain", "pass_through", 0.95, finds=("pass_through", "random", "stack"),
             imitated_by=("supplier_chain",), id_measures=("path_accounts",)),
), first_day_selects_runs=True)

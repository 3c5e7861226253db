"""Layered flows: money from several sources through one or two layers of middle accounts
to several sinks (issue 12 item 3; AMLworld's BIPARTITE and STACK; see
:mod:`flowgraph.detectors.flows` for the forwarding links it builds on).

The idea is FlowScope's (Li et al., "FlowScope: Spotting Money Laundering Based on
Graphs", AAAI 2020): laundering shows as a dense multipartite flow, sources -> middle ->
sinks, whose middle accounts pass on about what they receive. flowgraph follows each
payment instead of scoring density: the links ``a -> m -> b`` in which ``m`` forwards a
payment within the window (:func:`~flowgraph.detectors.flows.graph_links`), kept where
``m`` passes on at least ``min_forward_share`` of all the *material* money it received
in the window (every payment at least its sender's materiality floor, the floor the links
share; a cash deposit, which has no sender, at least ``m``'s own floor): a small ordinary
payment into a mule (2,000 CNY against a 5,000 CNY floor) is not money it kept from the
flow, while a business account's material receipts are,
joined into connected components per window, a component a hit when it has at least
``min_sources`` sources, ``min_middle`` middle accounts and ``min_sinks`` sinks (windows,
components and how windows make one hit: :mod:`flowgraph._kernels.layered`).

- ``bipartite``: no middle account pays another: one middle layer;
- ``stack``: some middle account's payee is itself a middle account; the middles paid
  only by middles form the second layer (a deeper chain of middles counts there too).

Scatter-gather (one source, many intermediaries, one sink) is the scatter-gather
detector's finding: a layered flow needs at least two sources and two sinks, so the
two never report the same money twice. A single hub between many payers and payees is
gather-scatter's: ``min_middle`` defaults to 2.

A hit names the layers (``sources``, ``first_layer``, ``second_layer``, ``sinks``), the
flow into and out of each middle layer (``layer_amount_in``, ``layer_amount_out``), and
the money's path link by link (``leg_txn_ids``, ``leg_amounts``, ``leg_dates``: each
payment into a middle account and the payment that passed it on). Subject = the first
intermediary: the middle account of the flow's earliest link (as SPEC §10 names a chain's
first intermediary; the dominant source is often another bank's customer). The hit's id is
anchored at the earliest link of the window that found the flow (its middle account, day
and transaction): a path paid before that but joined to the flow only later becomes the
subject without changing the id, as a pass-through chain's does. A hit whose first
intermediary the bank does not monitor is left out.
A = what reached the sinks (the sum of the distinct payments to them); materiality: every
payment at least its sender's share of the large-value threshold for transfers
(``min_amount_fraction``, the floor all forwarding links share). Key = the anchoring
link's first transaction id.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from .._kernels.layered import layered_clusters, material_running_cents
from .._kernels.flows import ppm
from ..hits import HitParts, HitTable, hit_table, params_fingerprint
from ._common import in_scan, memo, monitored, phi_table, prepare
from ._contract import Detector, Typology
from ._params import MAX_WINDOW_DAYS, Interval
from .flows import LINK_CONSTRAINTS, LinkParams, graph_links, in_edge_columns


@dataclass(frozen=True)
class LayeredParams(LinkParams):
    """Parameters of the layered-flow (bipartite / stack) detector.

    Parameters
    ----------
    window_days : int
        Every link of a window lies within this many window days (001: 10), in [1, 250].
    min_sources, min_sinks : int
        At least this many distinct sources and sinks (2: one of either is scatter-gather's
        or a fan's finding), in [2, 1000].
    min_middle : int
        At least this many middle accounts (2: one is a hub, gather-scatter's finding), in
        [1, 1000].
    window_unit, min_forward_share, forward_tolerance, min_amount_fraction, max_links_per_edge, rule_set
        As for :class:`~flowgraph.detectors.flows.LinkParams` (the unit of window_days);
        ``min_forward_share`` also holds for each middle account as a whole: it passes on at
        least that share of the material money it received in the window (issue 12: "most").
    """

    window_days: int = 10
    min_sources: int = 2
    min_middle: int = 2
    min_sinks: int = 2

    _parameter_constraints: ClassVar[dict] = {
        "window_days": Interval(int, 1, MAX_WINDOW_DAYS),
        "min_sources": Interval(int, 2, 1000),
        "min_middle": Interval(int, 1, 1000),
        "min_sinks": Interval(int, 2, 1000),
        **LINK_CONSTRAINTS,
    }


def _flow_sum(graph, edges) -> int:
    """Cents of the distinct edges."""
    return int(graph.amount_home_cents[np.unique(np.asarray(edges, np.int64))].sum())


def _hit(graph, rows, payer, middle, payee, in_edge, out_edge):
    """Layers, flows and legs of one cluster (its link rows, in-edge order)."""
    ids = graph.account_ids
    middles = set(middle[rows].tolist())
    first_layer = {int(m) for a, m in zip(payer[rows], middle[rows]) if a not in middles}
    in_order = lambda accounts: list(dict.fromkeys(int(x) for x in accounts))
    layer_of = lambda m: 0 if m in first_layer else 1
    sources = [a for a in in_order(payer[rows]) if a not in middles]
    sinks = [b for b in in_order(payee[rows]) if b not in middles]
    layers = [[m for m in in_order(middle[rows]) if layer_of(m) == k] for k in (0, 1)]
    n_layers = 1 + bool(layers[1])
    per_layer = [rows[np.array([layer_of(int(m)) == k for m in middle[rows]])] for k in range(n_layers)]
    to_sinks = out_edge[rows][np.isin(payee[rows], sinks)]
    date = lambda e: graph.timestamp_ns[e].astype("datetime64[ns]").astype("datetime64[D]").astype(str).tolist()
    legs_in, legs_out = in_edge[rows], out_edge[rows]
    return {
        "typology": "stack" if n_layers == 2 else "bipartite",
        "amount_cents": _flow_sum(graph, to_sinks),
        "sources": ids[sources].tolist(), "first_layer": ids[layers[0]].tolist(),
        "second_layer": ids[layers[1]].tolist(), "sinks": ids[sinks].tolist(),
        "n_sources": len(sources), "n_middle": len(middles), "n_sinks": len(sinks), "n_layers": n_layers,
        # per middle layer: what its accounts received in the links and what they passed on
        "layer_amount_in": [_flow_sum(graph, in_edge[r]) / 100 for r in per_layer],
        "layer_amount_out": [_flow_sum(graph, out_edge[r]) / 100 for r in per_layer],
        "amount_in": _flow_sum(graph, in_edge[rows][np.isin(payer[rows], sources)]) / 100,
        "amount_out": _flow_sum(graph, to_sinks) / 100,
        # each link: [payment into the middle account, the payment that passed it on]
        "leg_txn_ids": [list(p) for p in zip(graph.txn_ids(legs_in).tolist(), graph.txn_ids(legs_out).tolist())],
        "leg_amounts": [list(p) for p in zip(graph.amount_home[legs_in].tolist(), graph.amount_home[legs_out].tolist())],
        "leg_dates": [list(p) for p in zip(date(legs_in), date(legs_out))],
    }


MEASURES = ("sources", "first_layer", "second_layer", "sinks", "n_sources", "n_middle", "n_sinks", "n_layers",
            "layer_amount_in", "layer_amount_out", "amount_in", "amount_out", "leg_txn_ids", "leg_amounts",
            "leg_dates")


def detect_layered(graph, params: LayeredParams = LayeredParams(), days=None) -> HitTable:
    """Bipartite and stack hits whose last link is in the scan range or after its first day.

    Parameters
    ----------
    graph : TransactionGraph
    params : LayeredParams
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
    wday = graph.window_day(params.window_unit)  # as the graph keeps it (int32): no copy of the edges' size
    order = np.lexsort((links.in_edge, links.out_edge))  # edge ids are in time order: by window day too
    in_edge, out_edge = links.in_edge[order], links.out_edge[order]
    payer, middle, payee = (x.astype(np.int64) for x in (graph.src[in_edge], graph.dst[in_edge], graph.dst[out_edge]))
    # the floors depend on the rule set and the fraction only: the tolerance band's pass shares the sums
    material = memo(graph, ("material_running_cents", rules, params.min_amount_fraction),
                    lambda: material_running_cents(graph.in_indptr, *in_edge_columns(graph), floor), own=True)
    cluster = layered_clusters(payer, middle, payee, in_edge, out_edge, wday[in_edge].astype(np.int64),
                               wday[out_edge].astype(np.int64),
                               graph.amount_home_cents, graph.in_indptr, graph.in_edges, material, wday, n_edges,
                               params.window_days, params.min_sources, params.min_middle, params.min_sinks,
                               ppm(params.min_forward_share))
    rows = np.flatnonzero(cluster >= 0)
    rows = rows[np.lexsort((out_edge[rows], in_edge[rows], cluster[rows]))]
    keys, starts = np.unique(cluster[rows], return_index=True)
    groups = np.split(rows, starts[1:]) if len(rows) else []
    watched = monitored(graph)
    # rows of a group ascend by in-edge: g[0] is the flow's earliest link
    keep = [(k, g) for k, g in zip(keys.tolist(), groups)
            if watched[middle[g[0]]] and in_scan(graph.day[out_edge[g].max()], first)]
    if not keep:
        return HitTable.empty()
    found = [_hit(graph, g, payer, middle, payee, in_edge, out_edge) for _, g in keep]
    key_rows = np.array([k for k, _ in keep], np.int64)
    evidence = [np.concatenate([in_edge[g], out_edge[g]]) for _, g in keep]
    offsets = np.concatenate([[0], np.cumsum([len(e) for e in evidence])]).astype(np.int64)
    measures = {m: [f[m] for f in found] for m in MEASURES}
    measures["window_unit"] = [params.window_unit] * len(keep)
    first_rows = np.array([g[0] for _, g in keep], np.int64)
    parts = HitParts(np.array([f["typology"] for f in found], object), middle[first_rows],
                     graph.day[in_edge[key_rows]].astype(np.int64),
                     np.array([graph.day[out_edge[g].max()] for _, g in keep], np.int64), offsets,
                     np.concatenate(evidence), np.array([f["amount_cents"] for f in found], np.int64), measures,
                     key=graph.txn_ids(in_edge[key_rows]).astype(str), anchor=middle[key_rows])
    return hit_table(graph, "layered", params_fingerprint(params), phi_table(graph, rules), parts)


LAYERED = Detector("layered", LayeredParams, detect_layered, (
    # the layering stage (001) through accounts that keep nothing, as pass-through chains
    # and forwarding chains are, but spread over several sources and sinks
    Typology("bipartite", "layering", 0.34, finds=("bipartite",), imitated_by=("settlement_layers",),
             id_measures=("sources", "first_layer", "second_layer", "sinks")),
    Typology("stack", "layering", 0.34, finds=("stack",), imitated_by=("settlement_layers", "supplier_chain"),
             id_measures=("sources", "first_layer", "second_layer", "sinks")),
), clusters=True)

"""Scatter-gather through intermediaries and gather-scatter through a hub (issue 12; see
:mod:`flowgraph.detectors.flows`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pandas as pd

from .._kernels.flows import (
    PPM,
    group_flows,
    ppm,
)
from ..hits import HitParts, HitTable, hit_ids, hit_table, params_fingerprint, ranges
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
    LinkParams,
    graph_links,
    in_cum_cents,
)


@dataclass(frozen=True)
class ScatterParams(LinkParams):
    """Parameters of the scatter-gather / gather-scatter detector.

    Parameters
    ----------
    window_days : int
        Every leg of a hit's window lies within this many window days (001: 10), in
        [1, 250].
    min_intermediaries : int
        Scatter-gather: at least this many distinct intermediaries between one source and
        one sink (flowgraph's choice 3), in [2, 1000].
    min_counterparties : int
        Gather-scatter: at least this many distinct payers and payees whose money passes
        through the hub (SPEC §3.1's "many": 5), in [2, 1000].
    window_unit, min_forward_share, forward_tolerance, min_amount_fraction, max_links_per_edge, rule_set
        As for :class:`~flowgraph.detectors.flows.LinkParams` (the unit of window_days).
    """

    window_days: int = 10
    min_intermediaries: int = 3
    min_counterparties: int = 5

    _parameter_constraints: ClassVar[dict] = {
        "window_days": Interval(int, 1, MAX_WINDOW_DAYS),
        "min_intermediaries": Interval(int, 2, 1000),
        "min_counterparties": Interval(int, 2, 1000),
        **LINK_CONSTRAINTS,
    }


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


def _hub_keeps_little(graph, links, offsets, rows, hub, wday, share):
    """Per gather-scatter cluster (``rows[offsets[i]:offsets[i + 1]]``), whether the
    payments its links carried into the hub (distinct in-edges) are at least ``share`` of
    everything the hub received on the window days from its first link's payment in to
    its last link's payment out."""
    keep = np.zeros(len(offsets) - 1, bool)
    in_cum = in_cum_cents(graph)
    for c in range(len(keep)):
        cluster = rows[offsets[c]:offsets[c + 1]]
        in_edge, out_edge = links.in_edge[cluster], links.out_edge[cluster]
        m = int(hub[c])
        lo, hi = graph.in_indptr[m], graph.in_indptr[m + 1]
        days = wday[graph.in_edges[lo:hi]]  # in-edges ascend by id, so by window day
        a = lo + np.searchsorted(days, wday[in_edge.min()], "left")
        b = lo + np.searchsorted(days, wday[out_edge.max()], "right")
        carried = int(graph.amount_home_cents[np.unique(in_edge)].sum())
        keep[c] = carried * PPM >= ppm(share) * int(in_cum[b] - in_cum[a])
    return keep


def _dropped(graph, links, offsets, rows, hub, first, params_id) -> pd.DataFrame:
    """The gather-scatter hits (``hit_id, run_first``: :attr:`HitTable.dropped`) that the
    clusters (``rows[offsets[i]:offsets[i + 1]]``) the hub test rejected would be, for
    those a scan of ``first`` onward reports: traced over fewer days, such a cluster may
    have passed, and its hit been stored under this id. With each, its evidence
    (``txn_ids``): a hit of its first days anchored at a later link (the cluster's earlier
    links joined it only with later days) is part of it too, and out of date."""
    start = offsets[:-1]
    first_in = np.minimum.reduceat(links.in_edge[rows], start) if len(start) else np.zeros(0, np.int64)
    last_out = np.maximum.reduceat(links.out_edge[rows], start) if len(start) else np.zeros(0, np.int64)
    shown = np.flatnonzero(in_scan(graph.day[last_out], first) & monitored(graph)[hub])
    run_first = graph.day[first_in[shown]]
    offsets, rows = ranges(offsets[shown], offsets[shown + 1], rows)
    evidence = graph.txn_ids(np.column_stack([links.in_edge[rows], links.out_edge[rows]]).reshape(-1))
    return pd.DataFrame({
        "hit_id": hit_ids(graph, "scatter_gather", params_id, np.full(len(shown), "gather_scatter", object),
                          hub[shown], run_first, graph.txn_ids(first_in[shown]).astype(str)),
        "run_first": graph.business_days[run_first].astype("datetime64[ns]"),
        "txn_ids": [list(dict.fromkeys(evidence[2 * lo:2 * hi])) for lo, hi in zip(offsets[:-1], offsets[1:])]})


def _dates(graph, edges) -> np.ndarray:
    """The calendar date of each edge as ISO text (each distinct date formatted once)."""
    days, inverse = np.unique(graph.timestamp_ns[edges].astype("datetime64[ns]").astype("datetime64[D]"),
                              return_inverse=True)
    return days.astype(str)[inverse.reshape(-1)]


def _legs(money_in, passed_on, bounds) -> list:
    """Per hit (``bounds``: its rows ``lo, hi``), its legs as ``[money in, passed on]``
    lists, made in one go (a hub's hit may hold millions of legs)."""
    pairs = np.column_stack([money_in, passed_on]).tolist()
    return [pairs[lo:hi] for lo, hi in bounds]


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
    bounds = list(zip(offsets[:-1].tolist(), offsets[1:].tolist()))
    per_hit = lambda values: [list(x) for x in np.split(np.asarray(values, dtype=object), cut)]
    distinct = lambda values: [list(dict.fromkeys(x)) for x in per_hit(values)]
    legs = lambda a, b: _legs(a, b, bounds)
    distinct_cents = lambda edges: np.array([graph.amount_home_cents[np.unique(x)].sum() for x in np.split(edges, cut)],
                                            np.int64)
    in_cents, out_cents = distinct_cents(in_edge), distinct_cents(out_edge)
    measures = {name: distinct(graph.account_ids[account[rows]]) for name, account in sides.items()}
    measures.update({
        # each leg hop by hop: [money in, money passed on]
        "leg_txn_ids": legs(graph.txn_ids(in_edge), graph.txn_ids(out_edge)),
        "leg_amounts": legs(graph.amount_home[in_edge], graph.amount_home[out_edge]),
        "leg_dates": legs(_dates(graph, in_edge), _dates(graph, out_edge)),
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
    _, links, _ = graph_links(graph, rules, last, params)
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
    # gather-scatter: per hub, distinct payers and payees, the hub passing on most of what it got
    offsets, rows = _clusters(graph, links, hub, payer, payee, wday, params, params.min_counterparties,
                              params.min_counterparties)
    passes = _hub_keeps_little(graph, links, offsets, rows, hub[rows[offsets[:-1]]], wday, params.min_forward_share)
    pid, phi = params_fingerprint(params), phi_table(graph, rules)
    # a cluster the test rejects once grown: the hit of its first days is out of date
    rejected = np.flatnonzero(~passes)
    dropped = _dropped(graph, links, *ranges(offsets[rejected], offsets[rejected + 1], rows),
                       hub[rows[offsets[rejected]]], first, pid)
    kept = np.flatnonzero(passes)
    offsets, rows = ranges(offsets[kept], offsets[kept + 1], rows)
    parts.append(_scatter_parts(graph, links, offsets, rows, "gather_scatter", hub[rows[offsets[:-1]]], first,
                                {"payers": payer, "payees": payee}, params.window_unit))
    return HitTable.concat([hit_table(graph, "scatter_gather", pid, phi, p) for p in parts] +
                           [HitTable.empty(dropped)])


SCATTER = Detector("scatter_gather", ScatterParams, detect_scatter, (
    Typology("scatter_gather", "scatter_gather", 0.19, finds=("scatter_gather",),
             imitated_by=("settlement_layers",), id_measures=("intermediaries", "ends")),
    # a hub passing many payers' money on to many payees; a payment processor's
    # settlement looks alike, so it weighs as the fan combinations do
    Typology("gather_scatter", "scatter_gather", 0.11, finds=("gather_scatter",),
             imitated_by=("settlement_layers",), id_measures=("payers", "payees")),
), clusters=True)

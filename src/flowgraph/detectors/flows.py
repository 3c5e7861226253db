"""Multi-hop flows (issue 12), what their detectors share: money followed hop by hop through forwarding links
(:mod:`flowgraph._kernels.flows`: an account passes on, soon after, between
``min_forward_share`` of what it held of the money received since a payment came in and
``1 + forward_tolerance`` of that payment; a busy business account paying a bill close
in amount to one of many receipts is no forwarder).

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
  payment through the hub), and the payments so forwarded are at least
  ``min_forward_share`` of everything the hub received on the window days from the hit's
  first payment in to its last payment out; subject = the hub. Why the last rule: a
  payment processor settling its merchants also forwards most of what it takes, but as
  sums of many payments, so a few of its receipts match a settlement by chance while
  most of its takings are not passed on one for one (on simulated banks such
  coincidences carried 17-55 % of a processor's receipts, a laundering hub's links
  100 %); a laundering hub's own unrelated income of a few percent still passes.

Consecutive qualifying windows of a group make one hit whose evidence is every leg
(in-edge and out-edge of each link) of those windows; A = the amount passed on (the sum
of the distinct out-edges); key = the first leg's transaction id.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from .._kernels.csr import in_edge_order
from .._kernels.flows import (
    forwarding_links,
    ppm,
    within_hop,
)
from ..graph import WINDOW_UNITS
from ._common import (
    cents,
    memo,
    n_chunks,
    share_cents,
    transfer_threshold,
)
from ._params import Interval, KnownRuleSet, Options, validate_params

#: Most link expansions one search may spend (a bound on a user's budget, not a default).
MAX_SEARCH_BUDGET = 10**8


def floor_cents(graph, rules, fraction: float) -> np.ndarray:
    """Per account, the least amount (int cents) of an edge it sends that takes part:
    ``fraction`` × its large-value threshold for transfers, rounded up."""
    return share_cents(fraction, cents(transfer_threshold(graph, rules)))


def graph_links(graph, rules, last: int, params: "LinkParams"):
    """Forwarding links among the edges up to business day ``last`` for ``params``
    (``window_unit``, ``min_forward_share``, ``forward_tolerance``, ``min_amount_fraction``,
    ``max_links_per_edge``, at most ``params.link_hop_days`` apart) and each account's
    materiality floor (int cents). The links are found once per graph and link parameters
    (:func:`memo`): cycles and scatter-gather with the same window share them, and a
    detector whose hops are shorter (forwarding chains) filters the longer set
    :func:`plan_links` announced (:func:`~flowgraph._kernels.flows.within_hop`: exact, the
    earliest links within a shorter hop are the first of those within a longer one).

    Returns
    -------
    n_edges, links, floor_cents
    """
    floor = floor_cents(graph, rules, params.min_amount_fraction)
    fields = _link_fields(params)
    hop_days = params.link_hop_days
    longest = max(hop_days, memo(graph, ("link_hops",), dict).get(fields, 0))
    key = ("forwarding_links", rules, last, longest, *fields)

    def find():
        n_edges = int(graph.day_indptr[last + 1])
        _, links = forwarding_links(graph.arrays, graph.window_day(params.window_unit), n_edges, longest,
                                    ppm(params.min_forward_share), ppm(params.forward_tolerance), floor,
                                    params.max_links_per_edge, n_chunks(), *in_edge_columns(graph))
        return n_edges, links

    n_edges, links = memo(graph, key, find)
    if longest > hop_days:
        links = memo(graph, (*key, hop_days),
                     lambda: within_hop(links, graph.window_day(params.window_unit), hop_days))
    return n_edges, links, floor


def plan_links(graph, params_versions) -> None:
    """Announce to :func:`graph_links` the longest hop any of ``params_versions`` (every
    detector's parameters a scan will run, strict and tolerance-band) asks of one set of
    link parameters: the set is then found once, at that hop, whichever detector asks first."""
    planned = memo(graph, ("link_hops",), dict)
    for params in params_versions:
        if isinstance(params, LinkParams):
            fields = _link_fields(params)
            planned[fields] = max(planned.get(fields, 0), params.link_hop_days)


def _link_fields(params: "LinkParams") -> tuple:
    """What a set of forwarding links depends on besides the graph, the last day and the hop."""
    return (params.rule_set, params.window_unit, params.min_forward_share, params.forward_tolerance,
            params.min_amount_fraction, params.max_links_per_edge)


def in_edge_columns(graph) -> tuple[np.ndarray, np.ndarray]:
    """The sender and the cents of each edge in the order of ``graph.in_edges``, gathered
    once per graph (every set of links and the layered flows' running sums read them)."""
    return memo(graph, ("in_edge_columns",),
                lambda: in_edge_order(graph.in_edges, graph.src, graph.amount_home_cents))


def in_cum_cents(graph) -> np.ndarray:
    """Running sum of the cents of ``graph.in_edges`` (what an account received over a
    range of its in-edges is a difference of two entries)."""
    def running():
        cents = in_edge_columns(graph)[1]
        out = np.zeros(len(cents) + 1, np.int64)
        np.cumsum(cents, out=out[1:])  # into the result: one array of the edges' size, not three
        return out

    return memo(graph, ("in_cum_cents",), running)


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
        "hop_amounts": split(graph.amount_home[path].tolist()),
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
class LinkParams:
    """The parameters every detector built on forwarding links shares (the base of their
    frozen dataclasses, checked against :data:`LINK_CONSTRAINTS`), with validation and the
    tolerance band's version.

    Parameters
    ----------
    window_unit : {"business", "calendar"}
        What the detector's day counts count: business days of the scan's calendar
        (default) or calendar days.
    min_forward_share : float
        Each account passes on at least this share of what it received (fees and skims
        are at most 1 minus it; flowgraph's choice 0.9), in [0, 1], to the millionth.
    forward_tolerance : float
        ... and at most ``1 + forward_tolerance`` times it (0.05: 001's pass-through
        tolerance), in [0, 1], to the millionth.
    min_amount_fraction : float
        Every edge is at least this x its sender's large-value threshold for transfers
        (materiality; 1 % is 5,000 CNY for a person, as the fan detector's de minimis).
    max_links_per_edge : int
        Forwarding links kept per received payment, the earliest (bounds hubs).
    rule_set : str
        Rule set whose thresholds apply (``flowgraph.config.RULE_SETS``).
    """

    window_unit: str = "business"
    min_forward_share: float = 0.9
    forward_tolerance: float = 0.05
    min_amount_fraction: float = 0.01
    max_links_per_edge: int = 32
    rule_set: str = "PBOC-2016"

    def __post_init__(self) -> None:
        validate_params(self)

    @property
    def link_hop_days(self) -> int:
        """The most window days between the two edges of a link the detector follows: a
        window of ``window_days`` holds hops up to ``window_days - 1`` apart (forwarding
        chains: ``hop_days``)."""
        return self.window_days - 1

    def relaxed(self, band: float):
        """The tolerance band's version (004 ch.2 §4): the forwarded share and the
        materiality floor lowered by ``band`` (counts stay: one account fewer is another
        pattern)."""
        return dataclasses.replace(self, min_forward_share=self.min_forward_share * (1 - band),
                                   min_amount_fraction=self.min_amount_fraction * (1 - band))

"""Pictures for investigators (matplotlib).

Every function returns a ``matplotlib.figure.Figure`` and draws no id in clear: account
and customer labels are keyed pseudonyms (:mod:`flowgraph.deid`) unless the caller
passes ``reveal_ids=True``.

- :func:`hit_subgraph`: a hit's accounts and flows, arrows sized by amount (legend),
  numbered and coloured in time order and labelled with amounts and dates, the subject
  highlighted, every label inside the figure;
- :func:`money_path`: a multi-hop hit's money hop by hop, left to right;
- :func:`daily_flows`: an account's daily in- and outflow with the threshold lines and a
  pass-through run marked;
- :func:`structuring_band`: the near-threshold band 0.8 Φ .. Φ of an account's amounts,
  with σ;
- :func:`ceiling_surface`: W(N, D) over D <= 25 and N <= 12 (001's Figure 2);
- :func:`utilisation`: a hit's amount against its W(N, D) ceiling.
"""

from __future__ import annotations

import json
import math

import matplotlib.pyplot as plt
import networkx as nx
from matplotlib.ticker import MaxNLocator
import numpy as np

from .ceiling import W
from .config import CHANNELS, get_rule_set
from .deid import Pseudonymizer, load_key
from .detectors._common import edge_phi_ratio, phi_table


def _namer(reveal_ids: bool, key_file=None):
    if reveal_ids:
        return lambda x, kind="account": x
    return Pseudonymizer(load_key(key_file))


def _hit_value(hit, name):
    """A field of a Hit, a hits-table row or a dict."""
    return hit[name] if isinstance(hit, dict) else getattr(hit, name)


def evidence_edges(graph, txn_ids) -> np.ndarray:
    """Edge ids of the given transaction ids."""
    return np.flatnonzero(np.isin(graph.txn_ids(slice(None)), list(txn_ids)))


#: Transactions between one pair of accounts listed one per line on their arrow; more are
#: summarised (count, sum, first and last date) so labels stay readable.
EDGE_LABEL_LINES = 3


#: How amounts of a home currency are written on the pictures (others: the ISO code and a space).
CURRENCY_SIGNS = {"CNY": "¥", "USD": "$", "EUR": "€", "GBP": "£", "JPY": "JP¥", "HKD": "HK$"}


def money(amount: float, currency: str) -> str:
    """An amount as a picture shows it: the currency's sign (or code) and whole units."""
    sign = CURRENCY_SIGNS.get(currency, f"{currency} ")
    return f"{sign}{amount:,.0f}"


def _edge_label(rows, currency: str) -> str:
    """The label of the arrows between two accounts: order numbers, amounts (in
    ``currency``, the graph's home currency) and dates."""
    if len(rows) <= EDGE_LABEL_LINES:
        return "\n".join(f"#{k} {money(amount, currency)} {str(when)[5:10]}" for k, amount, when in rows)
    first, last = rows[0], rows[-1]
    return (f"#{first[0]}..#{last[0]}: {len(rows)} txns\n{money(sum(r[1] for r in rows), currency)} "
            f"{str(first[2])[5:10]}..{str(last[2])[5:10]}")


def _width_legend(ax, max_amount: float, width_of, currency: str) -> None:
    """A legend that reads arrow widths as amounts."""
    from matplotlib.lines import Line2D

    shares = (1.0, 0.5, 0.1)
    handles = [Line2D([], [], color="grey", linewidth=width_of(max_amount * s)) for s in shares]
    ax.legend(handles, [money(max_amount * s, currency) for s in shares], title="arrow width = amount",
              fontsize=7, title_fontsize=7, loc="lower left", framealpha=0.8)


def _inside(pos: dict) -> dict:
    """Layout positions scaled into [0, 1] on both axes (the axes leave room around them
    for labels)."""
    xy = np.array(list(pos.values()), dtype=float).reshape(-1, 2)
    lo, span = xy.min(axis=0), np.ptp(xy, axis=0)
    span[span == 0] = 1.0
    return {n: tuple((np.asarray(p) - lo) / span) for n, p in pos.items()}


#: Room around the layout, in layout units (the layout spans [0, 1]): node and edge labels
#: are drawn inside the axes.
LABEL_MARGIN = 0.22


def hit_subgraph(graph, hit, reveal_ids: bool = False, key_file=None):
    """A hit's evidence as a directed graph.

    Parameters
    ----------
    graph : TransactionGraph
    hit : Hit or row of a hits table (``subject``, ``txn_ids``, ``typology``)
    reveal_ids : bool
        Label nodes with real account ids (default: pseudonyms).
    key_file : path, optional
        Pseudonym key.

    Returns
    -------
    matplotlib.figure.Figure
        One axes; one node per account (plus "(cash)"), one arrow per transaction, its
        width proportional to the amount (legend) and its colour to its order in time;
        each pair of accounts labelled with the order numbers, amounts (home currency) and dates of
        its transactions (summarised beyond :data:`EDGE_LABEL_LINES`). Every label lies
        inside the figure.
    """
    name = _namer(reveal_ids, key_file)
    edges = evidence_edges(graph, _hit_value(hit, "txn_ids"))
    frame = graph.edge_frame(edges).sort_values("timestamp", kind="stable")
    subject = _hit_value(hit, "subject")
    g = nx.MultiDiGraph()
    for r in frame.itertuples():
        g.add_edge(r.src_account or "(cash)", r.dst_account or "(cash)", amount=r.amount_home, when=r.timestamp)
    fig, ax = plt.subplots(figsize=(10, 7))
    pos = nx.kamada_kawai_layout(nx.Graph(g)) if g.number_of_nodes() > 2 else nx.spring_layout(g, seed=1)
    pos = _inside(pos) if len(pos) else pos
    colors = ["tab:red" if n == subject else ("lightgrey" if n == "(cash)" else "tab:blue") for n in g.nodes]
    nx.draw_networkx_nodes(g, pos, ax=ax, node_color=colors, node_size=[700 if n == subject else 350 for n in g.nodes])
    labels = {n: n if n == "(cash)" else name(n) for n in g.nodes}
    for n, (x, y) in pos.items():  # below the node, so the arrows' ends stay visible
        ax.text(x, y - 0.045, labels[n], fontsize=7, ha="center", va="top",
                bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.8})
    amounts = frame["amount_home"].to_numpy()
    max_amount = float(amounts.max()) if len(amounts) else 1.0
    width_of = lambda amount: 0.8 + 5 * amount / max_amount  # noqa: E731
    cmap = plt.get_cmap("viridis")
    order = np.linspace(0, 1, max(len(frame), 1))
    pairs: dict[tuple, list] = {}
    for k, r in enumerate(frame.itertuples()):
        u, v = r.src_account or "(cash)", r.dst_account or "(cash)"
        nx.draw_networkx_edges(g, pos, edgelist=[(u, v)], ax=ax, width=width_of(r.amount_home),
                               edge_color=[cmap(order[k])], arrows=True, arrowsize=14,
                               connectionstyle=f"arc3,rad={0.08 * (k % 5)}")
        pairs.setdefault((u, v), []).append((k + 1, r.amount_home, r.timestamp))
    for (u, v), rows in pairs.items():
        mid = (np.asarray(pos[u]) + np.asarray(pos[v])) / 2
        ax.text(*mid, _edge_label(rows, graph.home_currency), fontsize=6.5, ha="center", va="center",
                bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.75})
    if len(frame):
        _width_legend(ax, max_amount, width_of, graph.home_currency)
    sm = plt.cm.ScalarMappable(cmap=cmap, norm=plt.Normalize(1, max(len(frame), 1)))
    bar = fig.colorbar(sm, ax=ax, label="transaction order in time (#)", shrink=0.8)
    bar.ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlim(-LABEL_MARGIN, 1 + LABEL_MARGIN)
    ax.set_ylim(-LABEL_MARGIN, 1 + LABEL_MARGIN)
    ax.set_title(f"{_hit_value(hit, 'typology')}\nsubject {name(subject)} (red): "
                 f"{len(frame)} transactions, {g.number_of_nodes()} accounts; labels: #order amount MM-DD "
                 f"({graph.home_currency})",
                 fontsize=10)
    ax.set_axis_off()
    fig.tight_layout()
    return fig


#: Measures that list a hit's money path hop by hop: one path of transaction ids
#: (cycles, forwarding chains) or several legs (scatter-gather, layering).
PATH_MEASURES = ("path_txn_ids", "leg_txn_ids")


def money_legs(hit) -> list[list[str]] | None:
    """The legs of a multi-hop hit's money path as lists of transaction ids in hop order,
    from its measures (:data:`PATH_MEASURES`); None when it lists none."""
    measures = _hit_value(hit, "measures")
    measures = json.loads(measures) if isinstance(measures, str) else dict(measures)
    if measures.get("path_txn_ids"):
        return [list(measures["path_txn_ids"])]
    if measures.get("leg_txn_ids"):
        return [list(leg) for leg in measures["leg_txn_ids"]]
    return None


def is_multi_hop(hit) -> bool:
    """Whether a hit's money passes through other accounts on its way: its measures list a
    path (:func:`money_legs`) or its typology names accounts besides the subject (the
    registry's ``id_measures``: chain members, intermediaries, layers)."""
    from .detectors import TYPOLOGIES

    typology = TYPOLOGIES.get(_hit_value(hit, "typology"))
    return money_legs(hit) is not None or bool(typology is not None and typology.id_measures)


def _hop_columns(frame) -> list[tuple]:
    """Column of each edge's ends when a hit lists no path: an account's column is one
    more than that of any account that paid it earlier in the evidence (time order)."""
    depth: dict = {}
    ends = []
    for r in frame.itertuples():
        u, v = r.src_account or "(cash)", r.dst_account or "(cash)"
        depth.setdefault(u, 0)
        depth[v] = max(depth.get(v, 0), depth[u] + 1) if v != u else depth[u]
        ends.append((u, v))
    return [((depth[u], u), (depth[v], v)) for u, v in ends]


def money_path(graph, hit, reveal_ids: bool = False, key_file=None):
    """The path of a multi-hop hit's money, left to right, hop by hop.

    Parameters
    ----------
    graph : TransactionGraph
    hit : Hit or row of a hits table (``subject``, ``txn_ids``, ``typology``, ``measures``)
    reveal_ids : bool
    key_file : path, optional

    Returns
    -------
    matplotlib.figure.Figure or None
        Columns are hops: with a path in the measures (:func:`money_legs`) an account is
        drawn at each position it holds on a leg (a cycle's start at both ends); without,
        at its depth in the evidence. Arrows carry order numbers, amounts and dates, their
        width the amount (legend). None when the money makes fewer than two hops.
    """
    name = _namer(reveal_ids, key_file)
    frame = graph.edge_frame(evidence_edges(graph, _hit_value(hit, "txn_ids"))).sort_values("timestamp",
                                                                                             kind="stable")
    by_id = {t: r for t, r in zip(frame["txn_id"], frame.itertuples())}
    legs = money_legs(hit)
    hops = []  # (from node, to node, row); a node is (column, account)
    if legs:
        for leg in legs:
            for k, t in enumerate(x for x in leg if x in by_id):
                r = by_id[t]
                hops.append(((k, r.src_account or "(cash)"), (k + 1, r.dst_account or "(cash)"), r))
    else:
        hops = [(u, v, r) for (u, v), r in zip(_hop_columns(frame), frame.itertuples())]
    if not hops or max(v[0] for _, v, _ in hops) < 2:
        return None
    hops.sort(key=lambda h: h[2].timestamp)
    columns: dict[int, list] = {}
    for u, v, _ in hops:
        for node in (u, v):
            if node not in columns.setdefault(node[0], []):
                columns[node[0]].append(node)
    n_cols, tallest = max(columns) + 1, max(len(c) for c in columns.values())
    xy = {node: (col / max(n_cols - 1, 1), (i + 0.5) / len(nodes)) for col, nodes in columns.items()
          for i, node in enumerate(nodes)}
    if tallest == 1:  # one path: zigzag, so arrow labels sit between the account boxes, not on them
        xy = {node: (x, 0.3 if node[0] % 2 else 0.7) for node, (x, _) in xy.items()}
    fig, ax = plt.subplots(figsize=(max(8, 2.6 * n_cols), max(4, 0.9 * tallest + 2)))
    max_amount = max(float(r.amount_home) for _, _, r in hops)
    width_of = lambda amount: 0.8 + 5 * amount / max_amount  # noqa: E731
    subject = _hit_value(hit, "subject")
    pairs: dict[tuple, list] = {}
    for k, (u, v, r) in enumerate(hops):
        ax.annotate("", xy=xy[v], xytext=xy[u], arrowprops={"arrowstyle": "-|>", "lw": width_of(r.amount_home),
                                                            "color": "tab:blue", "shrinkA": 18, "shrinkB": 18})
        pairs.setdefault((u, v), []).append((k + 1, r.amount_home, r.timestamp))
    for (u, v), rows in pairs.items():
        mid = (np.asarray(xy[u]) + np.asarray(xy[v])) / 2
        ax.text(*mid, _edge_label(rows, graph.home_currency), fontsize=6.5, ha="center", va="center",
                bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.85})
    for (col, account), (x, y) in xy.items():
        label = account if account == "(cash)" else name(account)
        ax.text(x, y, label, fontsize=7, ha="center", va="center",
                bbox={"boxstyle": "round,pad=0.3", "ec": "tab:red" if account == subject else "grey",
                      "fc": "mistyrose" if account == subject else "white"})
    _width_legend(ax, max_amount, width_of, graph.home_currency)
    ax.set_xlim(-LABEL_MARGIN, 1 + LABEL_MARGIN)
    ax.set_ylim(-LABEL_MARGIN / 2, 1 + LABEL_MARGIN / 2)
    ax.set_xticks([c / max(n_cols - 1, 1) for c in range(n_cols)], [f"hop {c}" for c in range(n_cols)])
    ax.tick_params(axis="x", length=0, labelsize=8)
    ax.set_yticks([])
    for side in ax.spines.values():
        side.set_visible(False)
    ax.set_title(f"path of the money: {_hit_value(hit, 'typology')}, subject {name(subject)} (red)\n"
                 f"{len(hops)} transactions in {n_cols - 1} hops; labels: #order amount MM-DD ({graph.home_currency})",
                 fontsize=10)
    fig.tight_layout()
    return fig


def daily_flows(graph, account: str, days: tuple[int, int] | None = None, run: tuple[str, str] | None = None,
                rule_set: str = "PBOC-2016", reveal_ids: bool = False, key_file=None,
                run_label: str = "pass-through run", channels: tuple[str, ...] = ("transfer",)):
    """An account's daily inflow and outflow (in the graph's home currency) with its threshold lines.

    Parameters
    ----------
    graph : TransactionGraph
    account : str
        The user's account id.
    days : (int, int), optional
        Business-day indices to show; default every day with a flow, with a margin.
    run : (str, str), optional
        First and last date of a pass-through run (or any hit window) to mark.
    rule_set : str
    reveal_ids : bool
    key_file : path, optional
    run_label : str
        Legend text of the marked days.
    channels : tuple of str
        Methods (:data:`flowgraph.config.CHANNELS`) whose thresholds are drawn: those a hit
        is about (a cash structuring hit's Φ is the cash threshold, not the transfer one).

    Returns
    -------
    matplotlib.figure.Figure
        One axes with two bar series (in, out), horizontal lines at Φ and 0.8 Φ of the
        account's ``channels``, and the run shaded.

    Raises
    ------
    ValueError
        A channel not in :data:`flowgraph.config.CHANNELS`.
    """
    unknown = [c for c in channels if c not in CHANNELS]
    if unknown or not channels:
        raise ValueError(f"The 'channels' parameter of daily_flows must be a non-empty tuple of {CHANNELS}. "
                         f"Got {tuple(channels)!r} instead.")
    name = _namer(reveal_ids, key_file)
    a = graph.account_index(account)
    if days is None:
        ins, outs = graph.in_edges_of(a), graph.out_edges_of(a)
        active = np.concatenate([graph.day[ins], graph.day[outs]])
        lo, hi = (int(active.min()), int(active.max())) if len(active) else (0, 0)
        days = (max(0, lo - 2), min(graph.n_days - 1, hi + 2))
    ins, outs = graph.in_edges_of(a, days), graph.out_edges_of(a, days)
    ins, outs = ins[graph.src[ins] != a], outs[graph.dst[outs] != a]
    span = np.arange(days[0], days[1] + 1)
    day_in = np.bincount(graph.day[ins] - days[0], weights=graph.amount_home[ins], minlength=len(span))[:len(span)]
    day_out = np.bincount(graph.day[outs] - days[0], weights=graph.amount_home[outs], minlength=len(span))[:len(span)]
    phis = phi_table(graph, get_rule_set(rule_set))[a]
    fig, ax = plt.subplots(figsize=(10, 4.5))
    x = np.arange(len(span))
    ax.bar(x - 0.2, day_in, width=0.4, label="inflow", color="tab:green")
    ax.bar(x + 0.2, day_out, width=0.4, label="outflow", color="tab:orange")
    for channel, color in zip(dict.fromkeys(channels), ("tab:red", "tab:blue", "tab:brown")):
        phi = phis[CHANNELS.index(channel)]
        ax.axhline(phi, color=color, linestyle="--", label=f"Φ = {phi:,.0f} ({channel} large-value threshold)")
        ax.axhline(0.8 * phi, color=color, linestyle=":", label=f"0.8 Φ = {0.8 * phi:,.0f}")
    if run is not None:
        dates = graph.business_days[span]
        inside = np.flatnonzero((dates >= np.datetime64(run[0])) & (dates <= np.datetime64(run[1])))
        if len(inside):
            ax.axvspan(inside[0] - 0.5, inside[-1] + 0.5, color="tab:purple", alpha=0.15, label=run_label)
    labels = [str(d)[5:] for d in graph.business_days[span]]
    step = max(1, len(labels) // 15)
    ax.set_xticks(x[::step], labels[::step], rotation=45, fontsize=8)
    ax.set_xlabel("business day")
    ax.set_ylabel(f"{graph.home_currency} per business day")
    ax.set_title(f"daily flows of {name(account)}")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def structuring_band(graph, account: str, channel: str = "cash", rule_set: str = "PBOC-2016",
                     days: tuple[int, int] | None = None, bins: int = 20, reveal_ids: bool = False, key_file=None):
    """Histogram of an account's amounts in the near-threshold band 0.8 Φ .. Φ.

    Parameters
    ----------
    graph : TransactionGraph
    account : str
    channel : str
        Method: ``cash``, ``transfer`` or ``cross_border``.
    rule_set : str
    days : (int, int), optional
        Business-day indices; default all.
    bins : int
        Bars across the band.
    reveal_ids : bool
    key_file : path, optional

    Returns
    -------
    matplotlib.figure.Figure
        One axes, ``bins`` bars over [0.8, 1.0) in units of Φ, σ in the title.
    """
    name = _namer(reveal_ids, key_file)
    a = graph.account_index(account)
    edges = np.concatenate([graph.in_edges_of(a, days), graph.out_edges_of(a, days)])
    edges = np.unique(edges[graph.channel[edges] == CHANNELS.index(channel)])
    ratio = edge_phi_ratio(graph, get_rule_set(rule_set))[edges]
    band = ratio[(ratio >= 0.8) & (ratio < 1.0)]
    sigma = float(band.std()) if len(band) else float("nan")
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.hist(band, bins=np.linspace(0.8, 1.0, bins + 1), color="tab:blue", edgecolor="white")
    ax.axvline(1.0, color="tab:red", linestyle="--", label="Φ")
    ax.axvline(0.95, color="grey", linestyle=":", label="0.95 Φ")
    ax.set_xlim(0.78, 1.02)
    ax.set_xlabel("amount / Φ")
    ax.set_ylabel("transactions")
    ax.set_title(f"near-threshold band of {name(account)} ({channel})\n{len(band)} of {len(ratio)} "
                 f"transactions in 0.8 Φ .. Φ, σ = {sigma:.3f} Φ", fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def ceiling_surface(max_days: int = 25, max_accounts: int = 12):
    """W(N, D) over D = 1..``max_days`` and N = 1..``max_accounts`` (001's Figure 2); the
    step between N = 2 and N = 3 is the model's and shows as a fold.

    Returns
    -------
    matplotlib.figure.Figure
        A 3-D surface (left) and one line per N (right).
    """
    n, d = np.meshgrid(np.arange(1, max_accounts + 1), np.arange(1, max_days + 1), indexing="ij")
    w = W(n, d)
    fig = plt.figure(figsize=(12, 5))
    ax3 = fig.add_subplot(1, 2, 1, projection="3d")
    ax3.plot_surface(d, n, w, cmap="viridis", edgecolor="none")
    ax3.set_xlabel("D (business days)")
    ax3.set_ylabel("N (accounts)")
    ax3.set_zlabel("W(N, D)")
    ax3.set_title("absolute transfer ceiling W(N, D)")
    ax = fig.add_subplot(1, 2, 2)
    for k in range(max_accounts):
        ax.plot(d[k], w[k], label=f"N = {k + 1}", linewidth=2.2 if k + 1 in (2, 3) else 1.0)
    ax.set_xlabel("D (business days)")
    ax.set_ylabel("W(N, D)")
    ax.set_title("W by N: a third account lowers the ceiling (N = 2 → 3)")
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    return fig


def utilisation(hit, reveal_ids: bool = False, key_file=None, currency: str = "CNY"):
    """A hit's amount A against its ceiling Σ W(N, D) · Φ_m, per method.

    Parameters
    ----------
    hit : Hit or row of a hits table (``amount``, ``ceiling``, ``utilisation``, ``phi``,
        ``n_accounts``, ``n_days``, ``subject``, ``typology``)
    currency : str
        The home currency the amounts are in (the scan's rule set's).

    Returns
    -------
    matplotlib.figure.Figure
        One axes with two bars (A, ceiling) and u in the title.
    """
    name = _namer(reveal_ids, key_file)
    phi = _hit_value(hit, "phi")
    phi = json.loads(phi) if isinstance(phi, str) else dict(phi)
    # a hit without evidence transactions (accounts opened, none used yet) has no ceiling
    number = lambda v: math.nan if v is None else float(v)
    shown = lambda v: f"{v:,.0f}" if math.isfinite(v) else "none"
    amount, ceil = number(_hit_value(hit, "amount")), number(_hit_value(hit, "ceiling"))
    u = number(_hit_value(hit, "utilisation"))
    fig, ax = plt.subplots(figsize=(6, 4))
    bars = ax.bar(["amount moved A", "ceiling Σ W·Φ"], [amount, 0.0 if math.isnan(ceil) else ceil],
                  color=["tab:blue", "tab:grey"])
    ax.bar_label(bars, labels=[shown(amount), shown(ceil)], fontsize=8)
    n, d = int(_hit_value(hit, "n_accounts")), int(_hit_value(hit, "n_days"))
    methods = ", ".join(f"{m} Φ={v:,.0f}" for m, v in phi.items())
    ax.set_ylabel(currency)
    ax.set_title(f"{_hit_value(hit, 'typology')} {name(_hit_value(hit, 'subject'))}: "
                 f"u = {f'{u:.2f}' if math.isfinite(u) else 'none (no evidence transaction)'}\n"
                 f"N = {n}, D = {d}, W = {float(W(max(n, 1), max(d, 1))):.1f}; {methods}", fontsize=9)
    fig.tight_layout()
    return fig

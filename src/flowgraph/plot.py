"""Pictures for investigators (matplotlib).

Every function returns a ``matplotlib.figure.Figure`` and draws no id in clear: account
and customer labels are keyed pseudonyms (:mod:`flowgraph.deid`) unless the caller
passes ``reveal_ids=True``.

- :func:`hit_subgraph`: a hit's accounts and flows, arrows sized by amount, numbered and
  coloured in time order, the subject highlighted;
- :func:`daily_flows`: an account's daily in- and outflow with the threshold lines and a
  pass-through run marked;
- :func:`structuring_band`: the near-threshold band 0.8 Φ .. Φ of an account's amounts,
  with σ;
- :func:`ceiling_surface`: W(N, D) over D <= 25 and N <= 12 (001's Figure 2);
- :func:`utilisation`: a hit's amount against its W(N, D) ceiling.
"""

from __future__ import annotations

import json

import matplotlib.pyplot as plt
import networkx as nx
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
        One axes; one node per account (plus "(cash)"), one arrow per transaction.
    """
    name = _namer(reveal_ids, key_file)
    edges = evidence_edges(graph, _hit_value(hit, "txn_ids"))
    frame = graph.edge_frame(edges).sort_values("timestamp", kind="stable")
    subject = _hit_value(hit, "subject")
    g = nx.MultiDiGraph()
    for r in frame.itertuples():
        g.add_edge(r.src_account or "(cash)", r.dst_account or "(cash)", amount=r.amount_home, when=r.timestamp)
    fig, ax = plt.subplots(figsize=(8, 6))
    pos = nx.kamada_kawai_layout(nx.Graph(g)) if g.number_of_nodes() > 2 else nx.spring_layout(g, seed=1)
    colors = ["tab:red" if n == subject else ("lightgrey" if n == "(cash)" else "tab:blue") for n in g.nodes]
    nx.draw_networkx_nodes(g, pos, ax=ax, node_color=colors, node_size=[700 if n == subject else 350 for n in g.nodes])
    labels = {n: n if n == "(cash)" else name(n) for n in g.nodes}
    nx.draw_networkx_labels(g, pos, labels=labels, ax=ax, font_size=7)
    amounts = frame["amount_home"].to_numpy()
    widths = 0.8 + 5 * amounts / amounts.max() if len(amounts) else []
    cmap = plt.get_cmap("viridis")
    order = np.linspace(0, 1, max(len(frame), 1))
    numbers: dict[tuple, list[str]] = {}
    for k, (r, w) in enumerate(zip(frame.itertuples(), widths)):
        u, v = r.src_account or "(cash)", r.dst_account or "(cash)"
        nx.draw_networkx_edges(g, pos, edgelist=[(u, v)], ax=ax, width=w, edge_color=[cmap(order[k])],
                               arrows=True, arrowsize=14, connectionstyle=f"arc3,rad={0.08 * (k % 5)}")
        numbers.setdefault((u, v), []).append(str(k + 1))
    for (u, v), ks in numbers.items():  # one label per pair: the order numbers of its arrows
        mid = (np.asarray(pos[u]) + np.asarray(pos[v])) / 2
        ax.annotate(",".join(ks), mid, fontsize=7, color="black",
                    bbox={"boxstyle": "round,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.7})
    sm = plt.cm.ScalarMappable(cmap=cmap, norm=plt.Normalize(1, max(len(frame), 1)))
    fig.colorbar(sm, ax=ax, label="transaction order in time")
    ax.set_title(f"{_hit_value(hit, 'typology')}\nsubject {name(subject)} (red): "
                 f"{len(frame)} transactions, {g.number_of_nodes()} accounts", fontsize=10)
    ax.set_axis_off()
    fig.tight_layout()
    return fig


def daily_flows(graph, account: str, days: tuple[int, int] | None = None, run: tuple[str, str] | None = None,
                rule_set: str = "PBOC-2016", reveal_ids: bool = False, key_file=None,
                run_label: str = "pass-through run"):
    """An account's daily inflow and outflow (CNY) with its threshold lines.

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

    Returns
    -------
    matplotlib.figure.Figure
        One axes with two bar series (in, out), horizontal lines at Φ and 0.8 Φ of the
        account's transfers, and the run shaded.
    """
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
    phi = phi_table(graph, get_rule_set(rule_set))[a, CHANNELS.index("transfer")]
    fig, ax = plt.subplots(figsize=(10, 4.5))
    x = np.arange(len(span))
    ax.bar(x - 0.2, day_in, width=0.4, label="inflow", color="tab:green")
    ax.bar(x + 0.2, day_out, width=0.4, label="outflow", color="tab:orange")
    ax.axhline(phi, color="tab:red", linestyle="--", label=f"Φ = {phi:,.0f} (large-value threshold)")
    ax.axhline(0.8 * phi, color="tab:red", linestyle=":", label=f"0.8 Φ = {0.8 * phi:,.0f}")
    if run is not None:
        dates = graph.business_days[span]
        inside = np.flatnonzero((dates >= np.datetime64(run[0])) & (dates <= np.datetime64(run[1])))
        if len(inside):
            ax.axvspan(inside[0] - 0.5, inside[-1] + 0.5, color="tab:purple", alpha=0.15, label=run_label)
    labels = [str(d)[5:] for d in graph.business_days[span]]
    step = max(1, len(labels) // 15)
    ax.set_xticks(x[::step], labels[::step], rotation=45, fontsize=8)
    ax.set_xlabel("business day")
    ax.set_ylabel("CNY per business day")
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


def utilisation(hit, reveal_ids: bool = False, key_file=None):
    """A hit's amount A against its ceiling Σ W(N, D) · Φ_m, per method.

    Parameters
    ----------
    hit : Hit or row of a hits table (``amount``, ``ceiling``, ``utilisation``, ``phi``,
        ``n_accounts``, ``n_days``, ``subject``, ``typology``)

    Returns
    -------
    matplotlib.figure.Figure
        One axes with two bars (A, ceiling) and u in the title.
    """
    name = _namer(reveal_ids, key_file)
    phi = _hit_value(hit, "phi")
    phi = json.loads(phi) if isinstance(phi, str) else dict(phi)
    amount, ceil = float(_hit_value(hit, "amount")), float(_hit_value(hit, "ceiling"))
    u = float(_hit_value(hit, "utilisation"))
    fig, ax = plt.subplots(figsize=(6, 4))
    bars = ax.bar(["amount moved A", "ceiling Σ W·Φ"], [amount, ceil], color=["tab:blue", "tab:grey"])
    ax.bar_label(bars, labels=[f"{amount:,.0f}", f"{ceil:,.0f}"], fontsize=8)
    n, d = int(_hit_value(hit, "n_accounts")), int(_hit_value(hit, "n_days"))
    methods = ", ".join(f"{m} Φ={v:,.0f}" for m, v in phi.items())
    ax.set_ylabel("CNY")
    ax.set_title(f"{_hit_value(hit, 'typology')} {name(_hit_value(hit, 'subject'))}: u = {u:.2f}\n"
                 f"N = {n}, D = {d}, W = {float(W(max(n, 1), max(d, 1))):.1f}; {methods}", fontsize=9)
    fig.tight_layout()
    return fig

"""Each figure function draws what it promises (axes, titles, nodes, bars), with
pseudonyms unless asked otherwise."""

import matplotlib
import matplotlib.pyplot
import numpy as np
import pandas as pd
import pytest

matplotlib.use("Agg")

from flowgraph import build_graph, plot, validate_accounts, validate_transactions  # noqa: E402
from flowgraph.ceiling import W  # noqa: E402
from flowgraph.detectors import fan, structuring  # noqa: E402

COLS = ["txn_id", "timestamp", "src_account", "dst_account", "amount", "currency", "channel"]


@pytest.fixture(autouse=True)
def close_figures():
    yield
    matplotlib.pyplot.close("all")


@pytest.fixture
def graph():
    rows = [(f"t{i}", f"2024-09-24 09:0{i}:00", f"S{i}", "HUB", "100000", "CNY", "transfer") for i in range(5)]
    rows += [("o1", "2024-09-25 10:00:00", "HUB", "R1", "495000", "CNY", "transfer")]
    rows += [(f"c{i}", f"2024-09-{23 + i} 10:00:00", "", "ACC", str(46_000 + 500 * i), "CNY", "cash") for i in range(4)]
    v = validate_transactions(pd.DataFrame(rows, columns=COLS), "t")
    ids = sorted({r[2] for r in rows if r[2]} | {r[3] for r in rows})
    acct = validate_accounts(pd.DataFrame({"account_id": ids, "customer_id": ids, "party_type": "person"})).table
    return build_graph(v.table, acct)


def texts(fig):
    return [t.get_text() for ax in fig.axes for t in ax.texts]


def test_hit_subgraph(graph):
    hit = next(h for h in fan.detect(graph) if h.typology == "dispersed_in_concentrated_out")
    fig = plot.hit_subgraph(graph, hit)
    ax = fig.axes[0]
    assert "dispersed_in_concentrated_out" in ax.get_title() and "7 accounts" in ax.get_title()
    labels = texts(fig)
    assert sum(t.startswith("ACC-") for t in labels) == 7 and not any(t == "HUB" for t in labels)
    assert len([p for p in ax.patches if isinstance(p, matplotlib.patches.FancyArrowPatch)]) == 6
    shown = plot.hit_subgraph(graph, hit, reveal_ids=True)
    assert "HUB" in texts(shown)


def test_daily_flows_marks_thresholds_and_run(graph):
    fig = plot.daily_flows(graph, "HUB", run=("2024-09-24", "2024-09-25"))
    ax = fig.axes[0]
    assert ax.get_title().startswith("daily flows of ACC-")
    assert len(ax.containers) == 2  # inflow and outflow bar series
    heights = [round(b.get_height()) for c in ax.containers for b in c if b.get_height() > 0]
    assert sorted(heights) == [495_000, 500_000]
    assert sorted(line.get_ydata()[0] for line in ax.lines) == [400_000.0, 500_000.0]
    assert any("pass-through run" in t.get_text() for t in ax.get_legend().get_texts())


def test_daily_flows_draws_the_thresholds_of_the_methods_asked(graph):
    fig = plot.daily_flows(graph, "ACC", channels=("cash",))
    ax = fig.axes[0]
    assert sorted(line.get_ydata()[0] for line in ax.lines) == [40_000.0, 50_000.0]
    assert any("cash large-value threshold" in t.get_text() for t in ax.get_legend().get_texts())
    both = plot.daily_flows(graph, "ACC", channels=("cash", "transfer"))
    assert sorted(line.get_ydata()[0] for line in both.axes[0].lines) == [40_000.0, 50_000.0, 400_000.0, 500_000.0]
    with pytest.raises(ValueError, match="'channels' parameter of daily_flows .* Got \\('wire',\\) instead"):
        plot.daily_flows(graph, "ACC", channels=("wire",))


def test_structuring_band(graph):
    assert structuring.detect(graph)
    fig = plot.structuring_band(graph, "ACC", bins=20)
    ax = fig.axes[0]
    bars = [b for c in ax.containers for b in c]
    assert len(bars) == 20 and sum(b.get_height() for b in bars) == 4
    sigma = np.std([46_000, 46_500, 47_000, 47_500]) / 50_000
    assert f"σ = {sigma:.3f} Φ" in ax.get_title() and "4 of 4" in ax.get_title()


def test_ceiling_surface_shows_the_n2_to_n3_step():
    fig = plot.ceiling_surface()
    assert len(fig.axes) == 2
    lines = fig.axes[1].get_lines()
    assert len(lines) == 12
    n2, n3 = lines[1].get_ydata(), lines[2].get_ydata()
    assert len(n2) == 25 and n3[-1] == pytest.approx(W(3, 25)) and n3[-1] < n2[-1]


def test_utilisation(graph):
    hit = next(h for h in fan.detect(graph) if h.typology == "dispersed_in_concentrated_out")
    fig = plot.utilisation(hit)
    ax = fig.axes[0]
    heights = [b.get_height() for c in ax.containers for b in c]
    assert heights == [pytest.approx(hit.amount), pytest.approx(hit.ceiling)]
    assert f"u = {hit.utilisation:.2f}" in ax.get_title() and "ACC-" in ax.get_title()


def _inside_figure(fig) -> list[str]:
    """Texts of the figure that reach outside its canvas."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    width, height = fig.bbox.width, fig.bbox.height
    out = []
    for ax in fig.axes:
        for t in ax.texts:
            box = t.get_window_extent(renderer)
            if box.x0 < 0 or box.y0 < 0 or box.x1 > width or box.y1 > height:
                out.append(t.get_text())
    return out


def test_hit_subgraph_labels_amounts_dates_and_widths_inside_the_canvas(graph):
    hit = next(h for h in fan.detect(graph) if h.typology == "dispersed_in_concentrated_out")
    fig = plot.hit_subgraph(graph, hit)
    labels = texts(fig)
    assert "#6 ¥495,000 09-25" in labels  # the one payment out: order, amount, date
    assert {f"#{k} ¥100,000 09-24" for k in range(1, 6)} <= set(labels)  # five payers, one arrow each
    legend = fig.axes[0].get_legend()
    assert legend.get_title().get_text() == "arrow width = amount"
    assert [t.get_text() for t in legend.get_texts()] == ["¥495,000", "¥247,500", "¥49,500"]
    widths = [line.get_linewidth() for line in legend.get_lines()]
    assert widths == sorted(widths, reverse=True) and widths[0] > widths[-1]
    assert _inside_figure(fig) == []


def test_edge_label_summarises_many_transactions():
    rows = [(k, 1000.0 * k, pd.Timestamp(f"2024-09-{10 + k}")) for k in range(1, 6)]
    assert plot._edge_label(rows[:2], "CNY") == "#1 ¥1,000 09-11\n#2 ¥2,000 09-12"
    assert plot._edge_label(rows, "CNY") == "#1..#5: 5 txns\n¥15,000 09-11..09-15"
    # in the home currency of the scan: its sign, or its code where it has none here
    assert plot._edge_label(rows[:1], "USD") == "#1 $1,000 09-11"
    assert plot._edge_label(rows[:1], "CHF") == "#1 CHF 1,000 09-11"


def test_money_path_draws_hops_left_to_right():
    rows = [("h1", "2024-09-24 09:00:00", "A", "B", "400000", "CNY", "transfer"),
            ("h2", "2024-09-25 09:00:00", "B", "C", "390000", "CNY", "transfer"),
            ("h3", "2024-09-26 09:00:00", "C", "A", "380000", "CNY", "transfer")]
    g = build_graph(validate_transactions(pd.DataFrame(rows, columns=COLS), "t").table)
    hit = {"subject": "A", "typology": "cycle", "txn_ids": ["h1", "h2", "h3"],
           "measures": {"path_txn_ids": ["h1", "h2", "h3"]}}
    fig = plot.money_path(g, hit, reveal_ids=True)
    ax = fig.axes[0]
    boxes = {t.get_text(): t.get_position() for t in ax.texts if t.get_text() in "ABC"}
    assert [t.get_text() for t in ax.get_xticklabels()] == ["hop 0", "hop 1", "hop 2", "hop 3"]
    assert sum(t.get_text() == "A" for t in ax.texts) == 2  # the start, and the end of the cycle
    assert boxes["B"][0] < boxes["C"][0]
    assert "#2 ¥390,000 09-25" in texts(fig) and _inside_figure(fig) == []
    # without a path in the measures: columns by depth in time order; one hop draws nothing
    assert plot.money_path(g, {**hit, "measures": {}}) is not None
    assert plot.money_path(g, {**hit, "txn_ids": ["h1"], "measures": {}}) is None


def test_is_multi_hop_reads_the_measures_and_the_registry():
    assert plot.is_multi_hop({"typology": "structuring", "measures": {"path_txn_ids": ["a", "b"]}})
    assert plot.is_multi_hop({"typology": "pass_through_chain", "measures": {}})  # names its members
    assert not plot.is_multi_hop({"typology": "fan_in", "measures": "{}"})

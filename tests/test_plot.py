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

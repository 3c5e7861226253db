"""The layered-flow (bipartite / stack) detector on hand-built graphs, and its kernel
against the plain-Python reference (tests/reference/flows.py)."""

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from reference.flows import layered_clusters as layered_reference
from reference.flows import material_running_cents as material_reference
from test_flow_cycles import graph_of
from test_flow_kernels import kernel_links, make_graph

from flowgraph._kernels.flows import ppm
from flowgraph._kernels.layered import layered_clusters, material_running_cents
from flowgraph.detectors import REGISTRY
from flowgraph.detectors.flows import in_cum_cents, in_edge_columns
from flowgraph.detectors.layered import LayeredParams, detect_layered
from flowgraph.detectors.scatter import detect_scatter
from flowgraph.errors import ConfigError
from flowgraph.scan_config import load_config

# Two sources pay four middle accounts (each of them nothing else) who pass it on to two
# sinks: S1 -> M1 -> K1, S2 -> M2 -> K2, S1 -> M3 -> K2, S2 -> M4 -> K1, Friday to Thursday
BIPARTITE = [("S1", "M1", "2024-09-06 10:00", 300_000.0), ("M1", "K1", "2024-09-06 15:00", 290_000.0),
             ("S2", "M2", "2024-09-09 10:00", 300_000.0), ("M2", "K2", "2024-09-09 15:00", 285_000.0),
             ("S1", "M3", "2024-09-11 10:00", 250_000.0), ("M3", "K2", "2024-09-11 15:00", 240_000.0),
             ("S2", "M4", "2024-09-12 10:00", 200_000.0), ("M4", "K1", "2024-09-12 15:00", 195_000.0)]

# the same with a second layer: each middle account pays one more (N1..N4) who pays the sink
STACK = [("S1", "M1", "2024-09-06 10:00", 300_000.0), ("M1", "N1", "2024-09-06 12:00", 295_000.0),
         ("N1", "K1", "2024-09-06 15:00", 290_000.0),
         ("S2", "M2", "2024-09-09 10:00", 300_000.0), ("M2", "N2", "2024-09-09 12:00", 290_000.0),
         ("N2", "K2", "2024-09-10 15:00", 285_000.0),
         ("S1", "M3", "2024-09-11 10:00", 250_000.0), ("M3", "N3", "2024-09-11 12:00", 245_000.0),
         ("N3", "K2", "2024-09-11 15:00", 240_000.0)]


def test_a_bipartite_flow_names_its_layers_and_the_flow_through_them():
    table = detect_layered(graph_of(BIPARTITE))
    assert len(table) == 1
    hit = table[0]
    assert hit.typology == "bipartite" and hit.subject == "M1"  # the first intermediary
    assert set(hit.accounts) == {"S1", "S2", "M1", "M2", "M3", "M4", "K1", "K2"} and hit.accounts[0] == "M1"
    assert hit.amount == 1_010_000.0 and len(hit.txn_ids) == 8 and hit.n_accounts == 8
    m = hit.measures
    assert m["sources"] == ["S1", "S2"] and m["sinks"] == ["K1", "K2"]
    assert m["first_layer"] == ["M1", "M2", "M3", "M4"] and m["second_layer"] == []
    assert (m["n_sources"], m["n_middle"], m["n_sinks"], m["n_layers"]) == (2, 4, 2, 1)
    assert m["layer_amount_in"] == [1_050_000.0] and m["layer_amount_out"] == [1_010_000.0]
    assert m["amount_in"] == 1_050_000.0 and m["amount_out"] == 1_010_000.0
    assert m["leg_txn_ids"] == [["t0", "t1"], ["t2", "t3"], ["t4", "t5"], ["t6", "t7"]]
    assert m["leg_dates"][1] == ["2024-09-09", "2024-09-09"] and m["leg_amounts"][3] == [200_000.0, 195_000.0]
    assert m["window_unit"] == "business"
    assert hit.window_start == np.datetime64("2024-09-06") and hit.window_end == np.datetime64("2024-09-12")


def test_a_stack_has_two_middle_layers():
    table = detect_layered(graph_of(STACK))
    assert len(table) == 1
    hit = table[0]
    assert hit.typology == "stack" and hit.subject == "M1"
    m = hit.measures
    assert m["sources"] == ["S1", "S2"] and m["sinks"] == ["K1", "K2"]
    assert m["first_layer"] == ["M1", "M2", "M3"] and m["second_layer"] == ["N1", "N2", "N3"]
    assert m["n_layers"] == 2 and m["n_middle"] == 6
    assert m["layer_amount_in"] == [850_000.0, 830_000.0] and m["layer_amount_out"] == [830_000.0, 815_000.0]
    assert hit.amount == 815_000.0 and m["amount_in"] == 850_000.0
    assert m["leg_txn_ids"][:2] == [["t0", "t1"], ["t1", "t2"]]  # the money hop by hop


def test_one_source_or_sink_too_few_is_no_layered_flow():
    one_sink = [(s, "K1" if d.startswith("K") else d, t, a) for s, d, t, a in BIPARTITE]
    assert len(detect_layered(graph_of(one_sink))) == 0
    one_source = [("S1" if s.startswith("S") else s, d, t, a) for s, d, t, a in BIPARTITE]
    assert len(detect_layered(graph_of(one_source))) == 0
    g = graph_of(BIPARTITE)
    assert len(detect_layered(g, LayeredParams(min_sources=3))) == 0
    assert len(detect_layered(g, LayeredParams(min_sinks=3))) == 0
    assert len(detect_layered(g, LayeredParams(min_middle=4))) == 1
    assert len(detect_layered(g, LayeredParams(min_middle=5))) == 0


def test_scatter_gather_is_not_reported_again():
    # one source, three intermediaries, one sink: scatter-gather's hit, not a layered flow
    rows = [("S1", f"M{i}", f"2024-09-0{6 + i} 10:00", 200_000.0) for i in range(3)] + \
           [(f"M{i}", "K1", f"2024-09-0{6 + i} 15:00", 195_000.0) for i in range(3)]
    g = graph_of(rows)
    assert len(detect_scatter(g)) == 1 and len(detect_layered(g)) == 0


def test_a_middle_account_keeping_too_much_does_not_count():
    # M3 forwards its 250,000 but got 60,000 more in the window that it keeps: 240/310 < 0.9,
    # and without M3 the flow S1 -> M1 -> K1, S2 -> M2/M4 -> K1/K2 is still two and two
    kept = BIPARTITE + [("X", "M3", "2024-09-10 10:00", 60_000.0)]
    hits = detect_layered(graph_of(kept))
    assert len(hits) == 1 and "M3" not in hits[0].measures["first_layer"]
    # M2 keeping too: S2's only forwarded payment is through M4, S1's through M1: K2 is paid by nobody
    kept += [("X", "M2", "2024-09-09 09:00", 60_000.0)]
    assert len(detect_layered(graph_of(kept))) == 0
    # the share is inclusive and exact in cents: 90 % of 266,666.66 is 239,999.994, so
    # M3's 240,000 is enough; 90 % of 266,666.67 is 240,000.003, one cent short
    exact = BIPARTITE[:6] + [("X", "M3", "2024-09-10 10:00", 16_666.66)]
    hits = detect_layered(graph_of(exact))
    assert len(hits) == 1 and "M3" in hits[0].measures["first_layer"]
    short = BIPARTITE[:6] + [("X", "M3", "2024-09-10 10:00", 16_666.67)]
    assert len(detect_layered(graph_of(short))) == 0


def test_small_ordinary_payments_into_a_middle_account_are_not_money_it_kept():
    # four payments into M3 the day before its link, each under the 5,000.00 materiality
    # floor (1 % of a person's 500,000), are a mule's ordinary traffic, not kept flow money;
    # at the floor they are material: 20,000 more received and 240/270 < 0.9
    def paid_four(amount, payer="X"):
        return graph_of(BIPARTITE[:6] + [(payer, "M3", f"2024-09-10 1{k}:00", amount) for k in range(4)])
    hits = detect_layered(paid_four(4_999.99))
    assert len(hits) == 1 and "M3" in hits[0].measures["first_layer"]
    assert len(detect_layered(paid_four(5_000.00))) == 0
    # a cash deposit has no sender: M3's own floor decides
    assert len(detect_layered(paid_four(4_999.99, payer=None))) == 1
    assert len(detect_layered(paid_four(5_000.00, payer=None))) == 0


def test_the_subject_is_the_flow_s_first_intermediary_and_the_id_stays():
    # S0 -> M0 -> K0 on Thursday 5th joins the flow only when M4 pays K0 instead of K1:
    # the flow's first qualifying window has no M0; M0 becomes the subject, the id stays
    joined = [("S0", "M0", "2024-09-05 10:00", 300_000.0), ("M0", "K0", "2024-09-05 15:00", 290_000.0)] + \
        BIPARTITE[:7] + [("M4", "K0", "2024-09-12 15:00", 195_000.0)]
    apart = joined[:-1] + [("M4", "K3", "2024-09-12 15:00", 195_000.0)]
    before, after = detect_layered(graph_of(apart)), detect_layered(graph_of(joined))
    assert len(before) == 1 and len(after) == 1 and before[0].subject == "M1" and after[0].subject == "M0"
    assert after[0].hit_id == before[0].hit_id and after[0].measures["sources"] == ["S0", "S1", "S2"]
    assert after[0].window_start == np.datetime64("2024-09-05")


def test_the_window_counts_business_or_calendar_days():
    # Friday 6th to Thursday 12th: five business days, seven calendar days
    # with all four middle accounts needed, M1's Friday link must share a window with M4's
    g, four = graph_of(BIPARTITE), dict(min_middle=4)
    assert len(detect_layered(g, LayeredParams(window_days=5, **four))) == 1
    assert len(detect_layered(g, LayeredParams(window_days=4, **four))) == 0
    assert len(detect_layered(g, LayeredParams(window_days=7, window_unit="calendar", **four))) == 1
    assert len(detect_layered(g, LayeredParams(window_days=6, window_unit="calendar", **four))) == 0
    # three middle accounts Monday to Thursday are enough for the default, three days are not
    assert len(detect_layered(g, LayeredParams(window_days=4))) == 1
    assert len(detect_layered(g, LayeredParams(window_days=3))) == 0
    # the second source's money three weeks later is another window
    late = BIPARTITE[:2] + BIPARTITE[4:6] + [(s, d, t.replace("2024-09-", "2024-10-"), a)
                                             for s, d, t, a in BIPARTITE[2:4] + BIPARTITE[6:]]
    assert len(detect_layered(graph_of(late))) == 0


def test_subjects_are_monitored_and_the_scan_range_holds():
    customers = ["S1", "S2", "M2", "M3", "M4", "K1", "K2"]  # M1 is another bank's account
    assert len(detect_layered(graph_of(BIPARTITE, customers=customers))) == 0
    g = graph_of(BIPARTITE)
    assert len(detect_layered(g, days=(4, 4))) == 1  # the flow's last day
    assert len(detect_layered(g, days=(0, 2))) == 0  # by Tuesday: two flows of one source each


def test_a_longer_scan_keeps_what_a_shorter_one_found():
    # a second flow sharing sink K1 joins the first one's hit instead of founding another
    more = BIPARTITE + [("S3", "M5", "2024-09-13 10:00", 300_000.0), ("M5", "K1", "2024-09-13 15:00", 290_000.0),
                        ("S3", "M6", "2024-09-13 11:00", 300_000.0), ("M6", "K3", "2024-09-13 16:00", 290_000.0)]
    short, long = detect_layered(graph_of(BIPARTITE))[0], detect_layered(graph_of(more))
    assert len(long) == 1 and long[0].hit_id == short.hit_id
    assert long[0].measures["sources"] == ["S1", "S2", "S3"] and len(long[0].txn_ids) == 12


def test_empty_graph_gives_an_empty_table():
    assert len(detect_layered(graph_of([]))) == 0


def test_parameters_are_checked_and_read_from_toml(tmp_path):
    with pytest.raises(ConfigError, match=r"The 'min_sources' parameter of LayeredParams must be an int in the "
                                          r"range \[2, 1000\]. Got 1 instead."):
        LayeredParams(min_sources=1)
    with pytest.raises(ConfigError, match=r"'min_middle' parameter of LayeredParams must be an int in the range "
                                          r"\[1, 1000\]. Got 0 instead."):
        LayeredParams(min_middle=0)
    relaxed = LayeredParams().relaxed(0.2)
    assert relaxed.min_forward_share == pytest.approx(0.72) and relaxed.min_sources == 2
    path = tmp_path / "scan.toml"
    path.write_text('[detectors.layered]\nwindow_unit = "calendar"\nmin_sinks = 3\n')
    params = load_config(path).detector_params["layered"]
    assert params == dataclasses.replace(REGISTRY["layered"].default, window_unit="calendar", min_sinks=3)


# eight accounts, a week, amounts a middle account forwards (or keeps 40 % of): about a
# third of the graphs hold a layered flow
dense_edge = st.tuples(st.integers(-1, 7), st.integers(0, 7), st.integers(0, 6), st.sampled_from([100.0, 98.0, 95.0, 60.0]))


@settings(max_examples=150, deadline=None)
@given(st.lists(dense_edge, min_size=1, max_size=40), st.sampled_from(["business", "calendar"]), st.integers(1, 5),
       st.integers(2, 3), st.integers(1, 3), st.integers(2, 3), st.sampled_from([0.0, 0.5, 0.9]))
def test_layered_clusters_match_reference(edges, unit, window_days, min_sources, min_middle, min_sinks, share):
    g = make_graph(edges)
    wday = g.window_day(unit).astype(np.int64)
    links = kernel_links(g, unit, window_days - 1, share, 0.1, 0, 3)
    order = np.lexsort((links.in_edge, links.out_edge))
    i, o = links.in_edge[order], links.out_edge[order]
    cluster = layered_clusters(g.src[i].astype(np.int64), g.dst[i].astype(np.int64), g.dst[o].astype(np.int64), i, o,
                               wday[i], wday[o], g.amount_home_cents, g.in_indptr, g.in_edges, in_cum_cents(g), wday,
                               g.n_edges, window_days, min_sources, min_middle, min_sinks, ppm(share))
    got = {(int(i[r]), int(o[r])): (int(i[c]), int(o[c])) for r, c in enumerate(cluster.tolist()) if c >= 0}
    assert got == layered_reference(g, wday, list(zip(i.tolist(), o.tolist())), window_days, min_sources,
                                    min_middle, min_sinks, share)


@settings(max_examples=100, deadline=None)
@given(st.lists(dense_edge, min_size=1, max_size=40), st.lists(st.sampled_from([0, 6_000, 9_500, 9_800, 10_001]),
                                                              min_size=8, max_size=8))
def test_material_running_sum_matches_reference(edges, floors):
    # floors at and around the amounts (98.00 and 95.00 yuan are 9,800 and 9,500 cents)
    g = make_graph(edges)
    floor_cents = np.array(floors[:g.n_accounts] + [0] * max(0, g.n_accounts - len(floors)), np.int64)
    got = material_running_cents(g.in_indptr, *in_edge_columns(g), floor_cents)
    assert got.tolist() == material_reference(g, floor_cents)

"""The scatter-gather / gather-scatter detector on hand-built graphs."""

import pandas as pd
import pytest
from test_flow_cycles import graph_of

from flowgraph.detectors.scatter import ScatterParams, detect_scatter
from flowgraph.errors import ConfigError

# S pays M1, M2, M3 (each of them nothing else) who pass it on to K, Friday to Tuesday
SCATTER = [("S", "M1", "2024-09-06 10:00", 200_000.0), ("M1", "K", "2024-09-06 15:00", 198_000.0),
           ("S", "M2", "2024-09-07 10:00", 200_000.0), ("M2", "K", "2024-09-09 10:00", 197_000.0),
           ("S", "M3", "2024-09-10 10:00", 150_000.0), ("M3", "K", "2024-09-10 12:00", 150_000.0)]


def test_scatter_gather_through_degree_one_intermediaries():
    table = detect_scatter(graph_of(SCATTER))
    assert len(table) == 1
    hit = table[0]
    assert hit.typology == "scatter_gather" and hit.subject == "K"
    assert set(hit.accounts) == {"K", "S", "M1", "M2", "M3"} and hit.accounts[0] == "K"
    assert hit.amount == 545_000.0 and len(hit.txn_ids) == 6
    m = hit.measures
    assert m["intermediaries"] == ["M1", "M2", "M3"] and m["ends"] == ["S"]
    assert m["amount_in"] == 550_000.0 and m["amount_out"] == 545_000.0
    assert m["leg_txn_ids"] == [["t0", "t1"], ["t2", "t3"], ["t4", "t5"]]
    assert m["leg_dates"][1] == ["2024-09-07", "2024-09-09"]


def test_each_hit_shows_its_own_legs():
    # the same pattern again through other accounts, three months later (the same
    # weekdays): two hits, each with its own legs, amounts and dates in order
    later = [(a.replace("S", "T").replace("M", "N").replace("K", "L"), b.replace("M", "N").replace("K", "L"),
              when.replace("2024-09-", "2024-12-"), amount) for a, b, when, amount in SCATTER]
    table = detect_scatter(graph_of(SCATTER + later))
    hits = sorted(table, key=lambda h: h.subject)
    assert [h.subject for h in hits] == ["K", "L"]
    assert hits[0].measures["leg_txn_ids"] == [["t0", "t1"], ["t2", "t3"], ["t4", "t5"]]
    assert hits[1].measures["leg_txn_ids"] == [["t6", "t7"], ["t8", "t9"], ["t10", "t11"]]
    for hit in hits:
        assert hit.measures["leg_amounts"] == [[200_000.0, 198_000.0], [200_000.0, 197_000.0], [150_000.0, 150_000.0]]
    assert hits[1].measures["leg_dates"] == [["2024-12-06", "2024-12-06"], ["2024-12-07", "2024-12-09"],
                                             ["2024-12-10", "2024-12-10"]]
    assert [h.measures["amount_out"] for h in hits] == [545_000.0, 545_000.0]


def test_scatter_gather_window_and_count_boundaries():
    g = graph_of(SCATTER)
    assert len(detect_scatter(g, ScatterParams(window_days=3))) == 1  # business days Fri, Mon, Tue
    assert len(detect_scatter(g, ScatterParams(window_days=2))) == 0
    assert len(detect_scatter(g, ScatterParams(window_days=5, window_unit="calendar"))) == 1  # Fri..Tue
    assert len(detect_scatter(g, ScatterParams(window_days=4, window_unit="calendar"))) == 0
    assert len(detect_scatter(g, ScatterParams(min_intermediaries=4))) == 0


def test_an_intermediary_keeping_too_much_does_not_count():
    rows = SCATTER[:3] + [("M2", "K", "2024-09-09 10:00", 170_000.0)] + SCATTER[4:]
    assert len(detect_scatter(graph_of(rows))) == 0


def test_gather_scatter_follows_payments_through_the_hub():
    rows = []
    for i in range(5):
        rows += [(f"P{i}", "H", f"2024-09-0{2 + i} 10:00", 100_000.0), ("H", f"Q{i}", f"2024-09-0{2 + i} 11:00", 99_000.0)]
    table = detect_scatter(graph_of(rows))
    assert len(table) == 1 and table[0].typology == "gather_scatter" and table[0].subject == "H"
    assert table[0].measures["payers"] == [f"P{i}" for i in range(5)]
    assert table[0].measures["payees"] == [f"Q{i}" for i in range(5)]
    # the hub pays only four distinct payees: a fan-in, no gather-scatter
    rows[-1] = ("H", "Q0", "2024-09-06 11:00", 99_000.0)
    assert len(detect_scatter(graph_of(rows))) == 0


def test_a_hub_passing_on_little_of_its_takings_is_no_gather_scatter():
    # the five forwarded payments are 500,000 of what the hub received Monday to Friday:
    # other income of 55,555.55 leaves them 90.000001 %, 55,555.57 leaves them 89.9999996 %
    rows = []
    for i in range(5):
        rows += [(f"P{i}", "H", f"2024-09-0{2 + i} 10:00", 100_000.0), ("H", f"Q{i}", f"2024-09-0{2 + i} 11:00", 99_000.0)]
    income = [("C", "H", "2024-09-04 12:00", 55_555.55)]
    assert [h.typology for h in detect_scatter(graph_of(rows + income))] == ["gather_scatter"]
    income = [("C", "H", "2024-09-04 12:00", 55_555.57)]
    assert len(detect_scatter(graph_of(rows + income))) == 0
    # income the day before the first payment in is not of the hit's days
    income = [("C", "H", "2024-08-30 12:00", 900_000.0)]
    assert len(detect_scatter(graph_of(rows + income))) == 1


def test_scatter_parameters_are_checked():
    with pytest.raises(ConfigError, match=r"The 'min_intermediaries' parameter of ScatterParams must be an int in the range \[2, 1000\]. Got 1 instead."):
        ScatterParams(min_intermediaries=1)


def test_a_cluster_the_hub_test_rejects_once_grown_is_dropped():
    # five payments through H Monday to Friday pass the hub test (all H received); the
    # next Monday a sixth joins the cluster, with 2,000,000 of other income: 600,000 of
    # 2,600,000 passed on is too little, and the cluster is no hit
    rows = []
    for i in range(6):
        day = f"2024-09-0{2 + i}" if i < 5 else "2024-09-09"
        rows += [(f"P{i}", "H", f"{day} 10:00", 100_000.0), ("H", f"Q{i}", f"{day} 11:00", 99_000.0)]
    income = [("C", "H", "2024-09-09 12:00", 2_000_000.0)]
    week = detect_scatter(graph_of(rows[:10]))
    assert [h.typology for h in week] == ["gather_scatter"] and week.dropped.empty
    grown = detect_scatter(graph_of(rows + income))
    assert len(grown) == 0
    # named by the id the first week's hit has: a stored copy of it is out of date
    assert grown.dropped["hit_id"].tolist() == [week[0].hit_id]
    assert grown.dropped["run_first"].tolist() == [pd.Timestamp("2024-09-02")]
    # with its evidence, which holds the first week's (a hit of it anchored elsewhere is part of it too)
    assert set(grown.dropped["txn_ids"][0]) >= set(week[0].txn_ids) and len(grown.dropped["txn_ids"][0]) == 12
    # without the income the grown cluster passes under the same id, and nothing is dropped
    kept = detect_scatter(graph_of(rows))
    assert [h.hit_id for h in kept] == [week[0].hit_id] and kept.dropped.empty
    # a scan of days after the cluster's last leg neither reports nor drops it
    assert detect_scatter(graph_of(rows + income + [("X", "Y", "2024-09-30 10:00", 1.0)]),
                          days=("2024-09-30", "2024-09-30")).dropped.empty

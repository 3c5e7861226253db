"""Evaluation against ground truth: patterns carry calendar dates, hit windows business days."""

import numpy as np
import pandas as pd
import pytest

from flowgraph.calendar import BusinessCalendar
from flowgraph.evaluate import MATCHING, counted_business_days, found, recall_table
from flowgraph.graph import build_graph
from flowgraph.schema import validate_transactions

# National Day 2024: Sun 09-29 a make-up workday, 10-01..10-07 holiday, Tue 10-08 the next
# business day, Sat 10-12 a make-up workday, Sun 10-13 rest.
DATES = ["2024-09-28", "2024-09-29", "2024-10-02", "2024-10-06", "2024-10-08", "2024-10-12", "2024-10-13"]
COUNTED = ["2024-09-29", "2024-09-29", "2024-10-08", "2024-10-08", "2024-10-08", "2024-10-12", "2024-10-14"]


def day(text):
    return pd.Timestamp(text)


def pattern(first, last, typology="bipartite", subject="M1"):
    return {"typology": typology, "behaviour": "adaptive", "subject": subject, "accounts": [subject, "S1", "K1"],
            "first_day": day(first), "last_day": day(last)}


def hit(start, end, typology="bipartite", subject="M1"):
    return {"typology": typology, "subject": subject, "window_start": day(start), "window_end": day(end)}


def test_pattern_dates_count_toward_the_business_day_the_graph_books_them_on():
    rows = [(f"t{i}", f"{d} 10:00:00", "A", "B", "100", "CNY", "transfer") for i, d in enumerate(DATES)]
    table = validate_transactions(pd.DataFrame(rows, columns=["txn_id", "timestamp", "src_account", "dst_account",
                                                              "amount", "currency", "channel"]), "t.csv").table
    graph = build_graph(table)
    booked = graph.business_days[graph.day].astype("datetime64[ns]")
    counted = counted_business_days(table["timestamp"])
    assert np.array_equal(np.sort(counted), booked)
    assert list(counted_business_days(pd.to_datetime(DATES))) == list(pd.to_datetime(COUNTED).to_numpy())


@pytest.mark.parametrize(("first", "last", "hit_start", "hit_end", "expected"), [
    ("2024-10-02", "2024-10-06", "2024-10-08", "2024-10-08", True),   # holiday pattern, next business day
    ("2024-10-02", "2024-10-06", "2024-09-23", "2024-09-30", False),  # before the holiday
    ("2024-10-02", "2024-10-06", "2024-10-21", "2024-10-25", False),  # far away
    ("2024-10-12", "2024-10-12", "2024-10-12", "2024-10-12", True),   # make-up Saturday is its own day
    ("2024-10-12", "2024-10-12", "2024-10-14", "2024-10-18", False),
    ("2024-10-13", "2024-10-13", "2024-10-14", "2024-10-14", True),   # Sunday -> Monday
])
def test_hit_on_the_business_day_a_pattern_counts_toward_finds_it(first, last, hit_start, hit_end, expected):
    patterns = pd.DataFrame([pattern(first, last)])
    assert found(patterns, pd.DataFrame([hit(hit_start, hit_end)])).tolist() == [expected]


def test_only_a_matching_typology_on_the_subject_finds_a_pattern():
    patterns = pd.DataFrame([pattern("2024-10-02", "2024-10-06")], index=[7])
    other_typology = next(t for t in ("fan_in", "cycle", "structuring") if t not in MATCHING["bipartite"])
    hits = pd.DataFrame([hit("2024-10-08", "2024-10-08", typology=other_typology),
                         hit("2024-10-08", "2024-10-08", subject="M2")])
    assert found(patterns, hits).to_dict() == {7: False}
    assert found(patterns, hits.iloc[:0]).to_dict() == {7: False}


def test_recall_counts_holiday_patterns_found_on_the_next_business_day():
    patterns = pd.DataFrame([pattern("2024-10-02", "2024-10-06"), pattern("2024-10-03", "2024-10-05", subject="M2"),
                             pattern("2024-10-02", "2024-10-06", typology="stack", subject="M3")])
    hits = pd.DataFrame([hit("2024-10-08", "2024-10-09"), hit("2024-10-08", "2024-10-10", "stack", "M3")])
    table = recall_table(patterns, hits).set_index("typology")
    assert table.loc["bipartite", ["found", "patterns"]].tolist() == [1, 2]
    assert table.loc["stack", ["found", "patterns"]].tolist() == [1, 1]


def test_the_scans_calendar_decides_which_business_day_a_date_counts_toward():
    # Monday-to-Friday without PRC holidays: Wed 10-02 is a business day of its own
    patterns = pd.DataFrame([pattern("2024-10-02", "2024-10-06")])
    hits = pd.DataFrame([hit("2024-10-08", "2024-10-08")])
    assert found(patterns, hits, BusinessCalendar.weekdays_only()).tolist() == [False]
    assert found(patterns, hits).tolist() == [True]

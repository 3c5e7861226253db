"""The cycles detector on hand-built graphs: what a hit shows, the window in business and
calendar days, materiality, parameters and the TOML key."""

import dataclasses

import numpy as np
import pandas as pd
import pytest

from flowgraph import build_graph, validate_accounts, validate_transactions
from flowgraph.calendar import BusinessCalendar
from flowgraph.detectors import REGISTRY
from flowgraph.detectors.cycles import CycleParams, detect_cycles
from flowgraph.errors import ConfigError
from flowgraph.scan_config import load_config

CALENDAR = BusinessCalendar.weekdays_only()


def graph_of(rows, customers=None):
    """rows: (src, dst, timestamp, amount CNY); txn ids t0, t1, ... in row order; a row
    without a side (None) is cash, the others transfers."""
    frame = pd.DataFrame([(f"t{i}", ts, s, d, str(a), "transfer" if s and d else "cash")
                          for i, (s, d, ts, a) in enumerate(rows)],
                         columns=["txn_id", "timestamp", "src_account", "dst_account", "amount", "channel"])
    accounts = None
    if customers is not None:
        accounts = validate_accounts(pd.DataFrame({"account_id": customers, "customer_id": customers,
                                                   "party_type": "person"})).table
    return build_graph(validate_transactions(frame, "h").table, accounts, CALENDAR)


# U -> V Friday, V -> W Sunday, W -> U Monday: 3 calendar days, 2 business days
ROUND_TRIP = [("U", "V", "2024-09-06 10:00", 400_000.0), ("V", "W", "2024-09-08 10:00", 390_000.0),
              ("W", "U", "2024-09-09 10:00", 380_000.0)]


def test_a_cycle_hit_shows_the_money_hop_by_hop():
    table = detect_cycles(graph_of(ROUND_TRIP))
    assert len(table) == 1
    hit = table[0]
    assert hit.typology == "cycle" and hit.subject == "U" and hit.accounts == ("U", "V", "W")
    assert hit.amount == 380_000.0 and hit.n_accounts == 3 and hit.n_days == 2
    assert hit.window_start == np.datetime64("2024-09-06") and hit.window_end == np.datetime64("2024-09-09")
    m = hit.measures
    assert m["path_accounts"] == ["U", "V", "W", "U"] and m["path_txn_ids"] == ["t0", "t1", "t2"]
    assert m["hop_amounts"] == [400_000.0, 390_000.0, 380_000.0]
    assert m["hop_dates"] == ["2024-09-06", "2024-09-08", "2024-09-09"] and m["hops"] == 3
    assert m["returned_share"] == 0.95 and m["window_unit"] == "business"


def test_the_window_counts_business_or_calendar_days():
    g = graph_of(ROUND_TRIP)
    assert len(detect_cycles(g, CycleParams(window_days=2))) == 1  # Friday, Monday
    assert len(detect_cycles(g, CycleParams(window_days=2, window_unit="calendar"))) == 0
    assert len(detect_cycles(g, CycleParams(window_days=4, window_unit="calendar"))) == 1  # Fri..Mon
    assert len(detect_cycles(g, CycleParams(window_days=1))) == 0


def test_skims_materiality_and_hops_are_thresholds():
    g = graph_of(ROUND_TRIP)
    assert len(detect_cycles(g, CycleParams(min_forward_share=0.974358))) == 1  # 380/390 = 0.97435897...
    assert len(detect_cycles(g, CycleParams(min_forward_share=0.974359))) == 0
    assert len(detect_cycles(g, CycleParams(max_hops=2))) == 0
    # 380,000 is 76 % of the 500,000 threshold for persons: at 0.76 material, above it not
    assert len(detect_cycles(g, CycleParams(min_amount_fraction=0.76))) == 1
    assert len(detect_cycles(g, CycleParams(min_amount_fraction=0.7601))) == 0


def test_only_monitored_accounts_are_subjects_and_the_scan_range_holds():
    # U is another bank's account: the same money round V -> W -> U -> V is V's cycle
    g = graph_of(ROUND_TRIP + [("U", "V", "2024-09-10 10:00", 375_000.0)], customers=["V", "W"])
    hits = detect_cycles(g)
    assert len(hits) == 1 and hits[0].subject == "V" and hits[0].accounts == ("V", "W", "U")
    assert hits[0].measures["path_txn_ids"] == ["t1", "t2", "t3"]
    assert len(detect_cycles(graph_of(ROUND_TRIP), days=(1, 1))) == 1  # ends on the scan's day
    assert len(detect_cycles(graph_of(ROUND_TRIP), days=(0, 0))) == 0  # not closed by then


def test_money_that_does_not_come_back_is_no_cycle():
    rows = ROUND_TRIP[:2] + [("W", "X", "2024-09-09 10:00", 380_000.0)]
    assert len(detect_cycles(graph_of(rows))) == 0


def test_parameters_are_checked_and_read_from_toml(tmp_path):
    with pytest.raises(ConfigError, match="The 'window_unit' parameter of CycleParams must be one of "
                                          "'business', 'calendar'. Got 'weeks' instead."):
        CycleParams(window_unit="weeks")
    with pytest.raises(ConfigError, match=r"'max_hops' parameter of CycleParams must be an int in the range \[2, 12\]"):
        CycleParams(max_hops=1)
    relaxed = CycleParams().relaxed(0.2)
    assert relaxed.min_forward_share == pytest.approx(0.72) and relaxed.window_unit == "business"
    path = tmp_path / "scan.toml"
    path.write_text('[detectors.cycles]\nwindow_unit = "calendar"\nwindow_days = 14\n')
    params = load_config(path).detector_params["cycles"]
    assert params == dataclasses.replace(REGISTRY["cycles"].default, window_unit="calendar", window_days=14)

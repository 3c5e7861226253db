"""The human-trafficking pack (000, SPEC §9): kernel against its reference, each detector
on hand-built data with a known answer (thresholds inclusive), absent columns disabling
their detector with a note, and the default simulated bank unchanged."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from reference.trafficking import in_band, window_runs_reference

from flowgraph import build_graph, validate_transactions
from flowgraph._kernels.trafficking import window_runs
from flowgraph.detectors import REGISTRY, disabled_detectors, run_detectors
from flowgraph.detectors.trafficking import (CashDepositParams, NightCashParams, RemittanceParams,
                                             SmallCashParams, detect_cash_deposits, detect_night_cash,
                                             detect_remittance, detect_small_cash)
from flowgraph.errors import ConfigError
from flowgraph.simulate import simulate

events = st.lists(st.tuples(st.integers(0, 3), st.integers(0, 25), st.integers(0, 3), st.integers(0, 1)), max_size=40)


@settings(max_examples=80, deadline=None)
@given(events, st.integers(1, 6), st.integers(1, 5), st.integers(1, 3), st.sampled_from([0.0, 0.3, 0.5, 0.7, 1.0]),
       st.integers(0, 30))
def test_window_runs_agree_with_the_reference(ev, window, min_events, min_groups, share, last_day):
    ev = sorted(ev)
    account = np.array([e[0] for e in ev], np.int64)
    offsets = np.searchsorted(account, np.arange(5)).astype(np.int64)
    column = lambda k: np.array([e[k] for e in ev], np.int64)
    got = window_runs(offsets, column(1), column(2), column(3), 4, window, min_events, min_groups, share, last_day)
    assert sorted(zip(*[c.tolist() for c in got])) == \
        window_runs_reference(ev, window, min_events, min_groups, share, last_day)


def _graph(rows, **columns):
    """A graph of rows (src, dst, day offset in business days from 2024-10-08, hour,
    amount, channel) plus optional context columns."""
    days = pd.bdate_range("2024-10-08", periods=30)  # no PRC holiday in these weeks
    frame = pd.DataFrame({
        "txn_id": [f"t{i}" for i in range(len(rows))],
        "timestamp": [days[d] + pd.Timedelta(hours=h) for _, _, d, h, _, _ in rows],
        "src_account": [r[0] for r in rows], "dst_account": [r[1] for r in rows],
        "amount": [r[4] for r in rows], "channel": [r[5] for r in rows], **columns})
    return build_graph(validate_transactions(frame, "t.csv").table)


def test_small_cash_counts_the_band_inclusively_at_its_low_end_only():
    # 0.5 x 50,000 = 25,000 is in the band; 50,000 itself needs identification: outside
    rows = [("A", None, d, 10, 25_000.0, "cash") for d in range(4)] + [("A", None, 4, 10, 50_000.0, "cash")]
    assert len(detect_small_cash(_graph(rows))) == 0
    assert [in_band(r[4], 50_000, 0.5) for r in rows] == [True] * 4 + [False]
    rows[-1] = ("A", None, 4, 10, 49_999.99, "cash")
    hits = detect_small_cash(_graph(rows)).frame
    assert len(hits) == 1 and hits["subject"][0] == "A" and hits["m_payments"][0] == 5
    assert len(hits["txn_ids"][0]) == 5
    rows[0] = ("A", None, 0, 10, 24_999.99, "cash")  # a cent under the band
    assert len(detect_small_cash(_graph(rows))) == 0


def test_remittances_need_the_country_column_and_count_listed_countries():
    rows = [("A", "X1", d, 10, 3_000.0, "cross_border") for d in range(3)]
    graph = _graph(rows)
    assert "counterparty_country" in disabled_detectors(graph)["trafficking_remittance"]
    assert len(detect_remittance(graph)) == 0
    hits = detect_remittance(_graph(rows, counterparty_country=["mm", "KP", "IR"])).frame
    assert len(hits) == 1 and hits["m_remittances"][0] == 3 and hits["m_countries"][0] == 3
    # a malformed country is kept as missing (and flagged), so only two count
    v = validate_transactions(pd.DataFrame({"txn_id": ["a"], "timestamp": ["2024-10-08 10:00"], "src_account": ["A"],
                                            "dst_account": ["B"], "amount": [1.0], "counterparty_country": ["Burma"]}))
    assert v.report.flag_counts == {"BAD_COUNTERPARTY_COUNTRY": 1} and v.table["counterparty_country"].isna().all()
    assert len(detect_remittance(_graph(rows, counterparty_country=["MM", "Burma", "IR"]))) == 0
    assert len(detect_remittance(_graph(rows, counterparty_country=["MM", "MM", "IR"]),
                                 RemittanceParams(countries=["ir"]))) == 0


def test_cash_deposits_count_distinct_branches_within_the_window():
    rows = [(None, "A", d, 10, 2_000.0, "cash") for d in range(6)]
    five = ["B1", "B2", "B3", "B4", "B5", "B1"]
    hits = detect_cash_deposits(_graph(rows, branch_id=five)).frame
    assert len(hits) == 1 and hits["m_branches"][0] == 5 and hits["m_deposits"][0] == 6
    assert len(detect_cash_deposits(_graph(rows, branch_id=["B1", "B2", "B3", "B4", "B1", "B2"]))) == 0
    # the same five branches spread wider than the window of 10 business days
    spread = [(None, "A", 3 * d, 10, 2_000.0, "cash") for d in range(5)]
    assert len(detect_cash_deposits(_graph(spread, branch_id=five[:5]))) == 0
    assert "branch_id" in disabled_detectors(_graph(rows))["trafficking_cash_deposits"]


def test_night_cash_share_is_inclusive_and_dates_without_times_disable_it():
    night = [("A", None, d, 2, 500.0, "cash") for d in range(3)]
    day = [("A", None, d, 14, 500.0, "cash") for d in range(3, 6)]
    hits = detect_night_cash(_graph(night + day)).frame  # 3 of 6 at night: exactly the 0.5 share
    assert len(hits) == 1 and hits["m_night_share"][0] == 0.5
    assert len(detect_night_cash(_graph(night[:2] + day + [("A", None, 7, 15, 500.0, "cash")]))) == 0
    midnight = _graph([("A", None, d, 0, 500.0, "cash") for d in range(6)])
    assert "midnight" in disabled_detectors(midnight)["trafficking_night_cash"]
    assert len(detect_night_cash(midnight)) == 0


@pytest.mark.parametrize("make, message", [
    (lambda: SmallCashParams(band_low=1.0), "'band_low' parameter of SmallCashParams must be a float in the range (0.0, 1.0)"),
    (lambda: RemittanceParams(countries=["Myanmar"]), "'countries' parameter of RemittanceParams"),
    (lambda: CashDepositParams(min_branches=1), "'min_branches' parameter of CashDepositParams must be an int"),
    (lambda: NightCashParams(night_start_hour=3, night_end_hour=3), "'night_end_hour' parameter of NightCashParams"),
])
def test_bad_parameters_name_the_field(make, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        make()


def test_a_default_simulated_bank_has_no_context_columns_and_the_rest_runs():
    bank = simulate(seed=2, n_customers=700, n_days=15, recruit_pool_share=0.4)
    assert not {"counterparty_country", "branch_id"} & set(bank.transactions.columns)
    assert not bank.patterns["typology"].str.startswith("trafficking").any()
    graph = build_graph(validate_transactions(bank.transactions, "bank").table)
    assert set(disabled_detectors(graph)) == {"trafficking_remittance", "trafficking_cash_deposits"}
    pack = [name for name in REGISTRY if name.startswith("trafficking")]
    assert len(run_detectors(graph, pack)) == 0  # no night cash nor small cash in the background
    assert len(run_detectors(graph, ["large_value"]))


def test_planting_trafficking_leaves_the_other_patterns_as_they_were():
    plain = simulate(seed=4, n_customers=700, n_days=20, recruit_pool_share=0.4)
    with_pack = simulate(seed=4, n_customers=700, n_days=20, recruit_pool_share=0.4,
                         trafficking_per_typology=1)
    others = with_pack.patterns[~with_pack.patterns["typology"].isin(
        ["trafficking_small_cash", "trafficking_remittance", "trafficking_cash_deposits", "trafficking_night_cash",
         "cash_allowance", "migrant_remittance", "retail_branch_deposits", "night_shift_cash"])]
    pd.testing.assert_frame_equal(others.reset_index(drop=True), plain.patterns)
    assert with_pack.transactions["branch_id"].notna().any()


def test_the_shortest_run_plants_every_trafficking_kind_inside_it():
    """Ten business days, shorter than the night-cash span (20) and the migrant's month."""
    bank = simulate(seed=3, n_customers=300, n_days=10, patterns_per_typology=0, lookalikes_per_kind=0,
                    recruit_pool_share=0.5, trafficking_per_typology=3)
    assert (bank.patterns["n_txns"] > 0).all() and len(bank.patterns) == 8 * 3
    assert (bank.patterns["last_day"] <= bank.transactions["timestamp"].max()).all()

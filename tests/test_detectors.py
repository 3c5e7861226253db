"""Detectors on hand-built graphs whose answers can be counted by hand, at every boundary
SPEC §3 names: exactly k counterparties, a gap of exactly 5 %, amounts exactly 0.8 Φ and
exactly Φ, 2 versus 3 consecutive days, a holiday inside the window, equal timestamps,
self-transfers."""

import pandas as pd
import pytest

from flowgraph import build_graph, validate_accounts, validate_transactions
from flowgraph.detectors import (FanParams, LargeValueParams, PassThroughParams, StructuringParams, fan,
                                 large_value, pass_through, run_detectors, structuring)
from flowgraph.errors import ConfigError

# 2024-09-23 (Mon) .. 2024-10-14: National Day 10-01..10-07 are holidays, Sun 09-29 and
# Sat 10-12 are make-up working days (PRC calendar)
COLS = ["txn_id", "timestamp", "src_account", "dst_account", "amount", "currency", "channel"]


def graph(rows, accounts=None):
    v = validate_transactions(pd.DataFrame(rows, columns=COLS, dtype=str), "t.csv")
    assert v.report.ok, v.report
    if accounts is None:
        ids = sorted({r[2] for r in rows if r[2]} | {r[3] for r in rows if r[3]})
        accounts = [(a, f"c-{a}", "person") for a in ids]
    acct = validate_accounts(pd.DataFrame(accounts, columns=["account_id", "customer_id", "party_type"])).table
    return build_graph(v.table, acct)


def tx(i, when, src, dst, amount, channel="transfer", currency="CNY"):
    return (f"t{i}", when, src, dst, f"{amount:.2f}", currency, channel)


def typologies(hits):
    return sorted((h.typology, h.subject) for h in hits)


# -- fan ------------------------------------------------------------------------------------

def fan_rows(n_senders, out_to=("R1",), day="2024-09-24", amount=100_000.0):
    rows = [tx(i, f"{day} 09:{i:02d}:00", f"S{i}", "HUB", amount) for i in range(n_senders)]
    total = n_senders * amount
    rows += [tx(100 + j, f"{day} 15:00:00", "HUB", r, total / len(out_to)) for j, r in enumerate(out_to)]
    return rows


def test_exactly_five_senders_is_fan_in_four_is_not():
    assert ("fan_in", "HUB") in typologies(fan.detect(graph(fan_rows(5))))
    assert ("fan_in", "HUB") not in typologies(fan.detect(graph(fan_rows(4))))


def test_dispersed_in_concentrated_out_needs_material_sides():
    # 5 senders x 80,000 = 400,000 = exactly 0.8 x 500,000: material (at or above)
    hits = fan.detect(graph(fan_rows(5, amount=80_000.0)))
    hit = next(h for h in hits if h.typology == "dispersed_in_concentrated_out")
    assert hit.subject == "HUB" and hit.measures["senders"] == 5 and hit.measures["receivers"] == 1
    assert hit.measures["pass_on_ratio"] == 1.0 and hit.measures["top_receiver_amount_share"] == 1.0
    assert hit.amount == 400_000.0 and hit.n_accounts == 7
    assert len(hit.txn_ids) == 6 and hit.txn_ids[0].startswith("t")
    # one cent less on each side: not material
    below = fan.detect(graph(fan_rows(5, amount=79_999.99)))
    assert "dispersed_in_concentrated_out" not in {h.typology for h in below}
    # three receivers are not "concentrated" (<= 2)
    three = fan.detect(graph(fan_rows(5, out_to=("R1", "R2", "R3"))))
    assert "dispersed_in_concentrated_out" not in {h.typology for h in three}


def test_concentrated_in_dispersed_out():
    rows = [tx(0, "2024-09-24 09:00:00", "S0", "HUB", 600_000.0)]
    rows += [tx(1 + j, "2024-09-25 10:00:00", "HUB", f"R{j}", 110_000.0) for j in range(5)]
    hit = next(h for h in fan.detect(graph(rows)) if h.typology == "concentrated_in_dispersed_out")
    assert hit.measures["top_sender_amount_share"] == 1.0
    assert hit.measures["top_receiver_count_share"] == pytest.approx(0.2)
    assert hit.amount == 550_000.0  # the amount passed on


def test_window_counts_business_days_across_a_holiday():
    # senders on 09-27 (Fri), 09-29 (make-up Sun), 09-30, 10-08, 10-09: five business days
    # in a row although ten calendar days apart
    days = ["2024-09-27", "2024-09-29", "2024-09-30", "2024-10-08", "2024-10-09"]
    rows = [tx(i, f"{d} 10:00:00", f"S{i}", "HUB", 10_000.0) for i, d in enumerate(days)]
    assert ("fan_in", "HUB") in typologies(fan.detect(graph(rows), FanParams(window_days=5)))
    assert ("fan_in", "HUB") not in typologies(fan.detect(graph(rows), FanParams(window_days=4)))


def test_self_transfers_cash_and_small_amounts_are_not_counterparties():
    rows = fan_rows(4)
    rows.append(tx(50, "2024-09-24 11:00:00", "HUB", "HUB", 100_000.0))  # self
    rows.append(tx(51, "2024-09-24 11:00:00", "", "HUB", 100_000.0, "cash"))  # cash deposit
    rows.append(tx(52, "2024-09-24 11:00:00", "S9", "HUB", 4_999.99))  # below 1 % of 500,000
    assert ("fan_in", "HUB") not in typologies(fan.detect(graph(rows)))
    rows.append(tx(53, "2024-09-24 11:00:00", "S8", "HUB", 5_000.00))  # exactly 1 %: counts
    assert ("fan_in", "HUB") in typologies(fan.detect(graph(rows)))


def test_accounts_of_the_same_customer_are_not_counterparties():
    rows = fan_rows(5)
    accounts = [("HUB", "c1", "person"), ("S0", "c1", "person")] + \
        [(a, f"c-{a}", "person") for a in ("S1", "S2", "S3", "S4", "R1")]
    assert ("fan_in", "HUB") not in typologies(fan.detect(graph(rows, accounts)))


def test_equal_timestamps_and_one_hit_per_run():
    rows = [tx(i, "2024-09-24 09:00:00", f"S{i}", "HUB", 10_000.0) for i in range(6)]
    hits = [h for h in fan.detect(graph(rows)) if h.typology == "fan_in"]
    # the condition holds on every day of the 10-day window: one hit, not ten
    assert len(hits) == 1 and hits[0].measures["senders"] == 6


# -- pass-through -------------------------------------------------------------------------

def pt_rows(amount_in, amount_out, out_day="2024-09-25"):
    return [tx(0, "2024-09-24 09:00:00", "SRC", "MID", amount_in),
            tx(1, f"{out_day} 09:00:00", "MID", "DST", amount_out)]


def test_gap_exactly_five_percent_is_a_hit():
    hits = pass_through.detect(graph(pt_rows(500_000.0, 475_000.0)))
    assert typologies(hits) == [("pass_through", "MID")]
    assert hits[0].measures["gap"] == pytest.approx(0.05)
    assert hits[0].amount == 475_000.0
    assert pass_through.detect(graph(pt_rows(500_000.0, 474_999.99))) == []


def test_materiality_floor_is_inclusive():
    # min(in, out) exactly 0.8 x 500,000
    assert typologies(pass_through.detect(graph(pt_rows(400_000.0, 400_000.0)))) == [("pass_through", "MID")]
    assert pass_through.detect(graph(pt_rows(399_999.99, 399_999.99))) == []


def test_three_consecutive_business_days_not_four():
    # in on Tue 09-24, out on Thu 09-26: inside one 3-day run
    assert pass_through.detect(graph(pt_rows(500_000.0, 500_000.0, out_day="2024-09-26")))
    # out on Fri 09-27: no 3 consecutive business days hold both
    assert pass_through.detect(graph(pt_rows(500_000.0, 500_000.0, out_day="2024-09-27"))) == []
    # a 2-day run is a parameter
    assert pass_through.detect(graph(pt_rows(500_000.0, 500_000.0, out_day="2024-09-26")),
                               PassThroughParams(run_days=2)) == []


def test_holiday_does_not_break_consecutive_business_days():
    rows = [tx(0, "2024-09-30 09:00:00", "SRC", "MID", 500_000.0),
            tx(1, "2024-10-08 09:00:00", "MID", "DST", 490_000.0)]  # next business day
    assert typologies(pass_through.detect(graph(rows))) == [("pass_through", "MID")]


def test_cash_in_transfer_out_is_pass_through_sweep_to_own_account_is_not():
    rows = [tx(0, "2024-09-24 09:00:00", "", "MID", 450_000.0, "cash"),
            tx(1, "2024-09-24 15:00:00", "MID", "DST", 450_000.0)]
    assert typologies(pass_through.detect(graph(rows))) == [("pass_through", "MID")]
    own = [("MID", "corp", "person"), ("DST", "corp", "person")]
    assert pass_through.detect(graph(rows, own)) == []


def test_chain_links_into_one_hit_with_first_intermediary_as_subject():
    rows = [tx(0, "2024-09-24 09:00:00", "SRC", "M1", 480_000.0),
            tx(1, "2024-09-24 10:00:00", "M1", "M2", 475_000.0),
            tx(2, "2024-09-24 11:00:00", "M2", "M3", 470_000.0),
            tx(3, "2024-09-24 12:00:00", "M3", "DST", 465_000.0)]
    hits = pass_through.detect(graph(rows))
    # one chain hit, and every member keeps its own hit (a chain that grows changes none)
    assert sorted(typologies(hits)) == [("pass_through", "M1"), ("pass_through", "M2"), ("pass_through", "M3"),
                                        ("pass_through_chain", "M1")]
    h = next(h for h in hits if h.typology == "pass_through_chain")
    assert h.measures["members"] == ["M1", "M2", "M3"] and h.measures["chain_length"] == 3
    assert sorted(h.txn_ids) == ["t0", "t1", "t2", "t3"] and h.amount == 465_000.0
    unlinked = pass_through.detect(graph(rows), PassThroughParams(link_chains=False))
    assert typologies(unlinked) == [("pass_through", "M1"), ("pass_through", "M2"), ("pass_through", "M3")]


# -- structuring ----------------------------------------------------------------------------

def cash(i, day, amount, acct="ACC"):
    return tx(i, f"{day} 10:00:00", "", acct, amount, "cash")


DAYS = ["2024-09-23", "2024-09-24", "2024-09-25", "2024-09-26"]


def test_band_starts_at_exactly_0_8_phi():
    rows = [cash(i, d, a) for i, (d, a) in enumerate(zip(DAYS, [40_000.0, 41_000.0, 42_000.0]))]
    hits = structuring.detect(graph(rows))
    assert typologies(hits) == [("structuring", "ACC")]
    assert hits[0].measures["band_transactions"] == 3 and hits[0].measures["method"] == "cash"
    assert hits[0].amount == 123_000.0
    rows[0] = cash(0, DAYS[0], 39_999.99)
    assert structuring.detect(graph(rows)) == []


def test_amount_exactly_phi_is_reportable_not_structuring():
    rows = [cash(i, d, a) for i, (d, a) in enumerate(zip(DAYS, [49_000.0, 49_500.0, 50_000.0]))]
    assert structuring.detect(graph(rows)) == []  # only 2 in the band
    lv = large_value.detect(graph(rows))
    assert [(h.typology, h.txn_ids) for h in lv if h.typology == "large_value_single"] == \
        [("large_value_single", ("t2",))]


def test_variance_and_share_limits():
    spread_out = [cash(i, d, a) for i, (d, a) in enumerate(zip(DAYS, [40_000.0, 49_000.0, 40_500.0, 48_500.0]))]
    assert structuring.detect(graph(spread_out)) == []  # sigma ~ 0.088 phi
    diluted = [cash(9, DAYS[0], 1_000.0)] + [cash(i, d, 47_000.0) for i, d in enumerate(DAYS[1:])]
    assert structuring.detect(graph(diluted)) == []  # 3 of 4 = 75 % is not > 80 %
    assert structuring.detect(graph(diluted), StructuringParams(min_share=0.7))


def test_daily_cumulative_structuring_of_split_deposits():
    rows = []
    for i, d in enumerate(DAYS[:3]):
        rows += [cash(10 * i, d, 23_000.0), cash(10 * i + 1, d, 23_500.0)]
    hits = structuring.detect(graph(rows))
    assert typologies(hits) == [("structuring_daily", "ACC")]
    assert hits[0].measures["band_days"] == 3 and hits[0].measures["direction"] == "in"
    assert structuring.detect(graph(rows), StructuringParams(daily=False)) == []


def test_a_daily_structuring_hit_keeps_its_id_when_the_read_holds_another_series():
    """A daily series is named in the hit's id by its channel, currency class and Φ, not by
    its number among the series the read holds: one small cash deposit elsewhere (a series
    that sorts first) gave the transfer run another id, so a scan in blocks kept both."""
    rows = []
    for i, d in enumerate(DAYS[:3]):
        rows += [tx(10 * i, f"{d} 10:00:00", "P1", "ACC", 230_000.0), tx(10 * i + 1, f"{d} 11:00:00", "P2", "ACC",
                                                                          235_000.0)]
    alone = structuring.detect(graph(rows))
    assert typologies(alone) == [("structuring_daily", "ACC")] and alone[0].measures["method"] == "transfer"
    beside = structuring.detect(graph(rows + [cash(99, DAYS[0], 100.0, acct="ELSE")]))
    assert [(h.hit_id, h.txn_ids, h.measures) for h in beside] == [(h.hit_id, h.txn_ids, h.measures) for h in alone]


# -- large value and frequent ----------------------------------------------------------------

def test_single_and_daily_cumulative_large_value():
    rows = [tx(0, "2024-09-24 09:00:00", "A", "B", 500_000.0),   # LV-PERSON single
            tx(1, "2024-09-24 09:00:00", "A", "C", 499_999.99),  # under
            tx(2, "2024-09-25 09:00:00", "", "B", 30_000.0, "cash"),
            tx(3, "2024-09-25 10:00:00", "", "B", 20_000.0, "cash")]  # daily cash sum exactly 50,000
    hits = large_value.detect(graph(rows))
    got = sorted((h.typology, h.measures.get("rule"), h.txn_ids) for h in hits)
    assert ("large_value_single", "LV-PERSON", ("t0",)) in got
    assert ("large_value_daily", "LV-CASH", ("t2", "t3")) in got
    # A paid 999,999.99 on 09-24 in two transfers: daily cumulative too
    assert ("large_value_daily", "LV-PERSON", ("t0", "t1")) in got
    assert not any("t1" == ids for _, _, ids in got)


def payee_rows():
    """The tester's case: ALICE01 pays BOB01 500,000 in one transfer; CAROL01 and ERIN01 pay
    DAVE01 250,000 each (a daily cumulative sum on the payee's side)."""
    return [tx(1, "2026-11-10 10:00:00", "ALICE01", "BOB01", 500_000.0),
            tx(2, "2026-11-10 10:00:00", "CAROL01", "DAVE01", 250_000.0),
            tx(3, "2026-11-10 11:00:00", "ERIN01", "DAVE01", 250_000.0)]


def large_value_view(hits):
    return sorted((h.typology, h.subject, h.customer, h.txn_ids, h.measures.get("direction")) for h in hits)


def test_a_single_large_transfer_is_the_payees_hit_too_when_the_payee_is_a_customer():
    """003 二㈠: per customer, receipts and payments one-sided: BOB01 received 500,000 in one
    transfer, as reportable as DAVE01's two of 250,000 (a daily sum "in") and as ALICE01's
    payment. The payer's hit keeps its id (the one it had before payees had hits)."""
    hits = large_value.detect(graph(payee_rows()))
    assert large_value_view(hits) == [
        ("large_value_daily", "DAVE01", "c-DAVE01", ("t2", "t3"), "in"),
        ("large_value_single", "ALICE01", "c-ALICE01", ("t1",), None),
        ("large_value_single", "BOB01", "c-BOB01", ("t1",), None)]
    alice, bob = (next(h for h in hits if h.subject == a) for a in ("ALICE01", "BOB01"))
    assert alice.hit_id == "b965a96dddfecca1"
    assert bob.hit_id != alice.hit_id and len({h.hit_id for h in hits}) == len(hits)
    # the same transaction, rule, amount and measures: only the side differs
    assert (bob.amount, bob.measures, bob.run_first) == (alice.amount, alice.measures, alice.run_first)
    assert bob.measures["rule"] == "LV-PERSON" and bob.measures["value"] == 500_000.0
    assert set(bob.accounts) == {"ALICE01", "BOB01"}
    # stable: the same data in another order gives the same ids
    again = large_value.detect(graph(payee_rows()[::-1]))
    assert sorted(h.hit_id for h in again) == sorted(h.hit_id for h in hits)


def test_the_payers_single_hits_do_not_depend_on_the_payee_being_a_customer():
    """With BOB01 outside the bank (no customer) ALICE01's hit is the same hit; BOB01 has none."""
    outside = [(a, f"c-{a}", "person") for a in ("ALICE01", "CAROL01", "DAVE01", "ERIN01")]
    external = large_value.detect(graph(payee_rows(), accounts=outside))
    assert large_value_view(external) == [
        ("large_value_daily", "DAVE01", "c-DAVE01", ("t2", "t3"), "in"),
        ("large_value_single", "ALICE01", "c-ALICE01", ("t1",), None)]
    both = large_value.detect(graph(payee_rows()))
    alice = [(h.hit_id, h.txn_ids, h.amount, h.measures) for h in both if h.subject == "ALICE01"]
    assert alice == [(h.hit_id, h.txn_ids, h.amount, h.measures) for h in external if h.subject == "ALICE01"]
    # paid from outside the bank to a customer: the payee's hit, as before (one hit)
    rows = [tx(1, "2026-11-10 10:00:00", "X9", "BOB01", 500_000.0)]
    inbound = large_value.detect(graph(rows, accounts=[("BOB01", "c-BOB01", "person")]))
    assert [(h.hit_id, h.subject, h.txn_ids) for h in inbound] == [("760a5e5766a3a068", "BOB01", ("t1",))]


def test_cash_large_value_hits_are_as_before():
    """A cash deposit (no payer) is its payee's hit and a withdrawal its payer's, one hit
    each, with the ids they had before payees had hits of their own."""
    rows = [tx(4, "2026-11-10 12:00:00", "", "DAVE01", 60_000.0, "cash"),
            tx(5, "2026-11-10 13:00:00", "ERIN01", "", 60_000.0, "cash")]
    hits = large_value.detect(graph(rows))
    assert sorted((h.hit_id, h.typology, h.subject, h.txn_ids, h.measures["rule"]) for h in hits) == [
        ("0d4944231eaf8ea7", "large_value_single", "DAVE01", ("t4",), "LV-CASH"),
        ("0f600f90fa9ddc28", "large_value_single", "ERIN01", ("t5",), "LV-CASH")]


def test_single_hits_per_side_between_accounts_of_one_customer_and_of_a_self_transfer():
    """Between two accounts of one customer: a hit on each account (the customer paid and
    received, as the daily sums count it). A self-transfer: one hit, its account's (a
    report reads the side from the payer, so a second hit would say "out" again)."""
    rows = [tx(1, "2026-11-10 10:00:00", "ERIN01", "ERIN02", 600_000.0),
            tx(2, "2026-11-11 10:00:00", "ERIN01", "ERIN01", 600_000.0)]
    accounts = [("ERIN01", "c-ERIN", "person"), ("ERIN02", "c-ERIN", "person")]
    singles = [h for h in large_value.detect(graph(rows, accounts)) if h.typology == "large_value_single"]
    assert sorted((h.subject, h.customer, h.txn_ids) for h in singles) == [
        ("ERIN01", "c-ERIN", ("t1",)), ("ERIN01", "c-ERIN", ("t2",)), ("ERIN02", "c-ERIN", ("t1",))]
    assert len({h.hit_id for h in singles}) == 3


def test_a_payees_single_hit_beside_its_daily_sum_mirrors_the_payers():
    """A single large transfer and a smaller one the same day: the single hit and the daily
    sum of both, for the payer ("out") as for the payee ("in"); one alone makes no daily hit
    on either side."""
    rows = [tx(1, "2026-11-10 10:00:00", "ALICE01", "BOB01", 500_000.0),
            tx(2, "2026-11-10 11:00:00", "ALICE01", "BOB01", 100_000.0)]
    got = large_value_view(large_value.detect(graph(rows)))
    assert got == [("large_value_daily", "ALICE01", "c-ALICE01", ("t1", "t2"), "out"),
                   ("large_value_daily", "BOB01", "c-BOB01", ("t1", "t2"), "in"),
                   ("large_value_single", "ALICE01", "c-ALICE01", ("t1",), None),
                   ("large_value_single", "BOB01", "c-BOB01", ("t1",), None)]


def test_foreign_currency_uses_usd_threshold():
    rows = [tx(0, "2024-09-24 09:00:00", "A", "", 10_000.0, "cash", "USD"),
            tx(1, "2024-09-24 09:00:00", "A", "", 9_999.0, "cash", "USD")]
    singles = [h for h in large_value.detect(graph(rows)) if h.typology == "large_value_single"]
    assert [h.txn_ids for h in singles] == [("t0",)]
    assert singles[0].measures["currency_class"] == "foreign"


def test_frequent_three_large_a_day_or_three_consecutive_business_days():
    per_day = [tx(i, "2024-09-24 09:00:00", "A", f"B{i}", 400_000.0) for i in range(3)]
    assert "frequent_daily" in {h.typology for h in large_value.detect(graph(per_day))}
    assert "frequent_daily" not in {h.typology for h in large_value.detect(graph(per_day[:2]))}
    # 10-08, 10-09, 10-10: three consecutive business days
    run = [tx(i, f"{d} 09:00:00", "A", f"B{i}", 400_000.0) for i, d in
           enumerate(["2024-10-08", "2024-10-09", "2024-10-10"])]
    hits = [h for h in large_value.detect(graph(run)) if h.typology == "frequent_consecutive"]
    assert len(hits) == 1 and hits[0].subject == "A" and hits[0].measures["days"] == 3
    two = [h for h in large_value.detect(graph(run[:2])) if h.typology == "frequent_consecutive"]
    assert two == []
    # 09-30, (holiday week), 10-08, 10-09: consecutive business days too; the run qualifies
    # by its whole length and is reported once per month it spans (runs end with their month)
    across = [tx(i, f"{d} 09:00:00", "A", f"B{i}", 400_000.0) for i, d in
              enumerate(["2024-09-30", "2024-10-08", "2024-10-09"])]
    hits = sorted((h for h in large_value.detect(graph(across)) if h.typology == "frequent_consecutive"),
                  key=lambda h: h.run_first)
    assert [(str(h.run_first), str(h.run_last), h.measures["days"]) for h in hits] == \
        [("2024-09-30", "2024-09-30", 1), ("2024-10-08", "2024-10-09", 2)]
    assert [list(h.txn_ids) for h in hits] == [["t0"], ["t1", "t2"]]


# -- hits, API, parameters ---------------------------------------------------------------------

def test_hit_ids_are_deterministic_and_frames_use_user_ids():
    rows = fan_rows(5, amount=100_000.0)
    a = run_detectors(graph(rows))
    b = run_detectors(graph(list(reversed(rows))))
    assert sorted(h.hit_id for h in a.hits) == sorted(h.hit_id for h in b.hits)
    frame = a.frame
    for col in ("hit_id", "detector", "subject", "accounts", "txn_ids", "window_start", "window_end",
                "n_accounts", "n_days", "amount", "ceiling", "utilisation"):
        assert col in frame.columns
    assert set(frame.subject) <= {"HUB", "S0", "S1", "S2", "S3", "S4", "R1"}
    other = run_detectors(graph(rows), params={"fan": FanParams(window_days=9)})
    assert {h.hit_id for h in other.hits if h.detector == "fan"}.isdisjoint(
        {h.hit_id for h in a.hits if h.detector == "fan"})


def test_hits_carry_their_ceiling_score():
    hits = pass_through.detect(graph(pt_rows(500_000.0, 480_000.0)))
    h = hits[0]
    # N = 3 accounts, D = 2 business days, one method (transfer, phi 500,000): W(3, 2) = 2.4
    assert (h.n_accounts, h.n_days) == (3, 2)
    assert h.ceiling == pytest.approx(2.4 * 500_000.0)
    assert h.utilisation == pytest.approx(480_000.0 / 1_200_000.0)


def test_scan_range_limits_days():
    later = [(f"x{r[0]}", *r[1:]) for r in fan_rows(5, day="2024-10-14")]
    g = graph(fan_rows(5, day="2024-09-24") + later)
    first_half = fan.detect(g, days=("2024-09-23", "2024-09-30"))
    assert all(str(h.window_end) <= "2024-09-30" for h in first_half)


def test_empty_graph_has_no_hits():
    g = graph([tx(0, "2024-09-24 09:00:00", "A", "B", 1.0)])
    assert len(run_detectors(g)) == 0


@pytest.mark.parametrize("cls, kwargs, message", [
    (FanParams, {"window_days": 0}, r"The 'window_days' parameter of FanParams must be an int in the range \[1, 250\]. Got 0 instead."),
    (FanParams, {"max_concentrated": 5}, r"'max_concentrated' parameter of FanParams must be an int in the range \[1, 4\]"),
    (PassThroughParams, {"tolerance": 1.5}, r"'tolerance' parameter of PassThroughParams must be a float in the range \[0.0, 0.5\]"),
    (StructuringParams, {"sigma_max": 0.0}, r"'sigma_max' parameter of StructuringParams must be a float in the range \(0.0, 0.5\]"),
    (LargeValueParams, {"per_day": 0}, r"'per_day' parameter of LargeValueParams"),
])
def test_bad_parameters_name_parameter_range_and_value(cls, kwargs, message):
    with pytest.raises(ConfigError, match=message):
        cls(**kwargs)


def test_unknown_detector_name():
    with pytest.raises(KeyError, match="unknown detector"):
        run_detectors(graph(fan_rows(1)), detectors=["smurf"])


def test_small_payments_between_pass_through_accounts_do_not_chain_them():
    rows = [tx(0, "2024-09-24 09:00:00", "S1", "P1", 480_000.0), tx(1, "2024-09-24 15:00:00", "P1", "D1", 470_000.0),
            tx(2, "2024-09-24 09:00:00", "S2", "P2", 480_000.0), tx(3, "2024-09-24 15:00:00", "P2", "D2", 475_000.0),
            tx(4, "2024-09-24 12:00:00", "P1", "P2", 120.0)]  # a card-sized payment between the two
    hits = pass_through.detect(graph(rows))
    assert typologies(hits) == [("pass_through", "P1"), ("pass_through", "P2")]


def test_accounts_outside_the_bank_are_never_subjects():
    rows = fan_rows(5)
    accounts = [(a, f"c-{a}", "person") for a in ("S0", "S1", "S2", "S3", "S4", "R1")]  # HUB is not ours
    hits = run_detectors(graph(rows, accounts)).hits
    assert hits and all(h.subject != "HUB" for h in hits)


# -- the tolerance band's run first, then the strict run (as a scan does) --------------------

@pytest.mark.parametrize("detector, params, rows", [
    (fan, FanParams(), [fan_rows(4, amount=80_000.0), fan_rows(5, out_to=("R1", "R2"))]),
    (pass_through, PassThroughParams(), [pt_rows(500_000.0, 480_000.0), pt_rows(500_000.0, 470_000.0)]),
    (structuring, StructuringParams(daily=False), [[cash(i, d, 45_000.0 + 1_500 * i) for i, d in enumerate(
        ["2024-09-23", "2024-09-24", "2024-09-25", "2024-09-26", "2024-09-27", "2024-09-30"])]]),
])
def test_strict_run_after_the_band_run_equals_a_strict_run_alone(detector, params, rows):
    # the strict run narrows the band run's rows: the same hits as a run of its own
    # each part its own accounts and transactions
    rows = [(f"t{k}-{i}", r[1], r[2] and f"{r[2]}{k}", r[3] and f"{r[3]}{k}") + r[4:]
            for k, part in enumerate(rows) for i, r in enumerate(part)]
    g, alone = graph(rows), graph(rows)
    band = detector.detect(g, params.relaxed(0.2)).frame
    after_band = detector.detect(g, params).frame
    assert len(after_band) > 0 and set(band["hit_id"]) != set(after_band["hit_id"])
    pd.testing.assert_frame_equal(after_band, detector.detect(alone, params).frame)

"""Threshold tests are exact in cents (issue 10, item 6): a daily cumulative sum of exactly Φ
meets the large-value rule however it is split, Φ − 0.01 never does; a daily sum of exactly
Φ is outside the structuring band, Φ − 0.01 inside. Float yuan sums miss ≈ 2 % of random
splits of exactly Φ (240,634.96 + 157,794.25 + 101,570.79 adds up to 499,999.99999999994).

Each case runs the public path on a canonical table: validate_transactions -> build_graph ->
detect, and checks the outcome against Python int sums of the cents."""

import pandas as pd
from hypothesis import example, given, settings
from hypothesis import strategies as st

from flowgraph import build_graph, validate_accounts, validate_transactions
from flowgraph.calendar import BusinessCalendar
from flowgraph.config import PBOC_2016
from flowgraph.detectors import StructuringParams, large_value, structuring

COLS = ["txn_id", "timestamp", "src_account", "dst_account", "amount", "currency", "channel"]
CALENDAR = BusinessCalendar.weekdays_only()
DAYS = ["2024-09-03", "2024-09-04", "2024-09-05"]  # Tue..Thu
ISSUE_SPLIT = [24_063_496, 15_779_425, 10_157_079]  # cents; exactly 500,000.00

# (rule code, channel, currency, Φ in cents of that currency, who pays whom)
CASES = {
    "person_cny": ("LV-PERSON", "transfer", "CNY", 50_000_000, "out"),
    "cash_cny": ("LV-CASH", "cash", "CNY", 5_000_000, "in"),
    "person_usd": ("LV-PERSON", "transfer", "USD", 10_000_000, "out"),
}


def test_cases_use_the_rule_set_thresholds():
    for code, _, currency, phi_cents, _ in CASES.values():
        rule = PBOC_2016.rule(code)
        assert round((rule.threshold_home if currency == "CNY" else rule.threshold_foreign) * 100) == phi_cents


def _yuan(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def _rows(parts_by_day, channel, currency, direction):
    """The customer's account P1 pays (out) or receives (in) each day's parts; the other
    side is an account of another bank, or nobody for cash."""
    rows = []
    for day, parts in zip(DAYS, parts_by_day):
        for k, cents in enumerate(parts):
            other = "" if channel == "cash" else f"X{len(rows)}"
            src, dst = ("P1", other) if direction == "out" else (other, "P1")
            rows.append((f"t{len(rows)}", f"{day} 10:{k:02d}:00", src, dst, _yuan(cents), currency, channel))
    return rows


def _graph(rows):
    v = validate_transactions(pd.DataFrame(rows, columns=COLS, dtype=str), "split.csv")
    assert v.report.ok, v.report
    acct = validate_accounts(pd.DataFrame([("P1", "c1", "person")], columns=["account_id", "customer_id",
                                                                              "party_type"])).table
    return build_graph(v.table, acct, CALENDAR)


@st.composite
def splits(draw, total_cents):
    """``total_cents`` cut into 2..6 positive cent amounts at random points."""
    k = draw(st.integers(2, 6))
    cuts = sorted(draw(st.lists(st.integers(1, total_cents - 1), min_size=k - 1, max_size=k - 1, unique=True)))
    bounds = [0, *cuts, total_cents]
    return [b - a for a, b in zip(bounds, bounds[1:])]


@st.composite
def case_and_split(draw):
    name = draw(st.sampled_from(sorted(CASES)))
    short_by = draw(st.sampled_from([0, 1]))  # a split of Φ, or of Φ - 0.01
    return name, draw(splits(CASES[name][3] - short_by))


@settings(max_examples=60, deadline=None)
@given(case_and_split())
@example(("person_cny", ISSUE_SPLIT))
@example(("person_cny", [24_063_496, 15_779_425, 10_157_078]))
@example(("cash_cny", [2_406_350, 1_577_942, 1_015_708]))
@example(("person_usd", [4_812_699, 3_155_885, 2_031_416]))
def test_daily_cumulative_split_of_phi_is_reported_and_one_cent_less_is_not(spec):
    name, parts = spec
    code, channel, currency, phi_cents, direction = CASES[name]
    reportable = sum(parts) >= phi_cents  # the integer reference
    hits = [h for h in large_value.detect(_graph(_rows([parts], channel, currency, direction)))
            if h.typology == "large_value_daily" and h.measures["rule"] == code]
    assert len(hits) == int(reportable)
    if reportable:
        (hit,) = hits
        assert hit.subject == "P1"
        assert hit.measures["direction"] == direction
        assert hit.measures["currency_class"] == ("CNY" if currency == "CNY" else "foreign")
        assert hit.measures["transactions"] == len(parts)
        assert round(hit.measures["daily_sum"] * 100) == sum(parts)
        assert sorted(hit.txn_ids) == sorted(f"t{i}" for i in range(len(parts)))


@settings(max_examples=25, deadline=None)
@given(st.sampled_from(sorted(CASES)), st.data())
def test_structuring_daily_band_ends_one_cent_under_phi(name, data):
    # three days whose sums sit one cent under Φ (σ = 0): a split band on each day. Making
    # the last day's sum exactly Φ takes it out of the band: two band days are too few.
    _, channel, currency, phi_cents, direction = CASES[name]
    last_at_phi = data.draw(st.booleans())
    totals = [phi_cents - 1, phi_cents - 1, phi_cents if last_at_phi else phi_cents - 1]
    parts_by_day = [data.draw(splits(total)) for total in totals]
    band_days = sum(1 for total in totals if total < phi_cents)  # the integer reference
    hits = [h for h in structuring.detect(_graph(_rows(parts_by_day, channel, currency, direction)),
                                          StructuringParams(window_days=3))
            if h.typology == "structuring_daily"]
    assert len(hits) == int(band_days >= 3)
    if hits:
        (hit,) = hits
        assert (hit.subject, hit.measures["direction"], hit.measures["band_days"]) == ("P1", direction, 3)
        assert hit.measures["method"] == channel
        assert len(hit.txn_ids) == sum(map(len, parts_by_day))


def test_structuring_band_starts_at_exactly_band_low_phi():
    # 0.8 Φ = 400,000.00 is in the band, 399,999.99 is not (band_low · Φ in cents, not a
    # float ratio)
    def hits(cents):
        rows = _rows([[cents], [cents], [cents]], "transfer", "CNY", "out")
        return [h.typology for h in structuring.detect(_graph(rows), StructuringParams(daily=False))]

    assert hits(40_000_000) == ["structuring"]
    assert hits(39_999_999) == []


def test_structuring_counts_the_band_transactions_of_a_whole_window():
    # three band transactions on the first and the last day of a 3-day window: the window
    # ending on the last day holds all three; no 2-day window holds more than two
    rows = _rows([[40_000_000], [], [40_000_000, 40_000_000]], "transfer", "CNY", "out")

    def hits(window_days):
        params = StructuringParams(window_days=window_days, daily=False)
        return [h.typology for h in structuring.detect(_graph(rows), params)]

    assert hits(3) == ["structuring"]
    assert hits(2) == []

"""Every detector kernel against its plain-Python reference (tests/reference/detectors.py)
on random graphs: hypothesis draws accounts, customers, days, amounts (many of them at
or near the thresholds) and channels."""

import types

import numpy as np
import pandas as pd
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from reference.detectors import (
    daily_series_reference,
    daily_cumulative_reference,
    daily_structuring_reference,
    fan_reference,
    frequent_reference,
    pass_through_reference,
    structuring_reference,
)
from reference.distinct import distinct_codes_reference
from reference.large_value import edge_customers_reference
from reference.phi import edge_phi_reference, edge_rule_tests_reference

from flowgraph import build_graph, validate_accounts, validate_transactions
from flowgraph._kernels.fan import fan_days, fan_days_met
from flowgraph._kernels.distinct import few_distinct, few_distinct_codes, replaced
from flowgraph._kernels.large_value import daily_cumulative, daily_cumulative_evidence, edge_customers, frequent_runs
from flowgraph._kernels.phi import edge_rule_tests
from flowgraph._kernels.pass_through import pass_through_days, pass_through_days_met, qualifies
from flowgraph._kernels.runs import day_runs, keep_rows, row_owner, take
from reference.runs import periods
from flowgraph._kernels.structuring import (
    SIGMA_TIE,
    daily_structuring_days,
    structuring_days,
    structuring_days_met,
)
from flowgraph.calendar import BusinessCalendar
from flowgraph.config import CHANNELS, PBOC_2016, RULE_SETS, LargeValueRule, RuleSet
from flowgraph.detectors._common import (
    FEW_PHI_VALUES,
    _edge_phi_cents,
    phi_codes,
    rule_kernel_args,
    cents,
    edge_phi_cents,
    period_first,
    share_cents,
    threshold_cents,
)
from flowgraph.detectors.structuring import _daily_series, _series_of

CALENDAR = BusinessCalendar.weekdays_only()
START = pd.Timestamp("2024-08-26")  # a Monday; September starts on business day 5: a run cut there
ACCOUNTS = [f"A{i}" for i in range(6)]
# amounts that sit on the boundaries of a 50,000 / 500,000 threshold world, and the issue's
# split of exactly 500,000.00 that float yuan sums put a hair under it
AMOUNTS = [100.0, 4_000.0, 40_000.0, 42_500.0, 45_000.0, 47_500.0, 49_999.99, 50_000.0, 400_000.0,
           450_000.0, 475_000.0, 500_000.0, 520_000.0, 240_634.96, 157_794.25, 101_570.79]

edge = st.tuples(st.integers(-1, 5), st.integers(-1, 5), st.integers(0, 14), st.sampled_from(AMOUNTS),
                 st.sampled_from(CHANNELS), st.sampled_from(["CNY", "CNY", "USD"]))
graphs = st.tuples(st.lists(edge, min_size=1, max_size=40), st.lists(st.integers(0, 3), min_size=6, max_size=6),
                   st.lists(st.sampled_from(["person", "entity", ""]), min_size=6, max_size=6))


def make_graph(edges, customers, parties):
    rows = []
    for i, (s, d, day, amount, channel, currency) in enumerate(edges):
        if s < 0 and d < 0:
            d = 0
        when = START + pd.offsets.BDay(day) + pd.Timedelta(minutes=i)
        rows.append((f"t{i}", str(when), ACCOUNTS[s] if s >= 0 else "", ACCOUNTS[d] if d >= 0 else "",
                     str(amount), currency, channel))
    cols = ["txn_id", "timestamp", "src_account", "dst_account", "amount", "currency", "channel"]
    frame = pd.DataFrame(rows, columns=cols)
    # Validation leaves a side empty only for cash (MISSING_SRC_ACCOUNT ...), but a store
    # ingested before that rule may hold such transfers, and the kernels must still handle
    # them (an unknown party): validated as cash, then given back their channel.
    one_sided = ((frame.src_account == "") | (frame.dst_account == "")) & (frame.channel != "cash")
    v = validate_transactions(frame.assign(channel=frame.channel.where(~one_sided, "cash")), "h")
    channel = frame.channel.to_numpy()[v.table.source_row.to_numpy() - 1]
    v.table["channel"] = pd.Categorical(channel, categories=list(CHANNELS))
    acct = validate_accounts(pd.DataFrame({"account_id": ACCOUNTS, "customer_id": [f"c{c}" for c in customers],
                                           "party_type": parties})).table
    return build_graph(v.table, acct, CALENDAR)


def scan_days(g, first=0):
    """A scan of graph ``g`` from day ``first`` (clipped to its days) to its last day."""
    return min(first, g.n_days - 1), g.n_days - 1


def runs_with_best(g, offsets, days_met, n_keys, tie=0.0):
    """The kernel's runs of graph ``g`` and, per run, its best day's row (:func:`day_runs`)."""
    runs = day_runs(offsets, days_met, n_keys, g.period_last, tie)
    return runs, take(days_met, runs.best_row)


@settings(max_examples=40, deadline=None)
@given(graphs, st.integers(1, 6), st.integers(2, 4), st.integers(1, 2), st.integers(0, 14))
def test_fan_kernel_matches_reference(graph_spec, window, k_many, k_few, first_day):
    # both evaluate the days first .. last; the kernel reads only the edges their windows hold
    g = make_graph(*graph_spec)
    first, last = scan_days(g, first_day)
    floor = np.full(g.n_accounts, 400_000.0)
    small = np.full(g.n_accounts, 1_000.0)
    runs, best = runs_with_best(g, *fan_days(g.arrays, first, last, window, k_many, min(k_few, k_many - 1), cents(floor),
                                          small, 3), 4)
    got = sorted(zip(*(x.tolist() for x in (runs.account, runs.key, runs.first_day, runs.last_day, best.day,
                                             best.senders, best.receivers, best.in_cents / 100, best.out_cents / 100))))
    assert got == fan_reference(g, first, last, window, k_many, min(k_few, k_many - 1), floor, small)


def test_fan_counts_the_counterparties_of_a_whole_window():
    # "many" = 3 in a window of 5 business days: A0 is paid by three customers on days 2, 4
    # and 6 (the first and last days of one window) and by no one else, a fan-in on day 6
    # only; no window of 4 days holds them. A0 has exactly 3 in-edges: the kernel's
    # prefilter (the most edges a window holds) must let an account with k_many through
    edges = [(1, 0, 2, 10_000.0, "transfer", "CNY"), (2, 0, 4, 10_000.0, "transfer", "CNY"),
             (3, 0, 6, 10_000.0, "transfer", "CNY")]
    edges += [(4, 5, d, 100.0, "transfer", "CNY") for d in (0, 12)]  # the graph's days: 0 .. 12
    g = make_graph(edges, list(range(6)), ["person"] * 6)
    floor, small = cents(np.full(g.n_accounts, 40_000.0)), np.full(g.n_accounts, 1_000.0)
    for window, want in ((5, [(0, 0, 6, 6)]), (4, [])):
        runs = day_runs(*fan_days(g.arrays, 0, g.n_days - 1, window, 3, 2, floor, small, 2), 4, g.period_last)
        assert list(zip(*(x.tolist() for x in (runs.account, runs.key, runs.first_day, runs.last_day)))) == want


@settings(max_examples=40, deadline=None)
@given(graphs, st.integers(1, 4), st.sampled_from([0.0, 0.05, 0.1]), st.sampled_from([0.0, 40_000.0, 400_000.0]))
def test_pass_through_kernel_matches_reference(graph_spec, run_days, tolerance, floor_value):
    g = make_graph(*graph_spec)
    first, last = scan_days(g)
    floor = np.full(g.n_accounts, floor_value)
    runs, best = runs_with_best(g, *pass_through_days(g.arrays, last, run_days, cents(floor), tolerance, 2), 1)
    got = sorted(zip(*(x.tolist() for x in (runs.account, runs.first_day, runs.last_day, best.day,
                                             best.in_cents / 100, best.out_cents / 100))))
    assert got == pass_through_reference(g, first, last, run_days, floor, tolerance, qualifies)


def _same_rows(a, b):
    """Two kernels' (offsets, rows) are the same, column by column."""
    assert np.array_equal(a[0], b[0])
    for x, y in zip(a[1], b[1]):
        assert np.array_equal(x, y)


@settings(max_examples=40, deadline=None)
@given(graphs, st.integers(1, 6), st.integers(2, 4), st.integers(0, 2), st.sampled_from([0.0, 40_000.0, 400_000.0]),
       st.sampled_from([0.0, 0.2]))
def test_fan_rows_narrowed_from_looser_thresholds_equal_a_strict_run(graph_spec, window, k_many, more, floor_value,
                                                                      less_floor):
    # what the tolerance band's run found, narrowed, is what the strict run finds
    g = make_graph(*graph_spec)
    last = g.n_days - 1
    small = np.full(g.n_accounts, 1_000.0)
    k_few = k_many - 1
    strict_floor = cents(np.full(g.n_accounts, floor_value))
    loose_floor = cents(np.full(g.n_accounts, floor_value * (1 - less_floor)))
    offsets, rows = fan_days(g.arrays, 0, last, window, k_many, k_few, loose_floor, small, 2)
    narrowed = keep_rows(offsets, rows, fan_days_met(rows, strict_floor[row_owner(offsets)], k_many + more, k_few))
    _same_rows(narrowed, fan_days(g.arrays, 0, last, window, k_many + more, k_few, strict_floor, small, 2))


@settings(max_examples=40, deadline=None)
@given(graphs, st.integers(1, 6), st.integers(2, 4), st.integers(2, 40), st.integers(0, 14))
def test_fan_days_are_the_same_however_many_pieces_make_them(graph_spec, window, k_many, n_pieces, first_day):
    """The pieces of accounts make their rows on their own threads, into buffers that grow
    (a busy account's every day may qualify); joined, they are one piece's rows, in the
    accounts' order, whatever the number of pieces (more pieces than accounts too)."""
    g = make_graph(*graph_spec)
    first, last = scan_days(g, first_day)
    floor, small = cents(np.full(g.n_accounts, 40_000.0)), np.full(g.n_accounts, 1_000.0)
    one_offsets, one = fan_days(g.arrays, first, last, window, k_many, k_many - 1, floor, small, 1)
    offsets, rows = fan_days(g.arrays, first, last, window, k_many, k_many - 1, floor, small, n_pieces)
    assert offsets.tolist() == one_offsets.tolist() and len(offsets) == g.n_accounts + 1
    assert all(np.array_equal(getattr(rows, f), getattr(one, f)) for f in one._fields)
    assert np.all(np.diff(rows.day)[np.diff(row_owner(offsets)) == 0] >= 0)  # an account's days in order

@settings(max_examples=40, deadline=None)
@given(graphs, st.integers(1, 4), st.sampled_from([0.0, 0.05, 0.1]), st.sampled_from([0.0, 0.05]),
       st.sampled_from([0.0, 40_000.0, 400_000.0]), st.sampled_from([0.0, 0.2]))
def test_pass_through_rows_narrowed_from_looser_thresholds_equal_a_strict_run(graph_spec, run_days, tolerance, wider,
                                                                               floor_value, less_floor):
    g = make_graph(*graph_spec)
    last = g.n_days - 1
    strict_floor = cents(np.full(g.n_accounts, floor_value))
    loose_floor = cents(np.full(g.n_accounts, floor_value * (1 - less_floor)))
    offsets, rows = pass_through_days(g.arrays, last, run_days, loose_floor, tolerance + wider, 2)
    narrowed = keep_rows(offsets, rows, pass_through_days_met(rows, strict_floor[row_owner(offsets)], tolerance))
    _same_rows(narrowed, pass_through_days(g.arrays, last, run_days, strict_floor, tolerance, 2))


def _close(got, want):
    assert len(got) == len(want)
    for a, b in zip(got, want):
        assert a[:-1] == b[:-1]
        assert a[-1] == pytest.approx(b[-1], abs=1e-9)


@settings(max_examples=40, deadline=None)
@given(graphs, st.integers(1, 6), st.integers(1, 3), st.sampled_from([0.5, 0.8]), st.integers(0, 14))
def test_structuring_kernels_match_reference(graph_spec, window, min_band, min_share, first_day):
    g = make_graph(*graph_spec)
    first, last = scan_days(g, first_day)
    amount_cents, phi_cents = edge_phi_cents(g, PBOC_2016)
    tests = (first, last, window, min_band, min_share, 0.05, 2)

    def got(offsets, days_met, n_keys):
        runs, best = runs_with_best(g, offsets, days_met, n_keys, SIGMA_TIE)
        return sorted(zip(*(x.tolist() for x in (runs.account, runs.key, runs.first_day, runs.last_day, best.day,
                                                 best.n_band, best.n_all, best.sigma))))

    days_met = structuring_days(g.arrays, amount_cents, share_cents(0.8, phi_cents), phi_cents, *tests)
    _close(got(*days_met, len(CHANNELS)),
           structuring_reference(g, PBOC_2016, first, last, window, 0.8, min_band, min_share, 0.05))
    series, _, series_phi = _daily_series(g, phi_cents)
    days_met = daily_structuring_days(g.arrays, series, amount_cents, share_cents(0.8, series_phi), series_phi, *tests)
    _close(got(*days_met, 2 * len(series_phi)),
           daily_structuring_reference(g, PBOC_2016, first, last, window, 0.8, min_band, min_share, 0.05))


@settings(max_examples=40, deadline=None)
@given(graphs, st.integers(1, 6), st.integers(1, 3), st.sampled_from([0.5, 0.8]), st.sampled_from([0.0, 0.3]),
       st.sampled_from([0.0, 0.2]))
def test_structuring_rows_narrowed_from_looser_limits_equal_a_strict_run(graph_spec, window, min_band, min_share,
                                                                          less_share, more_sigma):
    g = make_graph(*graph_spec)
    last = g.n_days - 1
    amount_cents, phi_cents = edge_phi_cents(g, PBOC_2016)
    series, _, series_phi = _daily_series(g, phi_cents)
    per_txn = lambda *limits: structuring_days(g.arrays, amount_cents, share_cents(0.8, phi_cents), phi_cents, 0,
                                               last, window, min_band, *limits, 2)
    daily = lambda *limits: daily_structuring_days(g.arrays, series, amount_cents, share_cents(0.8, series_phi),
                                                   series_phi, 0, last, window, min_band, *limits, 2)
    for kernel in (per_txn, daily):
        offsets, rows = kernel(min_share * (1 - less_share), 0.05 * (1 + more_sigma))
        narrowed = keep_rows(offsets, rows, structuring_days_met(rows, min_band, min_share, 0.05))
        _same_rows(narrowed, kernel(min_share, 0.05))


def _runs_reaching(g, offsets, days_met, n_keys, first, tie=0.0):
    """The runs that reach day ``first``, as sorted rows: account, key, first and last
    day, then every column of the best day's row."""
    runs, best = runs_with_best(g, offsets, days_met, n_keys, tie)
    keep = runs.last_day >= first
    return sorted(zip(*(x.tolist() for x in (*take(runs, keep)[:-1], *take(best, keep)))))


@settings(max_examples=60, deadline=None)
@given(graphs, st.integers(1, 6), st.integers(2, 4), st.integers(1, 3), st.sampled_from([0.5, 0.8]),
       st.integers(0, 14))
def test_run_kernels_evaluated_from_the_scans_month_find_the_runs_of_the_whole_history(graph_spec, window, k_many,
                                                                                      min_band, min_share, first_day):
    # a run reaching a scan's first day starts in that day's month (runs.py): evaluated from
    # the month's first day, the kernels find the same runs, best days and measures as from
    # day 0; evaluated from the scan's first day, runs that started before it come out cut
    g = make_graph(*graph_spec)
    first, last = scan_days(g, first_day)
    start = period_first(g, first)
    assert start <= first and (start == 0 or g.period_last[start - 1] < g.period_last[first])
    assert np.all(g.period_last[start:first + 1] == g.period_last[first])
    amount_cents, phi_cents = edge_phi_cents(g, PBOC_2016)
    series, _, series_phi = _daily_series(g, phi_cents)
    small = np.full(g.n_accounts, 1_000.0)
    floor = cents(np.full(g.n_accounts, 40_000.0))
    kernels = {
        "fan": (lambda d: fan_days(g.arrays, d, last, window, k_many, k_many - 1, floor, small, 2), 4, 0.0),
        "structuring": (lambda d: structuring_days(g.arrays, amount_cents, share_cents(0.8, phi_cents), phi_cents, d,
                                                   last, window, min_band, min_share, 0.05, 2), len(CHANNELS),
                        SIGMA_TIE),
        "daily": (lambda d: daily_structuring_days(g.arrays, series, amount_cents, share_cents(0.8, series_phi),
                                                   series_phi, d, last, window, min_band, min_share, 0.05, 2),
                  2 * len(series_phi), SIGMA_TIE),
    }
    for name, (kernel, n_keys, tie) in kernels.items():
        whole = _runs_reaching(g, *kernel(0), n_keys, first, tie)
        assert _runs_reaching(g, *kernel(start), n_keys, first, tie) == whole, name


def test_a_run_that_started_before_the_scan_in_its_month_is_traced_whole_and_cut_where_evaluation_starts():
    # September starts on business day 5; window 5 days. A0 is paid by three customers on
    # days 6, 7, 8 (fan-in of 3: days 8-10); A2 deposits 45,000 cash (the band of the 50,000
    # cash threshold) on days 6, 7, 8 (3 band transactions: days 8-10); A3 deposits 2 x 22,000
    # on each of those days (band days of 44,000: 2 of them on days 7-11)
    edges = [(1, 0, 6, 10_000.0, "transfer", "CNY"), (4, 0, 7, 10_000.0, "transfer", "CNY"),
             (5, 0, 8, 10_000.0, "transfer", "CNY")]
    edges += [(-1, 2, d, 45_000.0, "cash", "CNY") for d in (6, 7, 8)]
    edges += [(-1, 3, d, 22_000.0, "cash", "CNY") for d in (6, 6, 7, 7, 8, 8)]
    edges += [(1, 4, d, 100.0, "transfer", "CNY") for d in (0, 14)]  # the graph's days: 0 .. 14
    g = make_graph(edges, list(range(6)), ["person"] * 6)
    assert g.n_days == 15
    last = g.n_days - 1
    assert period_first(g, 9) == 5 and period_first(g, 4) == 0 and period_first(g, 5) == 5
    amount_cents, phi_cents = edge_phi_cents(g, PBOC_2016)
    series, _, series_phi = _daily_series(g, phi_cents)
    small = np.full(g.n_accounts, 1_000.0)
    fan = lambda d: fan_days(g.arrays, d, last, 5, 3, 2, cents(np.full(g.n_accounts, 40_000.0)), small, 2)
    per_txn = lambda d: structuring_days(g.arrays, amount_cents, share_cents(0.8, phi_cents), phi_cents, d, last, 5,
                                         3, 0.5, 0.05, 2)
    daily = lambda d: daily_structuring_days(g.arrays, series, amount_cents, share_cents(0.8, series_phi), series_phi,
                                             d, last, 5, 2, 0.5, 0.05, 2)
    spans = lambda found, n_keys: [(a, f, l) for a, _, f, l, *_ in _runs_reaching(g, *found, n_keys, 9, SIGMA_TIE)]
    for kernel, n_keys, account, whole in ((fan, 4, 0, (8, 10)), (per_txn, len(CHANNELS), 2, (8, 10)),
                                           (daily, 2 * len(series_phi), 3, (7, 11))):
        assert spans(kernel(0), n_keys) == spans(kernel(5), n_keys) == [(account, *whole)]
        # evaluated from day 9, the window still reads days 5-8: the run is cut, not lost
        assert spans(kernel(9), n_keys) == [(account, 9, whole[1])]


@settings(max_examples=40, deadline=None)
@given(graphs, st.lists(st.sampled_from(list(PBOC_2016.rules)), min_size=1, max_size=5), st.integers(1, 40))
def test_daily_cumulative_kernel_matches_reference(graph_spec, rules, n_chunks):
    """Every rule's sums in one pass (a rule may come twice) equal the reference's, rule by
    rule, however many pieces make them (more than there are rules on days too)."""
    from flowgraph.money import rule_applies

    g = make_graph(*graph_spec)
    first, last = scan_days(g)
    party = lambda idx: np.where(idx >= 0, g.account_party[np.maximum(idx, 0)], -1)
    cust = lambda idx: np.where(idx >= 0, g.account_customer[np.maximum(idx, 0)], -1).astype(np.int64)
    applies = np.array([rule_applies(rule.parties, rule.channels, g.channel, party(g.src), party(g.dst))
                        for rule in rules]).reshape(len(rules), g.n_edges)
    foreign = ~g.is_home_currency
    value_cents = np.where(foreign, g.amount_foreign_cents, g.amount_home_cents)
    found = daily_cumulative(g.day_indptr, cust(g.src), cust(g.dst), applies, value_cents, foreign,
                             [threshold_cents(r.threshold_home) for r in rules],
                             [threshold_cents(r.threshold_foreign) for r in rules], g.n_customers, first, last, n_chunks)
    want = sorted((r, *row) for r, rule in enumerate(rules) for row in daily_cumulative_reference(
        g.day, cust(g.src), cust(g.dst), applies[r], np.where(foreign, g.amount_foreign, g.amount_home), foreign,
        rule.threshold_home, rule.threshold_foreign, first, last))
    assert sorted(zip(*(column.tolist() for column in found))) == want
    # in day order, then rule order (the evidence pass reads them so)
    assert list(zip(found.day.tolist(), found.rule.tolist())) == sorted(zip(found.day.tolist(), found.rule.tolist()))
    # each sum's transactions: the rule's, of that day, currency class and customer on that side, ascending
    offsets, edges = daily_cumulative_evidence(g.day_indptr, cust(g.src), cust(g.dst), applies, foreign, found,
                                               g.n_customers, n_chunks)
    side = {0: cust(g.dst), 1: cust(g.src)}
    for i, (r, c, d, direction, cclass, n, total) in enumerate(zip(*(column.tolist() for column in found))):
        want_edges = [e for e in range(g.n_edges) if applies[r, e] and g.day[e] == d and int(foreign[e]) == cclass
                      and side[direction][e] == c]
        assert edges[offsets[i]:offsets[i + 1]].tolist() == want_edges
        assert (len(want_edges), sum(int(value_cents[e]) for e in want_edges)) == (n, total)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 12)), max_size=40), st.integers(1, 4), st.integers(1, 4),
       st.sets(st.integers(1, 12), max_size=3))
def test_frequent_kernel_matches_reference(pairs, per_day, consecutive, starts):
    pairs = sorted(pairs)
    account = np.array([p[0] for p in pairs], dtype=np.int64)
    day = np.array([p[1] for p in pairs], dtype=np.int64)
    period_last, period_of = periods(starts, 13)
    found = frequent_runs(account, day, per_day, consecutive, np.array(period_last, np.int64))
    got = sorted(zip(*(column.tolist() for column in found)))
    assert got == frequent_reference(pairs, per_day, consecutive, period_of)


# rules that overlap (an edge under two of them takes the lower Φ), with odd cents
OVERLAPPING = RuleSet("overlapping", (
    LargeValueRule("ANY-T", ("transfer", "cash"), "anyone", 45_000.0, 7_000.0, "test"),
    LargeValueRule("PERSON-T", ("transfer",), "any_person", 42_500.01, 9_000.0, "test"),
    LargeValueRule("ENTITY-ALL", CHANNELS, "both_entity", 40_000.0, 5_000.5, "test")))


@settings(max_examples=100, deadline=None)
@given(graphs, st.sampled_from([*sorted(RULE_SETS), "overlapping"]))
def test_edge_phi_kernel_matches_reference(graph_spec, rule_set):
    """Φ per edge (channels, parties, currencies, cash, overlapping rules) as written out by hand."""
    g = make_graph(*graph_spec)
    rules = OVERLAPPING if rule_set == "overlapping" else RULE_SETS[rule_set]
    amount_cents, phi_cents = _edge_phi_cents(g, rules)
    assert (amount_cents.tolist(), phi_cents.tolist()) == edge_phi_reference(g, rules)


@settings(max_examples=100, deadline=None)
@given(graphs, st.sampled_from([*sorted(RULE_SETS), "overlapping"]))
@example(([(0, 1, 0, 50_000.0, "cash", "CNY"), (0, 1, 0, 49_999.99, "cash", "CNY"),
           (-1, 1, 1, 500_000.0, "transfer", "CNY")],  # at, and a cent under, a threshold
          [0, 1, 2, 3, 0, 1], ["person", "entity", "", "person", "person", "entity"]), "PBOC-2016")
def test_edge_rule_tests_kernel_matches_reference(graph_spec, rule_set):
    """Per rule, the edges it covers and those at or above its threshold on their own
    (the single-transaction large-value test), as written out by hand; and the payer's
    and payee's customers of each edge."""
    g = make_graph(*graph_spec)
    rules = OVERLAPPING if rule_set == "overlapping" else RULE_SETS[rule_set]
    covers, at_or_above = edge_rule_tests(*rule_kernel_args(g, rules))
    got = [(np.flatnonzero(c).tolist(), np.flatnonzero(a).tolist()) for c, a in zip(covers, at_or_above)]
    assert got == edge_rule_tests_reference(g, rules)
    src_cust, dst_cust = edge_customers(g.src, g.dst, g.account_customer)
    assert (src_cust.tolist(), dst_cust.tolist()) == edge_customers_reference(g)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(-2 ** 63, 2 ** 63 - 1), max_size=6), st.lists(st.integers(0, 40), max_size=300),
       st.integers(1, 8))
def test_few_distinct_codes_match_a_dict_and_give_up_past_their_limit(values, picks, max_distinct):
    """Codes in order of first appearance (as pd.factorize numbers them), by comparison
    with the values seen; past ``max_distinct`` distinct values the kernel says so and
    phi_codes hashes instead, with the same codes."""
    pool = values + [7, 0, 5_000_000]  # a few Φ-like values, and the extremes hypothesis draws
    array = np.array([pool[p % len(pool)] for p in picks], np.int64)
    expected_codes, expected_uniques = distinct_codes_reference(array.tolist())
    ok, codes, uniques = few_distinct_codes(array, max_distinct)
    assert ok == (len(expected_uniques) <= max_distinct)
    if ok:
        assert (codes.tolist(), uniques.tolist()) == (expected_codes, expected_uniques)
    codes, uniques = phi_codes(array)
    assert (np.asarray(codes).tolist(), np.asarray(uniques).tolist()) == (expected_codes, expected_uniques)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(-2 ** 63, 2 ** 63 - 1), max_size=6), st.lists(st.integers(0, 40), max_size=300),
       st.integers(1, 8), st.integers(1, 40))
def test_few_distinct_keeps_the_order_of_first_appearance_however_many_pieces(values, picks, max_distinct, n_chunks):
    """The pieces list their own values in parallel; merged in the pieces' order, the
    values are in the order of first appearance of the whole array, and the lookup of
    each value among them is its code."""
    pool = values + [7, 0, 5_000_000]
    array = np.array([pool[p % len(pool)] for p in picks], np.int64)
    expected_codes, expected_uniques = distinct_codes_reference(array.tolist())
    ok, uniques = few_distinct(array, max_distinct, n_chunks)
    assert ok == (len(expected_uniques) <= max_distinct)
    if ok:
        assert uniques.tolist() == expected_uniques
        assert replaced(array, uniques, np.arange(len(uniques), dtype=np.int64), n_chunks).tolist() == expected_codes


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 10 ** 12), min_size=1, max_size=40), st.lists(st.integers(0, 1000), max_size=200),
       st.sampled_from([0.8, 0.9, 0.95, 1.0, 0.1, 0.3, 0.7, 0.333]))
def test_share_cents_is_the_least_cent_at_or_above_the_written_fraction_of_phi(values, picks, fraction):
    """Per Φ, the least whole cent at or above the fraction (as written, in Decimal) of
    Φ: with a few distinct Φ (looked up) and with more than FEW_PHI_VALUES (hashed)."""
    from decimal import ROUND_CEILING, Decimal

    phi = np.array([values[p % len(values)] for p in picks], np.int64)
    expected = [int((Decimal(repr(fraction)) * v).to_integral_value(ROUND_CEILING)) for v in phi.tolist()]
    assert share_cents(fraction, phi).tolist() == expected
    assert share_cents(fraction, phi.reshape(1, -1)).reshape(-1).tolist() == expected  # any shape


def test_phi_codes_of_many_distinct_values_are_hashed_with_the_same_codes():
    array = np.array([(i * 7919) % 100 for i in range(1000)], np.int64)  # 100 distinct, past FEW_PHI_VALUES
    assert not few_distinct_codes(array, FEW_PHI_VALUES)[0]
    codes, uniques = phi_codes(array)
    assert (np.asarray(codes).tolist(), np.asarray(uniques).tolist()) == distinct_codes_reference(array.tolist())


def test_a_transfer_without_a_payer_account_falls_under_the_person_threshold():
    # a side the data names no account for is an unknown party, taken as a person (the
    # lower threshold): 400,000 CNY into an entity is 0.8 of the 500,000 person threshold
    g = make_graph([(-1, 2, 0, 400_000.0, "transfer", "CNY"), (2, 3, 0, 400_000.0, "transfer", "CNY")], [0] * 6,
                   ["person", "person", "entity", "entity", "person", "person"])
    _, phi_cents = _edge_phi_cents(g, PBOC_2016)
    assert phi_cents.tolist() == [50_000_000, 200_000_000]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.integers(-1, len(CHANNELS) - 1), st.booleans(),
                          st.sampled_from([0, 1, 5_000_000, 20_000_000, 5_000_000_000, 2**40])), max_size=60),
       st.lists(st.integers(0, 10**9), max_size=40))
@example([(-1, False, 5_000_000), (0, True, 1)], list(range(40)))  # 42 distinct Φ: the hashing path
def test_daily_series_match_reference(edges, more_phis):
    """Channels with an unknown one (-1), both currency classes, a few Φ values and, past
    the one-pass coding's limit of few distinct values, many (the hashing path)."""
    channel = np.array([c for c, _, _ in edges] + [0] * len(more_phis), np.int8)
    is_home = np.array([h for _, h, _ in edges] + [True] * len(more_phis), bool)
    phi_cents = np.array([p for _, _, p in edges] + more_phis, np.int64)
    graph = types.SimpleNamespace(channel=channel, is_home_currency=is_home)
    series, series_kind, series_phi = _series_of(graph, phi_cents)
    want = daily_series_reference(channel, is_home, phi_cents)
    assert (series.tolist(), series_kind.tolist(), series_phi.tolist()) == want
    assert series.dtype == np.int64

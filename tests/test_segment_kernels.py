"""The per-hit segment kernels and the detectors' evidence kernels against their
plain-Python twins (tests/reference/segments.py), on random segments and graphs."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from flowgraph._kernels import segments as seg
from flowgraph._kernels.fan import _is_counterparty, fan_evidence
from flowgraph._kernels.pass_through import _flows, pass_through_evidence
from flowgraph._kernels.evidence import window_range
from flowgraph._kernels.structuring import daily_structuring_evidence, structuring_evidence
from flowgraph.config import PBOC_2016
from flowgraph.detectors._common import edge_phi_cents, share_cents
from flowgraph.detectors.structuring import _daily_series
from reference import segments as ref
from test_detector_kernels import graphs, make_graph

N_EDGES = 12
edge_lists = st.lists(st.lists(st.integers(0, N_EDGES - 1), max_size=8), min_size=1, max_size=8)
edge_columns = st.tuples(*(st.lists(st.integers(lo, hi), min_size=N_EDGES, max_size=N_EDGES)
                           for lo, hi in ((-1, 5), (-1, 5), (0, 9), (0, 2), (1, 10**9))))


def _csr(lists):
    offsets = np.concatenate([[0], np.cumsum([len(x) for x in lists])]).astype(np.int64)
    return offsets, np.array([e for x in lists for e in x], dtype=np.int64)


@settings(max_examples=80, deadline=None)
@given(edge_lists, edge_columns, st.lists(st.integers(0, 5), min_size=8, max_size=8))
def test_segment_kernels_match_reference(lists, columns, subjects):
    src, dst, day, channel, cents = (np.array(c, np.int64) for c in columns)
    subject = np.array(subjects[:len(lists)], np.int64)
    offsets, values = _csr(lists)
    assert ref.segments_of(*seg.sort_unique_segments(offsets, values)) == ref.sort_unique(lists)
    assert ref.segments_of(*seg.segment_accounts(offsets, values, src, dst, subject)) == \
        ref.accounts(lists, src, dst, subject)
    first, last = seg.segment_span(offsets, values, day, np.full(len(lists), -7), np.full(len(lists), -3))
    assert list(zip(first.tolist(), last.tolist())) == ref.span(lists, day, [-7] * len(lists), [-3] * len(lists))
    assert seg.segment_channels(offsets, values, channel).tolist() == ref.channels(lists, channel)
    assert seg.segment_sum(offsets, values, cents).tolist() == [sum(int(cents[e]) for e in x) for x in lists]
    amount_share, count_share = seg.segment_top_share(offsets, values, dst, cents)
    assert list(zip(amount_share.tolist(), count_share.tolist())) == ref.top_share(lists, dst, cents)
    paid = np.array([subjects[i] % 2 == 1 for i in range(len(lists))])
    by_side = [ref.top_party([x], src if p else dst, cents)[0] for x, p in zip(lists, paid)]
    assert seg.segment_top_party_of_side(offsets, values, paid, dst, src, cents).tolist() == by_side
    busiest, active = seg.segment_day_profile(offsets, values, day, np.zeros(len(lists), np.int64), 10)
    assert list(zip(busiest.tolist(), active.tolist())) == ref.day_profile(lists, day, [0] * len(lists), 10)
    use_a = np.array([i % 2 == 0 for i in range(len(lists))])
    joined = seg.join_segments(offsets, values, use_a, offsets, values, ~use_a | use_a)
    assert ref.segments_of(*joined) == [(x if a else []) + x for x, a in zip(lists, use_a)]


@settings(max_examples=40, deadline=None)
@given(graphs, st.integers(1, 6), st.integers(0, 20))
def test_evidence_kernels_take_what_the_counting_rules_take(graph_spec, window, best_day):
    g = make_graph(*graph_spec)
    accounts = np.arange(g.n_accounts, dtype=np.int64)
    best = np.full(g.n_accounts, min(best_day, g.n_days - 1), np.int64)
    small = np.full(g.n_accounts, 1_000.0)
    yes, no = np.ones(g.n_accounts, bool), np.zeros(g.n_accounts, bool)
    lo = lambda a: int(best[a]) - window + 1

    got = ref.segments_of(*fan_evidence(accounts, best, yes, no, window, small, g.arrays, 3))
    counted = lambda a, other: lambda e: _is_counterparty(other[e], a, g.account_customer[a], g.amount_home[e],
                                                          small[a], g.account_customer)
    assert got == [ref.window_edges(g, a, lo(a), best[a], "in", counted(a, g.src)) for a in accounts]
    use_in, use_out = accounts % 3 != 1, accounts % 2 == 0  # either side, both or none: in-edges first
    got = ref.segments_of(*fan_evidence(accounts, best, use_in, use_out, window, small, g.arrays, 7))
    assert got == [(ref.window_edges(g, a, lo(a), best[a], "in", counted(a, g.src)) if use_in[a] else [])
                   + (ref.window_edges(g, a, lo(a), best[a], "out", counted(a, g.dst)) if use_out[a] else [])
                   for a in accounts]

    got = ref.segments_of(*pass_through_evidence(accounts, best, window, g.arrays))
    flows = lambda a, other: lambda e: _flows(other[e], a, g.account_customer[a], g.account_customer)
    assert got == [ref.window_edges(g, a, lo(a), best[a], "in", flows(a, g.src))
                   + ref.window_edges(g, a, lo(a), best[a], "out", flows(a, g.dst)) for a in accounts]

    amount_cents, phi_cents = edge_phi_cents(g, PBOC_2016)
    low_cents = share_cents(0.8, phi_cents)
    for method in range(3):
        got = ref.segments_of(*structuring_evidence(accounts, np.full(g.n_accounts, method), best, window, g.arrays,
                                                    amount_cents, low_cents, phi_cents))
        band = lambda e: g.channel[e] == method and low_cents[e] <= amount_cents[e] < phi_cents[e]
        assert got == [ref.window_edges(g, a, lo(a), best[a], "in", lambda e, a=a: band(e) and g.src[e] != a)
                       + ref.window_edges(g, a, lo(a), best[a], "out", band) for a in accounts]


@settings(max_examples=80, deadline=None)
@given(st.lists(st.lists(st.integers(0, 9), max_size=8), min_size=1, max_size=5), st.integers(-2, 10),
       st.integers(0, 3))
def test_window_range_finds_an_accounts_edges_on_a_run_of_days(days_per_account, lo_day, width):
    """Accounts' edges in time order (CSR): the binary search gives exactly those on lo..hi."""
    day = np.array([d for days in days_per_account for d in sorted(days)], np.int64)
    indptr = np.concatenate([[0], np.cumsum([len(d) for d in days_per_account])]).astype(np.int64)
    edges = np.arange(len(day), dtype=np.int64)
    for a in range(len(days_per_account)):
        j0, j1 = window_range(a, lo_day, lo_day + width, indptr, edges, day)
        want = [e for e in range(indptr[a], indptr[a + 1]) if lo_day <= day[e] <= lo_day + width]
        assert list(edges[j0:j1]) == want


@settings(max_examples=40, deadline=None)
@given(graphs, st.integers(1, 6), st.integers(0, 20))
def test_daily_structuring_evidence_takes_the_band_days(graph_spec, window, best_day):
    g = make_graph(*graph_spec)
    amount_cents, phi_cents = edge_phi_cents(g, PBOC_2016)
    series, _, series_phi = _daily_series(g, phi_cents)
    series_low = share_cents(0.8, series_phi)
    n = g.n_accounts * 2 * len(series_phi)
    account = np.repeat(np.arange(g.n_accounts), 2 * len(series_phi))
    direction = np.tile(np.repeat([0, 1], len(series_phi)), g.n_accounts)
    which = np.tile(np.arange(len(series_phi)), 2 * g.n_accounts)
    best = np.full(n, min(best_day, g.n_days - 1), np.int64)
    got = ref.segments_of(*daily_structuring_evidence(account, direction, which, best, window, g.arrays, series,
                                                      amount_cents, series_low, series_phi))
    for i in range(n):
        a, s, lo = account[i], which[i], int(best[i]) - window + 1
        side = "in" if direction[i] == 0 else "out"
        mine = ref.window_edges(g, a, lo, best[i], side, lambda e: g.src[e] != g.dst[e] and series[e] == s)
        sums, counts = {}, {}
        for e in mine:
            sums[g.day[e]] = sums.get(g.day[e], 0) + int(amount_cents[e])
            counts[g.day[e]] = counts.get(g.day[e], 0) + 1
        band = {d for d in sums if counts[d] >= 2 and series_low[s] <= sums[d] < series_phi[s]}
        assert got[i] == [e for e in mine if g.day[e] in band]

"""The per-hit segment kernels and the detectors' evidence kernels against their
plain-Python twins (tests/reference/segments.py), on random segments and graphs."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from flowgraph._kernels import segments as seg
from flowgraph._kernels.fan import _is_counterparty, fan_evidence
from flowgraph._kernels.pass_through import _flows, pass_through_evidence
from flowgraph._kernels.structuring import structuring_evidence
from flowgraph.config import PBOC_2016
from flowgraph.detectors._common import edge_phi_cents, share_cents
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
    assert seg.segment_top_party(offsets, values, src, cents).tolist() == ref.top_party(lists, src, cents)
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
    csr = (g.in_indptr, g.in_edges, g.out_indptr, g.out_edges)

    got = ref.segments_of(*fan_evidence(accounts, best, yes, no, window, *csr, g.src, g.dst, g.day, g.amount_cny,
                                        small, g.account_customer))
    counted = lambda a, other: lambda e: _is_counterparty(other[e], a, g.account_customer[a], g.amount_cny[e],
                                                          small[a], g.account_customer)
    assert got == [ref.window_edges(g, a, lo(a), best[a], "in", counted(a, g.src)) for a in accounts]

    got = ref.segments_of(*pass_through_evidence(accounts, best, window, *csr, g.src, g.dst, g.day,
                                                 g.account_customer))
    flows = lambda a, other: lambda e: _flows(other[e], a, g.account_customer[a], g.account_customer)
    assert got == [ref.window_edges(g, a, lo(a), best[a], "in", flows(a, g.src))
                   + ref.window_edges(g, a, lo(a), best[a], "out", flows(a, g.dst)) for a in accounts]

    amount_cents, phi_cents = edge_phi_cents(g, PBOC_2016)
    low_cents = share_cents(0.8, phi_cents)
    for method in range(3):
        got = ref.segments_of(*structuring_evidence(accounts, np.full(g.n_accounts, method), best, window, *csr,
                                                    g.src, g.day, g.channel, amount_cents, low_cents, phi_cents))
        band = lambda e: g.channel[e] == method and low_cents[e] <= amount_cents[e] < phi_cents[e]
        assert got == [ref.window_edges(g, a, lo(a), best[a], "in", lambda e, a=a: band(e) and g.src[e] != a)
                       + ref.window_edges(g, a, lo(a), best[a], "out", band) for a in accounts]

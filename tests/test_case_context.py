"""The kernels that choose a case file's transactions (flowgraph._kernels.context) against
the plain edge-by-edge reference, on random edges: sides missing (cash) or the same
account on both, intervals empty, overlapping or beyond the days, busy limits low enough
to bite, the edges cut into any number of parallel pieces."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from reference.context import kept_edges_reference

from flowgraph._kernels.context import kept_edges, near_counts


@st.composite
def case_inputs(draw):
    n_accounts = draw(st.integers(1, 6))
    n_edges = draw(st.integers(0, 60))
    side = st.integers(-1, n_accounts - 1)
    src = draw(st.lists(side, min_size=n_edges, max_size=n_edges))
    dst = draw(st.lists(side, min_size=n_edges, max_size=n_edges))
    day = sorted(draw(st.lists(st.integers(0, 12), min_size=n_edges, max_size=n_edges)))
    subjects = draw(st.lists(st.integers(0, n_accounts - 1), unique=True, max_size=n_accounts))
    intervals = {a: tuple(sorted(draw(st.lists(st.integers(-3, 15), min_size=2, max_size=2)))) for a in subjects}
    evidence = draw(st.lists(st.booleans(), min_size=n_edges, max_size=n_edges))
    return n_accounts, src, dst, day, intervals, evidence, draw(st.integers(0, 8)), draw(st.integers(1, 7))


@settings(max_examples=300, deadline=None)
@given(case_inputs())
def test_kept_edges_match_the_reference(inputs):
    n_accounts, src, dst, day, intervals, evidence, max_context, n_pieces = inputs
    lo = np.full(n_accounts + 1, np.iinfo(np.int64).max)  # no interval: lo > hi
    hi = np.full(n_accounts + 1, np.iinfo(np.int64).min)
    for account, (first, last) in intervals.items():
        lo[account], hi[account] = first, last
    args = (np.array(src, np.int32), np.array(dst, np.int32), np.array(day, np.int32), lo, hi)
    quiet = near_counts(*args, n_pieces) <= max_context
    kept = kept_edges(*args, quiet, np.array(evidence, bool), n_pieces)
    assert np.flatnonzero(kept).tolist() == kept_edges_reference(src, dst, day, intervals, evidence, max_context)

"""The counting-sort CSR kernels against the plain-Python reference."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from flowgraph._kernels.csr import csr_fill, csr_indptr, in_edge_order
from flowgraph.graph import _csr
from reference.csr import csr as reference_csr


@st.composite
def keyed_edges(draw):
    """Keys of up to 200 edges over up to 12 groups, some negative (no account), as
    int32 or int64; small key ranges make large groups, where stability shows."""
    n_keys = draw(st.integers(0, 12))
    dtype = draw(st.sampled_from([np.int32, np.int64]))
    keys = draw(hnp.arrays(dtype, st.integers(0, 200), elements=st.integers(-2, max(n_keys - 1, -1))))
    return keys, n_keys


@given(keyed_edges())
def test_csr_matches_reference(case):
    keys, n_keys = case
    indptr, edges = _csr(keys, n_keys)
    ref_indptr, ref_edges = reference_csr(keys.tolist(), n_keys)
    assert indptr.dtype == np.int64 and edges.dtype == np.int32
    assert indptr.tolist() == ref_indptr and edges.tolist() == ref_edges


@given(keyed_edges())
def test_kernels_match_reference_with_int64_edges(case):
    keys, n_keys = case
    indptr = csr_indptr(keys, n_keys)
    edges = np.full(int(indptr[-1]), -7, dtype=np.int64)
    csr_fill(keys, indptr, edges)
    ref_indptr, ref_edges = reference_csr(keys.tolist(), n_keys)
    assert indptr.tolist() == ref_indptr and edges.tolist() == ref_edges


def test_hand_counted_example():
    # edges 0..6; key -1 is cash (no account); key 1 has three edges, kept in edge order
    indptr, edges = _csr(np.array([1, -1, 0, 1, 3, -1, 1], dtype=np.int32), 4)
    assert indptr.tolist() == [0, 1, 4, 4, 5]
    assert edges.tolist() == [2, 0, 3, 6, 4]


def test_empty_and_all_negative():
    indptr, edges = _csr(np.array([], dtype=np.int32), 0)
    assert indptr.tolist() == [0] and edges.tolist() == [] and edges.dtype == np.int32
    indptr, edges = _csr(np.array([-1, -1], dtype=np.int64), 2)
    assert indptr.tolist() == [0, 0, 0] and edges.tolist() == []


def test_key_out_of_range_is_refused():
    with pytest.raises(ValueError, match="n_keys=2"):
        _csr(np.array([0, 2], dtype=np.int32), 2)


@given(keyed_edges(), st.integers(0, 2 ** 62))
def test_in_edge_order_reads_both_columns_in_the_csr_order(case, scale):
    """Both columns read in the order of the CSR's edges, each value as it is (int32 senders,
    int64 cents up to 2**62), against reading them edge by edge from Python lists."""
    keys, n_keys = case
    _, edges = _csr(keys, n_keys)
    senders = np.arange(len(keys), dtype=np.int32)[::-1].copy()
    cents = (np.arange(len(keys), dtype=np.int64) * 7919 + scale) % (2 ** 62)
    got_senders, got_cents = in_edge_order(edges, senders, cents)
    assert got_senders.dtype == np.int32 and got_cents.dtype == np.int64
    assert got_senders.tolist() == [senders.tolist()[e] for e in edges.tolist()]
    assert got_cents.tolist() == [int(cents[e]) for e in edges.tolist()]

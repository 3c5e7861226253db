"""Amounts to integer cents: the kernel against one-at-a-time Python (tests/reference/cents.py)."""

import numpy as np
from hypothesis import example, given
from hypothesis import strategies as st

from flowgraph._kernels.cents import cents_of
from flowgraph.graph import _to_cents
from reference.cents import cents_of as cents_reference

# amounts as ingest leaves them (two decimals), halves of a cent either side of them, any float
amounts = st.one_of(st.integers(-10**15, 10**15).map(lambda c: c / 100), st.integers(-10**9, 10**9).map(
    lambda c: c / 200), st.floats(allow_nan=True, allow_infinity=True))


@given(st.lists(amounts, max_size=50))
@example([0.005, 0.015, 0.025, -0.005, 2.675, 1e13, -1e13, 92233720368547.75, 1e17, float("nan"), float("-inf"), -0.0])
def test_cents_match_python_rounding_half_to_even(values):
    array = np.array(values, dtype=np.float64)
    assert cents_of(array).tolist() == [cents_reference(v) for v in values]


def test_graph_cents_take_any_float_array():
    """A strided or float32 column is read as float64 values, as before."""
    amounts = np.array([[1.005, 0.0], [2.5, 0.0], [99.99, 0.0]])[:, 0]
    assert _to_cents(amounts).tolist() == [cents_reference(float(v)) for v in amounts]
    assert _to_cents(np.float32([0.5, 12.25])).tolist() == [50, 1225]

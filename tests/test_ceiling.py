import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from flowgraph import W
from flowgraph.ceiling import ceiling, w_scalar
from flowgraph.errors import ConfigError

# SPEC §4, worked values (001)
TABLE = {
    2: {1: 2, 2: 4, 3: 6, 5: 10, 10: 20, 25: 50},
    3: {1: 1.2, 2: 2.4, 3: 3.2, 5: 5.6, 10: 10.8, 25: 26.8},
    5: {1: 2.8, 2: 5.6, 3: 8.0, 5: 13.6, 10: 26.8, 25: 66.8},
    12: {1: 8.4, 2: 16.8, 3: 24.8, 5: 41.6, 10: 82.8, 25: 206.8},
}


@pytest.mark.parametrize("n, d, expected", [(n, d, w) for n, row in TABLE.items() for d, w in row.items()])
def test_spec_worked_values(n, d, expected):
    assert W(n, d) == pytest.approx(expected, abs=1e-9)


def test_four_cases_and_their_edges():
    assert W(1, 1) == 1 and W(2, 1) == 2           # D = 1, N < 3: N
    assert W(3, 1) == pytest.approx(1.2)           # D = 1, N >= 3: 0.8N - 1.2
    assert W(2, 7) == 14                           # D > 1, N < 3: N D
    assert W(3, 2) == pytest.approx(2.4)           # D > 1, N = 3 edge, D mod 3 = 2
    # the N = 2 -> 3 step of 001's Figure 2: a third account lowers the ceiling
    assert W(3, 10) < W(2, 10)


def test_vectorised_and_multi_method_ceiling():
    n, d = np.meshgrid(np.arange(1, 13), np.arange(1, 26), indexing="ij")
    grid = W(n, d)
    assert grid.shape == (12, 25) and grid[11, 24] == pytest.approx(206.8)
    # two methods: cash (50,000) and personal transfer (500,000)
    assert ceiling(3, 3, [50_000, 500_000]) == pytest.approx(3.2 * 550_000)


@pytest.mark.parametrize("n, d, name", [(0, 1, "n_accounts"), (2, 0, "n_days"), (2.5, 3, "n_accounts")])
def test_bad_arguments_name_the_parameter(n, d, name):
    with pytest.raises(ConfigError, match=rf"'{name}' parameter of W must be an int in the range \[1, inf\)"):
        W(n, d)


def reference_W(n, d):
    """001's derivation, day by day: N < 3 moves N·Φ every day; N >= 3 moves the full
    (0.8N - 1.2)·Φ on two days of every three and (0.8N - 1.6)·Φ on the third."""
    if n < 3:
        return float(n * d)
    full, third = 0.8 * n - 1.2, 0.8 * n - 1.6
    return sum(third if day % 3 == 2 else full for day in range(d))


@given(st.integers(1, 40), st.integers(1, 60))
def test_matches_the_day_by_day_derivation(n, d):
    assert W(n, d) == pytest.approx(reference_W(n, d), abs=1e-9)
    assert w_scalar(n, d) == W(n, d)

"""The run tracker every run detector shares (flowgraph._kernels.runs) against its
plain-Python reference, on random qualifying days, and by hand where σ-like tiebreaks
differ only in the last bits."""

from typing import NamedTuple

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flowgraph._kernels.runs import day_runs, take
from reference.runs import day_runs_reference, periods

N_KEYS = 3
ONE_PERIOD = [12] * 13  # days 0 .. 12 in one period


class Days(NamedTuple):
    key: np.ndarray
    day: np.ndarray
    score: np.ndarray
    tiebreak: np.ndarray


def _days(rows_by_account):
    """The kernel's layout: each account's rows a segment, day-major inside it (keys interleaved)."""
    rows = [sorted(rows, key=lambda r: (r[1], r[0])) for rows in rows_by_account]
    offsets = np.concatenate([[0], np.cumsum([len(r) for r in rows])]).astype(np.int64)
    flat = [r for account in rows for r in account]
    columns = list(zip(*flat)) if flat else [(), (), (), ()]
    return offsets, Days(np.array(columns[0], np.int64), np.array(columns[1], np.int64),
                         np.array(columns[2], np.float64), np.array(columns[3], np.float64))


# one row per (key, day) of an account: a dict keyed by them
account_days = st.dictionaries(st.tuples(st.integers(0, N_KEYS - 1), st.integers(0, 12)),
                               st.tuples(st.integers(0, 3), st.integers(0, 3)), max_size=20)


@settings(max_examples=100, deadline=None)
@given(st.lists(account_days, max_size=5), st.sets(st.integers(1, 12), max_size=3))
def test_day_runs_matches_reference(accounts, starts):
    rows_by_account = [[(k, d, float(s), float(t)) for (k, d), (s, t) in a.items()] for a in accounts]
    offsets, days = _days(rows_by_account)
    period_last, period_of = periods(starts, 13)
    runs = day_runs(offsets, days, N_KEYS, period_last)
    got = sorted(zip(*(x.tolist() for x in (runs.account, runs.key, runs.first_day, runs.last_day,
                                             days.day[runs.best_row]))))
    assert got == day_runs_reference(rows_by_account, period_of)


def test_day_runs_cuts_at_a_missing_day_and_ties_go_to_the_earlier_day():
    # account 0, key 1: days 2, 3, 4 (best 3: the first of two equal scores), then day 6 alone
    offsets, days = _days([[(1, 2, 1.0, 0.0), (1, 3, 2.0, 5.0), (1, 4, 2.0, 5.0), (1, 6, 0.0, 0.0)], []])
    runs = day_runs(offsets, days, N_KEYS, ONE_PERIOD)
    assert sorted(zip(runs.first_day.tolist(), runs.last_day.tolist(), days.day[runs.best_row].tolist())) == \
        [(2, 4, 3), (6, 6, 6)]
    assert runs.account.tolist() == [0, 0] and runs.key.tolist() == [1, 1]


def test_day_runs_cut_where_a_period_ends_and_each_piece_has_its_own_best_day():
    # days 2..6 without a gap, a period ending on day 3: two runs, the best of each its own
    offsets, days = _days([[(0, 2, 1.0, 0.0), (0, 3, 5.0, 0.0), (0, 4, 1.0, 0.0), (0, 5, 2.0, 0.0),
                            (0, 6, 2.0, 0.0)]])
    runs = day_runs(offsets, days, 1, [3, 3, 3, 3, 12, 12, 12, 12, 12, 12, 12, 12, 12])
    assert list(zip(runs.first_day.tolist(), runs.last_day.tolist(), days.day[runs.best_row].tolist())) == \
        [(2, 3, 3), (4, 6, 5)]
    with pytest.raises(ValueError, match="period_last holds 5 days; the runs reach day 6"):
        day_runs(offsets, days, 1, [3, 3, 3, 3, 4])


def test_day_runs_treats_tiebreaks_within_tie_as_equal():
    # a σ computed twice differs in the last bits: within `tie` the earlier day stays best
    offsets, days = _days([[(0, 0, 3.0, -0.02), (0, 1, 3.0, -0.02 + 1e-15), (0, 2, 3.0, -0.01)]])
    best = lambda tie: days.day[day_runs(offsets, days, 1, ONE_PERIOD, tie).best_row].tolist()
    assert best(1e-12) == [2]
    offsets, days = _days([[(0, 0, 3.0, -0.02), (0, 1, 3.0, -0.02 + 1e-15)]])
    assert days.day[day_runs(offsets, days, 1, ONE_PERIOD, 1e-12).best_row].tolist() == [0]
    assert days.day[day_runs(offsets, days, 1, ONE_PERIOD, 0.0).best_row].tolist() == [1]


def test_day_runs_refuses_a_key_it_has_no_room_for():
    offsets, days = _days([[(3, 0, 1.0, 0.0)]])
    with pytest.raises(ValueError, match=r"keys must be in \[0, 3\)"):
        day_runs(offsets, days, N_KEYS, ONE_PERIOD)


def test_day_runs_of_nothing_is_empty_and_take_keeps_the_columns():
    offsets, days = _days([[], []])
    runs = day_runs(offsets, days, N_KEYS, ONE_PERIOD)
    assert len(runs.account) == 0
    assert take(days, np.zeros(0, np.int64))._fields == Days._fields

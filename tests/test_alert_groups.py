"""Alert grouping (flowgraph.alerts._groups) against a plain union-find: within a unit,
hits chain while their windows overlap (sorted by start) and merge when they share a
transaction."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from flowgraph.alerts import _groups

hit = st.tuples(st.integers(0, 2), st.integers(0, 12), st.integers(0, 4),
                st.lists(st.sampled_from(["t1", "t2", "t3", "t4", "t5", "t6"]), max_size=3))


def reference(hits):
    parent = list(range(len(hits)))

    def find(i):
        while parent[i] != i:
            i = parent[i]
        return i

    def union(i, j):
        parent[find(i)] = find(j)

    for i, (u, s, length, txns) in enumerate(hits):
        for j, (v, t, other, others) in enumerate(hits[:i]):
            if u == v and (set(txns) & set(others)):
                union(i, j)
    for u in {h[0] for h in hits}:
        mine = sorted((s, i) for i, (v, s, _, _) in enumerate(hits) if v == u)
        reach, previous = None, None
        for s, i in mine:
            if previous is not None and s <= reach:
                union(i, previous)
                reach = max(reach, s + hits[i][2])
            else:
                reach = s + hits[i][2]
            previous = i
    groups = {}
    for i in range(len(hits)):
        groups.setdefault(find(i), []).append(i)
    return sorted(sorted(g) for g in groups.values())


@settings(max_examples=200, deadline=None)
@given(st.lists(hit, min_size=1, max_size=12))
def test_groups_match_a_plain_union_find(hits):
    unit = np.array([h[0] for h in hits])
    start = np.array([h[1] for h in hits], np.int64)
    end = start + np.array([h[2] for h in hits], np.int64)
    got = sorted(sorted(g) for g in _groups(unit, start, end, [h[3] for h in hits]))
    assert got == reference(hits)

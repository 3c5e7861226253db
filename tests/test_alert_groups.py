"""Alerts against plain Python: grouping (flowgraph.alerts._groups) against a union-find,
scoring against a scorer that takes one alert at a time. Grouping: within a unit,
hits chain while their windows overlap (sorted by start) and merge when they share a
transaction."""

import json

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from flowgraph.alerts import FAMILIES, ModelConfig, _groups, build_alerts
from reference.alerts import build_alerts as reference_alerts

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
    label = _groups(unit, start, end, [h[3] for h in hits])
    got = sorted(np.flatnonzero(label == g).tolist() for g in np.unique(label))
    assert got == reference(hits)


scored_hit = st.tuples(st.sampled_from(["c1", "c2", ""]), st.sampled_from(["a1", "a2", "a3"]),
                       st.sampled_from(sorted(FAMILIES)), st.integers(0, 8), st.integers(0, 3),
                       st.lists(st.sampled_from(["t1", "t2", "t3", "t4"]), max_size=2, unique=True),
                       st.booleans(), st.one_of(st.floats(0, 3), st.just(float("nan")), st.just(float("inf"))),
                st.one_of(st.floats(0, 1e9), st.just(float("nan"))),
                st.lists(st.sampled_from(["a1", "a2", "a3", "b1"]), max_size=3),
                st.sampled_from([0.0, 1.2, 4.0, float("nan")]), st.sampled_from([0.0, 5e5, 2e6, float("nan")]),
                st.sampled_from([None, {"hop_amounts": [4.5e5, 4.1e5]}, {"leg_amounts": [[1e4, 9e3], [2.1e6, 2e6]]},
                                 {"amount_in": 5.0}]))


@settings(max_examples=150, deadline=None)
@given(st.lists(scored_hit, min_size=1, max_size=14, unique_by=lambda h: h[:5]),
       st.dictionaries(st.sampled_from(sorted(FAMILIES)), st.sampled_from([0.0, 0.5, 1.0, 2.5])),
       st.sampled_from([0.0, 0.5, 1.0]), st.sampled_from([0.0, 0.5]), st.sampled_from([0.0, 0.3]),
       st.sampled_from([0.0, 1.0, -0.4]))
def test_alerts_match_a_plain_python_scorer(hits, weights, band_weight, utilisation_weight, amount_weight,
                                            reach_weight):
    """Scores, explanations, contributions, members and ids of every alert, built with
    arrays, equal the model computed one alert at a time (band-only indicators, features
    of non-reportable hits only)."""
    frame = pd.DataFrame([{
        "hit_id": f"h{i:02d}", "customer": c, "subject": s, "typology": t,
        "window_start": pd.Timestamp("2026-12-01") + pd.Timedelta(days=d),
        "window_end": pd.Timestamp("2026-12-01") + pd.Timedelta(days=d + length),
        "txn_ids": txns, "in_band": band, "utilisation": u, "amount": a, "accounts": [s, *accts], "w": w,
        "ceiling": w * phi, "measures": json.dumps(m) if m is not None else None}
        for i, (c, s, t, d, length, txns, band, u, a, accts, w, phi, m) in enumerate(hits)])
    model = ModelConfig(weights=weights, band_weight=band_weight, utilisation_weight=utilisation_weight,
                        amount_weight=amount_weight, closeness_weight=2.0, families_weight=0.7, repetition_weight=0.4,
                        reach_weight=reach_weight, size_weight=0.6, alert_threshold=1.0)
    got, expected = build_alerts(frame, model, "cfg"), reference_alerts(frame, model, "cfg")
    pd.testing.assert_frame_equal(got, expected, check_dtype=False)

"""The hit table's array-built columns against plain Python: Φ as JSON text, measures as
JSON text, the one sort order."""

import json

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

import flowgraph.hits as hits_module
from flowgraph.config import CHANNELS
from flowgraph.hits import _measures_json, _phi_json, _sorted

PHI_VALUES = st.sampled_from([0.0, 50_000.0, 200_000.0, 1e-7, 123456.78, 5e-324])


def _phi_reference(mask, phi) -> list[str]:
    return [json.dumps({c: float(phi[i, j]) for j, c in enumerate(CHANNELS) if int(mask[i]) >> j & 1},
                       sort_keys=True) for i in range(len(mask))]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 2 ** len(CHANNELS) - 1),
                          st.lists(PHI_VALUES, min_size=len(CHANNELS), max_size=len(CHANNELS))),
                min_size=1, max_size=40))
def test_phi_json_is_json_dumps_of_each_row(rows):
    mask = np.array([m for m, _ in rows], np.int64)
    phi = np.array([p for _, p in rows], np.float64)
    assert list(_phi_json(mask, phi)) == _phi_reference(mask, phi)


def test_phi_json_hash_collisions_fall_back_to_exact_grouping(monkeypatch):
    # every row hashes alike: the check notices and groups exactly
    monkeypatch.setattr(hits_module, "_ROW_MIX", np.zeros(8, np.uint64))
    mask = np.array([1, 2, 3, 1], np.int64)
    phi = np.array([[5e4, 2e5, 0.0], [5e4, 2e5, 0.0], [1.0, 2.0, 3.0], [7.0, 2e5, 0.0]])
    assert list(_phi_json(mask, phi)) == _phi_reference(mask, phi)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(-2 ** 62, 2 ** 62), st.floats(), st.text(max_size=5),
                          st.lists(st.text(max_size=4), max_size=3), st.booleans(), st.floats(width=32)),
                min_size=1, max_size=20))
def test_measures_json_is_json_dumps_of_each_hit(rows):
    measures = {"n": np.array([r[0] for r in rows], np.int64), "share": np.array([r[1] for r in rows]),
                "label": np.array([r[2] for r in rows], object), "members": [r[3] for r in rows],
                "flag": np.array([r[4] for r in rows]), "%x": np.array([r[5] for r in rows], np.float32)}
    plain = lambda x: None if x != x else x
    expected = [json.dumps({"label": r[2], "members": r[3], "n": r[0], "share": plain(r[1]), "flag": r[4],
                            "%x": plain(float(np.float32(r[5])))}, sort_keys=True, ensure_ascii=False) for r in rows]
    assert _measures_json(measures, len(rows)) == expected


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["fan", "large_value"]), st.sampled_from(["fan_in", "fan_out", "x"]),
                          st.integers(0, 5), st.sampled_from(["a", "B", "é", "aa", "10", "9"]),
                          st.sampled_from(["00ff", "0a1b", "ffff", "1000"])), max_size=30))
def test_sorted_is_a_stable_sort_by_the_sort_columns(rows):
    frame = pd.DataFrame(rows, columns=["detector", "typology", "window_start", "subject", "hit_id"])
    frame["window_start"] = pd.to_datetime("2026-01-01") + pd.to_timedelta(frame["window_start"], unit="D")
    frame["row"] = range(len(frame))
    expected = sorted(frame.itertuples(index=False), key=lambda r: (r.detector, r.typology, r.window_start,
                                                                     r.subject, r.hit_id, r.row))
    assert list(_sorted(frame).itertuples(index=False)) == expected

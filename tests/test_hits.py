"""The hit table's array-built columns against plain Python: Φ as JSON text, measures as
JSON text, the one sort order; a selection of a table builds the rows the whole table has."""

import json

import numpy as np
import pandas as pd
from hypothesis import example, given, settings
from hypothesis import strategies as st

import flowgraph.hits as hits_module
from flowgraph.config import CHANNELS
from flowgraph.graph import build_graph
from flowgraph.hits import _measures_json, _phi_json, _sorted
from flowgraph.schema import validate_transactions

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
    assert _measures_json(measures, len(rows)).to_pylist() == expected


# Arrow writes these differently from Python (an integral value without ".0", a value
# Python writes out in exponent form, or the other way round): each is written as Python does
FLOAT_EDGES = [100.0, -0.0, 0.0, 328019044278.74927, 9911344017343630.0, 9999999999999998.0, 1e16, 1e15, 1e-4,
               9.999999999999999e-05, 6.358878507952851e-06, 5e-324, -1.7976931348623157e308, 0.30000000000000004,
               float("nan"), float("inf"), float("-inf"), 71948.23, 123456789012.5, -42.0]


def test_measures_json_writes_every_float_as_python_does():
    values = np.array(FLOAT_EDGES)
    measures = {"x": values, "label": np.array(["a\"b", None, "中"] * 6 + ["a", "b"], dtype=object),
                "mixed": np.array([1, "x"] * 10, dtype=object),
                "code": np.array(["\x000", "a\x00b", ""] * 6 + ["c", "d"])}  # numpy text holding NULs
    plain = lambda x: None if x != x else x
    expected = [json.dumps({"x": plain(x), "label": label, "mixed": mixed, "code": code}, sort_keys=True,
                           ensure_ascii=False)
                for x, label, mixed, code in zip(FLOAT_EDGES, measures["label"], measures["mixed"],
                                                 measures["code"].tolist())]
    assert _measures_json(measures, len(values)).to_pylist() == expected


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


def _hand_graph():
    """Seven transfers, a cash deposit and a withdrawal among five accounts over four business days."""
    rows = [(f"t{i}", f"2026-03-0{2 + i % 4} 10:0{i}:00", src, dst, amount, "CNY", channel)
            for i, (src, dst, amount, channel) in enumerate([
                ("A", "B", "60000", "transfer"), ("B", "C", "59000.5", "transfer"),
                ("C", "D", "58000", "cross_border"), ("D", "A", "57000", "transfer"), ("", "A", "1200", "cash"),
                ("A", "E", "900.25", "transfer"), ("B", "D", "30000", "transfer"), ("C", "", "5000", "cash"),
                ("E", "C", "77000", "transfer")])]
    columns = ["txn_id", "timestamp", "src_account", "dst_account", "amount", "currency", "channel"]
    valid = validate_transactions(pd.DataFrame(rows, columns=columns, dtype=str), "hand.csv")
    assert valid.report.ok, valid.report
    return build_graph(valid.table)


HAND_GRAPH = _hand_graph()

HIT_PARTS = st.lists(st.tuples(st.sampled_from(["fan_in", "cycle", "x"]), st.integers(0, 4), st.integers(0, 1),
                               st.integers(0, 2), st.lists(st.integers(0, 8), max_size=5), st.integers(0, 10 ** 9),
                               st.floats(allow_nan=True, allow_infinity=False), st.sampled_from(["a", "é", "b"]),
                               st.booleans()),
                     min_size=1, max_size=12)


@given(HIT_PARTS, st.data())
def test_a_selection_of_a_hit_table_is_those_rows_of_the_whole_table(rows, data):
    """:func:`hit_table` builds only the rows of a selection (``HitTable.select``), and
    they are exactly those rows of the table built whole; its keys are the whole table's."""
    graph = HAND_GRAPH
    phi = np.tile(np.array([5e4, 2e5, 1e6]), (graph.n_accounts, 1))

    def table():
        lists = [np.array(r[4], np.int64) for r in rows]
        offsets, evidence = hits_module.segments(lists)
        parts = hits_module.HitParts(
            np.array([r[0] for r in rows], object), np.array([r[1] for r in rows]),
            np.array([r[2] for r in rows]), np.array([r[2] + r[3] for r in rows]), offsets, evidence,
            np.array([r[5] for r in rows], np.int64),
            {"share": np.array([r[6] for r in rows]), "label": np.array([r[7] for r in rows], object),
             "members": [[f"m{k}" for k in r[4]] for r in rows]},
            key=np.array([int(r[8]) for r in rows]))
        return hits_module.hit_table(graph, "detector", "p1", phi, parts)

    whole = table().frame
    assert len(whole) == len(rows)
    lazy = table()
    pd.testing.assert_frame_equal(lazy.keys, whole[list(hits_module.KEY_COLUMNS)])
    keep = np.array(data.draw(st.lists(st.booleans(), min_size=len(rows), max_size=len(rows))))
    chosen = lazy.select(keep)
    pd.testing.assert_frame_equal(chosen.keys, whole.loc[keep, list(hits_module.KEY_COLUMNS)].reset_index(drop=True))
    again = np.array(data.draw(st.lists(st.booleans(), min_size=len(chosen), max_size=len(chosen))), bool)
    expected = whole.loc[keep].reset_index(drop=True).loc[again].reset_index(drop=True)
    pd.testing.assert_frame_equal(chosen.select(again).frame, expected)
    pd.testing.assert_frame_equal(lazy.frame, whole)  # a selection leaves its table whole


HEX_IDS = st.text("0123456789abcdef", min_size=16, max_size=16)
OTHER_TEXTS = st.one_of(st.text("0123456789abcdefABCDEF g", min_size=15, max_size=17), st.text(max_size=16))


@given(st.lists(HEX_IDS, max_size=30), st.lists(OTHER_TEXTS, max_size=3), st.booleans())
@example(["00000000000000a0"], ["00000000000000B0", "00000000000000A0"], True)  # capitals sort before "a"
@example(["0000000000000001"], ["0000000000 00 ff"], True)  # hexadecimal with spaces in it is no id
@example(["0000000000000010", "0000000000000000"], [], False)  # digits only: ranked, in Arrow too
def test_id_sort_key_orders_as_the_texts_do(ids, others, mixed):
    """Hit ids are sorted by the numbers they write, other texts by rank: either way the
    key orders and groups exactly as the texts do."""
    texts = ids + (others if mixed else [])
    key = hits_module.id_sort_key(np.array(texts, dtype=object))
    assert len(key) == len(texts)
    assert [texts[i] for i in np.argsort(key, kind="stable")] == sorted(texts)
    same_key = key[:, None] == key[None, :]
    assert (same_key == (np.array(texts, dtype=object)[:, None] == np.array(texts, dtype=object)[None, :])).all()
    # a column of Arrow text (a hit table's) is read from its buffers: the same keys
    column = pd.Series(texts, dtype=hits_module.TEXT_DTYPE)
    np.testing.assert_array_equal(hits_module.id_sort_key(column), key)
    half = len(texts) // 2  # a slice of a column (its Arrow array has an offset)
    np.testing.assert_array_equal(hits_module.id_sort_key(column.iloc[half:]),
                                  hits_module.id_sort_key(np.array(texts[half:], dtype=object)))


@given(st.lists(st.integers(0, 2**64 - 1), max_size=30))
@example([0, 2**64 - 1, 0xDEADBEEF12345678])
def test_a_hit_tables_ids_are_the_hex_digits_of_their_numbers(numbers):
    """A hit table's ids are made from their numbers' bytes (no Python string each): each
    is the number's 16 hexadecimal digits, as Python writes them, and reads back to it."""
    numbers = np.array(numbers, np.uint64)
    ids = hits_module._id_text_array(numbers)
    assert ids.dtype == hits_module.TEXT_DTYPE
    assert list(ids) == [f"{int(n):016x}" for n in numbers]
    if any(f"{int(n):016x}".strip("0123456789") for n in numbers):  # a letter in one: read as numbers
        np.testing.assert_array_equal(hits_module.id_sort_key(pd.Series(ids)), numbers)

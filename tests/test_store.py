"""The run store's bulk paths: a chunk committed to a fresh store, the hits a scan holds
instead of reading them back, large-value evidence from memory and store together."""

import json
import os
import re
import sqlite3

import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from flowgraph.errors import DataError
from flowgraph.scan import large_value_checks
from flowgraph.store import (HIT_CONTENT_COLUMNS, HIT_STORE_COLUMNS, Store, _needs_escaping, as_stored, json_list_array,
                              json_list_texts)
from reference.strings import hash_string

_DAY = pd.Timestamp("2026-11-02")


def _hits(rows) -> pd.DataFrame:
    """A hit table as detectors make it: evidence as Arrow list columns, extra measure columns."""
    frame = pd.DataFrame(rows)
    for col in ("accounts", "txn_ids"):
        frame[col] = pd.Series(pd.arrays.ArrowExtensionArray(pa.array(frame[col].tolist(), pa.list_(pa.string()))))
    return frame


def _row(hit_id, txn_ids, utilisation=0.5, detector="fan", typology="fan_in", customer="C1", day=0, in_band=False):
    start = _DAY + pd.Timedelta(days=day)
    return dict(hit_id=hit_id, detector=detector, typology=typology, params_id="p", subject="A1", customer=customer,
                accounts=["A1", "A2"], txn_ids=txn_ids, window_start=start, window_end=start + pd.Timedelta(days=3),
                run_first=start, run_last=start + pd.Timedelta(days=3), n_accounts=2, n_days=4, amount=10.25,
                phi='{"transfer": 500000.0}', w=2.4, ceiling=1.0, utilisation=utilisation, in_band=in_band,
                measures='{"senders": 5}', m_senders=5.0)


def _store(tmp_path, run_id="r"):
    store = Store(tmp_path / "s.sqlite")
    store.start_run({"run_id": run_id, "status": "running"})
    return store


def test_hits_held_in_memory_equal_the_stored_ones_read_back(tmp_path):
    hits = _hits([_row("h1", ["t1", "t2"]), _row("h2", [], utilisation=float("nan"), customer="", in_band=True),
                  _row("h3", ['t"3'], day=1)])
    store = _store(tmp_path)
    counts = store.commit_chunk("r", 0, "2026-11-02", "2026-11-09", hits, "c", "2026-11-09")
    assert counts == {"added": 3, "updated": 0, "retracted": 0}
    back = store.hits("c", run_id="r").sort_values("hit_id").reset_index(drop=True)
    held = as_stored(hits, "c", "r", "2026-11-09").sort_values("hit_id").reset_index(drop=True)
    assert list(held.columns) == [c for c in HIT_STORE_COLUMNS if c != "content"]
    held[["accounts", "txn_ids"]] = held[["accounts", "txn_ids"]].map(list)
    pd.testing.assert_frame_equal(held, back, check_dtype=False)
    assert store.hit_ids_written_by("c", "r") == {"h1", "h2", "h3"}
    assert store.hits("c", run_id="r", written_by_other_than="r").empty


def test_second_run_updates_retracts_and_keeps_as_before(tmp_path):
    store = _store(tmp_path)
    store.commit_chunk("r", 0, "2026-11-02", "2026-11-09", _hits([_row("h1", ["t1"]), _row("h2", ["t2"])]),
                       "c", "2026-11-09")
    store.start_run({"run_id": "r2", "status": "running"})
    # h1 changed, h2 gone from days this run re-scanned, h3 new
    counts = store.commit_chunk("r2", 0, "2026-11-02", "2026-11-09", _hits([_row("h1", ["t1", "t9"]),
                                                                            _row("h3", ["t3"])]),
                                "c", "2026-11-09")
    assert counts == {"added": 1, "updated": 1, "retracted": 1}
    versions = store.query("SELECT hit_id, reason, run_id FROM hit_versions ORDER BY hit_id")
    assert versions.values.tolist() == [["h1", "updated", "r"], ["h2", "retracted", "r"]]
    assert store.hit_ids_written_by("c", "r2") == {"h1", "h3"}
    # a scan that saw fewer days leaves the stored version in place: it is read back, not held
    store.start_run({"run_id": "r3", "status": "running"})
    store.commit_chunk("r3", 0, "2026-11-02", "2026-11-05", _hits([_row("h1", ["t1"])]), "c", "2026-11-05")
    assert store.hit_ids_written_by("c", "r3") == set()
    kept = store.hits("c", run_id="r3", written_by_other_than="r3")
    assert kept["run_id"].tolist() == ["r2"] and kept["txn_ids"].tolist() == [["t1", "t9"]]


def test_cross_check_takes_large_value_evidence_from_memory_and_from_other_runs(tmp_path):
    store = _store(tmp_path, "old")  # an earlier run's large-value hit, on days this run does not re-scan
    store.commit_chunk("old", 0, "2026-10-26", "2026-11-02",
                       _hits([_row("lv_old", ["t5"], detector="large_value", typology="large_value_single", day=-3)]),
                       "c", "2026-11-02")
    store.start_run({"run_id": "r", "status": "running"})
    hits = _hits([_row("f1", ["t1", "t2"], utilisation=1.7), _row("f2", ["t5"], utilisation=1.2),
                  _row("f3", ["t8"], utilisation=1.3),
                  _row("lv", ["t2"], detector="large_value", typology="large_value_daily")])
    store.commit_chunk("r", 0, "2026-11-03", "2026-11-09", hits, "c", "2026-11-09")
    held = as_stored(hits, "c", "r", "2026-11-09")
    in_memory = large_value_checks(store, "c", held, "2026-11-02", held, "r")["u_above_1_without_large_value"]
    from_store = large_value_checks(store, "c", store.hits("c", run_id="r"), "2026-11-02")["u_above_1_without_large_value"]
    assert in_memory == from_store == [{"hit_id": "f3", "typology": "fan_in", "utilisation": 1.3}]


def test_a_store_of_an_earlier_version_gets_the_index_a_commit_retracts_from(tmp_path):
    """A store whose run-last index is the earlier (config_hash, run_last) gets the
    covering one when opened, and a commit's retraction of hits ending on its days reads
    that index alone (SQLite's plan), not the hit rows behind it."""
    store = _store(tmp_path)
    store.commit_chunk("r", 0, "2026-11-02", "2026-11-09", _hits([_row("h1", ["t1"]), _row("h2", ["t2"])]),
                       "c", "2026-11-09")
    store.conn.execute("DROP INDEX hits_run_last_seen")
    store.conn.execute("CREATE INDEX hits_run_last ON hits (config_hash, run_last)")
    store.close()
    store = Store(tmp_path / "s.sqlite")
    indexes = {r[0] for r in store.conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert "hits_run_last_seen" in indexes and "hits_run_last" not in indexes
    plan = " ".join(r[-1] for r in store.conn.execute(
        "EXPLAIN QUERY PLAN SELECT h.hit_id FROM hits h WHERE h.config_hash = ? AND h.seen_through <= ? "
        "AND h.run_last >= ? AND h.run_last <= ?", ("c", "2026-11-09", "2026-11-02", "2026-11-09")))
    assert "COVERING INDEX hits_run_last_seen" in plan
    store.start_run({"run_id": "r2", "status": "running"})
    counts = store.commit_chunk("r2", 0, "2026-11-02", "2026-11-09", _hits([_row("h1", ["t1"])]), "c", "2026-11-09")
    assert counts == {"added": 0, "updated": 0, "retracted": 1}


def test_hits_read_back_whatever_type_the_first_rows_hold(tmp_path):
    """Hits are read by SQLite's ADBC driver, which types a column by the first rows it
    reads: 1,500 hits with no W, ceiling, u or Φ (NULL) come first in every read order,
    then hits with them. Every value comes back as ``sqlite3`` reads it."""
    empty = [{**_row(f"a{i:05d}", [f"t{i}"], utilisation=float("nan"), customer="C0"), "w": float("nan"),
              "ceiling": float("nan"), "phi": None} for i in range(1500)]
    full = [_row(f"b{i:05d}", [f"u{i}", f"v{i}"], utilisation=1.5 + i, customer="C1") for i in range(10)]
    store = _store(tmp_path)
    store.commit_chunk("r", 0, "2026-11-02", "2026-11-09", _hits(empty + full), "c", "2026-11-09")
    for read in (store.hits("c", run_id="r"), store.hits("c", units={"C0", "C1"}), store.hits("c"),
                 store.hits("c", ids=[f"a{i:05d}" for i in range(1500)] + ["b00003", "b00003"])):
        want = store.query("SELECT hit_id, w, ceiling, utilisation, phi, txn_ids FROM hits "
                           "WHERE hit_id IN (SELECT value FROM json_each(?))",
                           [read["hit_id"].to_json(orient="values")]).set_index("hit_id").loc[read["hit_id"]]
        assert len(read) == len(set(read["hit_id"])) == (1510 if len(read) > 1501 else 1501)
        for col in ("w", "ceiling", "utilisation"):
            assert read[col].dropna().tolist() == want[col].dropna().astype(float).tolist()
            assert read[col].isna().sum() == want[col].isna().sum() == 1500
        assert read["phi"].isna().sum() == 1500 and read["phi"].dropna().tolist() == want["phi"].dropna().tolist()
        assert [list(x) for x in read["txn_ids"]] == [json.loads(x) for x in want["txn_ids"]]


def test_a_store_damaged_after_it_was_opened_is_a_data_error_naming_it(tmp_path):
    store = _store(tmp_path)
    store.commit_chunk("r", 0, "2026-11-02", "2026-11-09", _hits([_row("h1", ["t1"])]), "c", "2026-11-09")
    (tmp_path / "s2.sqlite").write_bytes(b"not a database " * 1000)
    store.path = tmp_path / "s2.sqlite"  # what the reads open
    with pytest.raises(DataError, match="s2.sqlite: the run store is damaged"):
        store.hits("c", run_id="r")
    with pytest.raises(DataError, match="s2.sqlite: the run store is damaged"):
        store.large_value_evidence("c", "2026-11-02", "2026-11-09")


def test_hits_are_read_back_from_a_folder_whose_name_a_uri_must_escape(tmp_path):
    folder = tmp_path / "案件 2026?#%20"
    folder.mkdir()
    store = _store(folder)
    store.commit_chunk("r", 0, "2026-11-02", "2026-11-09", _hits([_row("h1", ["t1"]), _row("h2", ["t2"])]),
                       "c", "2026-11-09")
    assert sorted(store.hits("c", run_id="r")["hit_id"]) == ["h1", "h2"]


def _stored_cells(path, columns):
    """Each stored hit's cells with SQLite's own type of each, read by ``sqlite3``."""
    import sqlite3

    conn = sqlite3.connect(path)
    picked = ", ".join(f"{c}, typeof({c})" for c in columns)
    rows = conn.execute(f"SELECT {picked} FROM hits ORDER BY hit_id").fetchall()
    conn.close()
    return [[(r[2 * i], r[2 * i + 1]) for i in range(len(columns))] for r in rows]


def test_staged_rows_store_the_values_and_types_a_row_binding_stored(tmp_path):
    # what executemany bound (Python str/int/float/None) into each declared column is what the
    # staged copy stores: NaN and None as NULL, a column of nulls only, ids JSON must escape,
    # non-ASCII, lists passed as Python lists, booleans as 0/1
    rows = [_row("h2", ['t"2', "ü\\x"], utilisation=float("nan"), customer=None, in_band=True),
            _row("h1", [], customer="客户"), _row("h3", ["t3"], day=2)]
    hits = pd.DataFrame(rows).assign(w=None)  # no hit has a W: an all-null (object) column
    store = _store(tmp_path)
    assert store.commit_chunk("r", 0, "2026-11-02", "2026-11-09", hits, "c", "2026-11-09")["added"] == 3
    cells = dict(zip(["h1", "h2", "h3"], _stored_cells(tmp_path / "s.sqlite", HIT_STORE_COLUMNS)))
    by_col = {h: dict(zip(HIT_STORE_COLUMNS, c)) for h, c in cells.items()}
    assert by_col["h2"]["txn_ids"] == (json.dumps(['t"2', "ü\\x"], ensure_ascii=False), "text")
    assert by_col["h1"]["txn_ids"] == ("[]", "text")
    assert by_col["h1"]["customer"] == ("客户", "text") and by_col["h2"]["customer"] == (None, "null")
    assert by_col["h2"]["utilisation"] == (None, "null") and by_col["h1"]["utilisation"] == (0.5, "real")
    assert by_col["h2"]["in_band"] == (1, "integer") and by_col["h1"]["in_band"] == (0, "integer")
    assert by_col["h1"]["w"] == (None, "null") and by_col["h1"]["n_days"] == (4, "integer")
    assert by_col["h3"]["window_start"] == ("2026-11-04", "text") and by_col["h3"]["run_last"] == ("2026-11-07", "text")
    assert by_col["h1"]["amount"] == (10.25, "real") and by_col["h1"]["run_id"] == ("r", "text")
    # the digest is of the content columns' texts joined, as before the rows were staged
    assert HIT_CONTENT_COLUMNS == ("subject", "customer", "accounts", "txn_ids", "window_start", "window_end",
                                   "run_last", "amount", "in_band", "measures")
    texts = {"h1": ["A1", "客户", '["A1", "A2"]', "[]", "2026-11-02", "2026-11-05", "2026-11-05", "10.25", "0",
                    '{"senders": 5}'],
             "h2": ["A1", "\x00", '["A1", "A2"]', '["t\\"2", "ü\\\\x"]', "2026-11-02", "2026-11-05", "2026-11-05",
                    "10.25", "1", '{"senders": 5}']}
    for h, joined in texts.items():
        assert by_col[h]["content"] == (f"{hash_string(chr(0x1F).join(joined).encode('utf-8')):016x}", "text")
    again = Store(tmp_path / "s.sqlite")
    again.start_run({"run_id": "r2", "status": "running"})
    # the same hits scanned again: nothing changed, nothing updated
    assert again.commit_chunk("r2", 0, "2026-11-02", "2026-11-09", hits, "c", "2026-11-09") == \
        {"added": 0, "updated": 0, "retracted": 0}


def test_staged_alert_rows_store_the_values_and_types_a_row_binding_stored(tmp_path):
    # what executemany bound into each column of ``alerts`` is what the staged copy stores:
    # NaN as NULL, a missing customer as NULL, booleans as 0/1, days as ISO dates, hit ids
    # as JSON lists (escaped where they must be), the first run kept for a stored alert
    alerts = pd.DataFrame({
        "alert_id": ["a2", "a1"], "customer": ["客户", None], "subject": ["S1", "S2"], "score": [0.75, float("nan")],
        "raised": [True, False], "window_start": pd.to_datetime(["2026-11-02", "2026-11-03"]),
        "window_end": pd.to_datetime(["2026-11-05", "2026-11-06"]), "n_hits": [2, 1],
        "hit_ids": [["h1", 'h"2'], ["h3"]], "utilisation": [float("nan"), 1.5], "explanation": ["x", "ü"]})
    store = _store(tmp_path)
    store.replace_alerts("c", {"C1"}, alerts.iloc[1:], "r0")  # a1 stored by an earlier run
    store.replace_alerts("c", {"客户", "S2"}, alerts, "r")
    conn = sqlite3.connect(tmp_path / "s.sqlite")
    columns = [r[1] for r in conn.execute("PRAGMA table_info(alerts)")]
    picked = ", ".join(f"{c}, typeof({c})" for c in columns)
    rows = {r[0]: dict(zip(columns, zip(r[::2], r[1::2])))
            for r in conn.execute(f"SELECT {picked} FROM alerts ORDER BY rowid")}
    conn.close()
    assert sorted(rows) == ["a1", "a2"]
    a1, a2 = rows["a1"], rows["a2"]
    assert a2["customer"] == ("客户", "text") and a1["customer"] == (None, "null")
    assert a2["score"] == (0.75, "real") and a1["score"] == (None, "null")
    assert a2["utilisation"] == (None, "null") and a1["utilisation"] == (1.5, "real")
    assert a2["raised"] == (1, "integer") and a1["raised"] == (0, "integer") and a2["n_hits"] == (2, "integer")
    assert a2["window_start"] == ("2026-11-02", "text") and a1["window_end"] == ("2026-11-06", "text")
    assert a2["hit_ids"] == (json.dumps(["h1", 'h"2']), "text") and a1["hit_ids"] == ('["h3"]', "text")
    assert a2["config_hash"] == ("c", "text") and a2["explanation"] == ("x", "text")
    assert a1["first_run"] == ("r0", "text") and a2["first_run"] == ("r", "text")
    assert a1["last_run"] == a2["last_run"] == ("r", "text")


def test_the_staging_file_is_owner_only_and_gone_when_the_store_closes(tmp_path):
    store = _store(tmp_path)
    store.commit_chunk("r", 0, "2026-11-02", "2026-11-09", _hits([_row("h1", ["t1"])]), "c", "2026-11-09")
    staged = list(tmp_path.glob(".s.sqlite.staging-*"))
    assert len(staged) == 1 and staged[0].stat().st_mode & 0o777 == 0o600
    store.close()
    assert not list(tmp_path.glob(".s.sqlite.staging-*"))


def test_a_scan_removes_the_staging_files_a_killed_one_left(tmp_path):
    """Under the scan lock, staging files of other processes (a killed scan's: they hold
    real ids) are removed; this process's own, which another Store of it may be using, are
    kept."""
    store = _store(tmp_path)
    store.commit_chunk("r", 0, "2026-11-02", "2026-11-09", _hits([_row("h1", ["t1"])]), "c", "2026-11-09")
    own = next(tmp_path.glob(".s.sqlite.staging-*"))
    assert own.name.startswith(f".s.sqlite.staging-{os.getpid()}-")
    left = [tmp_path / ".s.sqlite.staging-999999999-ab12.sqlite", tmp_path / ".s.sqlite.staging-k3j4.sqlite"]
    for f in left:  # a killed process's, and one named as before process ids were
        f.write_bytes(b"x")
    other = tmp_path / ".t.sqlite.staging-1-x.sqlite"  # another store's beside it
    other.write_bytes(b"x")
    with Store(tmp_path / "s.sqlite").lock():
        assert sorted(tmp_path.glob(".s.sqlite.staging-*")) == [own] and other.exists()
    # this store's staging file was not disturbed: the next chunk commits through it
    assert store.commit_chunk("r", 1, "2026-11-10", "2026-11-13", _hits([_row("h2", ["t2"], day=8)]), "c",
                              "2026-11-13")["added"] == 1


def test_a_staging_file_that_cannot_be_written_is_an_error_naming_it(tmp_path):
    store = _store(tmp_path)
    store.commit_chunk("r", 0, "2026-11-02", "2026-11-09", _hits([_row("h1", ["t1"])]), "c", "2026-11-09")
    staged = next(tmp_path.glob(".s.sqlite.staging-*"))
    staged.write_bytes(b"not a database" * 100)
    with pytest.raises(DataError, match=f"{re.escape(staged.name)}: the staging file .* Fix: delete it"):
        store.commit_chunk("r", 1, "2026-11-10", "2026-11-13", _hits([_row("h2", ["t2"], day=8)]), "c", "2026-11-13")
    staged.unlink()  # as the message says: the same chunk then commits
    assert store.commit_chunk("r", 1, "2026-11-10", "2026-11-13", _hits([_row("h2", ["t2"], day=8)]), "c",
                              "2026-11-13")["added"] == 1
    assert staged.stat().st_mode & 0o777 == 0o600


def test_a_column_mixing_types_is_stored_as_the_text_sqlite_makes_of_it(tmp_path):
    # Arrow cannot hold one column of ints and texts; SQLite stores both as text in a TEXT column
    hits = _hits([_row("h1", ["t1"]), _row("h2", ["t2"])]).assign(params_id=[7, "p"])
    store = _store(tmp_path)
    assert store.commit_chunk("r", 0, "2026-11-02", "2026-11-09", hits, "c", "2026-11-09")["added"] == 2
    cells = _stored_cells(tmp_path / "s.sqlite", ["params_id"])
    assert cells == [[("7", "text")], [("p", "text")]]


ID_TEXT = st.text(st.sampled_from(['a', '7', '-', '"', '\\', '\n', '\x00', '\x1f', ' ', 'é', '账', '\u2028', '\x7f']),
                  max_size=4)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(ID_TEXT, max_size=4), max_size=8), st.integers(0, 3), st.booleans())
@example([["a"], ['"'], ["b"]], 1, True)  # the one id to escape is outside the slice: joined by Arrow
@example([["a"], ["\\"]], 0, False)
def test_evidence_lists_as_stored_are_json_dumps(lists, cut, large):
    """Evidence lists become exactly ``json.dumps(ids, ensure_ascii=False)``, however the
    column is held (Arrow lists cut into chunks, a slice of a larger array) and whatever
    the ids hold (quotes, backslashes, control characters, non-ASCII); the check for ids
    to escape reads only the slice's bytes, of text or large text."""
    whole = pa.array([["x"]] + lists + [['"\\']], pa.list_(pa.string()))  # a slice: an offset into shared buffers
    sliced = whole.slice(1, len(lists))
    chunks = [sliced.slice(0, cut), sliced.slice(cut)] if cut < len(lists) else [sliced]
    column = pd.Series(pd.arrays.ArrowExtensionArray(pa.chunked_array(chunks, pa.list_(pa.string()))))
    expected = [json.dumps(x, ensure_ascii=False) for x in lists]
    assert json_list_texts(column).to_pylist() == expected
    # one chunk at offset 0 whose buffers hold more than its lists (taken as it is, not copied)
    prefix = pa.array(lists + [['"\\']], pa.list_(pa.string())).slice(0, len(lists))
    assert json_list_texts(pd.Series(pd.arrays.ArrowExtensionArray(pa.chunked_array([prefix])))).to_pylist() == expected
    # and read back from the text held as a slice, as one chunk at offset 0 with more text in
    # its buffers, or in two chunks: the same lists
    texts, at = pa.array(["[]"] + expected + ['["z"]']), min(cut, len(lists))
    for held in ([texts.slice(1, len(lists))], [pa.array(expected + ["[]"]).slice(0, len(lists))],
                 [texts.slice(1, at), texts.slice(1 + at, len(lists) - at)]):
        assert json_list_array(pa.chunked_array(held, pa.string())).to_pylist() == lists
    flat = whole.flatten().cast(pa.large_string()) if large else whole.flatten()
    flat = flat.slice(1, len(flat) - 2)  # without the first and the last list's ids
    assert _needs_escaping(flat) == any(c in '"\\' or ord(c) < 0x20 for x in lists for t in x for c in t)


def test_a_bulk_store_ends_with_its_lookup_indexes_and_its_page_cache(tmp_path):
    """A scan storing many hits drops the lookup indexes and builds them after its last
    commit with a small sort cache and helper threads (INDEX_SORT_CACHE_KIB); the connection
    then has its own page cache again, and the indexes answer the desk's lookups."""
    from flowgraph.store import BULK_MIN_HITS, LOOKUP_INDEXES, PAGE_CACHE_KIB

    store = Store(tmp_path / "store.sqlite")

    def indexes():
        return {r[0] for r in store.conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}

    with store.bulk_insert(BULK_MIN_HITS):
        assert not set(LOOKUP_INDEXES) & indexes()
    assert set(LOOKUP_INDEXES) <= indexes()
    assert store.conn.execute("PRAGMA cache_size").fetchone()[0] == -PAGE_CACHE_KIB
    assert store.conn.execute("PRAGMA threads").fetchone()[0] == 0
    plan = store.conn.execute("EXPLAIN QUERY PLAN SELECT hit_id FROM hits WHERE config_hash = 'c' AND subject = 's' "
                              "AND run_last >= '2026-01-01'").fetchall()
    assert "hits_subject_days" in str(plan)
    store.close()

"""Rows of one timestamp are ordered by transaction id, so hits do not depend on the row
order of the input (SPEC §5: the same data and parameters give the same hits and ids):
the tie-order kernel against its reference, the graph's edge order under any permutation
of the rows, a hand-built forwarding chain and the AMLSim sample shuffled."""

import numpy as np
import pandas as pd
import pyarrow as pa
from hypothesis import given
from hypothesis import strategies as st

from flowgraph import build_graph, load_dataset, validate_transactions
from flowgraph._arrow import text_buffers
from flowgraph._kernels.ties import order_ties_by_text
from flowgraph.graph import edge_order
from flowgraph.dask_scan import block_scan
from flowgraph.scan import run_scan
from flowgraph.scan_config import load_config
from flowgraph.txstore import TransactionStore
from reference.ties import order_ties_by_text as reference_order

# ids that tie over their first 8 and 16 bytes, prefixes of each other, a NUL byte (equal
# to the zeros a short id is padded with), non-ASCII, and numbered ids ("t10" < "t2")
ids = st.one_of(st.sampled_from(["", "a", "a\x00", "a\x00\x00", "ab", "t1", "t2", "t10", "ß", "\u3000", "AAAAAAAA",
                                 "AAAAAAAAB", "AAAAAAAAA", "AAAAAAAAAAAAAAAAx", "AAAAAAAAAAAAAAAA",
                                 "AAAAAAAA\x00", "AAAAAAAAAAAAAAAA\x00y"]),
                st.text(max_size=20))
rows = st.lists(st.tuples(st.integers(0, 3), ids), max_size=80)


def _buffers(strings):
    return text_buffers(pa.array(strings, pa.large_string()))


@given(rows)
def test_tie_order_kernel_matches_reference(rows):
    keys = np.array([k for k, _ in rows], np.int64)
    strings = [s for _, s in rows]
    order = np.argsort(keys, kind="stable").astype(np.int64)
    expected = reference_order(order.tolist(), keys[order].tolist(), strings)
    n_reordered = order_ties_by_text(order, keys[order], *_buffers(strings), n_chunks=3)
    assert order.tolist() == expected
    # a run left as it was is not counted; running again finds every run in order
    assert n_reordered <= len(set(keys.tolist()))
    assert order_ties_by_text(order, keys[order], *_buffers(strings), n_chunks=2) == 0


# long runs whose ids tie over whole 8-byte words, with NULs where a shorter id is padded
# with zeros: the word sort goes on word by word (shorter runs are sorted by insertion)
long_ids = st.builds(lambda prefix, rest: prefix + rest, st.sampled_from(["", "AAAAAAAA", "AAAAAAAAAAAAAAAA"]),
                     st.text(alphabet="\x00AB", max_size=10))


@given(st.lists(long_ids, min_size=17, max_size=300), st.integers(1, 3))
def test_tie_order_kernel_matches_reference_on_long_runs(strings, n_keys):
    keys = np.sort(np.arange(len(strings)) % n_keys).astype(np.int64)
    order = np.arange(len(strings), dtype=np.int64)
    expected = reference_order(order.tolist(), keys.tolist(), strings)
    order_ties_by_text(order, keys, *_buffers(strings), n_chunks=2)
    assert order.tolist() == expected


def test_tie_order_kernel_counts_the_runs_it_reorders():
    keys = np.array([0, 0, 1, 1, 2, 2, 2], np.int64)
    strings = ["a", "b", "d", "c", "x", "z", "y"]
    order = np.arange(7, dtype=np.int64)
    assert order_ties_by_text(order, keys, *_buffers(strings)) == 2
    assert order.tolist() == [0, 1, 3, 2, 4, 6, 5]


def _table(n_rows, seed):
    """``n_rows`` transfers over 3 days, many at one timestamp, with numbered ids."""
    rng = np.random.default_rng(seed)
    return validate_transactions(pd.DataFrame({
        "txn_id": [f"t{i}" for i in range(n_rows)],
        "timestamp": pd.Timestamp("2024-09-02") + pd.to_timedelta(rng.integers(0, 3, n_rows), "D")
        + pd.to_timedelta(rng.integers(0, 2, n_rows) * 3600, "s"),
        "src_account": rng.choice(list("ABCDE"), n_rows), "dst_account": rng.choice(list("FGHIJ"), n_rows),
        "amount": rng.integers(1, 100, n_rows) * 1000.0, "channel": "transfer"}), "t").table


def _edges(graph):
    """What the detectors see of a graph, with the user's ids."""
    return {"txn_id": graph.txn_ids(slice(None)).tolist(), "src": graph.src.tolist(), "dst": graph.dst.tolist(),
            "day": graph.day.tolist(), "amount": graph.amount_home.tolist(),
            "out": graph.txn_ids(graph.out_edges).tolist(), "in": graph.txn_ids(graph.in_edges).tolist()}


@given(st.integers(2, 60), st.integers(0, 2**32 - 1), st.randoms(use_true_random=False))
def test_the_edges_are_in_time_then_id_order_whatever_the_row_order(n_rows, seed, rnd):
    table = _table(n_rows, seed)
    rows = list(range(n_rows))
    rnd.shuffle(rows)
    shuffled = table.iloc[rows].reset_index(drop=True)
    graph = build_graph(table)
    assert _edges(build_graph(shuffled)) == _edges(graph)
    edges = graph.edge_frame()
    assert list(zip(edges.timestamp, edges.txn_id)) == sorted(zip(table.timestamp, table.txn_id))


@given(st.lists(st.tuples(st.integers(0, 3), ids), max_size=40), st.lists(st.integers(0, 6), max_size=8))
def test_rows_in_time_order_read_in_chunks_are_put_in_id_order(rows, cuts):
    """Rows in time order, their ids in Arrow chunks (a store's read: a chunk per day file):
    whether the ties are in id order is told chunk by chunk, a tie across two chunks too."""
    rows = sorted(rows, key=lambda r: r[0])  # time order; ties in any id order
    keys = np.array([k for k, _ in rows], np.int64)
    strings = [s for _, s in rows]
    bounds = sorted({0, len(rows), *(min(c, len(rows)) for c in cuts)})
    chunks = [pa.array(strings[a:b], pa.large_string()) for a, b in zip(bounds, bounds[1:])] or \
        [pa.array([], pa.large_string())]
    txn_id = pd.Series(pd.arrays.ArrowExtensionArray(pa.chunked_array(chunks)))
    order = edge_order(keys, txn_id)
    expected = reference_order(list(range(len(rows))), keys.tolist(), strings)
    assert (list(range(len(rows))) if order is None else order.tolist()) == expected
    # None exactly when nothing moves
    assert (order is None) == (expected == list(range(len(rows))))


def test_a_table_already_in_time_and_id_order_keeps_its_rows():
    table = _table(40, 1)
    table = table.sort_values(["timestamp", "txn_id"], ignore_index=True)
    assert build_graph(table).txn_pos.tolist() == list(range(40))


# the sweep's case: two same-day payments out of C, of equal amounts; the chain from A
# follows the one with the smaller id, whichever row comes first in the file
CHAIN_CSV = ["txn_id,timestamp,src_account,dst_account,amount", "t1,2024-09-02,A,B,400000",
             "t2,2024-09-03,B,C,390000", "t3,2024-09-04,C,D,380000", "t4,2024-09-04,C,E,380000"]
HIT_COLUMNS = ["hit_id", "typology", "subject", "accounts", "txn_ids", "window_start", "window_end", "amount",
               "measures"]


def _hits(path, out, config=None, scan=None):
    (scan or (lambda: run_scan(load_dataset(path), out, config, progress=False, reveal_ids=True)))()
    hits = pd.read_parquet(out / "hits.parquet")
    alerts = pd.read_parquet(out / "alerts.parquet")
    for frame in (hits, alerts):
        for column in frame.columns:
            if frame[column].map(lambda v: isinstance(v, np.ndarray)).any():
                frame[column] = frame[column].map(lambda v: v.tolist() if isinstance(v, np.ndarray) else v)
    return hits.sort_values("hit_id", ignore_index=True), alerts.sort_values("alert_id", ignore_index=True)


def test_a_chain_through_two_same_day_payments_is_the_same_in_either_row_order(tmp_path):
    found = []
    for name, lines in [("a", CHAIN_CSV), ("b", CHAIN_CSV[:3] + CHAIN_CSV[4:] + CHAIN_CSV[3:4])]:
        (tmp_path / f"{name}.csv").write_text("\n".join(lines) + "\n")
        found.append(_hits(tmp_path / f"{name}.csv", tmp_path / f"out_{name}"))
    (a_hits, a_alerts), (b_hits, b_alerts) = found
    chain = a_hits[a_hits.typology == "forwarding_chain"]
    assert len(chain) == 1 and chain.txn_ids.iloc[0] == ["t1", "t2", "t3"]
    pd.testing.assert_frame_equal(a_hits[HIT_COLUMNS], b_hits[HIT_COLUMNS])
    pd.testing.assert_frame_equal(a_alerts.drop(columns="run_id", errors="ignore"),
                                  b_alerts.drop(columns="run_id", errors="ignore"))


def test_a_store_given_the_tied_rows_in_two_ingests_gives_the_files_hits_whole_and_in_blocks(tmp_path):
    """The transaction store: the later id ingested first, the earlier one by a second
    ingest (the day's file holds them in that order), scanned at once and in blocks of one
    business day."""
    (tmp_path / "a.csv").write_text("\n".join(CHAIN_CSV) + "\n")
    (tmp_path / "first.csv").write_text("\n".join(CHAIN_CSV[:3] + CHAIN_CSV[4:]) + "\n")
    (tmp_path / "second.csv").write_text("\n".join(CHAIN_CSV[:1] + CHAIN_CSV[3:4]) + "\n")
    store = TransactionStore.create(tmp_path / "store")
    for name in ("first", "second"):
        store.ingest(load_dataset(tmp_path / f"{name}.csv"), name)
    assert store.read_days("2024-09-04", "2024-09-04").column("txn_id").to_pylist() == ["t4", "t3"]
    expected_hits, expected_alerts = _hits(tmp_path / "a.csv", tmp_path / "out_a")
    for name, scan in [("whole", lambda out: run_scan(store.root, out, progress=False, reveal_ids=True)),
                       ("blocks", lambda out: block_scan(store.root, out, block_days=1, progress=False,
                                                         reveal_ids=True))]:
        out = tmp_path / f"out_{name}"
        hits, alerts = _hits(None, out, scan=lambda: scan(out))
        pd.testing.assert_frame_equal(hits[HIT_COLUMNS], expected_hits[HIT_COLUMNS])
        pd.testing.assert_frame_equal(alerts.drop(columns="run_id", errors="ignore"),
                                      expected_alerts.drop(columns="run_id", errors="ignore"))


AMLSIM_CONFIG = """
[detectors.fan]
min_amount_fraction = 4e-06
[detectors.cycles]
min_amount_fraction = 4e-06
[detectors.forwarding_chains]
min_amount_fraction = 4e-06
"""


def test_the_amlsim_sample_shuffled_gives_the_same_hits_and_alerts(amlsim_dir, tmp_path):
    """AMLSim timestamps are dates (each day's rows tie) and its ids number the rows
    ("amlsim-10" sorts before "amlsim-9"): the canonical rows of two months and the same
    rows shuffled give the same hits, evidence and alerts."""
    table = load_dataset(amlsim_dir / "20K_fanin200cycle200").transactions.table
    table = table[table.timestamp < "2018-03-01"].reset_index(drop=True)
    canonical = table[["txn_id", "timestamp", "src_account", "dst_account", "amount", "currency", "channel"]]
    (tmp_path / "aml.toml").write_text(AMLSIM_CONFIG)
    config = load_config(tmp_path / "aml.toml")
    found = []
    for name, rows in [("canonical", canonical), ("shuffled", canonical.sample(frac=1, random_state=5))]:
        rows.to_parquet(tmp_path / f"{name}.parquet", index=False)
        found.append(_hits(tmp_path / f"{name}.parquet", tmp_path / f"out_{name}", config))
    (a_hits, a_alerts), (b_hits, b_alerts) = found
    assert (a_hits.typology == "forwarding_chain").sum() >= 5 and len(a_alerts) >= 5
    pd.testing.assert_frame_equal(a_hits[HIT_COLUMNS], b_hits[HIT_COLUMNS])
    pd.testing.assert_frame_equal(a_alerts.drop(columns="run_id", errors="ignore"),
                                  b_alerts.drop(columns="run_id", errors="ignore"))

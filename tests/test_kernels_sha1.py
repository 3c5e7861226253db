"""The SHA-1 kernel and the hit ids made with it, against ``hashlib`` (tests/reference/ids.py)."""

import types

import numpy as np
import pandas as pd
import pyarrow as pa
from hypothesis import example, given
from hypothesis import strategies as st

from flowgraph._kernels.sha1 import sha1_leading64
from flowgraph.hits import hit_ids
from reference.ids import hit_id
from reference.ids import sha1_leading64 as sha1_reference


def buffers(values: list[bytes]):
    offsets = np.zeros(len(values) + 1, dtype=np.int64)
    np.cumsum([len(v) for v in values], out=offsets[1:])
    return offsets, np.frombuffer(b"".join(values), dtype=np.uint8)


# every length around the block and padding edges (55/56 bytes: the length still fits the
# last block or needs another; 64, 119/120, 128: whole blocks) and random ones
edge_lengths = st.sampled_from([0, 1, 3, 54, 55, 56, 57, 63, 64, 65, 118, 119, 120, 127, 128, 129, 200])
messages = st.one_of(st.binary(max_size=300), edge_lengths.flatmap(lambda n: st.binary(min_size=n, max_size=n)))


@given(st.lists(messages, max_size=40))
def test_sha1_leading64_matches_hashlib(values):
    assert sha1_leading64(*buffers(values)).tolist() == [sha1_reference(v) for v in values]


def test_sha1_leading64_reads_int32_offsets_and_an_array_slice():
    values = [b"abc", b"", "中文账户".encode()]
    offsets, data = buffers([b"skipped"] + values)
    got = sha1_leading64(offsets[1:].astype(np.int32), data)
    assert got.tolist() == [sha1_reference(v) for v in values]
    # FIPS 180-4's example: SHA1("abc") = a9993e36 4706816a ...
    assert f"{got[0]:016x}" == "a9993e364706816a"


ids = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=24)
keys = st.one_of(st.lists(st.integers(-(2**63), 2**63 - 1), min_size=6, max_size=6).map(np.array),
                 st.lists(ids, min_size=6, max_size=6).map(np.array),
                 st.lists(st.one_of(st.integers(-10**6, 10**6), ids), min_size=6, max_size=6)
                 .map(lambda v: np.array(v, dtype=object)),
                 st.none())


@given(st.lists(ids, min_size=1, max_size=5, unique=True), st.lists(st.sampled_from(["fan_in", "cycle", "x\"y"]),
                                                                    min_size=6, max_size=6),
       st.lists(st.integers(0, 4), min_size=6, max_size=6), st.lists(st.integers(0, 9), min_size=6, max_size=6),
       keys, ids)
# pyarrow reads a numpy unicode array's values only up to a NUL (found by this test in CI)
@example(["A"], ["fan_in"] * 6, [0] * 6, [0] * 6, np.array(["", "\x000", "a\x00b", "x", "", "y"]), "p")
def test_hit_ids_are_the_sha1_of_each_hits_text(accounts, typology, anchor, run_first, key, params_id):
    """Account ids and keys of any text (quotes, non-ASCII, empty, NUL), integer, text and mixed keys."""
    accounts = np.array(sorted(accounts), dtype=object)
    anchor = [a % len(accounts) for a in anchor]
    days = pd.bdate_range("2026-12-01", periods=10).values.astype("datetime64[D]")
    graph = types.SimpleNamespace(account_ids=accounts, account_id_arrow=pa.array(accounts, pa.string()),
                                  business_days=days)
    got = hit_ids(graph, "fan", params_id, np.array(typology, dtype=object), anchor, run_first, key)
    want = [hit_id("fan", t, params_id, accounts[a], str(days[d]), 0 if key is None else key[i])
            for i, (t, a, d) in enumerate(zip(typology, anchor, run_first))]
    assert got.dtype == object and got.tolist() == want


def test_no_hits_no_ids():
    graph = types.SimpleNamespace(account_ids=np.array(["A"], dtype=object), account_id_arrow=pa.array(["A"]),
                                  business_days=np.array(["2026-12-01"], dtype="datetime64[D]"))
    got = hit_ids(graph, "fan", "p", np.array([], dtype=object), [], [])
    assert got.dtype == object and len(got) == 0

"""The repeated-string kernels against the plain-Python reference."""

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from hypothesis import given
from hypothesis import strategies as st

from flowgraph._kernels.strings import FNV_OFFSET, fnv_feed, fnv_finish, hash_strings, repeated_strings
from flowgraph.store import _content_digests
from flowgraph.schema import _repeated
from reference.strings import hash_string, repeated

# few distinct values make repeats; near-identical ones (a prefix, one byte apart, '' and
# non-ASCII) catch a comparison that stops early
values = st.lists(st.one_of(st.sampled_from(["", "a", "ab", "ba", "abc", "T001", "T002", "ß", "\u3000"]),
                            st.text(max_size=6)), max_size=120)


def buffers(strings):
    """Arrow large_string buffers of Python strings, as the kernels receive them."""
    encoded = [s.encode("utf-8") for s in strings]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
    np.cumsum([len(b) for b in encoded], out=offsets[1:])
    return offsets, np.frombuffer(b"".join(encoded), dtype=np.uint8)


@given(values)
def test_hash_matches_reference(strings):
    offsets, data = buffers(strings)
    assert hash_strings(offsets, data).tolist() == [hash_string(s.encode("utf-8")) for s in strings]


@given(st.lists(st.lists(st.one_of(st.none(), st.text(max_size=5)), min_size=3, max_size=3), max_size=30))
def test_columns_fed_one_after_another_hash_as_their_joined_text(rows):
    # the reference joins each row's values by the unit separator, a null as one NUL byte
    joined = ["\x1f".join("\x00" if v is None else v for v in row).encode("utf-8") for row in rows]
    states = np.full(len(rows), FNV_OFFSET, dtype=np.uint64)
    for k in range(3):
        offsets, data = buffers(["" if row[k] is None else row[k] for row in rows])
        valid = np.array([row[k] is not None for row in rows], dtype=bool)
        fnv_feed(states, offsets, data, valid, -1 if k == 0 else 0x1F)
    assert fnv_finish(states).tolist() == [hash_string(b) for b in joined]


@given(st.lists(st.tuples(st.one_of(st.none(), st.text(max_size=5)), st.one_of(st.none(), st.integers(-99, 99)),
                          st.one_of(st.none(), st.floats(-1e6, 1e6, allow_nan=False))), max_size=30))
def test_hit_content_digests_are_those_stores_hold(rows):
    # a stored hit's digest is of its values as Arrow writes them as text, joined: a new way
    # of computing it must give the same digests, or every stored hit would look changed
    columns = [list(c) for c in zip(*rows)] if rows else [[], [], []]
    texts = [pa.array(c, from_pandas=True) for c in columns]
    texts = [t if pa.types.is_string(t.type) else t.cast(pa.string()) for t in texts]
    joined = pc.binary_join_element_wise(*texts, "\x1f", null_handling="replace", null_replacement="\x00")
    expected = [f"{hash_string(t.encode('utf-8')):016x}" for t in joined.to_pylist()]
    assert _content_digests([pa.array(c, from_pandas=True) for c in columns]).to_pylist() == expected
    # in chunks (as the scan's columns may come), and sliced: the same digests
    arrays, cut = [pa.array(c, from_pandas=True) for c in columns], len(rows) // 2
    assert _content_digests([pa.chunked_array([a[:cut], a[cut:]]) for a in arrays]).to_pylist() == expected
    sliced = [pa.array([None, *c], type=a.type, from_pandas=True)[1:] for c, a in zip(columns, arrays)]
    assert _content_digests(sliced).to_pylist() == expected


@given(values, st.integers(0, 4), st.sampled_from(["real", "constant", "few"]))
def test_repeated_matches_reference_whatever_the_hash(strings, partition_bits, hashing):
    offsets, data = buffers(strings)
    hashes = hash_strings(offsets, data)
    if hashing == "constant":  # every pair collides: only the byte comparison decides
        hashes = np.zeros_like(hashes)
    elif hashing == "few":  # a few buckets, spread over the top bits used to partition
        hashes = (hashes % np.uint64(3)) * np.uint64(0x5555555555555555)
    got = repeated_strings(offsets, data, hashes, partition_bits)
    assert got.tolist() == repeated(strings)


@given(values, st.sampled_from(["string", "str", object]))
def test_schema_wrapper_matches_duplicated(strings, dtype):
    text = pd.Series(strings, dtype=dtype).astype("string")
    assert _repeated(text).tolist() == repeated(strings)
    assert _repeated(text).tolist() == text.duplicated(keep="first").tolist()


def test_hand_counted_example():
    offsets, data = buffers(["t1", "t2", "t1", "", "t10", "", "t1"])
    got = repeated_strings(offsets, data, hash_strings(offsets, data), 1)
    assert got.tolist() == [False, False, True, False, False, True, True]


def test_many_partitions_chunked_and_sliced_input():
    # more rows than one partition holds, in several Arrow chunks, or a slice of an array
    # (its offsets then start inside the buffer)
    ids = pd.Series([f"T{i % 9000:05d}" for i in range(20_000)], dtype="string")
    chunked = pd.concat([ids[:7000], ids[7000:]], ignore_index=True)
    for text in (chunked, ids[3:], ids[5000:15000]):
        assert (_repeated(text) == text.duplicated(keep="first").to_numpy()).all()


# text that UTF-8 encodes (no lone surrogate): ids of every script, lengths across the 8-byte words
encodable = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40)


@given(st.lists(st.one_of(encodable, st.sampled_from(["", "T0013091580", "12345678", "123456789", "账户-é"])),
                max_size=60))
def test_pandas_text_hashes_are_pandas_hash_array(strings):
    """The reference is pandas itself (its Cython SipHash over each str object): the
    transaction store's index buckets written by earlier versions must come out the same."""
    from flowgraph._kernels.strings import pandas_text_hashes

    offsets, data = buffers(strings)
    expected = pd.util.hash_array(np.array(strings, dtype=object)) if strings else np.zeros(0, np.uint64)
    assert pandas_text_hashes(offsets, data).tolist() == expected.tolist()


def test_index_buckets_are_those_of_pandas_for_sliced_and_chunked_arrays():
    from flowgraph.txstore import N_BUCKETS, _bucket

    ids = [f"T{n:010d}" for n in range(500)] + ["账户-é", "", "x" * 17]
    expected = (pd.util.hash_array(np.array(ids, dtype=object)) % N_BUCKETS).astype(np.int64)
    for kind in (pa.string(), pa.large_string()):
        whole = pa.array(ids, kind)
        assert _bucket(whole).tolist() == expected.tolist()
        chunked = pa.chunked_array([whole.slice(0, 7), whole.slice(7, 200), whole.slice(207)])
        assert _bucket(chunked).tolist() == expected.tolist()
        assert _bucket(whole.slice(100, 50)).tolist() == expected[100:150].tolist()
    assert _bucket(pa.array([], pa.string())).tolist() == []

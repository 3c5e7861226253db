"""The transaction store's txn_id index at scale (issue 14): a lookup reads only the row
groups whose range of ids holds one it looks for, and agrees with a plain dictionary of
every id ingested; the distinct accounts of a streamed ingest are merged without hashing
every earlier batch again."""

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import flowgraph.io.stream as stream
import flowgraph.txstore as txstore
from flowgraph.io import load_dataset
from flowgraph.txstore import TransactionStore, _id_span, _index_rows


def _csv(path, rows):
    pd.DataFrame(rows, columns=["txn_id", "timestamp", "src_account", "dst_account", "amount"]).to_csv(
        path, index=False)
    return path


def _ids(rng, n):
    """Ids of other banks' shapes: counters that grow with time (text order is not number
    order), hex digests, and non-ASCII text (compared as UTF-8 bytes, as Parquet orders it)."""
    kinds = [lambda i: f"T{i}", lambda i: f"{i:012d}", lambda i: f"{rng.integers(1 << 62):016x}",
             lambda i: f"账户-{i}-é", lambda i: f"Z{i % 7}-{i}"]
    return [kinds[i % len(kinds)](i) for i in range(n)]


def _store(folder, ids_by_ingest, monkeypatch):
    """A store of one ingest per list of (id, day) pairs, its index buckets in row groups of
    three entries; and each id's last day."""
    monkeypatch.setattr(txstore, "INDEX_ROW_GROUP_ROWS", 3)
    store = TransactionStore.create(folder / "store")
    expected = {}
    for k, pairs in enumerate(ids_by_ingest):
        rows = [(i, f"{day} 10:{n % 60:02d}:00", f"A{n % 37}", f"A{(n + 5) % 37}", 100 + n)
                for n, (i, day) in enumerate(pairs)]
        path = _csv(folder / f"in{k}.csv", rows)
        store.ingest(load_dataset(path), str(path))
        expected.update(dict(pairs))
    return store, expected


DAYS = ["2026-11-02", "2026-11-03", "2026-11-04", "2026-11-05"]


def test_lookup_agrees_with_a_dictionary_of_every_id(tmp_path, monkeypatch):
    ids = _ids(np.random.default_rng(11), 1500)
    store, expected = _store(tmp_path, [[(i, DAYS[n % 3]) for n, i in enumerate(ids[:600])],
                                        [(i, DAYS[n % 3]) for n, i in enumerate(ids[600:])],
                                        [(i, DAYS[3]) for i in ids[:300]]], monkeypatch)  # corrections move 300
    assert min(sum(_groups(p) for p in store._index_files(b)) for b in range(64)) > 3
    absent = [f"{i}x" for i in ids[::5]] + ["", "T", "zzzz", "账户", "0" * 12, chr(0x10FFFF)]
    asked = ids[::-1] + absent  # out of order, present and absent mixed
    found = store._lookup(pa.chunked_array([pa.array(asked, pa.string())]))
    assert list(found) == [expected.get(i) for i in asked]
    assert set(store._lookup(pa.chunked_array([pa.array(ids[:300])]))) == {DAYS[3]}


def test_a_lookup_reads_only_the_row_groups_that_may_hold_its_ids(tmp_path, monkeypatch):
    """Ids that grow with time: a day of new ids reads nothing of the index, one stored id
    the one row group of its bucket whose range holds it."""
    ids = [f"T{n:08d}" for n in range(1500)]
    store, _ = _store(tmp_path, [[(i, DAYS[0]) for i in ids[:700]], [(i, DAYS[1]) for i in ids[700:]]],
                      monkeypatch)

    def read(asked: list[str]) -> int:  # index entries the lookup of ``asked`` reads, bucket by bucket
        bucket = txstore._bucket(pa.array(asked))
        return sum(_index_rows(path, _id_span(pa.array(asked).filter(pa.array(bucket == b)))).num_rows
                   for b in set(bucket) for path in store._index_files(int(b)))

    assert min(sum(_groups(p) for p in store._index_files(b)) for b in range(64)) > 3
    assert read([f"T{n:08d}" for n in range(2000, 2100)]) == 0  # a day of new ids
    for one in (ids[123], ids[1499], "T00000500x"):
        assert read([one]) <= 3
    assert read(ids) == len(ids)


def _groups(path) -> int:
    return pq.ParquetFile(path).metadata.num_row_groups


def test_distinct_ids_of_many_batches_are_every_id_once_in_first_seen_order(monkeypatch):
    monkeypatch.setattr(stream, "MERGE_IDS_FROM", 5)
    rng = np.random.default_rng(3)
    distinct = stream._DistinctIds()
    everything = []
    for _ in range(40):
        batch = [None if rng.random() < 0.05 else f"A{rng.integers(0, 120)}" for _ in range(int(rng.integers(0, 30)))]
        half = len(batch) // 2
        distinct.add(pa.array(side, pa.large_string()) for side in (batch[:half], batch[half:]))
        everything += batch
    assert distinct.distinct().to_pylist() == list(dict.fromkeys(x for x in everything if x is not None))
    assert stream._DistinctIds().distinct().to_pylist() == []


def test_an_ingest_of_known_accounts_writes_no_new_snapshot(tmp_path, capsys):
    """Accounts are versioned: a new snapshot when an ingest adds or changes one, none when
    it names only accounts stored as they are (a bank's daily file)."""
    from flowgraph.cli import main

    def ingest(day: str, accounts: list[tuple] | None, n0: int) -> list[str]:
        rows = [(f"{day}-{n}", f"{day} 09:{n:02d}:00", f"A{n}", f"A{(n + 1) % n0}", 10 + n) for n in range(n0)]
        args = ["ingest", str(_csv(tmp_path / f"{day}.csv", rows)), "--into", str(tmp_path / "store")]
        if accounts is not None:
            pd.DataFrame(accounts, columns=["account_id", "customer_id"]).to_csv(tmp_path / "acc.csv", index=False)
            args += ["--accounts", str(tmp_path / "acc.csv")]
        assert main(args) == 0, capsys.readouterr()
        return sorted(p.name for p in (tmp_path / "store" / "accounts").glob("*.parquet"))

    assert ingest("2026-11-02", None, 4) == ["000001.parquet"]
    assert ingest("2026-11-03", None, 4) == ["000001.parquet"]  # the same four accounts
    assert ingest("2026-11-04", None, 6) == ["000001.parquet", "000003.parquet"]  # A4, A5 are new
    # the rows of the derived accounts, now from an accounts file: a snapshot, as it replaces derived ones
    known = [(f"A{n}", f"A{n}") for n in range(6)]
    assert ingest("2026-11-05", known, 6) == ["000001.parquet", "000003.parquet", "000004.parquet"]
    assert ingest("2026-11-06", known, 6) == ["000001.parquet", "000003.parquet", "000004.parquet"]
    moved = [("A0", "C1"), ("A1", "C1")]
    assert ingest("2026-11-07", moved, 6) == ["000001.parquet", "000003.parquet", "000004.parquet",
                                              "000006.parquet"]
    store = TransactionStore(tmp_path / "store")
    latest = store.accounts().to_pandas().set_index("account_id")["customer_id"]
    assert latest.to_dict() == {"A0": "C1", "A1": "C1", "A2": "A2", "A3": "A3", "A4": "A4", "A5": "A5"}
    assert len(store.days()) == 6


def test_parts_merge_as_they_grow_and_the_newest_entry_wins(tmp_path, monkeypatch):
    """Twelve ingests, each of new ids and of corrections that move earlier ids to another
    day: after each, every id's day is its last ingest's, and a bucket holds about log2 of
    the ingests' files, not one per ingest."""
    rng = np.random.default_rng(5)
    ids = _ids(rng, 2400)
    ingests, expected = [], {}
    for k in range(12):
        new = ids[k * 200:(k + 1) * 200]
        moved = list(rng.choice(ids[:k * 200], size=min(60, k * 200), replace=False)) if k else []
        ingests.append([(i, DAYS[k % 4]) for i in new] + [(i, DAYS[(k + 1) % 4]) for i in moved])
    store = TransactionStore.create(tmp_path / "store")
    monkeypatch.setattr(txstore, "INDEX_ROW_GROUP_ROWS", 5)
    for k, pairs in enumerate(ingests):
        rows = [(i, f"{day} 11:{n % 60:02d}:00", f"A{n % 9}", f"A{(n + 4) % 9}", 50 + n) for n, (i, day) in enumerate(pairs)]
        store.ingest(load_dataset(_csv(tmp_path / f"in{k}.csv", rows)), f"in{k}")
        expected.update(dict(pairs))
        known = list(expected)
        assert list(store._lookup(pa.chunked_array([pa.array(known)]))) == [expected[i] for i in known]
    assert max(len(store._index_files(b)) for b in range(64)) <= 5  # 12 ingests: 1100 in binary, 2-4 files
    entries = store.index_entries().to_pandas()
    assert dict(zip(entries.txn_id, entries.day)) == expected
    assert sum(len(store.read_days(d, d)) for d in store.days()) == len(expected)


def test_an_ingest_killed_while_merging_index_parts_is_completed_by_the_next(tmp_path, monkeypatch):
    """Merged files are written before the store's contents name them, and the files merged
    away are deleted after: an ingest killed in between leaves a store whose index says the
    same, and the next ingest completes it."""
    ids = _ids(np.random.default_rng(8), 900)
    store, expected = _store(tmp_path, [[(i, DAYS[0]) for i in ids[:300]]], monkeypatch)
    record = TransactionStore._record_contents

    def killed(self, *args, index_gone=frozenset(), **kw):
        if index_gone:
            raise KeyboardInterrupt
        return record(self, *args, index_gone=index_gone, **kw)

    monkeypatch.setattr(TransactionStore, "_record_contents", killed)
    pairs = [(i, DAYS[1]) for i in ids[300:600]] + [(i, DAYS[2]) for i in ids[:50]]
    rows = [(i, f"{day} 12:00:00", "A1", "A2", 7) for i, day in pairs]
    with pytest.raises(KeyboardInterrupt):
        store.ingest(load_dataset(_csv(tmp_path / "killed.csv", rows)), "killed")
    monkeypatch.setattr(TransactionStore, "_record_contents", record)
    expected.update(dict(pairs))
    again = TransactionStore.open(store.root)
    rows = [(i, "2026-11-05 13:00:00", "A3", "A4", 9) for i in ids[600:]]
    again.ingest(load_dataset(_csv(tmp_path / "next.csv", rows)), "next")
    expected.update({i: DAYS[3] for i in ids[600:]})
    assert list(again._lookup(pa.chunked_array([pa.array(ids)]))) == [expected[i] for i in ids]
    again._check_index()
    assert dict(zip(*again.index_entries().to_pydict().values())) == expected

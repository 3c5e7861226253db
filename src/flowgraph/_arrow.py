"""Arrow text as the plain numpy arrays the kernels and digests read, and the memory big
Arrow tables are made in."""

from __future__ import annotations

import ctypes

import numpy as np
import pandas as pd
import pyarrow as pa


def text_buffers(text: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """The offsets of an Arrow string or large string array (``len(text) + 1`` of them,
    where its slice starts: positions into the data) and its data bytes (the whole
    buffer), as numpy views without a copy; empty data when the array has none."""
    width = np.int64 if pa.types.is_large_string(text.type) else np.int32
    offsets = np.frombuffer(text.buffers()[1], width)[text.offset:text.offset + len(text) + 1]
    data = text.buffers()[2]
    return offsets, np.zeros(0, np.uint8) if data is None else np.frombuffer(data, np.uint8)


def bulk_memory_pool() -> pa.MemoryPool:
    """The memory big Arrow tables made once and let go whole are made in (a read of a
    transaction store's days): the C library's allocator, not Arrow's default (mimalloc).
    mimalloc takes fresh memory as 2 MiB huge pages, which a
    virtual machine handing freed memory back to its host (as the benchmark machine does)
    zeroes on the first touch at about three times the cost of small pages: reading the
    240-day range of the 1e8 bank (39 M transactions, 2.6 GB of Arrow buffers) into a
    table took 14.5-15.2 s in a new process, 17-18 CPU-s of them in the system, against
    6.8-7.5 s and 2.5-3.4 CPU-s with this pool. The rest of a scan's buffers stay with
    mimalloc, which reuses what it freed: the graph's one array of every transaction id
    (1 GB, kept to the end), joined here by the graph, took the graph stage 7.9-8.1 s
    against 4.4-6.6 s (session 40). The read's text columns are now joined as the read
    ends (:func:`text_in_one_chunk`), here too: the 743 MB of ids in 0.33-0.48 s against
    1.65-2.12 s in mimalloc, and detect 2.2-3.8 s shorter in three alternating rounds."""
    return pa.system_memory_pool()


def text_in_one_chunk(table: pa.Table, memory_pool: pa.MemoryPool | None = None) -> pa.Table:
    """``table`` with the chunks of each text column (string or large string) joined into
    one array made in ``memory_pool``; the other columns as they are.

    pandas keeps Arrow text as it is, a chunk per batch read (395 for the 240-day range of
    the 1e8 bank), and a graph takes its hits' transaction ids from one array
    (``TransactionGraph.txn_id_arrow``): joined here, in the bulk pool, as the read's
    buffers are let go, the array is made once, where fresh memory is cheapest, and no
    second copy of it is kept. The range's 743 MB of ids: 0.33-0.48 s joined in the C
    library's pool, against 1.65-2.12 s in mimalloc (as the graph joined them in detect)."""
    for i, column in enumerate(table.columns):
        if column.num_chunks > 1 and (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
            joined = pa.concat_arrays(column.chunks, memory_pool=memory_pool)
            table = table.set_column(i, table.schema.field(i), pa.chunked_array([joined], column.type))
    return table


def one_array(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """``values`` as one Arrow array: an array as it is, a chunked array's only chunk (where
    it starts at the first value of its buffers), else its chunks joined. Arrow's
    ``combine_chunks`` copies even a single chunk: the hits' evidence lists, one chunk each
    (:func:`columns_in_one_chunk`), were copied whole by the alerts' account codes and the
    exports' pseudonyms, and chunk by chunk by the store's JSON of them. On the 240-day range
    of the 1e8 bank, the work after detect took 24.2-25.9 s (38.5-40.4 CPU-s) without those
    copies, against 27.2-31.2 s (43.6-49.6) with them."""
    if not isinstance(values, pa.ChunkedArray):
        return values
    if values.num_chunks == 1 and values.chunk(0).offset == 0:
        return values.chunk(0)
    return values.combine_chunks()


def columns_in_one_chunk(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with the chunks of each Arrow column (text, lists) joined into one array;
    the other columns as they are, and a column whose joined offsets would overflow (lists
    of more than 2**31 values or bytes) left in its chunks.

    pandas concatenates Arrow columns without a copy, as a chunk per table, and takes rows
    of a column in chunks by joining them first, on every take: the run store's commits
    take each chunk of a scan's hits in turn (:func:`~flowgraph.scan._commit_chunks`), 16
    times over on the 240-day range of the 1e8 bank, whose hits' evidence came in 21
    chunks: 5.5 s of takes there, 2.0 s once joined (py-spy). Joined in the C library's
    pool (:func:`bulk_memory_pool`): 0.5 s for the range's hits, against 2.2 s in mimalloc,
    whose fresh huge pages cost the most to touch first."""
    joined = {}
    for name, column in frame.items():
        if not isinstance(column.array, pd.arrays.ArrowExtensionArray):
            continue
        chunks = pa.chunked_array(pa.array(column.array)).chunks
        if len(chunks) > 1:
            try:
                one = pa.concat_arrays(chunks, memory_pool=bulk_memory_pool())
            except (pa.ArrowInvalid, pa.ArrowCapacityError):
                continue  # offsets of 32 bits would overflow: taken in chunks, as before
            joined[name] = pd.Series(column.dtype.__from_arrow__(one), index=frame.index)
    return frame.assign(**joined) if joined else frame


def release_bulk_memory() -> None:
    """Hand back to the system what the C library's allocator kept of big tables let go
    (:func:`bulk_memory_pool`): glibc keeps freed blocks in its heap once it has raised its
    threshold for mapping them on their own, which freeing such blocks does (2.3 GB kept
    after a read of the 240-day range of the 1e8 bank, 0.1 s to give back). Nothing where
    the C library has no ``malloc_trim``."""
    try:
        trim = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError, TypeError):  # TypeError: Windows loads no library by None
        return
    trim(0)

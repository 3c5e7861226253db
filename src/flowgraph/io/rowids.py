"""Transaction ids for files that have none (AMLworld, the AMLSim samples), made from each
row's content.

The id of a row is a digest of its normalised fields plus its occurrence number among the
rows of the same file that have the same fields:

- each field is read as text with surrounding white space removed; an amount or a step
  written as a plain decimal number is read as that number (``100.50``, ``100.5``,
  ``0100.500`` and ``+100.5`` are alike; ``1e2`` or ``1,000`` stay as written), so a piece
  of a file re-written by a tool that spells numbers differently keeps its ids;
- the digest is BLAKE2b of the fields (80 bits, 20 hexadecimal digits); the first such
  row of a file is ``<prefix><digest>``, the k-th identical one ``<prefix><digest>-<k>``,
  so genuine repeats (the same payment twice on one day) stay distinct transactions;
- rows that differ only in a field left out of the digest (a label: ``order_by``) are
  numbered in the order of that field, then of the file, so the same rows in any order
  get the same ids with the same labels.

The same row therefore always gets the same id, whatever its row number: a file
re-ingested adds nothing, its pieces ingested one by one add up to the whole, and a
transaction's id does not depend on the file's row order. The one limit: identical rows
split across pieces are each the first of their piece, so they get the same id and the
store keeps one of them (ingest counts the later piece's copy "unchanged", or "replaced"
where only a label left out of the digest differs, not "new"); cut files between days,
or keep such repeats in one piece.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

#: Bytes of the BLAKE2b digest: 80 bits, about one chance in 10^8 that two of 2*10^8
#: different rows (AMLworld's largest file has 1.8*10^8) share a digest.
DIGEST_BYTES = 10

_HASH_BLOCK_ROWS = 1 << 18
_SEPARATOR = "\x1f"  # ASCII unit separator: not in the fields of a text file
_HEX = np.frombuffer(b"0123456789abcdef", dtype="S1")
_PLAIN_NUMBER = r"^[+-]?(\d+\.?\d*|\.\d+)$"
_CANONICAL_NUMBER = r"^-?(0|[1-9]\d*)(\.\d*[1-9])?$"


def text_field(values: pd.Series) -> pa.Array:
    """A field as text, surrounding white space removed, missing as empty."""
    array = pa.array(values.astype("string"), from_pandas=True).cast(pa.large_string())
    return pc.fill_null(pc.utf8_trim_whitespace(array), "")


def number_field(values: pd.Series) -> pa.Array:
    """A numeric field: a plain decimal number written one way (no ``+``, no leading zeros
    before the units, no trailing zeros after the point, no bare point: ``100.5``,
    ``0.5``, ``100``); any other text as :func:`text_field` reads it."""
    text = text_field(values)
    if isinstance(text, pa.ChunkedArray):
        text = text.combine_chunks()
    # only the numbers not written that way already are rewritten (most are)
    rewrite = pc.and_(pc.match_substring_regex(text, _PLAIN_NUMBER),
                      pc.invert(pc.match_substring_regex(text, _CANONICAL_NUMBER)))
    if not pc.any(rewrite).as_py():
        return text
    number = pc.filter(text, rewrite)
    number = pc.replace_substring_regex(number, r"^\+", "")
    number = pc.replace_substring_regex(number, r"^(-?)0+(\d)", r"\1\2")
    number = pc.replace_substring_regex(number, r"^(-?)\.", r"\10.")
    number = pc.replace_substring_regex(number, r"(\.\d*?)0+$", r"\1")
    number = pc.replace_substring_regex(number, r"\.$", "")
    return pc.replace_with_mask(text, rewrite, number)


def content_ids(prefix: str, fields: list, order_by: pd.Series | None = None) -> np.ndarray:
    """Ids of rows made from their content (module docstring).

    Parameters
    ----------
    prefix : str
        Written before the digest (``"AW-"``, ``"amlsim-"``).
    fields : list of Series or Arrow arrays
        The fields that make two rows the same transaction, one per field, all of one
        length, in row order: :func:`text_field` or :func:`number_field` of a column, or a
        Series of text already normalised.
    order_by : Series, optional
        A field left out of the digest (a label) that orders rows whose ``fields`` are
        identical before their position in the file does.

    Returns
    -------
    ndarray of object (str), one id per row, in row order
    """
    columns = [f if isinstance(f, (pa.Array, pa.ChunkedArray)) else text_field(f) for f in fields]
    n = len(columns[0])
    if n == 0:
        return np.array([], dtype=object)
    joined = pc.binary_join_element_wise(*[c.cast(pa.large_string()) for c in columns],
                                         pa.scalar(_SEPARATOR, pa.large_string()))
    joined = joined.cast(pa.large_binary())
    # a Python bytes object per row: hashed a block at a time, not 5 M objects at once
    digest = b"".join(hashlib.blake2b(row, digest_size=DIGEST_BYTES).digest()
                      for start in range(0, n, _HASH_BLOCK_ROWS)
                      for row in joined.slice(start, _HASH_BLOCK_ROWS).to_pylist())
    raw = np.frombuffer(digest, np.uint8).reshape(n, DIGEST_BYTES)
    hex_digits = np.empty((n, 2 * DIGEST_BYTES), "S1")
    hex_digits[:, 0::2], hex_digits[:, 1::2] = _HEX[raw >> 4], _HEX[raw & 15]
    # occurrence numbers: rows ordered by digest, then order_by, then position (a stable
    # sort); a run of one digest counts 1, 2, ...
    digests = pa.FixedSizeBinaryArray.from_buffers(pa.binary(DIGEST_BYTES), n, [None, pa.py_buffer(digest)])
    digest_code = pc.dictionary_encode(digests).indices.to_numpy().astype(np.int64)
    key = digest_code
    if order_by is not None:
        labels = pc.dictionary_encode(text_field(order_by))
        if isinstance(labels, pa.ChunkedArray):
            labels = labels.combine_chunks()
        rank = np.argsort(np.argsort(labels.dictionary.to_numpy(zero_copy_only=False), kind="stable"))
        key = digest_code * max(len(labels.dictionary), 1) + rank[labels.indices.to_numpy()]
    order = np.argsort(key, kind="stable")
    sorted_code = digest_code[order]
    starts = np.flatnonzero(np.r_[True, sorted_code[1:] != sorted_code[:-1]])
    run_start = np.repeat(starts, np.diff(np.r_[starts, n]))
    occurrence = np.empty(n, np.int64)
    occurrence[order] = np.arange(n) - run_start + 1
    suffix = np.full(n, "", dtype=object)
    repeat = np.flatnonzero(occurrence > 1)
    suffix[repeat] = [f"-{k}" for k in occurrence[repeat].tolist()]
    ids = pc.binary_join_element_wise(pa.scalar(prefix.encode(), pa.binary()),
                                      pa.array(hex_digits.view(f"S{2 * DIGEST_BYTES}").ravel(), pa.binary()),
                                      pa.array(suffix, pa.string()).cast(pa.binary()), pa.scalar(b"", pa.binary()))
    return ids.cast(pa.string()).to_numpy(zero_copy_only=False)

"""Read canonical transaction and account tables from CSV or Parquet.

CSV is read as text (:mod:`flowgraph.io.csvfile`: sniffed delimiter, UTF-8 or a given
encoding, ``.gz``/``.zst``) and every value is parsed by :mod:`flowgraph.schema`, so a bad
value or a broken line becomes a rejected row with a reason instead of a failed read. A column mapping renames
your columns to the canonical ones: ``columns={"txn_id": "TransactionID", ...}`` for the
transaction file, ``accounts_columns={"account_id": "AcctNo", ...}`` for the accounts file.

Parquet text is UTF-8, but a BINARY column (legacy Hive and Impala exports store Chinese
ids so, as GBK bytes) is bytes of any encoding: the binary columns that validation reads
as text (ids, timestamp, amount, codes) are decoded with the given encoding, UTF-8 by
default, as a CSV file is. A value whose bytes are not valid in it makes the file a
:class:`~flowgraph.errors.DataError` naming the column, the row, the bytes and the fix
(``--encoding``), as a CSV file's bad byte does; other binary columns pass through as
bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ..config import BANK_TIMEZONE, HOME_CURRENCY
from ..errors import DataError
from ..money import RateTable
from ..schema import (ACCOUNT_COLUMNS, ACCOUNT_CONTEXT_COLUMNS, CONTEXT_COLUMNS, TXN_COLUMNS, Validated,
                      accounts_from_transactions, validate_accounts, validate_transactions)
from .csvfile import (RawTable, compression_of, iter_csv_batches, no_malformed_lines, parse_encoding,
                      read_csv_table)


@dataclass
class Dataset:
    """A validated transaction table and the accounts it refers to."""

    transactions: Validated
    accounts: Validated

    def reports(self) -> str:
        return f"{self.transactions.report}\n{self.accounts.report}"


#: Table formats by file-name ending (before any ``.gz`` / ``.zst``).
CSV_SUFFIXES = (".csv", ".txt", ".tsv")
PARQUET_SUFFIXES = (".parquet", ".pq")


def table_format(path: str | Path) -> str | None:
    """``"csv"`` or ``"parquet"`` from the file name (``t.csv.gz`` is CSV), else None."""
    path = Path(path)
    name = path.with_suffix("") if compression_of(path) else path
    suffix = name.suffix.lower()
    if suffix in CSV_SUFFIXES:
        return "csv"
    if suffix in PARQUET_SUFFIXES and not compression_of(path):
        return "parquet"
    return None


def _open_parquet(path: Path, duplicate_columns: str, categorical: tuple[str, ...] = ()) -> pq.ParquetFile:
    """The file opened with ``categorical`` text columns read as dictionaries: Parquet
    stores such columns as a dictionary and codes, and reading them so decodes each value
    once, not per row (they become pandas Categorical)."""
    try:
        parquet = pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises several types for a corrupt file
        raise DataError(f"{path}: not a readable Parquet file ({exc}). Fix: re-export it, "
                        "or name a CSV file with the .csv suffix.") from exc
    names = parquet.schema_arrow.names
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated and duplicate_columns == "error":
        raise DataError(f"{path}: column name(s) {repeated} appear more than once. Fix: rename or "
                        "remove the extra column(s); flowgraph will not guess which one holds the data.")
    types = dict(zip(names, parquet.schema_arrow.types))
    text = [n for n in categorical if names.count(n) == 1
            and (pa.types.is_string(types[n]) or pa.types.is_large_string(types[n]))]
    return pq.ParquetFile(path, read_dictionary=text)


def transaction_text_columns(columns: dict[str, str] | None = None) -> tuple[str, ...]:
    """The file's names (under the mapping ``columns``) of the transaction columns that
    validation reads as text: their BINARY Parquet columns are decoded."""
    return tuple((columns or {}).get(c, c) for c in TXN_COLUMNS + CONTEXT_COLUMNS)


def account_text_columns(columns: dict[str, str] | None = None) -> tuple[str, ...]:
    """As :func:`transaction_text_columns`, for the accounts table."""
    return tuple((columns or {}).get(c, c) for c in ACCOUNT_COLUMNS + ACCOUNT_CONTEXT_COLUMNS)


_UTF8 = ("utf-8", "utf-8-sig")
#: Values of a BINARY column cast to text at a time while looking for a bad one.
_DECODE_BLOCK = 1 << 16


def _binary_error(path: Path, column: str, row: int, encoding: str, chosen: bool, bad: bytes) -> DataError:
    """The error for a BINARY value (of ``column``, data row ``row``) whose bytes from
    ``bad`` on are not valid ``encoding`` text; as a CSV file's bad byte reads."""
    if encoding in _UTF8:
        fix = ("pass the column's encoding, e.g. --encoding gb18030 (Chinese exports; it also reads GBK and "
               "GB2312; in Python encoding='gb18030'), or write the column as UTF-8 strings")
    else:
        fix = "check the column's encoding: --encoding utf-8 (the default) or --encoding gb18030 are the usual ones"
    how = "" if chosen else ", the default"
    return DataError(f"{path}: column '{column}', row {row:,}: a BINARY value whose bytes are not valid {encoding} "
                     f"text{how} (bytes {bad[:4].hex(' ')}). Fix: {fix}.")


def _first_undecodable(values: list, encoding: str) -> tuple[int, bytes] | None:
    """The position of the first of ``values`` (bytes or None) that is not ``encoding``
    text, and its bytes from the bad one on; None when all are."""
    for position, value in enumerate(values):
        if value is not None:
            try:
                value.decode(encoding)
            except UnicodeDecodeError as exc:
                return position, value[exc.start:]
    return None


def _decode_binary(column: pa.ChunkedArray, encoding: str
                   ) -> tuple[pa.ChunkedArray | None, tuple[int, bytes] | None]:
    """A BINARY column (or a dictionary of one) as ``encoding`` text, or None and the
    position of its first value that is not, with that value's bytes from the bad one on."""
    column = column.cast(pa.large_binary())
    if encoding in _UTF8:
        try:
            return column.cast(pa.large_string()), None  # Arrow checks every value is UTF-8
        except pa.ArrowInvalid:
            pass
        start = 0
        for chunk in column.chunks:
            for at in range(0, len(chunk), _DECODE_BLOCK):
                block = chunk.slice(at, _DECODE_BLOCK)
                try:
                    block.cast(pa.large_string())
                except pa.ArrowInvalid:
                    found = _first_undecodable(block.to_pylist(), "utf-8")
                    if found is not None:
                        return None, (start + at + found[0], found[1])
            start += len(chunk)
    # another encoding (or UTF-8 that Arrow refused and Python reads): each distinct value decoded once
    encoded = column.combine_chunks().dictionary_encode()
    text, bad_codes = [], {}
    for code, value in enumerate(encoded.dictionary.to_pylist()):
        try:
            text.append(value.decode(encoding))
        except UnicodeDecodeError as exc:
            text.append(None)
            bad_codes[code] = value[exc.start:]
    if bad_codes:
        codes = encoded.indices.to_numpy(zero_copy_only=False)
        position = int(np.flatnonzero(np.isin(codes, list(bad_codes)))[0])
        return None, (position, bad_codes[int(codes[position])])
    return pa.chunked_array([pa.array(text, pa.large_string()).take(encoded.indices)]), None


def _with_text_decoded(table: pa.Table, path: Path, encoding: str | None, text_columns: tuple[str, ...],
                       rows_before: int = 0) -> pa.Table:
    """``table`` with its BINARY columns among ``text_columns`` decoded from ``encoding``
    (default UTF-8), module docstring; or the DataError of the first row (then column) in
    the file holding a value that is not ``encoding`` text, wherever a batch starts."""
    chosen, canonical = encoding is not None, parse_encoding(encoding)
    first_bad = None  # (position, column number, name, bytes)
    for i, (name, kind) in enumerate(zip(table.column_names, table.schema.types)):
        value_kind = kind.value_type if pa.types.is_dictionary(kind) else kind
        binary = (pa.types.is_binary(value_kind) or pa.types.is_large_binary(value_kind)
                  or pa.types.is_fixed_size_binary(value_kind))
        if binary and name in text_columns:
            decoded, bad = _decode_binary(table.column(i), canonical)
            if bad is None:
                table = table.set_column(i, name, decoded)
            elif first_bad is None or bad[0] < first_bad[0]:
                first_bad = (bad[0], i, name, bad[1])
    if first_bad is not None:
        position, _, name, bad = first_bad
        raise _binary_error(path, name, rows_before + position + 1, canonical, chosen, bad)
    return table


def _read_parquet(path: Path, duplicate_columns: str, categorical: tuple[str, ...] = (),
                  encoding: str | None = None, text_columns: tuple[str, ...] = ()) -> pd.DataFrame:
    parquet = _open_parquet(path, duplicate_columns, categorical)
    try:
        table = parquet.read()
    except Exception as exc:
        raise DataError(f"{path}: not a readable Parquet file ({exc}). Fix: re-export it.") from exc
    return _with_text_decoded(table, path, encoding, text_columns).to_pandas()


def iter_raw(path: str | Path, fmt: str | None = None, encoding: str | None = None, delimiter: str | None = None,
             categorical: tuple[str, ...] = (), batch_rows: int = 1_000_000, text_columns: tuple[str, ...] = ()):
    """:func:`read_raw` in batches of about ``batch_rows`` rows (CSV: lines; Parquet: rows
    of its row groups), each a :class:`RawTable` numbered as in the whole file; a file
    without rows gives one empty batch.

    Raises
    ------
    DataError
        As :func:`read_raw`, when the batch that shows the problem is reached.
    """
    path = Path(path)
    if checked_format(path, fmt) == "csv":
        yield from iter_csv_batches(path, encoding, delimiter, batch_rows=batch_rows)
        return
    parquet = _open_parquet(path, "error", categorical)
    n = 0
    batches = parquet.iter_batches(batch_size=batch_rows)
    while True:
        try:
            batch = next(batches, None)
        except (OSError, pa.ArrowException) as exc:
            raise DataError(f"{path}: not a readable Parquet file ({exc}). Fix: re-export it.") from exc
        if batch is None:
            break
        frame = _with_text_decoded(pa.Table.from_batches([batch]), path, encoding, text_columns, n).to_pandas()
        yield RawTable(frame, np.arange(n + 1, n + len(frame) + 1, dtype=np.int64), no_malformed_lines())
        n += len(frame)
    if not n:
        empty = _with_text_decoded(parquet.schema_arrow.empty_table(), path, encoding, text_columns)
        yield RawTable.whole(empty.to_pandas())


def read_raw(path: str | Path, fmt: str | None = None, encoding: str | None = None,
             delimiter: str | None = None, duplicate_columns: str = "error",
             categorical: tuple[str, ...] = (), text_columns: tuple[str, ...] = ()) -> RawTable:
    """Read a whole CSV (all columns as text; see :func:`~flowgraph.io.csvfile.read_csv_table`)
    or Parquet file, with clear errors for a missing, empty or unreadable file.

    Parameters
    ----------
    path : path
        The file.
    fmt : {"csv", "parquet"}, optional
        Default: from the file name (``.csv``, ``.tsv``, ``.txt``, each optionally
        ``.gz``/``.zst``; ``.parquet``).
    encoding : str, optional
        The text encoding of a CSV file (see :func:`~flowgraph.io.csvfile.read_csv_table`)
        and of a Parquet file's BINARY ``text_columns`` (module docstring); default UTF-8.
    delimiter : str, optional
        CSV only: see :func:`~flowgraph.io.csvfile.read_csv_table`.
    duplicate_columns : {"error", "number"}
        What a column name given twice is (see ``read_csv_table``; Parquet: "error" only
        checks).
    categorical : tuple of str
        Parquet only: text columns with few distinct values (currency codes, channels) to
        read as pandas Categorical, which is faster and smaller than one string per row.
    text_columns : tuple of str
        Parquet only: the columns read as text, decoded from ``encoding`` where BINARY
        (:func:`transaction_text_columns`, :func:`account_text_columns`).

    Returns
    -------
    RawTable

    Raises
    ------
    DataError
        The file is missing, empty or unreadable, or a value is not valid text in
        ``encoding``.
    """
    path = Path(path)
    fmt = checked_format(path, fmt)
    if fmt == "parquet":
        return RawTable.whole(_read_parquet(path, duplicate_columns, categorical, encoding, text_columns))
    return read_csv_table(path, encoding, delimiter, duplicate_columns)


def must_exist(path: str | Path) -> None:
    """A DataError naming ``path`` when nothing is there (a file, or an input folder)."""
    if not Path(path).exists():
        raise DataError(f"{path}: no such file. Fix: check the path.")


def checked_format(path: Path, fmt: str | None = None) -> str:
    """``"csv"`` or ``"parquet"``: what :func:`read_raw` reads ``path`` as.

    Raises
    ------
    DataError
        The file is missing, a folder, empty, or of an unknown format.
    """
    must_exist(path)
    if path.is_dir():
        raise DataError(f"{path}: is a folder, not a table file. Fix: name a .csv or .parquet file.")
    if path.stat().st_size == 0:
        raise DataError(f"{path}: the file is empty (0 bytes): no header and no rows. "
                        "Fix: export the table again with its header row.")
    fmt = (fmt or table_format(path) or path.suffix.lstrip(".")).lower()
    if fmt in ("parquet", "pq"):
        return "parquet"
    if fmt in ("csv", "txt", "tsv"):
        return "csv"
    raise DataError(f"{path}: unknown table format {fmt!r}: flowgraph reads CSV and Parquet. Fix: convert it to "
                    "a .csv (.csv.gz, .csv.zst) or .parquet file (a CSV under another name: rename it .csv).")


#: The option that maps each table's columns on the command line.
MAP_OPTION = {"transaction": "--map", "accounts": "--accounts-map"}


def _rename(frame: pd.DataFrame, columns: dict[str, str] | None, path: Path, table: str = "transaction"
            ) -> pd.DataFrame:
    """``frame`` with the columns of the mapping ``columns`` (canonical -> yours) renamed,
    or a DataError naming the mapping's option (``table``: "transaction" or "accounts")."""
    if not columns:
        return frame
    option = MAP_OPTION[table]
    absent = {canon: src for canon, src in columns.items() if src not in frame.columns}
    if absent:
        other = {"transaction": ("accounts", ACCOUNT_COLUMNS + ACCOUNT_CONTEXT_COLUMNS),
                 "accounts": ("transaction", TXN_COLUMNS + CONTEXT_COLUMNS)}[table]
        astray = sorted(canon for canon in absent if canon in other[1])
        hint = (f" ({', '.join(astray)}: a column of the {other[0]} file, whose mapping is "
                f"{MAP_OPTION[other[0]]})" if astray else "")
        raise DataError(f"{path}: the column mapping names column(s) {sorted(absent.values())} that the file "
                        f"lacks; it has {list(frame.columns)}. Fix: correct the mapping ({option}){hint}.")
    renamed = frame.rename(columns={src: canon for canon, src in columns.items()})
    clashing = sorted({c for c in renamed.columns if list(renamed.columns).count(c) > 1})
    if clashing:
        raise DataError(f"{path}: after the column mapping ({option}), column(s) {clashing} would appear twice (the "
                        "file already has a column of that name). Fix: map only one column to each name.")
    return renamed


def read_accounts(path: str | Path, columns: dict[str, str] | None = None,
                  fmt: str | None = None, encoding: str | None = None,
                  delimiter: str | None = None) -> Validated:
    """Read and validate an accounts table (``account_id``, ``customer_id``, ``party_type``).

    Parameters
    ----------
    path : path
        CSV or Parquet file.
    columns : dict, optional
        Canonical name -> your column name (command line: ``--accounts-map``).
    fmt : {"csv", "parquet"}, optional
        Default: from the file name.
    encoding, delimiter : str, optional
        See :func:`read_raw`.
    """
    path = Path(path)
    raw = read_raw(path, fmt, encoding, delimiter, text_columns=account_text_columns(columns))
    return validate_accounts(_rename(raw.frame, columns, path, "accounts"), str(path), raw.source_row,
                             raw.malformed, reader_notes=raw.notes)


def read_transactions(
    path: str | Path,
    columns: dict[str, str] | None = None,
    accounts: str | Path | Validated | None = None,
    rates: RateTable | None = None,
    timestamp_format: str | None = None,
    channel_map: dict[str, str] | None = None,
    fmt: str | None = None,
    encoding: str | None = None,
    delimiter: str | None = None,
    home_currency: str = HOME_CURRENCY,
    accounts_columns: dict[str, str] | None = None,
    bank_timezone: str = BANK_TIMEZONE,
) -> Dataset:
    """Read and validate a canonical transaction file, and its accounts.

    Parameters
    ----------
    path : path
        CSV or Parquet file.
    columns : dict, optional
        Canonical name -> your column name, for columns named otherwise.
    accounts : path or Validated, optional
        The accounts table; without one, every account is its own customer with an
        unknown party type.
    rates : RateTable, optional
        Exchange rates (default: the small table shipped with the package).
    timestamp_format, channel_map
        See :func:`flowgraph.schema.validate_transactions`.
    fmt : {"csv", "parquet"}, optional
        Default: from the file name.
    encoding, delimiter : str, optional
        For this file and the accounts file: see :func:`read_raw`.
    home_currency : str
        The rule set's home currency: the currency of the amounts of a file without a
        ``currency`` column (default CNY; see :func:`flowgraph.schema.validate_transactions`).
    accounts_columns : dict, optional
        Canonical name -> your column name, for the columns of the ``accounts`` file
        (command line: ``--accounts-map``).
    bank_timezone : str
        The rule set's time zone, into which times with a UTC offset are converted
        (default Asia/Shanghai; see :func:`flowgraph.schema.validate_transactions`).
    """
    path = Path(path)
    raw = read_raw(path, fmt, encoding, delimiter,
                   categorical=tuple((columns or {}).get(c, c) for c in ("currency", "channel")),
                   text_columns=transaction_text_columns(columns))
    txns = validate_transactions(_rename(raw.frame, columns, path), str(path), rates=rates,
                                 timestamp_format=timestamp_format, channel_map=channel_map,
                                 source_row=raw.source_row, malformed=raw.malformed, home_currency=home_currency,
                                 reader_notes=raw.notes, bank_timezone=bank_timezone)
    if isinstance(accounts, Validated):
        accts = accounts
    elif accounts is not None:
        accts = read_accounts(accounts, accounts_columns, encoding=encoding, delimiter=delimiter)
    else:
        accts = validate_accounts(accounts_from_transactions(txns.table), f"{path} (accounts derived)")
    return Dataset(txns, accts)

"""Read canonical transaction and account tables from CSV or Parquet.

CSV is read as text and every value is parsed by :mod:`flowgraph.schema`, so a bad value
becomes a rejected row with a reason instead of a failed read. A column mapping renames
your columns to the canonical ones: ``columns={"txn_id": "TransactionID", ...}``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..errors import DataError
from ..money import RateTable
from ..schema import Validated, accounts_from_transactions, validate_accounts, validate_transactions


@dataclass
class Dataset:
    """A validated transaction table and the accounts it refers to."""

    transactions: Validated
    accounts: Validated

    def reports(self) -> str:
        return f"{self.transactions.report}\n{self.accounts.report}"


def read_raw(path: str | Path, fmt: str | None = None) -> pd.DataFrame:
    """Read a whole CSV (all columns as text) or Parquet file, with clear errors for
    a missing, empty or unreadable file."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such file. Fix: check the path.")
    if path.is_dir():
        raise DataError(f"{path}: is a folder, not a table file. Fix: name a .csv or .parquet file.")
    if path.stat().st_size == 0:
        raise DataError(f"{path}: the file is empty (0 bytes): no header and no rows. "
                        "Fix: export the table again with its header row.")
    fmt = (fmt or path.suffix.lstrip(".")).lower()
    if fmt in ("parquet", "pq"):
        try:
            return pd.read_parquet(path)
        except Exception as exc:  # pyarrow raises several types for a corrupt file
            raise DataError(f"{path}: not a readable Parquet file ({exc}). Fix: re-export it, "
                            "or name a CSV file with the .csv suffix.") from exc
    if fmt in ("csv", "txt", "tsv"):
        try:
            return pd.read_csv(path, dtype=str, keep_default_na=False, na_filter=False,
                               sep="\t" if fmt == "tsv" else ",", skipinitialspace=True)
        except pd.errors.EmptyDataError as exc:
            raise DataError(f"{path}: the file has no header row (only blank lines). "
                            "Fix: export the table again with its header row.") from exc
        except pd.errors.ParserError as exc:
            raise DataError(f"{path}: the CSV structure is broken ({exc}). Fix: quote values "
                            "that contain commas, or make every line have the header's number "
                            "of fields.") from exc
        except UnicodeDecodeError as exc:
            raise DataError(f"{path}: not UTF-8 text ({exc}). Fix: save the file as UTF-8.") from exc
    raise DataError(f"{path}: unknown table format {fmt!r}. Fix: use a .csv or .parquet file, "
                    "or pass fmt='csv' / fmt='parquet'.")


def _rename(frame: pd.DataFrame, columns: dict[str, str] | None, path: Path) -> pd.DataFrame:
    if not columns:
        return frame
    absent = {canon: src for canon, src in columns.items() if src not in frame.columns}
    if absent:
        raise DataError(f"{path}: the column mapping names column(s) {sorted(absent.values())} "
                        f"that the file lacks; it has {list(frame.columns)}. Fix: correct the mapping.")
    return frame.rename(columns={src: canon for canon, src in columns.items()})


def read_accounts(path: str | Path, columns: dict[str, str] | None = None,
                  fmt: str | None = None) -> Validated:
    """Read and validate an accounts table (``account_id``, ``customer_id``, ``party_type``).

    Parameters
    ----------
    path : path
        CSV or Parquet file.
    columns : dict, optional
        Canonical name -> your column name.
    fmt : {"csv", "parquet"}, optional
        Default: from the file suffix.
    """
    path = Path(path)
    frame = _rename(read_raw(path, fmt), columns, path)
    return validate_accounts(frame, str(path))


def read_transactions(
    path: str | Path,
    columns: dict[str, str] | None = None,
    accounts: str | Path | Validated | None = None,
    rates: RateTable | None = None,
    timestamp_format: str | None = None,
    channel_map: dict[str, str] | None = None,
    fmt: str | None = None,
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
        Default: from the file suffix.
    """
    path = Path(path)
    frame = _rename(read_raw(path, fmt), columns, path)
    txns = validate_transactions(frame, str(path), rates=rates, timestamp_format=timestamp_format,
                                 channel_map=channel_map)
    if isinstance(accounts, Validated):
        accts = accounts
    elif accounts is not None:
        accts = read_accounts(accounts)
    else:
        accts = validate_accounts(accounts_from_transactions(txns.table), f"{path} (accounts derived)")
    return Dataset(txns, accts)

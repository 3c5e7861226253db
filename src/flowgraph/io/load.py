"""Open any supported input by looking at it, and write validated tables out.

``load_dataset(path)`` accepts: a canonical CSV or Parquet file; an AMLworld CSV
(recognised by its header); a folder written by ``flowgraph ingest``/``simulate``
(``transactions.parquet`` + ``accounts.parquet``); an AMLSim output folder.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from .._files import write_atomically, write_parquet
from ..errors import DataError
from ..money import RateTable
from .amlsim import read_amlsim
from .amlworld import read_amlworld
from .readers import Dataset, read_transactions

# columns that only an AMLworld file has
AMLWORLD_HEADER_MARKERS = ("Timestamp", "From Bank", "Amount Paid", "Payment Format")


def _csv_header(path: Path) -> list[str]:
    try:
        return list(pd.read_csv(path, nrows=0, dtype=str).columns)
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError):
        return []


def load_dataset(path: str | Path, columns: dict[str, str] | None = None,
                 accounts: str | Path | None = None, rates: RateTable | None = None,
                 timestamp_format: str | None = None, channel_map: dict[str, str] | None = None,
                 amlsim_start: str = "2018-01-02") -> Dataset:
    """Read and validate whatever ``path`` holds (see the module docstring).

    Parameters
    ----------
    path : path
        A file or a folder.
    columns : dict, optional
        Canonical name -> your column name (canonical files only).
    accounts : path, optional
        Accounts table; a flowgraph folder's own ``accounts.parquet`` is used otherwise.
    rates : RateTable, optional
        Exchange rates; default the package's small table.
    timestamp_format : str, optional
        ``strftime`` format of text timestamps; default ISO 8601.
    channel_map : dict, optional
        Your channel codes -> canonical channels.
    amlsim_start : str
        Date of step 0 for AMLSim folders.

    Returns
    -------
    Dataset
    """
    path = Path(path)
    if path.is_dir():
        if (path / "transactions.parquet").exists():
            acct = accounts or (path / "accounts.parquet" if (path / "accounts.parquet").exists() else None)
            return read_transactions(path / "transactions.parquet", columns, acct, rates,
                                     timestamp_format, channel_map)
        if (path / "transactions.csv").exists():
            return read_amlsim(path, start_date=amlsim_start)
        raise DataError(f"{path}: this folder holds neither transactions.parquet (flowgraph) nor "
                        "transactions.csv (AMLSim). Fix: name the transaction file itself.")
    if path.suffix.lower() == ".csv" and path.exists() and path.stat().st_size > 0:
        header = _csv_header(path)
        if columns is None and all(c in header for c in AMLWORLD_HEADER_MARKERS):
            return read_amlworld(path, rates)
    return read_transactions(path, columns, accounts, rates, timestamp_format, channel_map)


def write_dataset(dataset: Dataset, out_dir: str | Path) -> dict[str, Path]:
    """Write the accepted tables (Parquet), every rejected row (``rejects.csv``, with the
    table it came from) and the validation reports (``validation.json``).

    Parameters
    ----------
    dataset : Dataset
        What :func:`load_dataset` returned.
    out_dir : path
        Created if needed; files are written whole (temporary name, then renamed).

    Returns
    -------
    dict of name -> path written
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {name: out / name for name in
             ("transactions.parquet", "accounts.parquet", "rejects.csv", "validation.json")}
    write_parquet(dataset.transactions.table, paths["transactions.parquet"])
    write_parquet(dataset.accounts.table, paths["accounts.parquet"])
    rejects = pd.concat([
        dataset.transactions.rejects.assign(table="transactions"),
        dataset.accounts.rejects.assign(table="accounts"),
    ], ignore_index=True)
    rejects.insert(0, "table", rejects.pop("table"))
    write_atomically(paths["rejects.csv"], lambda p: rejects.to_csv(p, index=False))
    report = {"transactions": dataset.transactions.report.to_dict(),
              "accounts": dataset.accounts.report.to_dict()}
    write_atomically(paths["validation.json"], lambda p: p.write_text(json.dumps(report, indent=2)))
    return paths

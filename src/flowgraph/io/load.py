"""Open any supported input by looking at it, and write validated tables out.

``load_dataset(path)`` accepts: a canonical CSV (also ``.csv.gz``/``.csv.zst``, any of
four delimiters, a given encoding) or Parquet file; an AMLworld CSV (recognised by its
header); a folder written by ``flowgraph ingest``/``simulate`` (``transactions.parquet`` +
``accounts.parquet``); a transaction store (``flowgraph ingest --into``; every stored day
and the latest accounts); an AMLSim output folder.

A table with data rows of which none was accepted is a data error, but only once the
rejects are written where the user can read them: :func:`write_rejects`, then
:func:`check_some_accepted`.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow as pa

from .._files import write_atomically, write_parquet
from .._spreadsheet import spreadsheet_safe
from ..calendar import BusinessCalendar
from ..config import BANK_TIMEZONE, HOME_CURRENCY
from ..errors import ConfigError, DataError
from ..money import RateTable
from ..schema import REASONS
from .. import txstore  # the module, not its names: txstore imports this package's readers
from .amlsim import read_amlsim
from .amlworld import read_amlworld
from .csvfile import csv_header
from .readers import Dataset, read_transactions, table_format

# columns that only an AMLworld file has
AMLWORLD_HEADER_MARKERS = ("Timestamp", "From Bank", "Amount Paid", "Payment Format")

# load_dataset's reading options: command-line option (Python argument)
_READING_OPTIONS = {"columns": "--map (columns=)", "accounts": "--accounts (accounts=)",
                    "accounts_columns": "--accounts-map (accounts_columns=)",
                    "channel_map": "--channel-map (channel_map=)",
                    "timestamp_format": "--timestamp-format (timestamp_format=)",
                    "encoding": "--encoding (encoding=)", "delimiter": "--delimiter (delimiter=)"}

# what an adapter reads by its own layout, not by the option: why
_AMLSIM_OWN = {
    "columns": "its files' columns are read by their AMLSim names (tran_id, orig_acct, ...)",
    "accounts": "its accounts and their labels are read from its own accounts.csv or nodes.csv",
    "accounts_columns": "its accounts are read from its own accounts.csv or nodes.csv",
    "channel_map": "its channels come from tx_type (CASH... is cash, every other type a transfer)",
}
_AMLWORLD_OWN = {
    "accounts": "its accounts are the <bank>:<account> pairs its transactions name",
    "accounts_columns": "its accounts are the <bank>:<account> pairs its transactions name",
    "channel_map": "its channels come from 'Payment Format' (Cash is cash, a change of currency cross_border, "
                   "every other format a transfer)",
    "timestamp_format": "its 'Timestamp' is read in AMLworld's own format, YYYY/MM/DD HH:MM",
}
_STORE_OWN = dict.fromkeys(_READING_OPTIONS, "its rows were read and validated when they were ingested")


def load_dataset(path: str | Path, columns: dict[str, str] | None = None,
                 accounts: str | Path | None = None, rates: RateTable | None = None,
                 timestamp_format: str | None = None, channel_map: dict[str, str] | None = None,
                 amlsim_start: str = "2018-01-02", amlsim_step_unit: str = "business_days",
                 encoding: str | None = None, delimiter: str | None = None,
                 home_currency: str = HOME_CURRENCY, calendar: BusinessCalendar | None = None,
                 accounts_columns: dict[str, str] | None = None, bank_timezone: str = BANK_TIMEZONE) -> Dataset:
    """Read and validate whatever ``path`` holds (see the module docstring).

    Parameters
    ----------
    path : path
        A file or a folder.
    columns : dict, optional
        Canonical name -> your column name (canonical files only).
    accounts : path, optional
        Accounts table; a flowgraph folder's own ``accounts.parquet`` is used otherwise.
    accounts_columns : dict, optional
        Canonical name -> your column name, for the ``accounts`` file (command line:
        ``--accounts-map``); only with ``accounts``.
    rates : RateTable, optional
        Exchange rates; default the package's small table.
    timestamp_format : str, optional
        ``strftime`` format of text timestamps (also AMLSim's ``tran_timestamp``); default
        ISO 8601.
    channel_map : dict, optional
        Your channel codes -> canonical channels.
    amlsim_start : str
        Date of step 0 for AMLSim folders that count steps.
    amlsim_step_unit : {"business_days", "calendar_days"}
        What one AMLSim step is (see :mod:`flowgraph.io.amlsim`).
    encoding, delimiter : str, optional
        For every CSV file read (the encoding also for a Parquet file's BINARY text
        columns): see :func:`~flowgraph.io.readers.read_raw`.
    home_currency : str
        The rule set's home currency (``ScanConfig.rules.home_currency``): the currency of
        amounts that name none (a canonical file without a ``currency`` column, AMLSim's
        unit-less amounts). Default CNY.
    calendar : BusinessCalendar, optional
        The rule set's calendar (``ScanConfig.calendar()``): the business days AMLSim
        steps count. Default the PRC calendar.
    bank_timezone : str
        The rule set's time zone (``ScanConfig.timezone()``): times with a UTC offset are
        converted into it, and dated there. Default Asia/Shanghai, the PBOC rule sets'. A
        transaction store must have been ingested with the same zone
        (:meth:`~flowgraph.txstore.TransactionStore.check_bank_timezone`).

    Returns
    -------
    Dataset

    Raises
    ------
    ConfigError
        ``accounts_columns`` without ``accounts``; a reading option for an input that is
        read by its own layout (AMLSim folder: ``columns``, ``accounts``,
        ``accounts_columns``, ``channel_map``, and ``timestamp_format`` where it counts
        steps; AMLworld file: ``accounts``, ``accounts_columns``, ``channel_map``,
        ``timestamp_format``; transaction store: every one but ``rates``); a transaction
        store ingested with another time zone than ``bank_timezone``.
    DataError
        A file that cannot be read as a whole (see the readers).
    """
    if accounts_columns and accounts is None:
        raise ConfigError("--accounts-map renames the columns of the accounts file, and none was given. Fix: "
                          "give it with --accounts FILE (accounts_columns= with accounts= in Python).")
    given = {"columns": columns, "accounts": accounts, "accounts_columns": accounts_columns,
             "channel_map": channel_map, "timestamp_format": timestamp_format, "encoding": encoding,
             "delimiter": delimiter}
    dataset = _load(Path(path), columns, accounts, rates, timestamp_format, channel_map, amlsim_start,
                    amlsim_step_unit, encoding, delimiter, home_currency, calendar, accounts_columns, given,
                    bank_timezone)
    # Reading and validating freed more Arrow memory than the tables keep (decoded pages,
    # temporary columns: 0.5 GB at 10 M rows); the allocator would hold it for reuse, but
    # the scan's later stages allocate with NumPy, so give it back to the system now.
    pa.default_memory_pool().release_unused()
    return dataset


def _load(path: Path, columns, accounts, rates, timestamp_format, channel_map, amlsim_start, amlsim_step_unit,
          encoding, delimiter, home_currency, calendar, accounts_columns, given: dict,
          bank_timezone: str = BANK_TIMEZONE) -> Dataset:
    """:func:`load_dataset`'s reading: the reader chosen by what ``path`` holds."""
    if path.is_dir():
        if txstore.is_store(path):
            _refuse_options(path, "a transaction store", _STORE_OWN, given,
                            f"give them to 'flowgraph ingest FILE --into {path}' (ingest_file in Python)")
            store = txstore.TransactionStore.open(path, "INPUT")
            store.check_bank_timezone(bank_timezone)
            days = store.days() or ["1970-01-01"]
            return store.dataset(days[0], days[-1])
        if (path / "transactions.parquet").exists():
            acct = accounts or (path / "accounts.parquet" if (path / "accounts.parquet").exists() else None)
            return read_transactions(path / "transactions.parquet", columns, acct, rates,
                                     timestamp_format, channel_map, encoding=encoding, delimiter=delimiter,
                                     home_currency=home_currency, accounts_columns=accounts_columns,
                                     bank_timezone=bank_timezone)
        if (path / "transactions.csv").exists():
            _refuse_options(path, "an AMLSim output folder", _AMLSIM_OWN, given,
                            "convert its files to a canonical CSV first to read them your way")
            return read_amlsim(path, start_date=amlsim_start, steps_as=amlsim_step_unit, currency=home_currency,
                               calendar=calendar, timestamp_format=timestamp_format, encoding=encoding, delimiter=delimiter,
                               rates=rates, bank_timezone=bank_timezone)
        if any((path / "transactions").glob("day=*/part.parquet")):
            raise DataError(f"{path}: a transaction store's day files, but its txstore.json is missing. Fix: restore "
                            "it from a backup (it reads {\"format\": \"flowgraph-txstore\", \"version\": 1, ...}).")
        raise DataError(f"{path}: this folder holds neither transactions.parquet (flowgraph) nor "
                        "transactions.csv (AMLSim), and is not a transaction store (no txstore.json). "
                        "Fix: name the transaction file itself.")
    if columns is None and table_format(path) == "csv" and path.is_file() and path.stat().st_size > 0:
        header = csv_header(path, encoding, delimiter)
        if all(c in header for c in AMLWORLD_HEADER_MARKERS):
            _refuse_options(path, "an AMLworld transactions file", _AMLWORLD_OWN, given,
                            "convert it to a canonical CSV first to read it your way")
            return read_amlworld(path, rates, encoding, delimiter)
    return read_transactions(path, columns, accounts, rates, timestamp_format, channel_map,
                             encoding=encoding, delimiter=delimiter, home_currency=home_currency,
                             accounts_columns=accounts_columns, bank_timezone=bank_timezone)


def _refuse_options(path: Path, kind: str, own: dict[str, str], given: dict, instead: str) -> None:
    """A ConfigError naming every option given for what ``path``'s adapter reads by its own
    layout, and why it does not read it: an option is never silently ignored."""
    refused = [name for name in own if given[name]]
    if refused:
        why = "; ".join(f"{_READING_OPTIONS[name]}: {own[name]}" for name in refused)
        raise ConfigError(f"INPUT {path} is {kind}, which flowgraph reads by its own layout, not by "
                          f"{'these options' if len(refused) > 1 else 'this option'}: {why}. "
                          f"Fix: leave {'them' if len(refused) > 1 else 'it'} out, or {instead}.")


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
    paths = write_rejects(dataset, out)
    for name, table in (("transactions.parquet", dataset.transactions.table),
                        ("accounts.parquet", dataset.accounts.table)):
        paths[name] = write_parquet(table, out / name)
    return paths


def write_rejects(dataset: Dataset, out_dir: str | Path) -> dict[str, Path]:
    """Write every rejected row (``rejects.csv``, with the table it came from) and the
    validation reports (``validation.json``) into ``out_dir`` (created if needed). A value
    a spreadsheet would run as a formula gets a ``'`` before it
    (:func:`flowgraph._spreadsheet.spreadsheet_safe`); the row number finds it as written.

    Returns
    -------
    dict of name -> path written
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {name: out / name for name in ("rejects.csv", "validation.json")}
    rejects = pd.concat([
        dataset.transactions.rejects.assign(table="transactions"),
        dataset.accounts.rejects.assign(table="accounts"),
    ], ignore_index=True)
    rejects.insert(0, "table", rejects.pop("table"))
    write_atomically(paths["rejects.csv"], lambda p: spreadsheet_safe(rejects).to_csv(p, index=False))
    report = {"transactions": dataset.transactions.report.to_dict(),
              "accounts": dataset.accounts.report.to_dict()}
    write_atomically(paths["validation.json"], lambda p: p.write_text(json.dumps(report, indent=2)))
    return paths


def check_some_accepted(dataset: Dataset, rejects_path: str | Path) -> None:
    """Raise when a table had data rows and none was accepted.

    Parameters
    ----------
    dataset : Dataset
    rejects_path : path
        Where the rejects were written, for the message.

    Raises
    ------
    DataError
        Naming the table, its most common reason and the rejects file.
    """
    for report in (dataset.transactions.report, dataset.accounts.report):
        if report.n_input and not report.n_accepted:
            top, count = max(report.reason_counts.items(), key=lambda item: item[1])
            column, fix = REASONS[top]
            raise DataError(f"{report.source}: all {report.n_input:,} rows were rejected, most often for "
                            f"{top} ({count:,} rows; column '{column}': {fix}). Every row and its reason "
                            f"is in {rejects_path}. Fix the input and run again.")

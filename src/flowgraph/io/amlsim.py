"""Adapter for IBM AMLSim output (github.com/IBM/AMLSim).

Two layouts are recognised in a folder:

- the published samples: ``transactions.csv`` (``sourceNodeId, targetNodeId, value,
  time``) and ``nodes.csv`` (``nodeid, isFraud, init_balance, fraudStep``): labels are
  per account;
- the full simulator output: ``transactions.csv`` (``tran_id, orig_acct, bene_acct,
  tx_type, base_amt, tran_timestamp, is_sar, alert_id``; some AMLSim versions, e.g. the
  schema of ``paramFiles/10K``, name the label ``is_fraud``), ``accounts.csv`` (``acct_id,
  dsply_nm, type, acct_stat, acct_rptng_crncy, prior_sar_count, …``) and optionally
  ``alert_accounts.csv`` (``alert_id, alert_type, acct_id, acct_name, is_sar, …``):
  labels per transaction and per account. An account is labelled laundering when its
  ``prior_sar_count`` (AMLSim writes the account's SAR flag there, true/false) or an
  ``is_sar`` (or ``is_fraud``) column says so, or when it belongs to an alert that is a
  SAR (an ``alert_accounts.csv`` row without ``is_sar`` or ``is_fraud`` counts as one).

Transaction ids: the full output's ``tran_id`` is kept. The samples have none, so each
row's id is made from its content (:mod:`flowgraph.io.rowids`): ``"amlsim-"`` and a
digest of its two node ids, its value and its step (both as numbers), with ``-2``,
``-3``, ... after the digest for the second, third, ... identical row of the file (the
samples repeat some rows: the same transfer twice in one step). So the same row always
gets the same id, whatever its row number: re-ingesting a folder adds nothing, and pieces
of ``transactions.csv`` ingested one after another into a store add up to the whole. The
one limit: identical rows split across two pieces get the same id, so the store keeps
one of them (ingest counts the second piece's copy "unchanged", not "new"); cut the file
between steps, or keep such repeats in one piece.

Labels: a transaction is laundering when its ``is_sar`` or ``is_fraud`` says so (``true``
or ``1``, any case; ``false``, ``0`` or empty say it is not); another value is read as
not laundering and the validation report's notes count those rows and name the first.
``alert_id`` is kept as AMLSim wrote it: whole numbers (-1, AMLSim's "no alert", where
empty) when every value is one, else the column as text, as given (a note says so).

``tran_timestamp`` is a date and time in AMLSim's own output (``2017-01-01T00:00:00Z``):
those dates are kept (a ``Z`` or an offset is converted to China Standard Time like any
aware timestamp; ``timestamp_format`` reads other spellings). Where it holds step numbers
instead, and in the samples' ``time`` column, AMLSim counts time in steps (one step is
one day): with ``steps_as="business_days"`` (the default) step *t* becomes the *t*-th
business day after ``start_date``, so each step stays its own business day;
``"calendar_days"`` adds *t* days, and weekend steps then roll onto the next business day
like any weekend transaction. Only step layouts get a ``step`` column. AMLSim amounts are
small (hundreds of units): scale the thresholds in the scan's TOML configuration before
scanning, e.g. ``[rule_set]`` with ``based_on = "PBOC-2016"`` and ``scale = 0.001`` (see
the README, "Rule sets").
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.compute as pc

from ..calendar import BusinessCalendar, prc_calendar
from ..config import BANK_TIMEZONE
from ..errors import ConfigError, DataError
from ..money import RateTable
from ..schema import id_text, validate_accounts, validate_transactions
from .csvfile import RawTable
from .readers import Dataset, read_raw
from .rowids import content_ids, number_field, text_field

SAMPLE_TXN_COLUMNS = ("sourceNodeId", "targetNodeId", "value", "time")
SAMPLE_NODE_COLUMNS = ("nodeid", "isFraud")
FULL_TXN_COLUMNS = ("tran_id", "orig_acct", "bene_acct", "base_amt", "tran_timestamp")

#: How a step number becomes a date (module docstring).
STEP_UNITS = ("business_days", "calendar_days")


TRUE_WORDS = ("true", "1", "1.0")
FALSE_WORDS = ("false", "0", "0.0", "")

#: Transaction label columns AMLSim versions write (either, or both, is read).
TXN_LABEL_COLUMNS = ("is_sar", "is_fraud")


def _is_true(column: pd.Series) -> np.ndarray:
    """AMLSim's booleans ("true"/"false", "True", "1") as a mask."""
    return column.astype("string").fillna("").str.strip().str.lower().isin(TRUE_WORDS).to_numpy(dtype=bool)


def _unread_booleans(column: pd.Series, name: str, src: str, source_row: np.ndarray) -> list[str]:
    """A note on values of a boolean column that are neither true nor false (read as false)."""
    word = column.astype("string").fillna("").str.strip().str.lower()
    odd = ~word.isin(TRUE_WORDS + FALSE_WORDS).to_numpy(dtype=bool)
    if not odd.any():
        return []
    rows = source_row[odd]
    return [(f"{src}: column '{name}': {int(odd.sum()):,} row(s) neither true nor false (first: row {rows[0]}), "
             "read as not laundering. Fix: write true or false there to keep the label")]


def _alert_ids(column: pd.Series, src: str, source_row: np.ndarray) -> tuple[pd.Series, list[str]]:
    """``alert_id`` as whole numbers (empty: -1) when every value is one, else as given."""
    text = column.astype("string").fillna("").str.strip()
    number = pd.to_numeric(text.mask(text == "", "-1"), errors="coerce")
    whole = number.notna() & (number == number.round()) & (number.abs() < 2 ** 53)
    if whole.all():
        return number.astype(np.int64), []
    rows = source_row[~whole.to_numpy(dtype=bool)]
    return text, [(f"{src}: column 'alert_id' kept as text, as given: {len(rows):,} row(s) hold an id that is "
                   f"not a whole number (first: row {rows[0]})")]


def _step_numbers(values: pd.Series) -> pd.Series:
    """Whole non-negative step numbers; NaN elsewhere."""
    step = pd.to_numeric(values.astype("string").str.strip(), errors="coerce")
    return step.where((step >= 0) & (step == step.round()))


def _step_timestamps(step: pd.Series, start_date: str, steps_as: str, calendar: BusinessCalendar) -> pd.Series:
    valid = step.notna()
    days = pd.Series(pd.NaT, index=step.index, dtype="datetime64[ns]")
    if not valid.any():
        return days
    s = step[valid].astype(np.int64).to_numpy()
    start = np.datetime64(start_date, "D")
    if steps_as == "business_days":
        horizon = start + int(s.max()) * 2 + 30
        bdays = calendar.business_days(start, horizon)
        days[valid] = bdays[s].astype("datetime64[ns]")
    else:
        days[valid] = (start + s).astype("datetime64[ns]")
    # unparseable steps stay NaT and the row is rejected as BAD_TIMESTAMP
    return days


def read_amlsim(folder: str | Path, start_date: str = "2018-01-02", steps_as: str = "business_days",
                currency: str = "CNY", calendar: BusinessCalendar | None = None,
                timestamp_format: str | None = None, encoding: str | None = None,
                delimiter: str | None = None, rates: RateTable | None = None,
                bank_timezone: str = BANK_TIMEZONE) -> Dataset:
    """Read an AMLSim output folder into the canonical tables.

    Parameters
    ----------
    folder : path
        Holds ``transactions.csv`` and ``nodes.csv`` (samples) or ``accounts.csv`` (full).
    start_date : str
        The date of step 0 (YYYY-MM-DD), for step numbers.
    steps_as : {"business_days", "calendar_days"}
        How a step becomes a date (module docstring).
    currency : str
        Currency to assign to the (unit-less) amounts.
    calendar : BusinessCalendar, optional
        Default: the PRC calendar.
    timestamp_format : str, optional
        ``strftime`` format of a date-and-time ``tran_timestamp``; default ISO 8601. Only
        for such files: where the file counts steps it is a ConfigError.
    encoding, delimiter : str, optional
        See :func:`~flowgraph.io.csvfile.read_csv_table`.
    rates : RateTable, optional
        Exchange rates for the amounts (in ``currency``); default the package's small table.
    bank_timezone : str
        The rule set's time zone: a date-and-time ``tran_timestamp`` with a UTC offset is
        converted into it (default Asia/Shanghai). Steps are the bank's days already.

    Returns
    -------
    Dataset
        Transactions (with ``step`` where the file counts steps, and ``is_laundering``,
        ``alert_id``, ``tx_type`` in the full layout); accounts with ``is_laundering``
        (the account label) and, for the samples, ``fraud_step``.

    Raises
    ------
    ConfigError
        ``start_date`` is not a date or ``steps_as`` is unknown; ``timestamp_format`` for
        a file that counts steps.
    DataError
        The folder lacks a file, or a file lacks a column.
    """
    folder = Path(folder)
    if steps_as not in STEP_UNITS:
        raise ConfigError(f"AMLSim step unit {steps_as!r}: use one of {list(STEP_UNITS)} "
                          "(command line: --amlsim-step-unit).")
    try:
        start = str(np.datetime64(str(start_date), "D"))
    except ValueError:
        raise ConfigError(f"AMLSim start date {start_date!r}: write it as YYYY-MM-DD, e.g. 2018-01-02 "
                          "(command line: --amlsim-start).") from None
    steps = {"start_date": start, "steps_as": steps_as, "calendar": calendar or prc_calendar()}
    csv_options = {"encoding": encoding, "delimiter": delimiter}
    txn_path = folder / "transactions.csv"
    if not txn_path.exists():
        raise DataError(f"{folder}: no transactions.csv. Fix: point at an AMLSim output folder.")
    raw = read_raw(txn_path, "csv", **csv_options)
    columns = raw.frame.columns
    if all(c in columns for c in SAMPLE_TXN_COLUMNS):
        _refuse_timestamp_format(timestamp_format, txn_path, "time")
        return _read_sample(folder, raw, str(txn_path), currency, rates, steps, csv_options)
    if all(c in columns for c in FULL_TXN_COLUMNS):
        return _read_full(folder, raw, str(txn_path), currency, rates, steps, timestamp_format, csv_options,
                          bank_timezone)
    raise DataError(f"{txn_path}: not an AMLSim transactions file; expected columns "
                    f"{list(SAMPLE_TXN_COLUMNS)} or {list(FULL_TXN_COLUMNS)}, found {list(columns)}.")


def _refuse_timestamp_format(timestamp_format: str | None, txn_path: Path, column: str) -> None:
    """A format for dates, given for a file that counts steps, would change nothing."""
    if timestamp_format:
        raise ConfigError(f"{txn_path}: column '{column}' counts steps, not dates, so --timestamp-format "
                          f"{timestamp_format!r} (timestamp_format=) would change nothing. Fix: leave it out; "
                          "--amlsim-start and --amlsim-step-unit (start_date=, steps_as=) say which date a step is.")


def _steps_note(steps: dict) -> str:
    return f"step numbers read as {steps['steps_as'].replace('_', ' ')} from {steps['start_date']} (step 0)"


def _read_sample(folder, raw: RawTable, src, currency, rates, steps, csv_options) -> Dataset:
    table = raw.frame
    step = _step_numbers(table["time"])
    frame = pd.DataFrame({
        "txn_id": content_ids("amlsim-", [text_field(table["sourceNodeId"]), text_field(table["targetNodeId"]),
                                          number_field(table["value"]), number_field(table["time"])]),
        "timestamp": _step_timestamps(step, **steps),
        "src_account": table["sourceNodeId"],
        "dst_account": table["targetNodeId"],
        "amount": table["value"],
        "currency": currency,
        "channel": "transfer",
        "step": step,
    })
    txns = validate_transactions(frame, src, rates=rates, source_row=raw.source_row,
                                 malformed=raw.malformed, raw_values={"timestamp": table["time"]},
                                 reader_notes=raw.notes)
    txns.report.notes.append(_steps_note(steps))
    nodes_path = folder / "nodes.csv"
    if not nodes_path.exists():
        raise DataError(f"{folder}: no nodes.csv beside transactions.csv. Fix: copy it from the AMLSim output.")
    nodes_raw = read_raw(nodes_path, "csv", **csv_options)
    nodes = nodes_raw.frame
    missing = [c for c in SAMPLE_NODE_COLUMNS if c not in nodes.columns]
    if missing:
        raise DataError(f"{nodes_path}: column(s) {missing} missing; found {list(nodes.columns)}.")
    accounts = pd.DataFrame({
        "account_id": nodes["nodeid"],
        "is_laundering": pd.to_numeric(nodes["isFraud"], errors="coerce").fillna(0).astype(np.int8),
    })
    if "fraudStep" in nodes.columns:
        accounts["fraud_step"] = pd.to_numeric(nodes["fraudStep"], errors="coerce").fillna(-1).astype(np.int64)
    if "init_balance" in nodes.columns:
        accounts["init_balance"] = pd.to_numeric(nodes["init_balance"], errors="coerce")
    return Dataset(txns, validate_accounts(accounts, str(nodes_path), nodes_raw.source_row, nodes_raw.malformed,
                                           reader_notes=nodes_raw.notes))


def _read_full(folder, raw: RawTable, src, currency, rates, steps, timestamp_format, csv_options,
               bank_timezone: str) -> Dataset:
    table = raw.frame
    tx_type = (table["tx_type"].str.strip().str.upper() if "tx_type" in table.columns
               else pd.Series("", index=table.index))
    stamp = table["tran_timestamp"]
    step = _step_numbers(stamp)
    # AMLSim's own output writes dates; older or converted files write step numbers
    as_steps = 2 * int(step.notna().sum()) > int((stamp.str.strip() != "").sum())
    if as_steps:
        _refuse_timestamp_format(timestamp_format, Path(src), "tran_timestamp")
    frame = pd.DataFrame({
        "txn_id": table["tran_id"],
        "timestamp": _step_timestamps(step, **steps) if as_steps else stamp,
        "src_account": table["orig_acct"],
        "dst_account": table["bene_acct"],
        "amount": table["base_amt"],
        "currency": currency,
        "channel": np.where(tx_type.str.startswith("CASH"), "cash", "transfer"),
        "tx_type": tx_type,
    })
    if as_steps:
        frame["step"] = step
    notes = []
    labels = [c for c in TXN_LABEL_COLUMNS if c in table.columns]
    if labels:
        label = np.zeros(len(table), bool)
        for name in labels:
            label |= _is_true(table[name])
            notes += _unread_booleans(table[name], name, src, raw.source_row)
        frame["is_laundering"] = label.astype(np.int8)
        if labels != ["is_sar"]:
            notes.append(f"transaction label (is_laundering) read from {' or '.join(labels)}")
    if "alert_id" in table.columns:
        frame["alert_id"], alert_notes = _alert_ids(table["alert_id"], src, raw.source_row)
        notes += alert_notes
    txns = validate_transactions(frame, src, rates=rates, timestamp_format=timestamp_format,
                                 source_row=raw.source_row, malformed=raw.malformed,
                                 raw_values={"timestamp": stamp} if as_steps else None, reader_notes=raw.notes,
                                 bank_timezone=bank_timezone)
    if as_steps:
        txns.report.notes.append(_steps_note(steps))
    txns.report.notes.extend(notes)
    acct_path = folder / "accounts.csv"
    if not acct_path.exists():
        raise DataError(f"{folder}: no accounts.csv beside transactions.csv. Fix: copy it from the AMLSim output.")
    accts_raw = read_raw(acct_path, "csv", **csv_options)
    accts = accts_raw.frame
    if "acct_id" not in accts.columns:
        raise DataError(f"{acct_path}: column 'acct_id' missing; found {list(accts.columns)}.")
    label = np.zeros(len(accts), bool)
    notes = []
    for flag in ("prior_sar_count", *TXN_LABEL_COLUMNS):
        if flag in accts.columns:
            label |= _is_true(accts[flag])
            notes += _unread_booleans(accts[flag], flag, str(acct_path), accts_raw.source_row)
    alert_path = folder / "alert_accounts.csv"
    if alert_path.exists():
        alerts_raw = read_raw(alert_path, "csv", **csv_options)
        alerts = alerts_raw.frame
        notes += [f"{alert_path}: {note}" for note in alerts_raw.notes]  # its own report has none
        if "acct_id" not in alerts.columns:
            raise DataError(f"{alert_path}: column 'acct_id' missing; found {list(alerts.columns)}.")
        flags = [c for c in TXN_LABEL_COLUMNS if c in alerts.columns]
        if flags:  # AMLSim also plants alerts that are not laundering
            notes += [n for flag in flags for n in _unread_booleans(alerts[flag], flag, str(alert_path),
                                                                   alerts_raw.source_row)]
            alerts = alerts[np.logical_or.reduce([_is_true(alerts[flag]) for flag in flags])]
        # the ids as validation reads them (flowgraph.schema.id_text), on both sides
        alerted = id_text(alerts["acct_id"]).combine_chunks().drop_null()
        label |= pc.fill_null(pc.is_in(id_text(accts["acct_id"]), value_set=alerted), False).to_numpy()
        if len(alerts_raw.malformed):
            notes.append(f"{alert_path}: {len(alerts_raw.malformed):,} malformed line(s) ignored (rows "
                         f"{alerts_raw.malformed.source_row.tolist()[:10]}); their accounts may lack a label")
    accounts = pd.DataFrame({"account_id": accts["acct_id"], "is_laundering": label.astype(np.int8)})
    if "customer_id" in accts.columns:
        accounts["customer_id"] = accts["customer_id"]
    validated = validate_accounts(accounts, str(acct_path), accts_raw.source_row, accts_raw.malformed,
                                  reader_notes=accts_raw.notes)
    validated.report.notes.extend(notes)
    return Dataset(txns, validated)

"""Adapter for IBM AMLSim output (github.com/IBM/AMLSim).

Two layouts are recognised in a folder:

- the published samples: ``transactions.csv`` (``sourceNodeId, targetNodeId, value,
  time``) and ``nodes.csv`` (``nodeid, isFraud, init_balance, fraudStep``): labels are
  per account;
- the full simulator output: ``transactions.csv`` (``tran_id, orig_acct, bene_acct,
  tx_type, base_amt, tran_timestamp, is_sar, alert_id``), ``accounts.csv`` (``acct_id``
  …) and optionally ``alert_accounts.csv`` (``alert_id, alert_type, acct_id`` …):
  labels per transaction and per account.

AMLSim counts time in steps (one step is one day). With ``steps_as="business_days"``
(the default) step *t* becomes the *t*-th business day after ``start_date``, so each step
stays its own business day; ``"calendar_days"`` adds *t* days, and weekend steps then
roll onto the next business day like any weekend transaction. AMLSim amounts are small
(hundreds of units): scale the thresholds (``RuleSet.scaled``) before scanning.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..calendar import BusinessCalendar, prc_calendar
from ..errors import DataError
from ..schema import validate_accounts, validate_transactions
from .readers import Dataset, read_raw

SAMPLE_TXN_COLUMNS = ("sourceNodeId", "targetNodeId", "value", "time")
SAMPLE_NODE_COLUMNS = ("nodeid", "isFraud")
FULL_TXN_COLUMNS = ("tran_id", "orig_acct", "bene_acct", "base_amt", "tran_timestamp")


def _step_timestamps(steps: pd.Series, start_date: str, steps_as: str,
                     calendar: BusinessCalendar, source: str) -> pd.Series:
    step = pd.to_numeric(steps, errors="coerce")
    valid = step.notna() & (step >= 0) & (step == step.round())
    days = pd.Series(pd.NaT, index=steps.index, dtype="datetime64[ns]")
    if not valid.any():
        return days
    s = step[valid].astype(np.int64).to_numpy()
    start = np.datetime64(start_date, "D")
    if steps_as == "business_days":
        horizon = start + int(s.max()) * 2 + 30
        bdays = calendar.business_days(start, horizon)
        days[valid] = bdays[s].astype("datetime64[ns]")
    elif steps_as == "calendar_days":
        days[valid] = (start + s).astype("datetime64[ns]")
    else:
        raise DataError(f"{source}: steps_as must be 'business_days' or 'calendar_days', got {steps_as!r}")
    # unparseable steps stay NaT and the row is rejected as BAD_TIMESTAMP
    return days


def read_amlsim(folder: str | Path, start_date: str = "2018-01-02", steps_as: str = "business_days",
                currency: str = "CNY", calendar: BusinessCalendar | None = None) -> Dataset:
    """Read an AMLSim output folder into the canonical tables.

    Parameters
    ----------
    folder : path
        Holds ``transactions.csv`` and ``nodes.csv`` (samples) or ``accounts.csv`` (full).
    start_date : str
        The date of step 0.
    steps_as : {"business_days", "calendar_days"}
        How a step becomes a date (module docstring).
    currency : str
        Currency to assign to the (unit-less) amounts.
    calendar : BusinessCalendar, optional
        Default: the PRC calendar.

    Returns
    -------
    Dataset
        Transactions with ``step`` (and ``is_laundering``, ``alert_id`` in the full
        layout); accounts with ``is_laundering`` (the account label) and, for the
        samples, ``fraud_step``.
    """
    folder = Path(folder)
    calendar = calendar or prc_calendar()
    txn_path = folder / "transactions.csv"
    if not txn_path.exists():
        raise DataError(f"{folder}: no transactions.csv. Fix: point at an AMLSim output folder.")
    raw = read_raw(txn_path, "csv")
    src = str(txn_path)
    if all(c in raw.columns for c in SAMPLE_TXN_COLUMNS):
        return _read_sample(folder, raw, src, start_date, steps_as, currency, calendar)
    if all(c in raw.columns for c in FULL_TXN_COLUMNS):
        return _read_full(folder, raw, src, start_date, steps_as, currency, calendar)
    raise DataError(f"{txn_path}: not an AMLSim transactions file; expected columns "
                    f"{list(SAMPLE_TXN_COLUMNS)} or {list(FULL_TXN_COLUMNS)}, found {list(raw.columns)}.")


def _read_sample(folder, raw, src, start_date, steps_as, currency, calendar) -> Dataset:
    n = len(raw)
    frame = pd.DataFrame({
        "txn_id": "amlsim-" + pd.Series(np.arange(1, n + 1)).astype(str),
        "timestamp": _step_timestamps(raw["time"], start_date, steps_as, calendar, src),
        "src_account": raw["sourceNodeId"],
        "dst_account": raw["targetNodeId"],
        "amount": raw["value"],
        "currency": currency,
        "channel": "transfer",
        "step": pd.to_numeric(raw["time"], errors="coerce"),
    })
    txns = validate_transactions(frame, src)
    nodes_path = folder / "nodes.csv"
    if not nodes_path.exists():
        raise DataError(f"{folder}: no nodes.csv beside transactions.csv. Fix: copy it from the AMLSim output.")
    nodes = read_raw(nodes_path, "csv")
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
    return Dataset(txns, validate_accounts(accounts, str(nodes_path)))


def _read_full(folder, raw, src, start_date, steps_as, currency, calendar) -> Dataset:
    tx_type = raw["tx_type"].str.strip().str.upper() if "tx_type" in raw.columns else pd.Series("", index=raw.index)
    frame = pd.DataFrame({
        "txn_id": raw["tran_id"],
        "timestamp": _step_timestamps(raw["tran_timestamp"], start_date, steps_as, calendar, src),
        "src_account": raw["orig_acct"],
        "dst_account": raw["bene_acct"],
        "amount": raw["base_amt"],
        "currency": currency,
        "channel": np.where(tx_type.str.startswith("CASH"), "cash", "transfer"),
        "step": pd.to_numeric(raw["tran_timestamp"], errors="coerce"),
        "tx_type": tx_type,
    })
    if "is_sar" in raw.columns:
        frame["is_laundering"] = raw["is_sar"].str.strip().str.lower().isin(["true", "1"]).astype(np.int8)
    if "alert_id" in raw.columns:
        frame["alert_id"] = pd.to_numeric(raw["alert_id"], errors="coerce").fillna(-1).astype(np.int64)
    txns = validate_transactions(frame, src)
    acct_path = folder / "accounts.csv"
    if not acct_path.exists():
        raise DataError(f"{folder}: no accounts.csv beside transactions.csv. Fix: copy it from the AMLSim output.")
    accts_raw = read_raw(acct_path, "csv")
    if "acct_id" not in accts_raw.columns:
        raise DataError(f"{acct_path}: column 'acct_id' missing; found {list(accts_raw.columns)}.")
    label = np.zeros(len(accts_raw), np.int8)
    alert_path = folder / "alert_accounts.csv"
    if alert_path.exists():
        alerts = read_raw(alert_path, "csv")
        if "acct_id" not in alerts.columns:
            raise DataError(f"{alert_path}: column 'acct_id' missing; found {list(alerts.columns)}.")
        label |= accts_raw["acct_id"].str.strip().isin(set(alerts["acct_id"].str.strip())).to_numpy()
    if "is_sar" in accts_raw.columns:
        label |= accts_raw["is_sar"].str.strip().str.lower().isin(["true", "1"]).to_numpy()
    accounts = pd.DataFrame({"account_id": accts_raw["acct_id"], "is_laundering": label.astype(np.int8)})
    if "customer_id" in accts_raw.columns:
        accounts["customer_id"] = accts_raw["customer_id"]
    return Dataset(txns, validate_accounts(accounts, str(acct_path)))

"""Adapter for IBM AMLworld CSV files (Altman et al., "Realistic synthetic financial
transactions for anti-money laundering models", 2023; e.g. ``HI-Small_Trans.csv``).

Columns: ``Timestamp, From Bank, Account, To Bank, Account, Amount Received, Receiving
Currency, Amount Paid, Payment Currency, Payment Format, Is Laundering``. The second
``Account`` column is the receiver's. Mapping choices:

- account id = ``"<bank>:<account>"`` (account numbers are unique within a bank);
- amount and currency = what the sender paid (``Amount Paid``, ``Payment Currency``);
  the received side is kept in ``amount_received`` / ``receiving_currency``;
- channel: ``Cash`` -> cash; a payment whose paid and received currencies differ ->
  cross_border; every other format (ACH, Cheque, Credit Card, Wire, Reinvestment,
  Bitcoin) -> transfer; the original is kept in ``payment_format``;
- ``is_laundering`` from the label (``1`` laundering, ``0`` not; a value that is not a
  number is read as 0, and the validation report's notes count those rows, naming the
  first);
- ``txn_id``: the file has no ids, so each row's id is made from its content
  (:mod:`flowgraph.io.rowids`): ``"AW-"`` and a digest of its timestamp, both accounts,
  both amounts (as numbers) and currencies and its payment format, with ``-2``, ``-3``, ...
  after the digest for the second, third, ... identical row of the file. The label is not
  part of it (a corrected label replaces the transaction rather than adding one); rows
  that differ only in their label are numbered label 0 first. So the same row always gets
  the same id, whatever its row number: re-ingesting a file adds nothing, and pieces of a
  file ingested one after another into a store (``flowgraph ingest part1.csv --into
  STORE``, then ``part2.csv``) add up to the whole file. The one limit: identical rows
  split across two pieces get the same id, so the store keeps one of them (ingest counts
  the second piece's copy "unchanged", or "replaced" where only the label differs, not
  "new"); cut a file between days, or keep such repeats in one piece.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import DataError
from ..money import RateTable
from ..schema import accounts_from_transactions, validate_accounts, validate_transactions
from .readers import Dataset, read_raw
from .rowids import content_ids, number_field, text_field

AMLWORLD_COLUMNS = ("Timestamp", "From Bank", "Account", "To Bank", "Account.1", "Amount Received",
                    "Receiving Currency", "Amount Paid", "Payment Currency", "Payment Format",
                    "Is Laundering")

#: AMLworld currency names -> ISO 4217 (BTC for Bitcoin, as exchanges write it).
CURRENCY_CODES = {
    "US Dollar": "USD", "Euro": "EUR", "Yuan": "CNY", "Yen": "JPY", "UK Pound": "GBP",
    "Swiss Franc": "CHF", "Canadian Dollar": "CAD", "Australian Dollar": "AUD", "Rupee": "INR",
    "Ruble": "RUB", "Mexican Peso": "MXN", "Brazil Real": "BRL", "Saudi Riyal": "SAR",
    "Shekel": "ILS", "Bitcoin": "BTC",
}

AMLWORLD_TIMESTAMP_FORMAT = "%Y/%m/%d %H:%M"


def read_amlworld(path: str | Path, rates: RateTable | None = None, encoding: str | None = None,
                  delimiter: str | None = None) -> Dataset:
    """Read an AMLworld transactions CSV into the canonical tables.

    Parameters
    ----------
    path : path
        An AMLworld ``*_Trans.csv`` file.
    rates : RateTable, optional
        Rates for the AMLworld currencies; the package default covers all fifteen with
        illustrative values.
    encoding, delimiter : str, optional
        See :func:`~flowgraph.io.csvfile.read_csv_table` (the published files are UTF-8
        with commas).

    Returns
    -------
    Dataset
        Validated transactions (with ``is_laundering``) and derived accounts.
    """
    path = Path(path)
    table = read_raw(path, "csv", encoding, delimiter, duplicate_columns="number")
    raw = table.frame
    missing = [c for c in AMLWORLD_COLUMNS if c not in raw.columns]
    if missing:
        raise DataError(f"{path}: not an AMLworld transactions file: column(s) {missing} are "
                        f"missing (it has {list(raw.columns)}). Fix: pass the *_Trans.csv file, "
                        "or read it with read_transactions and a column mapping.")
    def account(bank: str, acct: str) -> pd.Series:
        b, a = raw[bank].str.strip(), raw[acct].str.strip()
        return (b + ":" + a).where((a != "") | (b != ""), "")

    paid_cur = raw["Payment Currency"].str.strip()
    recv_cur = raw["Receiving Currency"].str.strip()
    fmt = raw["Payment Format"].str.strip()
    channel = np.where(fmt.str.lower() == "cash", "cash",
                       np.where(paid_cur != recv_cur, "cross_border", "transfer"))
    label = pd.to_numeric(raw["Is Laundering"].astype("string").str.strip(), errors="coerce")
    src, dst = account("From Bank", "Account"), account("To Bank", "Account.1")
    # unmapped names stay as they are, so the rejects file shows what was there
    paid_code, recv_code = paid_cur.map(CURRENCY_CODES).fillna(paid_cur), recv_cur.map(CURRENCY_CODES).fillna(recv_cur)
    txn_id = content_ids("AW-", [text_field(raw["Timestamp"]), src, dst, number_field(raw["Amount Paid"]), paid_code,
                                 number_field(raw["Amount Received"]), recv_code, fmt],
                         order_by=raw["Is Laundering"])
    frame = pd.DataFrame({
        "txn_id": txn_id,
        "timestamp": raw["Timestamp"],
        "src_account": src,
        "dst_account": dst,
        "amount": raw["Amount Paid"],
        "currency": paid_code,
        "channel": channel,
        "amount_received": pd.to_numeric(raw["Amount Received"], errors="coerce"),
        "receiving_currency": recv_code,
        "payment_format": fmt,
        "is_laundering": label.fillna(0).astype(np.int8),
    })
    txns = validate_transactions(frame, str(path), rates=rates, timestamp_format=AMLWORLD_TIMESTAMP_FORMAT,
                                 source_row=table.source_row, malformed=table.malformed, reader_notes=table.notes)
    odd = label.isna().to_numpy()
    if odd.any():
        txns.report.notes.append(f"{path}: column 'Is Laundering': {int(odd.sum()):,} row(s) not a number (first: "
                                 f"row {table.source_row[odd][0]}), read as not laundering. Fix: write 0 or 1 there "
                                 "to keep the label")
    accts = validate_accounts(accounts_from_transactions(txns.table), f"{path} (accounts derived)")
    return Dataset(txns, accts)

"""Tiny hand-built banks for the investigator's desk tests: rows to tables, one scan per
test module, and a copy of its run store (and kept case transactions) per test."""

import shutil
import sqlite3
from pathlib import Path

import pandas as pd

from flowgraph.io import load_dataset
from flowgraph.scan import run_scan

COLUMNS = ["txn_id", "timestamp", "src_account", "dst_account", "amount", "currency", "channel"]


def bank_tables(rows: list[tuple]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Transactions (:data:`COLUMNS`) and their accounts: account X belongs to customer CUX,
    a person."""
    accounts = sorted({a for r in rows for a in r[2:4] if a})
    return pd.DataFrame(rows, columns=COLUMNS), pd.DataFrame({
        "account_id": accounts, "customer_id": [f"CU{a}" for a in accounts], "party_type": "person"})


def scan_bank(folder: Path, rows: list[tuple]) -> Path:
    """Write the bank as CSV files into ``folder`` and scan it into ``folder/out``."""
    tx, accounts = bank_tables(rows)
    tx.to_csv(folder / "tx.csv", index=False)
    accounts.to_csv(folder / "accounts.csv", index=False)
    run_scan(load_dataset(folder / "tx.csv", accounts=folder / "accounts.csv"), folder / "out", progress=False)
    return folder


def copy_store(scanned: Path, into: Path) -> Path:
    """A copy of a scanned bank's run store and its case transactions: what a test writes
    (dispositions, audit rows) stays in the test."""
    path = into / "store.sqlite"
    src, dst = sqlite3.connect(scanned / "out" / "store.sqlite"), sqlite3.connect(path)
    src.backup(dst)
    src.close(), dst.close()
    shutil.copytree(scanned / "out" / "store.sqlite.cases", into / "store.sqlite.cases")
    return path

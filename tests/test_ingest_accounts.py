"""Accounts derived from transactions (an ingest without --accounts) never change a store's
accounts that came from an accounts file (sweep A, repro 1).

An account the accounts file lists is the bank's; one it does not list, seen only beside a
listed one, is another bank's (flowgraph.graph, "Which accounts are the bank's own").
Derived accounts list every account as its own customer, so storing them in such a store
made every counterparty a monitored customer. The hand-built bank: on Monday 2 November
2026 A1 (a person) pays 600,000 CNY to EXT1 at another bank (T1) and A2 pays A1 100 (T2);
A2 pays A3 (an entity) 50 on the 3rd (T3) and A3 pays A2 10 on the 4th (T4); on the 5th
1,000 in cash goes into A4 (T5). The accounts file lists A1..A4, not EXT1. Counted by hand:
one large-value hit, T1 on A1 (LV-PERSON, 500,000); with every account the bank's (derived
accounts) EXT1, a person by default, receives it as well, a second hit on EXT1.
"""

import json
import sqlite3

import pandas as pd

from flowgraph.cli import main
from flowgraph.txstore import TransactionStore

COLUMNS = ["txn_id", "timestamp", "src_account", "dst_account", "amount", "currency", "channel"]
ROWS = [("T1", "2026-11-02 10:00:00", "A1", "EXT1", 600_000, "CNY", "transfer"),
        ("T2", "2026-11-02 11:00:00", "A2", "A1", 100, "CNY", "transfer"),
        ("T3", "2026-11-03 10:00:00", "A2", "A3", 50, "CNY", "transfer"),
        ("T4", "2026-11-04 10:00:00", "A3", "A2", 10, "CNY", "transfer"),
        ("T5", "2026-11-05 10:00:00", "", "A4", 1_000, "CNY", "cash")]
#: the bank's accounts file; A4 listed as the derived accounts list it (its own customer, no
#: party type): the days only A4 traded on keep their hits when the file replaces them
ACCOUNTS = [("A1", "CA1", "person"), ("A2", "CA2", "person"), ("A3", "CA3", "entity"), ("A4", "A4", "")]


def _files(folder) -> tuple[str, str]:
    pd.DataFrame(ROWS, columns=COLUMNS).to_csv(folder / "tx.csv", index=False)
    pd.DataFrame(ACCOUNTS, columns=["account_id", "customer_id", "party_type"]).to_csv(folder / "acc.csv",
                                                                                       index=False)
    return str(folder / "tx.csv"), str(folder / "acc.csv")


def _ingest(capsys, store, transactions: str, accounts: str | None = None) -> str:
    args = ["ingest", transactions, "--into", str(store)] + (["--accounts", accounts] if accounts else [])
    assert main(args) == 0, capsys.readouterr()
    return capsys.readouterr().out


def _scan(capsys, store, run, *first) -> dict:
    assert main(["scan", str(store), *first, "--out", str(run)]) == 0, capsys.readouterr()
    capsys.readouterr()
    with sqlite3.connect(run / "store.sqlite") as db:
        return {r[0]: r[1:] for r in db.execute("SELECT hit_id, typology, subject, content FROM hits")}


def _subjects(hits: dict) -> set:
    return {(typology, subject) for typology, subject, _ in hits.values()}


def _snapshots(store) -> list[str]:
    return sorted(p.stem for p in (store / "accounts").glob("*.parquet"))


def test_a_file_ingested_again_without_accounts_keeps_the_stored_accounts_and_the_hits(tmp_path, capsys):
    transactions, accounts = _files(tmp_path)
    store = tmp_path / "store"
    _ingest(capsys, store, transactions, accounts)
    before = _scan(capsys, store, tmp_path / "run1")
    assert _subjects(before) == {("large_value_single", "A1")}

    # the same file again, as a daily feed without an accounts file
    out = _ingest(capsys, store, transactions)
    assert "0 new, 0 replaced, 5 unchanged rows; 0 days written" in out
    assert f"accounts: kept the snapshot of ingest 000001 (from {accounts}); derived accounts not stored" in out
    assert "re-scan" not in out
    assert json.loads((store / "rescan.json").read_text())["days"] == []
    assert _snapshots(store) == ["000001"]
    manifest = json.loads((store / "ingests" / "000002" / "manifest.json").read_text())
    assert manifest["accounts_kept"] and manifest["accounts_snapshot"]["ingest"] == "000001"
    assert _scan(capsys, store, tmp_path / "run2") == before

    # the next day's feed without accounts, paying another bank's account: still the file's accounts
    pd.DataFrame([("T6", "2026-11-06 10:00:00", "A2", "EXT2", 20, "CNY", "transfer")],
                 columns=COLUMNS).to_csv(tmp_path / "next.csv", index=False)
    out = _ingest(capsys, store, str(tmp_path / "next.csv"))
    assert "accounts: kept the snapshot of ingest 000001" in out and _snapshots(store) == ["000001"]
    assert set(TransactionStore(store).accounts().column("account_id").to_pylist()) == {"A1", "A2", "A3", "A4"}


def test_an_accounts_file_replaces_derived_accounts_and_marks_the_days_it_changes(tmp_path, capsys):
    transactions, accounts = _files(tmp_path)
    store = tmp_path / "store"
    out = _ingest(capsys, store, transactions)  # a store that never had an accounts file: every account the bank's
    assert "accounts: derived from the transactions (the store has no accounts file" in out
    derived = _scan(capsys, store, tmp_path / "run")
    assert _subjects(derived) == {("large_value_single", "A1"), ("large_value_single", "EXT1")}

    out = _ingest(capsys, store, transactions, accounts)
    # EXT1 no longer listed, A1..A3 another customer or party type: the days they traded on
    assert (f"accounts: {accounts} replaces the accounts derived from transactions (the snapshot of ingest "
            "000001); 4 stored account(s) changed or no longer listed") in out
    assert "days to re-scan (their stored data changed): 2026-11-02, 2026-11-03, 2026-11-04." in out
    assert f"flowgraph scan {store} --from 2026-11-02 --out RUN" in out
    assert json.loads((store / "rescan.json").read_text())["days"] == ["2026-11-02", "2026-11-03", "2026-11-04"]
    stored = TransactionStore(store).accounts().to_pandas()
    assert sorted(stored["account_id"]) == ["A1", "A2", "A3", "A4"]  # the file's, the derived rows gone

    # the printed re-scan brings the run store to the hits of a store made with the file
    rescanned = _scan(capsys, store, tmp_path / "run", "--from", "2026-11-02")
    fresh = tmp_path / "fresh"
    _ingest(capsys, fresh, transactions, accounts)
    assert rescanned == _scan(capsys, fresh, tmp_path / "run-fresh")
    assert _subjects(rescanned) == {("large_value_single", "A1")}

    # from now on derived accounts are not stored
    out = _ingest(capsys, store, transactions)
    assert f"accounts: kept the snapshot of ingest 000002 (from {accounts})" in out
    assert _snapshots(store) == ["000001", "000002"]

"""report-draft after the transaction store a scan read was moved: the large-value reports
read their transactions from the store's days, and the run store recorded the store's
absolute path only, so a moved store quietly gave reports without transaction date,
direction, channel and counterparties, deadlines counted from the business day (later,
for a weekend's deposit), and a basis blaming the run store ("not kept in this store").
Now the store is also found relative to the run store, else given with --txstore, and
until then stderr and the deadline basis name the missing store and the fix."""

import shutil

import pandas as pd
import pytest

from flowgraph.cli import main

TX = ["txn_id", "timestamp", "src_account", "dst_account", "amount", "channel"]


@pytest.fixture
def scanned(tmp_path, capsys):
    """A transaction store with large cash deposits (one on a Saturday, 2024-10-19, whose
    business day is Monday 2024-10-21) scanned into ``bank/run``; the drafts before any move."""
    rows = [("t1", "2024-10-15 10:00:00", "", "A1", 60_000, "cash"),
            ("t2", "2024-10-19 11:00:00", "", "A2", 70_000, "cash"),
            ("t3", "2024-10-21 09:00:00", "A1", "A2", 1_000, "transfer"),
            ("t4", "2024-10-22 09:00:00", "A2", "A1", 1_000, "transfer")]
    bank = tmp_path / "bank"
    bank.mkdir()
    pd.DataFrame(rows, columns=TX).to_csv(tmp_path / "tx.csv", index=False)
    pd.DataFrame([("A1", "C1", "person"), ("A2", "C2", "person")],
                 columns=["account_id", "customer_id", "party_type"]).to_csv(tmp_path / "acc.csv", index=False)
    assert main(["ingest", str(tmp_path / "tx.csv"), "--accounts", str(tmp_path / "acc.csv"),
                 "--into", str(bank / "store")]) == 0
    assert main(["scan", str(bank / "store"), "--out", str(bank / "run")]) == 0
    before = _draft(bank / "run", tmp_path / "before")
    assert len(before) == 2 and before["transaction_date"].tolist() == ["2024-10-15", "2024-10-19"]
    capsys.readouterr()
    return bank, before


def _draft(run, out, *options) -> pd.DataFrame:
    assert main(["report-draft", "--store", str(run / "store.sqlite"), "--out", str(out), "--today", "2024-10-23",
                 *options]) == 0
    return pd.read_csv(out / "large-value-reports.csv", keep_default_na=False)


def test_a_store_moved_with_its_run_store_is_found_relative_to_it(scanned, tmp_path):
    bank, before = scanned
    shutil.move(bank, tmp_path / "migrated")
    pd.testing.assert_frame_equal(_draft(tmp_path / "migrated" / "run", tmp_path / "after"), before)


def test_a_store_moved_alone_is_named_with_its_fix_and_found_with_txstore(scanned, tmp_path, capsys):
    bank, before = scanned
    shutil.move(bank / "store", tmp_path / "store_migrated")
    lost = _draft(bank / "run", tmp_path / "lost")
    err = capsys.readouterr().err
    assert err.count(f"transaction store {bank / 'store'}") == 1 and "--txstore NEW_PATH" in err
    assert "2 large-value report(s) could not read their transactions" in err
    # no report is drafted as if nothing were wrong: each says which store is missing
    assert lost["deadline_basis"].str.contains(f"transaction store {bank / 'store'}, which is not there").all()
    assert not lost["deadline_basis"].str.contains("not kept in this store").any()
    assert lost["transaction_date"].eq("").all()

    found = _draft(bank / "run", tmp_path / "found", "--txstore", str(tmp_path / "store_migrated"))
    assert capsys.readouterr().err == ""
    pd.testing.assert_frame_equal(found, before)


def test_txstore_that_is_not_a_transaction_store(scanned, tmp_path, capsys):
    bank, _ = scanned
    assert main(["report-draft", "--store", str(bank / "run" / "store.sqlite"), "--out", str(tmp_path / "x"),
                 "--txstore", str(tmp_path / "nowhere")]) == 2
    err = capsys.readouterr().err
    assert "--txstore" in err and "nowhere" in err and "Traceback" not in err

"""A transaction store whose day folder holds another day's rows (a day file restored or
copied into the wrong partition) is refused when it is read, naming the folder and the
fix, instead of scanning the rows on the wrong day, or twice (the same transactions in two
day files made the same hits twice, and the scan ended in a traceback of the export)."""

import shutil

import pandas as pd
import pytest

from flowgraph.cli import main
from flowgraph.errors import DataError
from flowgraph.txstore import TransactionStore

TX = ["txn_id", "timestamp", "src_account", "dst_account", "amount"]


@pytest.fixture
def store(tmp_path, capsys):
    """Three days of a few transactions each, ingested with the command line."""
    rows = [(f"t{day}{n}", f"2024-10-{day:02d} {9 + n}:30:00", f"A{n}", f"A{n + 1}", 1000 * (n + 1))
            for day in (8, 9, 10) for n in range(3)]
    pd.DataFrame(rows, columns=TX).to_csv(tmp_path / "tx.csv", index=False)
    pd.DataFrame([(f"A{n}", f"C{n}", "person") for n in range(4)],
                 columns=["account_id", "customer_id", "party_type"]).to_csv(tmp_path / "acc.csv", index=False)
    store = tmp_path / "store"
    assert main(["ingest", str(tmp_path / "tx.csv"), "--accounts", str(tmp_path / "acc.csv"),
                 "--into", str(store)]) == 0
    capsys.readouterr()
    return store


def _misplace(store, source_day: str, target_day: str) -> None:
    days = store / "transactions"
    shutil.copyfile(days / f"day={source_day}" / "part.parquet", days / f"day={target_day}" / "part.parquet")


def test_a_day_file_copied_into_another_days_folder_stops_the_scan(store, tmp_path, capsys):
    _misplace(store, "2024-10-09", "2024-10-08")
    assert main(["scan", str(store), "--out", str(tmp_path / "run")]) == 3
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert "day=2024-10-08 holds transactions of 2024-10-09" in err
    assert "day=2024-10-09 holds" not in err  # the folder whose rows are of its day is not blamed
    assert "Fix: put the right day's file back" in err and "ingest the store's input files again" in err


def test_the_read_is_checked_whatever_columns_it_asks_for(store):
    _misplace(store, "2024-10-10", "2024-10-08")
    _misplace(store, "2024-10-10", "2024-10-09")
    txstore = TransactionStore.open(store)
    with pytest.raises(DataError, match="2 day folder.*day=2024-10-08 holds transactions of 2024-10-10; "
                                        "day=2024-10-09 holds transactions of 2024-10-10"):
        txstore.read_days("2024-10-08", "2024-10-10", ["txn_id", "amount"])
    # a read of the days whose files are their own is not stopped, and keeps only its columns
    assert txstore.read_days("2024-10-10", "2024-10-10", ["txn_id", "amount"]).column_names == ["txn_id", "amount"]


def test_a_day_file_holding_its_rows_twice_ends_in_a_message_not_a_traceback(tmp_path, capsys):
    """A day file written over with its rows twice (each row of its own day, so the day check
    passes): the 60,000 cash deposit is read twice and makes its large-value hit twice. The
    scan stops at the export with exit 3, the cause and the fix, and exports nothing (it was
    a ValueError's traceback)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    pd.DataFrame([("d1", "2024-10-08 10:00:00", "", "A1", 60_000), ("d2", "2024-10-09 10:00:00", "A1", "A2", 10)],
                 columns=TX).assign(channel=["cash", "transfer"]).to_csv(tmp_path / "tx.csv", index=False)
    store = tmp_path / "store"
    assert main(["ingest", str(tmp_path / "tx.csv"), "--into", str(store)]) == 0
    day = store / "transactions" / "day=2024-10-08" / "part.parquet"
    rows = pq.read_table(day)
    pq.write_table(pa.concat_tables([rows, rows]), day)
    capsys.readouterr()
    assert main(["scan", str(store), "--out", str(tmp_path / "run")]) == 3
    err = capsys.readouterr().err
    assert "were found twice" in err and "Fix:" in err and "Traceback" not in err
    assert not list((tmp_path / "run").glob("*.parquet")) and not (tmp_path / "run" / "manifest.json").exists()

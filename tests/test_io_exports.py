"""Exports from other systems (sweep B): Parquet BINARY ids in GBK, float32 amounts, a
spreadsheet's unnamed empty columns, an accounts file with its own column names, and a
repeated id whose first row is broken. Each is read the same whole and streamed."""

import json
import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from flowgraph.cli import main
from flowgraph.errors import DataError
from flowgraph.io import read_transactions
from flowgraph.schema import validate_accounts, validate_transactions
from test_ingest_stream import _assert_same_ingest, _streamed, _whole

NAMES = ["账户甲", "账户乙", "账户丙"]


def _error_line(capsys) -> str:
    """The one error message a failed command printed (no traceback)."""
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in err, err
    return errors[0]


def _ids_table(ids, id_type=pa.binary(), **more) -> pa.Table:
    """Three transfers A->B, B->C, C->A with ``ids`` (bytes or text) as account ids."""
    return pa.table({"txn_id": ["t1", "t2", "t3"], "timestamp": ["2024-09-02 10:00"] * 3,
                     "src_account": pa.array(ids, id_type), "dst_account": pa.array(ids[1:] + ids[:1], id_type),
                     "amount": [1.0, 2.0, 3.0], **more})


# -- 1. Parquet BINARY text in another encoding ------------------------------------------------

def test_binary_ids_in_gbk_are_read_with_the_encoding_as_text_ids_are(tmp_path):
    pq.write_table(_ids_table([n.encode("gbk") for n in NAMES]), tmp_path / "gbk.parquet")
    pq.write_table(_ids_table(NAMES, pa.string()), tmp_path / "text.parquet")
    from_bytes = read_transactions(tmp_path / "gbk.parquet", encoding="gb18030")
    from_text = read_transactions(tmp_path / "text.parquet")
    assert from_bytes.transactions.table.src_account.tolist() == NAMES
    pd.testing.assert_frame_equal(from_bytes.transactions.table, from_text.transactions.table)
    pd.testing.assert_frame_equal(from_bytes.accounts.table, from_text.accounts.table)
    # UTF-8 bytes need no option, as before
    pq.write_table(_ids_table([n.encode("utf-8") for n in NAMES]), tmp_path / "utf8.parquet")
    pd.testing.assert_frame_equal(read_transactions(tmp_path / "utf8.parquet").transactions.table,
                                  from_text.transactions.table)


def test_binary_ids_not_in_the_encoding_exit_3_naming_column_and_row(tmp_path, capsys):
    # src_account: ASCII (valid UTF-8), then GBK bytes from row 2; dst_account: GBK bytes on row 1. The first
    # row in the file is named, whole or in batches of one row
    ids = [b"A1", NAMES[1].encode("gbk"), NAMES[2].encode("gbk")]
    path = tmp_path / "hive.parquet"
    pq.write_table(_ids_table(ids, pa.large_binary()), path)
    for command in (["ingest", str(path), "--out", str(tmp_path / "o")],
                    ["scan", str(path), "--out", str(tmp_path / "s")],
                    ["ingest", str(path), "--into", str(tmp_path / "store"), "--batch-rows", "1"]):
        assert main(command) == 3
        err = _error_line(capsys)
        assert str(path) in err and "column 'dst_account', row 1" in err and "not valid utf-8" in err
        assert "--encoding gb18030" in err
    # the advice works
    assert main(["ingest", str(path), "--out", str(tmp_path / "o"), "--encoding", "gb18030"]) == 0
    assert pd.read_parquet(tmp_path / "o" / "transactions.parquet").src_account.tolist() == ["A1", *NAMES[1:]]
    # bytes that are not GB18030 either: the encoding given is named
    pq.write_table(_ids_table([b"A1", b"B2", b"\xff\xfe\xfd"], pa.binary()), path)
    assert main(["ingest", str(path), "--out", str(tmp_path / "o"), "--encoding", "gb18030"]) == 3
    err = _error_line(capsys)
    assert "column 'dst_account', row 2" in err and "not valid gb18030" in err and "ff fe fd" in err


def test_binary_accounts_and_untouched_binary_columns(tmp_path):
    pq.write_table(_ids_table([n.encode("gbk") for n in NAMES], digest=pa.array([b"\xff\x00", b"\x80", b""])),
                   tmp_path / "t.parquet")
    pq.write_table(pa.table({"account_id": pa.array([n.encode("gbk") for n in NAMES], pa.binary()),
                             "party_type": ["person", "entity", "person"]}), tmp_path / "a.parquet")
    ds = read_transactions(tmp_path / "t.parquet", accounts=tmp_path / "a.parquet", encoding="gbk")
    assert ds.accounts.table.account_id.tolist() == NAMES
    assert set(ds.transactions.table.src_account) <= set(ds.accounts.table.account_id)
    # a binary column validation does not read passes through as bytes, not decoded
    assert ds.transactions.table.digest.tolist() == [b"\xff\x00", b"\x80", b""]


def test_a_frame_of_undecodable_bytes_is_a_data_error_not_a_traceback():
    frame = _ids_table([b"A", b"\xd5\xcb", b"C"]).to_pandas()
    with pytest.raises(DataError, match=r"t\.parquet: column 'src_account', row 2: .*not UTF-8"):
        validate_transactions(frame, "t.parquet")
    with pytest.raises(DataError, match=r"column 'account_id', row 1"):
        validate_accounts(pd.DataFrame({"account_id": [b"\xd5\xcb"]}), "a.parquet")


# -- 2. float32 amounts -------------------------------------------------------------------------

def _amounts(path, amounts, dtype):
    n = len(amounts)
    pq.write_table(pa.table({"txn_id": [f"t{i}" for i in range(n)], "timestamp": ["2024-09-02 10:00"] * n,
                             "src_account": ["A"] * n, "dst_account": ["B"] * n,
                             "amount": pa.array(amounts, dtype)}), path)
    return path


def test_float32_amounts_that_lose_cents_exit_3_naming_the_row_and_the_fix(tmp_path, capsys):
    # 131,072 is the first float32 amount whose neighbours are more than a cent away
    amounts = [499.99, 131_071.99, 131_072.0, 499_999.99]
    path = _amounts(tmp_path / "f32.parquet", amounts, pa.float32())
    with pytest.raises(DataError) as err:
        read_transactions(path)
    message = str(err.value)
    assert str(path) in message and "column 'amount' is float32" in message and "row 3's" in message
    assert "float64" in message and "integer cents" in message
    for command in (["scan", str(path), "--out", str(tmp_path / "s")],
                    ["ingest", str(path), "--into", str(tmp_path / "store"), "--batch-rows", "1"]):
        assert main(command) == 3
        assert "row 3's" in _error_line(capsys)
    # the same amounts as float64 read exactly
    f64 = read_transactions(_amounts(tmp_path / "f64.parquet", amounts, pa.float64()))
    assert f64.transactions.table.amount.tolist() == amounts


def test_float32_amounts_below_131072_read_as_their_cents_with_a_note(tmp_path):
    amounts = [0.01, 499.99, 1_940.87, 49_999.99, 50_000.0, 131_071.99, 0.004]
    f32 = read_transactions(_amounts(tmp_path / "f32.parquet", amounts, pa.float32()))
    f64 = read_transactions(_amounts(tmp_path / "f64.parquet", amounts, pa.float64()))
    assert float(np.float32(49_999.99)) != 49_999.99  # not exact in float32: read to the cent
    pd.testing.assert_frame_equal(f32.transactions.table, f64.transactions.table)
    assert f32.transactions.table.amount.tolist() == amounts[:-1]
    assert f32.transactions.rejects.reason_codes.tolist() == ["AMOUNT_BELOW_ONE_CENT"]
    assert any("column 'amount' is float32" in n and "131,072" in n for n in f32.transactions.report.notes)
    assert not any("float" in n for n in f64.transactions.report.notes)


# -- 3. unnamed columns -------------------------------------------------------------------------

def _csv(extra_header: str = "", extra: str = "") -> str:
    """Five transfers, each line ending in ``extra`` (the header in ``extra_header``)."""
    return f"txn_id,timestamp,src_account,dst_account,amount{extra_header}\n" + "".join(
        f"t{i},2024-09-02 10:0{i},A,B,{100 * i}{extra}\n" for i in range(1, 6))


def test_empty_unnamed_columns_are_ignored_with_a_note(tmp_path):
    plain = tmp_path / "plain.csv"
    plain.write_text(_csv())
    export = tmp_path / "export.csv"
    export.write_text(_csv(",,", ", ,"))  # white space is no value
    ds, expected = read_transactions(export), read_transactions(plain)
    pd.testing.assert_frame_equal(ds.transactions.table, expected.transactions.table)
    assert ds.transactions.report.notes[0] == ("the header has no name for columns 6, 7, which no row holds a value "
                                               "in (a spreadsheet's empty columns): ignored")
    assert ds.transactions.report.notes[1:] == expected.transactions.report.notes
    # streamed in batches of 2 rows, the same store, rejects and report
    whole, _ = _whole(tmp_path / "whole", export)
    streamed, _ = _streamed(tmp_path / "streamed", export, 2)
    _assert_same_ingest(whole, streamed, "000001")


def test_an_unnamed_column_holding_a_value_exits_3_naming_it(tmp_path, capsys):
    export = tmp_path / "export.csv"
    text = _csv(",,", ",,")
    export.write_text(text.replace("t4,2024-09-02 10:04,A,B,400,,", "t4,2024-09-02 10:04,A,B,400,,note"))
    for command in (["ingest", str(export), "--out", str(tmp_path / "o")],
                    ["ingest", str(export), "--into", str(tmp_path / "store"), "--batch-rows", "1"]):
        assert main(command) == 3
        err = _error_line(capsys)
        assert str(export) in err
        assert "column 7 has no name in the header, but row 4 (line 5" in err and "Fix: give column 7 a name" in err


def test_an_accounts_export_with_empty_unnamed_columns(tmp_path):
    txns = tmp_path / "t.csv"
    txns.write_text(_csv())
    accounts = tmp_path / "a.csv"
    accounts.write_text("account_id,party_type,,\nA,person,,\nB,entity,,\n")
    ds = read_transactions(txns, accounts=accounts)
    assert ds.accounts.table.party_type.astype(str).tolist() == ["person", "entity"]
    assert ds.accounts.report.notes[0].startswith("the header has no name for columns 3, 4")


# -- 4. the accounts file's own column names ------------------------------------------------------

def test_the_accounts_map_the_message_advises_works(tmp_path, capsys):
    txns = tmp_path / "t.csv"
    txns.write_text("txn_id,timestamp,src_account,dst_account,amount\nt1,2024-09-02 10:00,A,B,600000\n")
    accounts = tmp_path / "a.csv"
    accounts.write_text("AcctNo,CustNo,Kind\nA,C1,entity\nB,C2,entity\n")
    assert main(["ingest", str(txns), "--accounts", str(accounts), "--out", str(tmp_path / "o")]) == 3
    err = capsys.readouterr().err
    advice = re.search(r"\(command line: (--[a-z-]+) account_id=your_column_name\)", err)
    assert advice and advice.group(1) == "--accounts-map"
    option = advice.group(1)
    mapping = [option, "account_id=AcctNo", option, "customer_id=CustNo", option, "party_type=Kind"]
    assert main(["ingest", str(txns), "--accounts", str(accounts), *mapping, "--out", str(tmp_path / "o")]) == 0
    table = pd.read_parquet(tmp_path / "o" / "accounts.parquet")
    assert table.account_id.tolist() == ["A", "B"] and table.customer_id.tolist() == ["C1", "C2"]
    assert table.party_type.astype(str).tolist() == ["entity", "entity"]
    assert main(["ingest", str(txns), "--accounts", str(accounts), *mapping, "--into", str(tmp_path / "st")]) == 0
    assert main(["scan", str(txns), "--accounts", str(accounts), *mapping, "--out", str(tmp_path / "s")]) == 0
    # --map is the transaction file's: the message says which option maps the accounts file
    capsys.readouterr()
    assert main(["ingest", str(txns), "--accounts", str(accounts), "--map", "account_id=AcctNo",
                 "--out", str(tmp_path / "o2")]) == 3
    assert "account_id: a column of the accounts file, whose mapping is --accounts-map" in capsys.readouterr().err


def test_the_accounts_map_is_checked_before_anything_is_read(tmp_path, capsys):
    txns = tmp_path / "t.csv"
    txns.write_text("txn_id,timestamp,src_account,dst_account,amount\nt1,2024-09-02 10:00,A,B,600\n")
    assert main(["ingest", str(txns), "--accounts-map", "account_id=AcctNo", "--into", str(tmp_path / "st")]) == 2
    assert "--accounts FILE" in capsys.readouterr().err and not (tmp_path / "st").exists()
    assert main(["scan", str(txns), "--accounts-map", "acount_id=AcctNo", "--out", str(tmp_path / "s")]) == 2
    assert "did you mean account_id=AcctNo" in capsys.readouterr().err
    # a store's accounts were read when they were ingested
    assert main(["ingest", str(txns), "--into", str(tmp_path / "st")]) == 0
    accounts = tmp_path / "a.csv"
    accounts.write_text("AcctNo\nA\n")
    assert main(["scan", str(tmp_path / "st"), "--accounts", str(accounts), "--accounts-map", "account_id=AcctNo",
                 "--out", str(tmp_path / "s")]) == 2
    assert "--accounts-map" in capsys.readouterr().err


# -- 5. a repeated id whose first row is broken -----------------------------------------------------

REPEATS = ("txn_id,timestamp,src_account,dst_account,amount\n"
           "t1,2024-09-02 10:00,A,B,12O.00\n"     # row 1: a typo
           "t1,2024-09-02 10:00,A,B,120.00\n"     # row 2: the corrected re-send
           "t2,2024-09-02 11:00,B,A,50\n"
           "t3,never,A,B,5\n"                     # row 4: t3 is broken twice, so no row of it is kept
           "t3,2024-09-02 12:00,A,B,-5\n"
           "t2,2024-09-02 11:00,B,A,51\n"         # row 6: a repeat of a valid row, as before
           "t4,2024-09-02 13:00,A,B,7\n"
           "t4,2024-09-02 13:00,A,B,-7\n")        # row 8: broken and a repeat


def test_the_first_valid_row_of_an_id_is_kept_and_named(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text(REPEATS)
    v = read_transactions(path).transactions
    assert v.table.txn_id.tolist() == ["t1", "t2", "t4"] and v.table.amount.tolist() == [120.0, 50.0, 7.0]
    rejects = v.rejects.set_index("source_row")
    assert rejects.reason_codes.to_dict() == {1: "DUPLICATE_TXN_ID;BAD_AMOUNT", 4: "BAD_TIMESTAMP",
                                              5: "NON_POSITIVE_AMOUNT", 6: "DUPLICATE_TXN_ID",
                                              8: "DUPLICATE_TXN_ID;NON_POSITIVE_AMOUNT"}
    assert "(the same id as row 2, which was kept)" in rejects.message[1]
    assert "(the same id as row 3, which was kept)" in rejects.message[6]
    assert "(the same id as row 7, which was kept)" in rejects.message[8]
    assert "the first one without another problem was kept" in str(v.report)
    assert "the first row with this id was kept" not in str(v.report)
    # the report lists the reasons in their usual order although repeats are found last
    assert list(v.report.reason_counts) == ["DUPLICATE_TXN_ID", "BAD_TIMESTAMP", "BAD_AMOUNT", "NON_POSITIVE_AMOUNT"]


@pytest.mark.parametrize("batch_rows", [1, 3])
def test_the_streamed_ingest_keeps_the_same_rows(tmp_path, batch_rows):
    path = tmp_path / "t.csv"
    path.write_text(REPEATS)
    whole, _ = _whole(tmp_path / "whole", path)
    streamed, _ = _streamed(tmp_path / "streamed", path, batch_rows)
    _assert_same_ingest(whole, streamed, "000001")
    day = streamed.read_days("2024-09-02", "2024-09-02").to_pandas()
    assert sorted(zip(day.txn_id, day.amount)) == [("t1", 120.0), ("t2", 50.0), ("t4", 7.0)]
    rejects = pd.read_csv(streamed.root / "ingests" / "000001" / "rejects.csv")
    assert "which was kept" not in "".join(rejects[rejects.source_row.isin([4, 5])].message)
    report = json.loads((streamed.root / "ingests" / "000001" / "validation.json").read_text())
    assert report["transactions"]["reason_counts"]["DUPLICATE_TXN_ID"] == 3


def test_the_first_valid_row_of_an_account_is_kept():
    v = validate_accounts(pd.DataFrame({"account_id": ["A", "A", "B", "C", "C"],
                                        "party_type": ["alien", "entity", "person", "alien", "martian"]}), "a.csv")
    assert v.table.account_id.tolist() == ["A", "B"]
    assert v.table.party_type.astype(str).tolist() == ["entity", "person"]
    rejects = v.rejects.set_index("source_row")
    assert rejects.reason_codes.to_dict() == {1: "DUPLICATE_ACCOUNT_ID;UNKNOWN_PARTY_TYPE", 4: "UNKNOWN_PARTY_TYPE",
                                              5: "UNKNOWN_PARTY_TYPE"}
    assert "(the same id as row 2, which was kept)" in rejects.message[1]
    assert "list each account once; of its rows, the first one without another problem was kept" in str(v.report)

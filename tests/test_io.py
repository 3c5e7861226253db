import json

import numpy as np
import pandas as pd
import pytest

from flowgraph.errors import DataError
from flowgraph.io import (load_dataset, read_accounts, read_amlsim, read_amlworld, read_transactions,
                          write_dataset)
from reference import rowids as ref_rowids

CANONICAL_CSV = (
    "txn_id,timestamp,src_account,dst_account,amount,currency,channel\n"
    "t1,2024-10-08 09:00:00,A,B,100.00,CNY,transfer\n"
    "t2,2024-10-08 09:05:00,B,C,-5,CNY,transfer\n"
    "t3,2024-10-05 09:10:00,,C,60000,CNY,cash\n"
)


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_canonical_csv_round_trip_with_rejects(tmp_path):
    ds = read_transactions(write(tmp_path, "t.csv", CANONICAL_CSV))
    assert ds.transactions.table.txn_id.tolist() == ["t1", "t3"]
    assert ds.transactions.rejects.source_row.tolist() == [2]
    assert "t.csv: row 2 (line 3), column 'amount'" in ds.transactions.rejects.message.iloc[0]
    # accounts derived: every account its own customer, party unknown
    assert ds.accounts.table.account_id.tolist() == ["A", "B", "C"]
    paths = write_dataset(ds, tmp_path / "out")
    rejects = pd.read_csv(paths["rejects.csv"])
    assert rejects.table.tolist() == ["transactions"] and rejects.source_row.tolist() == [2]
    assert rejects.input_amount.tolist() == [-5]
    back = pd.read_parquet(paths["transactions.parquet"])
    assert back.txn_id.tolist() == ["t1", "t3"]
    report = json.loads(paths["validation.json"].read_text())
    assert report["transactions"]["n_input"] == 3 and report["transactions"]["n_rejected"] == 1


def test_column_mapping_and_parquet(tmp_path):
    f = pd.DataFrame({"TxnRef": ["x1", "x2"], "When": pd.to_datetime(["2024-10-08 09:00", "2024-10-09 09:00"]),
                      "Payer": ["A", "B"], "Payee": ["B", "A"], "Amt": [10.0, 20.0]})
    path = tmp_path / "bank.parquet"
    f.to_parquet(path)
    mapping = {"txn_id": "TxnRef", "timestamp": "When", "src_account": "Payer", "dst_account": "Payee", "amount": "Amt"}
    ds = read_transactions(path, columns=mapping)
    assert ds.transactions.table.amount.tolist() == [10.0, 20.0]
    with pytest.raises(DataError, match="mapping names column"):
        read_transactions(path, columns={"txn_id": "Nope"})
    with pytest.raises(DataError, match=r"lacks required column\(s\) \['txn_id'"):
        read_transactions(path)


def test_parquet_text_columns_read_as_a_csv_of_the_same_values(tmp_path):
    # currency and channel are read from Parquet as dictionaries, ids share the file's
    # buffers when nothing is stripped: the tables must still be those of the same text
    rows = [("t1", " CNY", "transfer"), ("t2", None, "cash"), ("t3", "usd", " Cash "), ("t4", "RMB", None),
            ("t5", "XYZ", "wire"), ("t6", "CNY", "transfer"), ("t1", "CNY", "transfer")]
    f = pd.DataFrame({"txn_id": [r[0] for r in rows], "timestamp": "2024-10-08 09:00:00",
                      "src_account": ["A", " B", None, "A", "B", "A", "B"], "dst_account": "C",
                      "amount": "10.5", "currency": [r[1] for r in rows], "channel": [r[2] for r in rows],
                      "note": ["x", None, "y", "z", None, "w", "v"]})
    f.to_csv(tmp_path / "t.csv", index=False)
    f.assign(timestamp=pd.to_datetime(f.timestamp), amount=10.5).to_parquet(tmp_path / "t.parquet")
    from_csv, from_parquet = read_transactions(tmp_path / "t.csv"), read_transactions(tmp_path / "t.parquet")
    pd.testing.assert_frame_equal(from_csv.transactions.table, from_parquet.transactions.table)
    assert from_parquet.transactions.table.currency.tolist() == ["CNY", "USD", "CNY"]
    rejects = from_parquet.transactions.rejects
    assert rejects.reason_codes.tolist() == ["MISSING_CURRENCY", "MISSING_CHANNEL",
                                             "UNKNOWN_CURRENCY;UNKNOWN_CHANNEL", "DUPLICATE_TXN_ID"]
    assert rejects.input_channel.tolist() == ["cash", "", "wire", "transfer"]
    pd.testing.assert_frame_equal(from_csv.transactions.rejects.drop(columns="message"),
                                  rejects.drop(columns="message"))
    pd.testing.assert_frame_equal(from_csv.accounts.table, from_parquet.accounts.table)


def test_accounts_file(tmp_path):
    accts = write(tmp_path, "a.csv", "acct,cust,kind\nA,c1,person\nB,c1,person\nC,c2,company\n")
    ds = read_transactions(write(tmp_path, "t.csv", CANONICAL_CSV), accounts=read_accounts(
        accts, columns={"account_id": "acct", "customer_id": "cust", "party_type": "kind"}))
    assert ds.accounts.table.party_type.astype(str).tolist() == ["person", "person", "entity"]


@pytest.mark.parametrize("content, message", [
    ("", "the file is empty"),
    ("\n\n", "no header row"),
])
def test_unreadable_files_give_clear_errors(tmp_path, content, message):
    with pytest.raises(DataError, match=message):
        read_transactions(write(tmp_path, "bad.csv", content))


def test_missing_file_and_unknown_format(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        read_transactions(tmp_path / "nope.csv")
    with pytest.raises(DataError, match="unknown table format"):
        read_transactions(write(tmp_path, "t.xlsx", "x"))
    with pytest.raises(DataError, match="not a readable Parquet"):
        read_transactions(write(tmp_path, "t.parquet", "not parquet"))


def test_header_only_file_is_an_empty_dataset(tmp_path):
    ds = read_transactions(write(tmp_path, "h.csv", CANONICAL_CSV.splitlines()[0] + "\n"))
    assert len(ds.transactions.table) == 0 and ds.transactions.report.n_input == 0
    assert "no data rows" in str(ds.transactions.report)


AMLWORLD = (
    "Timestamp,From Bank,Account,To Bank,Account,Amount Received,Receiving Currency,Amount Paid,"
    "Payment Currency,Payment Format,Is Laundering\n"
    "2022/09/01 00:20,010,8000EBD30,010,8000EBD30,3697.34,US Dollar,3697.34,US Dollar,Reinvestment,0\n"
    "2022/09/01 00:20,03208,8000F4580,001,8000F5340,0.01,US Dollar,0.01,US Dollar,Cheque,0\n"
    "2022/09/01 00:02,0211050,80AEF5310,0211050,80AEF5310,12.32,Euro,12.32,Euro,Cash,1\n"
    "2022/09/02 10:11,0211050,80AEF5310,020,80A1B0000,100.00,Yuan,14.00,US Dollar,Wire,1\n"
    "2022/09/02 10:12,0211050,80AEF5310,020,80A1B0000,100.00,Doubloon,14.00,Doubloon,Wire,0\n"
)


def test_amlworld_adapter(tmp_path):
    ds = read_amlworld(write(tmp_path, "HI-Tiny_Trans.csv", AMLWORLD))
    t = ds.transactions.table
    # ids made from each row's content (tests/test_adapter_ids.py); row 5 is rejected
    assert t.txn_id.tolist() == ref_rowids.amlworld_ids(AMLWORLD)[:4]
    assert t.src_account.tolist()[:2] == ["010:8000EBD30", "03208:8000F4580"]
    assert t.channel.astype(str).tolist() == ["transfer", "transfer", "cash", "cross_border"]
    assert t.currency.tolist() == ["USD", "USD", "EUR", "USD"]
    assert t.is_laundering.tolist() == [0, 0, 1, 1]
    assert t.is_self_transfer.tolist() == [True, False, True, False]
    assert ds.transactions.rejects.reason_codes.tolist() == ["UNKNOWN_CURRENCY"]
    assert ds.transactions.rejects.source_row.tolist() == [5]
    # recognised by its header
    assert load_dataset(tmp_path / "HI-Tiny_Trans.csv").transactions.table.txn_id.tolist() == t.txn_id.tolist()


@pytest.mark.amlsim
@pytest.mark.parametrize("folder, n_txns, n_fraud", [
    ("20K_cycle200", 117_805, 945),
    ("20K_fanin200", 118_250, 954),
    ("20K_fanin200cycle200", 120_558, 1_804),
])
def test_amlsim_samples_load_with_readme_counts(amlsim_dir, folder, n_txns, n_fraud):
    ds = read_amlsim(amlsim_dir / folder)
    assert ds.transactions.report.n_input == n_txns
    assert len(ds.transactions.table) == n_txns and ds.transactions.report.n_rejected == 0
    assert len(ds.accounts.table) == 20_000
    assert int(ds.accounts.table.is_laundering.sum()) == n_fraud
    # 149 steps, each its own business day
    t = ds.transactions.table
    assert t.step.nunique() == t.timestamp.nunique()


def test_amlsim_full_output_layout(tmp_path):
    write(tmp_path, "transactions.csv",
          "tran_id,orig_acct,bene_acct,tx_type,base_amt,tran_timestamp,is_sar,alert_id\n"
          "1,10,11,TRANSFER,100.5,0,False,-1\n2,11,12,TRANSFER,99.0,1,True,7\n"
          "3,12,,CASH-OUT,50,2,True,7\n4,10,11,TRANSFER,abc,3,False,-1\n")
    write(tmp_path, "accounts.csv", "acct_id,prior_sar_count\n10,False\n11,False\n12,True\n")
    write(tmp_path, "alert_accounts.csv", "alert_id,alert_type,acct_id\n7,fan_in,11\n7,fan_in,12\n")
    ds = read_amlsim(tmp_path, start_date="2024-09-27")
    t = ds.transactions.table
    assert t.txn_id.tolist() == ["1", "2", "3"]
    assert t.is_laundering.tolist() == [0, 1, 1]
    assert t.channel.astype(str).tolist() == ["transfer", "transfer", "cash"]
    # steps are business days: 09-27 (Fri), 09-29 (make-up Sunday), 09-30
    assert [str(d.date()) for d in t.timestamp] == ["2024-09-27", "2024-09-29", "2024-09-30"]
    assert ds.transactions.rejects.reason_codes.tolist() == ["BAD_AMOUNT"]
    assert ds.accounts.table.set_index("account_id").is_laundering.to_dict() == {"10": 0, "11": 1, "12": 1}


def test_amlsim_calendar_day_steps(tmp_path):
    write(tmp_path, "transactions.csv", "sourceNodeId,targetNodeId,value,time\n1,2,5.0,0\n2,3,5.0,1\n")
    write(tmp_path, "nodes.csv", "nodeid,isFraud,init_balance,fraudStep\n1,0,1,-1\n2,1,1,3\n3,0,1,-1\n")
    ds = read_amlsim(tmp_path, start_date="2024-09-27", steps_as="calendar_days")
    assert [str(d.date()) for d in ds.transactions.table.timestamp] == ["2024-09-27", "2024-09-28"]
    assert ds.accounts.table.fraud_step.tolist() == [-1, 3, -1]


def test_load_dataset_reads_an_ingest_folder(tmp_path):
    ds = read_transactions(write(tmp_path, "t.csv", CANONICAL_CSV))
    write_dataset(ds, tmp_path / "out")
    again = load_dataset(tmp_path / "out")
    assert again.transactions.table.txn_id.tolist() == ["t1", "t3"]
    assert np.array_equal(again.transactions.table.amount_cny, ds.transactions.table.amount_cny)

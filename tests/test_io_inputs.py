"""Inputs that are not our simulator's: float ids, currency aliases, future dates, real
AMLSim output, garbage rate tables, all-rejected files, and ids kept out of messages."""

import json

import numpy as np
import pandas as pd
import pytest

from flowgraph.cli import main
from flowgraph.errors import ConfigError, DataError
from flowgraph.io import load_dataset, read_amlsim, read_transactions
from flowgraph.money import default_rates, read_rates
from flowgraph.schema import MAX_FUTURE_DAYS, validate_accounts, validate_transactions

COLS = ["txn_id", "timestamp", "src_account", "dst_account", "amount", "currency", "channel"]


def txns(*rows):
    return pd.DataFrame(rows, columns=COLS)


# -- float-typed ids --------------------------------------------------------------------------

def test_integral_float_ids_become_digits_with_a_note(tmp_path):
    frame = pd.DataFrame({"txn_id": [1.0, 2.0, 3.0], "timestamp": pd.to_datetime(["2024-10-08"] * 3),
                          "src_account": [6222000000001833.0, 6222000000001834.0, np.nan],
                          "dst_account": [6222000000001834.0, np.nan, 6222000000001833.0],
                          "amount": [10.0, 20.0, 30.0], "channel": ["transfer", "cash", "cash"]})
    frame.to_parquet(tmp_path / "t.parquet")
    ds = read_transactions(tmp_path / "t.parquet")
    t = ds.transactions.table
    assert t.txn_id.tolist() == ["1", "2", "3"]
    assert t.src_account.tolist()[:2] == ["6222000000001833", "6222000000001834"]
    assert t.src_account.isna().tolist() == [False, False, True]
    assert any("src_account" in n and "floating-point" in n for n in ds.transactions.report.notes)
    # they match an accounts table that holds the ids as text
    accounts = validate_accounts(pd.DataFrame({"account_id": ["6222000000001833", "6222000000001834"]}))
    assert set(t.src_account.dropna()) <= set(accounts.table.account_id)


@pytest.mark.parametrize("bad", [1.5, 2.0 ** 53, 1e300, np.inf])
def test_inexact_float_ids_are_a_data_error(bad):
    frame = pd.DataFrame({"txn_id": ["t1", "t2"], "timestamp": ["2024-10-08", "2024-10-08"],
                          "src_account": [5.0, bad], "dst_account": ["B", "B"], "amount": ["1", "1"]})
    with pytest.raises(DataError) as err:
        validate_transactions(frame, "t.parquet")
    message = str(err.value)
    assert "t.parquet" in message and "'src_account'" in message and "row 2" in message
    assert "as text" in message and str(bad) not in message


def test_float_account_ids_in_the_accounts_table():
    v = validate_accounts(pd.DataFrame({"account_id": [7.0, 8.0], "customer_id": [1.0, np.nan]}))
    assert v.table.account_id.tolist() == ["7", "8"] and v.table.customer_id.tolist() == ["1", "8"]
    with pytest.raises(DataError, match="'customer_id'"):
        validate_accounts(pd.DataFrame({"account_id": ["7"], "customer_id": [0.5]}))


# -- currency aliases -------------------------------------------------------------------------

def test_rmb_is_cny_but_cnh_is_not():
    v = validate_transactions(txns(("t1", "2024-10-08", "A", "B", "100", "RMB", "transfer"),
                                   ("t2", "2024-10-08", "A", "B", "100", "rmb", "transfer"),
                                   ("t3", "2024-10-08", "A", "B", "100", "CNH", "transfer")), "t.csv")
    assert v.table.currency.tolist() == ["CNY", "CNY"] and v.table.amount_cny.tolist() == [100.0, 100.0]
    assert v.rejects.reason_codes.tolist() == ["UNKNOWN_CURRENCY"]
    assert "currency 'RMB' read as CNY (2 rows)" in v.report.notes
    cny, _, _ = default_rates().convert(np.array(["2024-10-08"], dtype="datetime64[D]"),
                                        np.array(["RMB"], dtype=object), np.array([5.0]))
    assert cny.tolist() == [5.0]


def test_rate_tables_may_say_rmb(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("date,currency,cny_per_unit,usd_per_unit\n2024-01-01,RMB,1,0.14\n2024-01-01,USD,7.1,1\n")
    assert read_rates(path).currencies == {"CNY", "USD"}


# -- timestamps -------------------------------------------------------------------------------

def test_a_row_far_in_the_future_is_rejected_and_the_rest_kept():
    rows = [("t1", "2099-12-31 00:00:00", "A", "B", "10", "CNY", "transfer"),
            ("t2", "2026-11-30 10:00:00", "A", "B", "10", "CNY", "transfer"),
            ("t3", "2027-12-02 10:00:00", "A", "B", "10", "CNY", "transfer"),  # today + 366: kept
            ("t4", "2027-12-03 00:00:00", "A", "B", "10", "CNY", "transfer")]
    v = validate_transactions(txns(*rows), "t.csv", today="2026-12-01")
    assert MAX_FUTURE_DAYS == 366
    assert v.table.txn_id.tolist() == ["t2", "t3"]
    assert v.rejects.reason_codes.tolist() == ["FUTURE_TIMESTAMP", "FUTURE_TIMESTAMP"]
    assert "'2099-12-31 00:00:00'" in v.rejects.message[0] and "Fix:" in v.rejects.message[0]


def test_bad_amlsim_step_shows_the_original_value(tmp_path):
    (tmp_path / "transactions.csv").write_text("sourceNodeId,targetNodeId,value,time\n1,2,5.0,0\n2,1,5.0,soon\n")
    (tmp_path / "nodes.csv").write_text("nodeid,isFraud\n1,0\n2,0\n")
    ds = read_amlsim(tmp_path)
    rejects = ds.transactions.rejects
    assert rejects.reason_codes.tolist() == ["BAD_TIMESTAMP"]
    assert "(value 'soon')" in rejects.message[0] and rejects.input_timestamp.tolist() == ["soon"]


# -- real AMLSim output -----------------------------------------------------------------------

def amlsim_iso_folder(folder):
    (folder / "transactions.csv").write_text(
        "tran_id,orig_acct,bene_acct,tx_type,base_amt,tran_timestamp,is_sar,alert_id\n"
        "1,10,11,TRANSFER,100.5,2017-01-02T00:00:00Z,false,-1\n"
        "2,11,12,TRANSFER,99.0,2017-01-03T00:00:00Z,true,7\n"
        "3,12,,CASH-OUT,50,2017-01-04T00:00:00Z,true,7\n"
        "4,10,11,TRANSFER,20,yesterday,false,-1\n")
    (folder / "accounts.csv").write_text(
        "acct_id,dsply_nm,type,acct_stat,acct_rptng_crncy,prior_sar_count,branch_id,open_dt,close_dt,"
        "initial_deposit,tx_behavior_id,bank_id\n"
        "10,C_10,I,A,USD,false,1,0,1000000,100,1,bank\n"
        "11,C_11,I,A,USD,false,1,0,1000000,100,1,bank\n"
        "12,C_12,I,A,USD,true,1,0,1000000,100,1,bank\n"
        "13,C_13,I,A,USD,false,1,0,1000000,100,1,bank\n")
    (folder / "alert_accounts.csv").write_text(
        "alert_id,alert_type,acct_id,acct_name,is_sar,model_id,schedule_id,bank_id\n"
        "7,fan_in,11,C_11,true,1,1,bank\n8,fan_out,13,C_13,false,1,1,bank\n")
    return folder


def test_amlsim_iso_dates_are_kept(tmp_path):
    ds = read_amlsim(amlsim_iso_folder(tmp_path))
    t = ds.transactions.table
    assert t.txn_id.tolist() == ["1", "2", "3"] and "step" not in t.columns
    # midnight UTC is 08:00 in China Standard Time, on the same date
    assert [str(d) for d in t.timestamp] == ["2017-01-02 08:00:00", "2017-01-03 08:00:00", "2017-01-04 08:00:00"]
    assert t.is_laundering.tolist() == [0, 1, 1] and t.channel.astype(str).tolist()[2] == "cash"
    assert ds.transactions.rejects.reason_codes.tolist() == ["BAD_TIMESTAMP"]
    assert "'yesterday'" in ds.transactions.rejects.message[0]
    # 11: a SAR alert; 12: its own SAR flag; 13: an alert that is not a SAR
    labels = ds.accounts.table.set_index("account_id").is_laundering.to_dict()
    assert labels == {"10": 0, "11": 1, "12": 1, "13": 0}


def test_amlsim_options_are_checked():
    with pytest.raises(ConfigError, match="--amlsim-step-unit"):
        read_amlsim(".", steps_as="weeks")
    with pytest.raises(ConfigError, match="--amlsim-start"):
        read_amlsim(".", start_date="2 Jan 2018")


# -- rate tables ------------------------------------------------------------------------------

@pytest.mark.parametrize("name, content", [
    ("junk.csv", bytes(range(256)) * 8),
    ("wrong.csv", b"day,ccy,rate\n2024-01-01,USD,7\n"),
    ("bad.parquet", b"PAR1 not really parquet"),
    ("folder", None),
])
def test_garbage_rate_tables_are_one_data_error(tmp_path, name, content):
    path = tmp_path / name
    if content is None:
        path.mkdir()
    else:
        path.write_bytes(content)
    with pytest.raises(DataError) as err:
        read_rates(path)
    assert name in str(err.value) and "Fix:" in str(err.value)


# -- ids stay out of messages -----------------------------------------------------------------

def test_duplicate_ids_are_shown_by_row_not_by_value():
    v = validate_accounts(pd.DataFrame({"account_id": ["6222001", "6222002", "6222001", ""]}), "a.csv")
    assert v.rejects.reason_codes.tolist() == ["DUPLICATE_ACCOUNT_ID", "MISSING_ACCOUNT_ID"]
    assert "the same id as row 1" in v.rejects.message[0]
    assert not any("6222" in text for text in [*v.rejects.message, *v.report.examples, str(v.report)])
    assert v.rejects.input_account_id.tolist() == ["6222001", ""]  # the rejects file keeps the input
    t = validate_transactions(txns(("x", "2024-10-08", "A", "B", "1", "CNY", "transfer"),
                                   ("x", "2024-10-08", "A", "B", "1", "CNY", "transfer")), "t.csv")
    assert "the same id as row 1" in t.rejects.message[0]


# -- the command line -------------------------------------------------------------------------

HEADER = "txn_id;timestamp;src_account;dst_account;amount;currency;channel\n"


def test_ingest_reads_gb18030_semicolons_gzip_with_a_broken_line(tmp_path, capsys):
    import gzip

    text = (HEADER + "t1;2024-10-08 09:00;6222000000000001;6222000000000002;100;人民币;transfer\n"
            + "t2;2024-10-08 09:00;6222000000000003;6222000000000004;100\n"
            + "t3;2024-10-08 10:00;6222000000000002;6222000000000001;50;CNY;transfer\n")
    src = tmp_path / "export.csv.gz"
    src.write_bytes(gzip.compress(text.encode("gb18030")))
    out = tmp_path / "o"
    assert main(["ingest", str(src), "--out", str(out), "--encoding", "gb18030", "--delimiter", ";"]) == 0
    printed = capsys.readouterr().out
    assert "MALFORMED_LINE" in printed and "6222000000000003" not in printed
    rejects = pd.read_csv(out / "rejects.csv", dtype=str)
    assert rejects.source_row.tolist() == ["2"] and rejects.reason_codes.tolist() == ["MALFORMED_LINE"]
    assert pd.read_parquet(out / "transactions.parquet").txn_id.tolist() == ["t1", "t3"]
    assert main(["ingest", str(src), "--out", str(out), "--encoding", "klingon"]) == 2


@pytest.mark.parametrize("command", ["ingest", "scan"])
def test_all_rows_rejected_exits_3_after_writing_the_rejects(tmp_path, capsys, command):
    src = tmp_path / "t.csv"
    src.write_text("txn_id,timestamp,src_account,dst_account,amount\n"
                   "t1,2024-10-08,A,B,-1\nt2,2024-10-08,A,B,0\nt3,never,A,B,5\n")
    out = tmp_path / "o"
    assert main([command, str(src), "--out", str(out)]) == 3
    err = capsys.readouterr().err
    assert "all 3 rows were rejected" in err and "NON_POSITIVE_AMOUNT (2 rows" in err
    assert str(out / "rejects.csv") in err
    assert len(pd.read_csv(out / "rejects.csv")) == 3
    assert json.loads((out / "validation.json").read_text())["transactions"]["n_accepted"] == 0


def test_ingest_amlsim_iso_folder(tmp_path, capsys):
    (tmp_path / "amlsim").mkdir()
    folder = amlsim_iso_folder(tmp_path / "amlsim")
    assert main(["ingest", str(tmp_path / "amlsim"), "--out", str(tmp_path / "o"),
                 "--amlsim-step-unit", "calendar_days"]) == 0
    assert len(pd.read_parquet(tmp_path / "o" / "transactions.parquet")) == 3
    assert load_dataset(folder).transactions.report.n_rejected == 1


def test_ids_a_spreadsheet_or_a_float_column_wrote_are_rejected_or_read_as_digits(tmp_path):
    """A spreadsheet writes a long id as 6.222E+15: hundreds of accounts read as one, all
    accepted. A float column exports 6222000000001780 as "6222000000001780.0": kept with
    the ".0", no account of the accounts table matched it. The first is a rejected row (its
    own reason), the second is read as its digits, with a note."""
    (tmp_path / "excel.csv").write_text(
        "txn_id,timestamp,src_account,dst_account,amount\n"
        "t1,2026-11-02 09:00,6.222E+15,6222000000001781,10\n"        # rounded by a spreadsheet
        "t2,2026-11-02 09:05,6222000000001780.0,6222000000001781.00,20\n"  # a float column's export
        "t3,2026-11-02 09:10,6222000000001781,6e+15,30\n"
        "1.5E+3,2026-11-02 09:15,6222000000001781,6222000000001780,40\n"
        "t5,2026-11-02 09:20,E+1,ACC.0,50\n"
        "t6,2026-11-02 09:25,6222000000001781,6222000000001780.00,60\n")                         # ids that only look alike: kept
    (tmp_path / "accounts.csv").write_text("account_id,customer_id\n6222000000001780,C1\n"
                                           "6222000000001781,9.9E+10\n6222000000001782.0,C3\n")
    dataset = load_dataset(tmp_path / "excel.csv", accounts=tmp_path / "accounts.csv")
    txns, rejects, report = (getattr(dataset.transactions, k) for k in ("table", "rejects", "report"))
    assert report.reason_counts == {"ID_IN_EXPONENT_FORM": 3}
    assert rejects["source_row"].tolist() == [1, 3, 4]
    assert txns["txn_id"].tolist() == ["t2", "t5", "t6"]
    assert txns["src_account"].tolist() == ["6222000000001780", "E+1", "6222000000001781"]
    assert txns["dst_account"].tolist() == ["6222000000001781", "ACC.0", "6222000000001780"]
    assert any("decimal part of zeros" in note and "'src_account'" in note for note in report.notes)
    accounts, account_rejects, account_report = (getattr(dataset.accounts, k) for k in ("table", "rejects", "report"))
    assert account_report.reason_counts == {"ACCOUNT_ID_IN_EXPONENT_FORM": 1}
    assert accounts["account_id"].tolist() == ["6222000000001780", "6222000000001782"]
    assert "ACCOUNT_ID_IN_EXPONENT_FORM" in account_rejects["reason_codes"].tolist()


# -- invisible characters, one-sided transfers, amounts below a cent: CSV and Parquet alike ----

#: One invisible character per id, as a tester's sweep found them (NBSP, tab, ideographic
#: space, zero-width space, byte-order mark, NUL, soft hyphen inside the id).
INVISIBLE_ROWS = [("W0", "\u00a0Pnbsp"), ("W1", "\u200bPzwsp"), ("W2", "\tPtab"), ("W3", "\x00Pnul"),
                  ("W4", "\ufeffPbom"), ("W5", "\u3000Pideo"), ("W6\u200b", "Psh\u00adyph")]
ACCOUNT_ROWS = [("Pnbsp\u00a0", "CUSTnbsp"), ("Pzwsp", "\ufeffCUSTzwsp"), ("Ptab", "CUSTtab"),
                ("Pnul", "CUSTnul"), ("Pbom", "CUSTbom\u200b"), ("\u200bPideo", "CUSTideo"), ("Pshyph", "CUSTshyph"),
                ("DST", "CDST")]


def _write_both(tmp_path, name: str, frame: pd.DataFrame) -> list:
    """``frame`` as a UTF-8 CSV file and as a Parquet file of text columns."""
    frame.to_csv(tmp_path / f"{name}.csv", index=False)
    frame.to_parquet(tmp_path / f"{name}.parquet", index=False)
    return [tmp_path / f"{name}.csv", tmp_path / f"{name}.parquet"]


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_ids_with_invisible_characters_match_their_accounts_in_csv_and_parquet(tmp_path, fmt):
    rows = [(txn, "2026-12-03 10:00:00", src, "DST", "60000", "CNY", "cash") for txn, src in INVISIBLE_ROWS]
    _write_both(tmp_path, "ws_tx", txns(*rows))
    _write_both(tmp_path, "ws_acc", pd.DataFrame(ACCOUNT_ROWS, columns=["account_id", "customer_id"])
                .assign(party_type="entity"))
    dataset = read_transactions(tmp_path / f"ws_tx.{fmt}", accounts=tmp_path / f"ws_acc.{fmt}")
    t, report = dataset.transactions.table, dataset.transactions.report
    # NUL is not an invisible space: the row is rejected, naming the column and the character
    assert report.reason_counts == {"ID_HAS_CONTROL_CHARACTER": 1}
    assert "src_account holds U+0000" in dataset.transactions.rejects.message.iloc[0]
    assert t.txn_id.tolist() == ["W0", "W1", "W2", "W4", "W5", "W6"]
    assert t.src_account.tolist() == ["Pnbsp", "Pzwsp", "Ptab", "Pbom", "Pideo", "Pshyph"]
    accounts = dataset.accounts.table
    assert accounts.account_id.tolist() == [a.strip("\u00a0\u200b") for a, _ in ACCOUNT_ROWS]
    assert accounts.customer_id.tolist()[:5] == ["CUSTnbsp", "CUSTzwsp", "CUSTtab", "CUSTnul", "CUSTbom"]
    assert set(t.src_account) <= set(accounts.account_id)  # every account keeps its customer
    assert any("'src_account': 3 ids held invisible format characters" in n for n in report.notes)
    assert any("'txn_id': 1 ids held invisible format characters" in n for n in report.notes)


def test_one_sided_transfers_and_amounts_below_a_cent_in_csv_and_parquet(tmp_path):
    rows = [("E1", "2026-12-03 10:00:00", "6222000001", "", "600000", "CNY", "transfer"),
            ("E2", "2026-12-03 11:00:00", "", "6222000002", "600000", "CNY", "transfer"),
            ("E3", "2026-12-03 12:00:00", "6222000003", "6222000004", "0.001", "CNY", "transfer"),
            ("E4", "2026-12-03 12:00:00", "6222000003", "6222000004", "1e-300", "CNY", "transfer"),
            ("E5", "2026-12-03 12:00:00", "", "6222000004", "600000", "CNY", "cross_border"),
            ("E6", "2026-12-03 12:00:00", "", "6222000004", "600000", "CNY", "cash"),
            ("E7", "2026-12-03 12:00:00", "6222000003", "6222000004", "0.01", "CNY", "transfer")]
    for path in _write_both(tmp_path, "sides", txns(*rows)):
        v = read_transactions(path).transactions
        assert v.table.txn_id.tolist() == ["E6", "E7"], path
        assert v.rejects.reason_codes.tolist() == ["MISSING_DST_ACCOUNT", "MISSING_SRC_ACCOUNT",
                                                   "AMOUNT_BELOW_ONE_CENT", "AMOUNT_BELOW_ONE_CENT",
                                                   "MISSING_SRC_ACCOUNT"]
    # a Parquet file with a float amount column
    frame = txns(*rows).assign(amount=[600000.0, 600000.0, 0.001, 1e-300, 600000.0, 600000.0, 0.01])
    frame.to_parquet(tmp_path / "typed.parquet", index=False)
    v = read_transactions(tmp_path / "typed.parquet").transactions
    assert v.table.txn_id.tolist() == ["E6", "E7"] and v.report.reason_counts["AMOUNT_BELOW_ONE_CENT"] == 2


def test_ingest_rejects_one_sided_transfers_with_the_column_and_the_fix(tmp_path, capsys):
    src = tmp_path / "empty_party.csv"
    src.write_text("txn_id,timestamp,src_account,dst_account,amount,currency,channel\n"
                   "E1,2026-12-03T10:00:00,6222000001,,600000,CNY,transfer\n"
                   "E2,2026-12-03T11:00:00,,6222000002,600000,CNY,transfer\n"
                   "E3,2026-12-03T12:00:00,6222000003,6222000004,0.001,CNY,transfer\n"
                   "E4,2026-12-03T12:00:00,6222000003,6222000004,5000,CNY,transfer\n")
    out = tmp_path / "o"
    assert main(["ingest", str(src), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "4 rows read, 1 accepted, 3 rejected" in printed
    assert "MISSING_DST_ACCOUNT  column 'dst_account'" in printed and "MISSING_SRC_ACCOUNT  column 'src_account'" in printed
    assert "AMOUNT_BELOW_ONE_CENT" in printed and "6222000001" not in printed
    rejects = pd.read_csv(out / "rejects.csv", dtype=str)
    assert rejects.reason_codes.tolist()[:3] == ["MISSING_DST_ACCOUNT", "MISSING_SRC_ACCOUNT", "AMOUNT_BELOW_ONE_CENT"]


def test_amlsim_alert_accounts_match_through_the_same_normalisation(tmp_path):
    folder = amlsim_iso_folder(tmp_path)
    (folder / "alert_accounts.csv").write_text(
        "alert_id,alert_type,acct_id,acct_name,is_sar,model_id,schedule_id,bank_id\n"
        "7,fan_in,\u200b11\u00a0,C_11,true,1,1,bank\n8,fan_out,13,C_13,false,1,1,bank\n")
    labels = read_amlsim(folder).accounts.table.set_index("account_id").is_laundering.to_dict()
    assert labels == {"10": 0, "11": 1, "12": 1, "13": 0}


def _with_an_empty_unnamed_column(path):
    """``path`` as a spreadsheet saves it with an empty last column: no name, no values."""
    path.write_text("".join(line + ",\n" for line in path.read_text().splitlines()))


def test_amlsim_says_which_empty_unnamed_columns_it_ignored(tmp_path):
    folder = amlsim_iso_folder(tmp_path)
    for name in ("transactions.csv", "accounts.csv", "alert_accounts.csv"):
        _with_an_empty_unnamed_column(folder / name)
    ds = read_amlsim(folder)
    assert ds.transactions.report.notes[0] == ("the header has no name for column 9, which no row holds a value "
                                               "in (a spreadsheet's empty columns): ignored")
    assert ds.accounts.report.notes[0].startswith("the header has no name for column 13,")
    assert [n for n in ds.accounts.report.notes if n.startswith(f"{folder / 'alert_accounts.csv'}: the header "
                                                                 "has no name for column 9,")]
    assert ds.accounts.table.set_index("account_id").is_laundering.to_dict() == {"10": 0, "11": 1, "12": 1, "13": 0}


def test_amlsim_samples_say_which_empty_unnamed_columns_they_ignored(tmp_path):
    (tmp_path / "transactions.csv").write_text("sourceNodeId,targetNodeId,value,time,\n1,2,5.0,0,\n")
    (tmp_path / "nodes.csv").write_text("nodeid,isFraud,\n1,0,\n2,0,\n")
    ds = read_amlsim(tmp_path)
    assert ds.transactions.report.notes[0].startswith("the header has no name for column 5,")
    assert ds.accounts.report.notes[0].startswith("the header has no name for column 3,")


# -- reading options for inputs an adapter reads by its own layout ----------------------------

AMLWORLD_TINY = ("Timestamp,From Bank,Account,To Bank,Account,Amount Received,Receiving Currency,Amount Paid,"
                 "Payment Currency,Payment Format,Is Laundering\n"
                 "2022/09/01 00:20,010,8000EBD30,001,8000F5340,12.00,US Dollar,12.00,US Dollar,Wire,0\n")


@pytest.mark.parametrize("args, named, why", [
    (["--map", "txn_id=tran_id"], "--map", "AMLSim names"),
    (["--accounts", "{accounts}"], "--accounts", "its own accounts.csv or nodes.csv"),
    (["--accounts", "{accounts}", "--accounts-map", "account_id=acct"], "--accounts-map", "its own accounts.csv"),
    (["--channel-map", "WIRE=transfer"], "--channel-map", "from tx_type"),
])
def test_options_an_amlsim_folder_does_not_read_exit_2_naming_them(tmp_path, capsys, args, named, why):
    folder = amlsim_iso_folder(tmp_path)
    (tmp_path / "mine.csv").write_text("account_id\n10\n")
    args = [a.format(accounts=tmp_path / "mine.csv") for a in args]
    assert main(["ingest", str(folder), "--out", str(tmp_path / "o"), *args]) == 2
    err = capsys.readouterr().err
    assert f"{named} (" in err and why in err and "AMLSim output folder" in err and "Fix:" in err
    assert "Traceback" not in err and not (tmp_path / "o").exists()


def test_a_timestamp_format_for_amlsim_steps_is_refused(tmp_path):
    (tmp_path / "transactions.csv").write_text("sourceNodeId,targetNodeId,value,time\n1,2,5.0,0\n")
    (tmp_path / "nodes.csv").write_text("nodeid,isFraud\n1,0\n2,0\n")
    with pytest.raises(ConfigError, match=r"column 'time' counts steps.*--timestamp-format '%Y%m%d'.*--amlsim-start"):
        load_dataset(tmp_path, timestamp_format="%Y%m%d")
    (tmp_path / "nodes.csv").unlink()
    (tmp_path / "accounts.csv").write_text("acct_id\n1\n2\n")
    (tmp_path / "transactions.csv").write_text("tran_id,orig_acct,bene_acct,tx_type,base_amt,tran_timestamp\n"
                                               "1,1,2,TRANSFER,5.0,3\n")
    with pytest.raises(ConfigError, match="column 'tran_timestamp' counts steps"):
        load_dataset(tmp_path, timestamp_format="%Y%m%d")


def test_amlsim_dates_take_the_timestamp_format_and_the_rates(tmp_path):
    folder = amlsim_iso_folder(tmp_path)
    text = (folder / "transactions.csv").read_text()
    (folder / "transactions.csv").write_text(text.replace("2017-01-02T00:00:00Z", "02/01/2017 09:00")
                                             .replace("2017-01-03T00:00:00Z", "03/01/2017 09:00")
                                             .replace("2017-01-04T00:00:00Z", "04/01/2017 09:00"))
    (tmp_path / "rates.csv").write_text("date,currency,cny_per_unit,usd_per_unit\n"
                                        "2016-01-01,CNY,1,0.5\n2016-01-01,USD,2,1\n")
    ds = load_dataset(folder, timestamp_format="%d/%m/%Y %H:%M", rates=read_rates(tmp_path / "rates.csv"))
    t = ds.transactions.table
    assert [str(d) for d in t.timestamp] == ["2017-01-02 09:00:00", "2017-01-03 09:00:00", "2017-01-04 09:00:00"]
    assert t.amount_usd.tolist() == [50.25, 49.5, 25.0]


@pytest.mark.parametrize("args, named, why", [
    (["--accounts", "{accounts}"], "--accounts", "<bank>:<account> pairs"),
    (["--channel-map", "WIRE=cash"], "--channel-map", "'Payment Format'"),
    (["--timestamp-format", "%Y-%m-%d %H:%M"], "--timestamp-format", "YYYY/MM/DD HH:MM"),
])
def test_options_an_amlworld_file_does_not_read_exit_2_naming_them(tmp_path, capsys, args, named, why):
    (tmp_path / "HI-Tiny_Trans.csv").write_text(AMLWORLD_TINY)
    (tmp_path / "mine.csv").write_text("account_id\n010:8000EBD30\n")
    args = [a.format(accounts=tmp_path / "mine.csv") for a in args]
    assert main(["ingest", str(tmp_path / "HI-Tiny_Trans.csv"), "--out", str(tmp_path / "o"), *args]) == 2
    err = capsys.readouterr().err
    assert f"{named} (" in err and why in err and "AMLworld transactions file" in err and "Fix:" in err
    assert "Traceback" not in err and not (tmp_path / "o").exists()


def test_options_a_transaction_store_does_not_read_are_refused_in_python_too(tmp_path):
    (tmp_path / "t.csv").write_text("txn_id,timestamp,src_account,dst_account,amount,currency,channel\n"
                                    "T1,2024-10-08 10:00:00,A,B,100,CNY,transfer\n")
    assert main(["ingest", str(tmp_path / "t.csv"), "--into", str(tmp_path / "store")]) == 0
    assert len(load_dataset(tmp_path / "store").transactions.table) == 1
    with pytest.raises(ConfigError, match=r"transaction store.*--delimiter \(delimiter=\).*ingest FILE --into"):
        load_dataset(tmp_path / "store", delimiter=";")

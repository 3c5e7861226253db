"""Reading CSV as banks export it: broken lines, delimiters, encodings, compression."""

import gzip

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from flowgraph._kernels.csv_lines import OPEN_QUOTE, bad_lines
from flowgraph.errors import ConfigError, DataError
from flowgraph.io import load_dataset, read_csv_table, read_transactions
from flowgraph.io.csvfile import parse_delimiter, parse_encoding
from reference import csv_lines as reference

HEADER = "txn_id,timestamp,src_account,dst_account,amount,currency,channel\n"


def row(i, amount="100.00", currency="CNY", channel="transfer"):
    return f"t{i},2024-10-08 09:00:00,A{i},B{i},{amount},{currency},{channel}\n"


def write_bytes(tmp_path, name, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    return path


# -- the line kernel against Python's csv module -------------------------------------------

line_text = st.text(alphabet=st.sampled_from(['a', 'b', ',', ';', '"', '\n', '\r', ' ', '人']), max_size=60)


@given(line_text, st.sampled_from([",", ";"]), st.integers(1, 4))
def test_bad_lines_match_reference(text, delimiter, n_fields):
    data = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
    n_rows, rows, _, _, kinds, fields = bad_lines(data, ord(delimiter), ord('"'), n_fields)
    expected_rows, expected_bad = reference.bad_lines(text, delimiter, n_fields)
    assert n_rows == expected_rows
    kind_names = [reference.OPEN_QUOTE if k == OPEN_QUOTE else reference.WRONG_FIELD_COUNT for k in kinds]
    assert list(zip(rows.tolist(), kind_names, fields.tolist())) == expected_bad


@given(line_text)
def test_every_data_line_is_accepted_or_malformed_once(text):
    """pyarrow and the kernel agree on every line: the reader would raise otherwise."""
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "t.csv"
        path.write_bytes(("a,b\n" + text).encode("utf-8"))
        raw = read_csv_table(path, delimiter=",")
    n_rows, _ = reference.bad_lines(text, ",", 2)
    rows = sorted(raw.source_row.tolist() + raw.malformed.source_row.tolist())
    assert rows == list(range(1, n_rows + 1))


# -- malformed lines are rejected rows -------------------------------------------------------

def test_malformed_lines_are_rejected_and_later_rows_keep_their_numbers(tmp_path):
    text = (HEADER + row(1)
            + "t2,2024-10-08 09:00:00,A2,B2,100.00,CNY,transfer,EXTRA\n"   # too many fields
            + "t3,2024-10-08 09:00:00,A3,B3\n"                               # too few
            + '"t4,2024-10-08 09:00:00,A4,B4,100.00,CNY,transfer\n'           # quote never closed
            + row(5) + "\n" + row(6, amount="-1"))
    path = write_bytes(tmp_path, "bank.csv", text.encode())
    ds = read_transactions(path)
    t, rejects, report = ds.transactions.table, ds.transactions.rejects, ds.transactions.report
    assert t.txn_id.tolist() == ["t1", "t5"] and t.source_row.tolist() == [1, 5]
    assert rejects.source_row.tolist() == [2, 3, 4, 6]
    assert rejects.reason_codes.tolist() == ["MALFORMED_LINE"] * 3 + ["NON_POSITIVE_AMOUNT"]
    assert (report.n_input, report.n_accepted, report.n_rejected) == (6, 2, 4)
    assert report.reason_counts["MALFORMED_LINE"] == 3
    assert "row 2 (line 3)" in rejects.message[0] and "8 fields where the header has 7" in rejects.message[0]
    assert "quote" in rejects.message[2]
    # the raw line is kept for the user, the printed messages do not show its account ids
    assert rejects.input_line[1] == "t3,2024-10-08 09:00:00,A3,B3"
    assert not any("A3" in e for e in report.examples)


def test_header_only_and_all_lines_malformed(tmp_path):
    path = write_bytes(tmp_path, "t.csv", (HEADER + "x,y\n" + "1;2;3\n").encode())
    v = read_transactions(path).transactions
    assert (v.report.n_input, v.report.n_accepted) == (2, 0)
    assert set(v.rejects.reason_codes) == {"MALFORMED_LINE"}


# -- delimiters -------------------------------------------------------------------------------

@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_delimiter_is_sniffed(tmp_path, delimiter):
    text = (HEADER + row(1, amount="1,5" if delimiter != "," else "1.5") + row(2)).replace(",", delimiter)
    if delimiter != ",":
        text = text.replace(f"1{delimiter}5", "1,5")  # a decimal comma stays inside its field
    ds = read_transactions(write_bytes(tmp_path, "t.csv", text.encode()))
    assert ds.transactions.report.n_input == 2
    assert ds.transactions.table.txn_id.tolist()[-1] == "t2"


def test_delimiter_option(tmp_path):
    text = (HEADER + row(1)).replace(",", ";")
    path = write_bytes(tmp_path, "t.txt", text.encode())
    assert read_transactions(path, delimiter=";").transactions.report.ok
    with pytest.raises(DataError, match="lacks required column"):  # forced wrong: one column
        read_transactions(path, delimiter=",")
    assert parse_delimiter("tab") == "\t" and parse_delimiter("|") == "|"
    with pytest.raises(ConfigError, match="--delimiter"):
        parse_delimiter(";;")


# -- encodings --------------------------------------------------------------------------------

def test_utf8_with_bom_and_gb18030(tmp_path):
    text = HEADER + row(1, currency="人民币") + row(2)
    bom = read_transactions(write_bytes(tmp_path, "bom.csv", b"\xef\xbb\xbf" + text.encode()))
    assert bom.transactions.report.ok and bom.transactions.table.currency.tolist() == ["CNY", "CNY"]
    gb = write_bytes(tmp_path, "gb.csv", text.encode("gb18030"))
    assert read_transactions(gb, encoding="gb18030").transactions.report.ok
    assert read_transactions(gb, encoding="GBK").transactions.report.ok
    with pytest.raises(DataError) as err:
        read_transactions(gb)  # read as UTF-8
    message = str(err.value)
    assert "gb.csv" in message and "line 2" in message and "--encoding gb18030" in message


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-be"])
def test_a_utf16_file_is_named_as_such_with_the_fix(tmp_path, codec):
    data = ("\ufeff" if codec == "utf-16-be" else "") + HEADER + row(1)  # Python's utf-16 writes the mark itself
    with pytest.raises(DataError) as err:
        read_transactions(write_bytes(tmp_path, "u16.csv", data.encode(codec)))
    message = str(err.value)
    assert "u16.csv" in message and "byte 0 " in message and "UTF-16" in message
    assert "iconv -f utf-16 -t utf-8 u16.csv > u16-utf8.csv" in message
    with pytest.raises(DataError, match="UTF-16 .* save it decompressed as UTF-8"):
        read_transactions(write_bytes(tmp_path, "u16.csv.gz", gzip.compress(data.encode(codec))))


def test_invalid_bytes_in_the_chosen_encoding_name_byte_and_line(tmp_path):
    data = (HEADER + row(1)).encode() + b"t2,\xff\xfe\n"
    with pytest.raises(DataError, match=r"byte [\d,]+ \(line 3\) is not valid gb18030"):
        read_transactions(write_bytes(tmp_path, "t.csv", data), encoding="gb18030")


def test_unknown_or_unsupported_encoding_is_a_usage_error():
    with pytest.raises(ConfigError, match="unknown encoding"):
        parse_encoding("klingon")
    with pytest.raises(ConfigError, match="not supported"):
        parse_encoding("utf-16")
    assert parse_encoding(None) == "utf-8"


# -- compression ------------------------------------------------------------------------------

def test_gzip_and_zstd_csv(tmp_path):
    import pyarrow as pa

    text = (HEADER + row(1) + row(2)).encode()
    gz = write_bytes(tmp_path, "t.csv.gz", gzip.compress(text))
    assert read_transactions(gz).transactions.table.txn_id.tolist() == ["t1", "t2"]
    zst = tmp_path / "t.csv.zst"
    with pa.output_stream(str(zst), compression="zstd") as out:
        out.write(text)
    assert read_transactions(zst).transactions.table.txn_id.tolist() == ["t1", "t2"]
    with pytest.raises(DataError, match="cannot be decompressed as gzip"):
        read_transactions(write_bytes(tmp_path, "bad.csv.gz", b"not gzip"))


def test_amlworld_is_recognised_through_gzip_and_gb18030(tmp_path):
    from reference import rowids as ref_rowids
    from test_io import AMLWORLD

    gz = write_bytes(tmp_path, "HI_Trans.csv.gz", gzip.compress(AMLWORLD.replace(",", ";").encode("gb18030")))
    ds = load_dataset(gz, encoding="gb18030")
    assert ds.transactions.table.txn_id.tolist() == ref_rowids.amlworld_ids(AMLWORLD)[:4]
    assert ds.transactions.table.src_account.iloc[0] == "010:8000EBD30"


# -- duplicate column names -------------------------------------------------------------------

def test_duplicate_column_names_are_an_error(tmp_path):
    path = write_bytes(tmp_path, "t.csv", (HEADER.strip() + ",channel\n" + row(1).strip() + ",cash\n").encode())
    with pytest.raises(DataError, match="names column 'channel' twice"):
        read_transactions(path)
    frame = pd.DataFrame({"txn_id": ["t1"], "when": ["2024-10-08"], "src_account": ["A"],
                          "dst_account": ["B"], "amount": ["1"]})
    mapped = write_bytes(tmp_path, "m.csv", frame.to_csv(index=False).encode())
    with pytest.raises(DataError, match=r"\['txn_id'\] would appear twice"):
        read_transactions(mapped, columns={"timestamp": "when", "txn_id": "src_account"})


def test_duplicate_parquet_columns_are_an_error(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table([pa.array(["t1"]), pa.array(["cash"]), pa.array(["transfer"])],
                     names=["txn_id", "channel", "channel"])
    pq.write_table(table, tmp_path / "t.parquet")
    with pytest.raises(DataError, match=r"\['channel'\] appear more than once"):
        read_transactions(tmp_path / "t.parquet")

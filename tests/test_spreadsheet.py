"""CSV files people open in a spreadsheet (flowgraph._spreadsheet): a text cell that would
run as a formula (ids of the data such as ``=HYPERLINK(…)``) is written with a single quote
before it, in the report drafts, the rejects and the alert queue; numbers stay numbers."""

import csv
import io
import re
from pathlib import Path

import pandas as pd
import pytest

from flowgraph._spreadsheet import FORMULA_START, formula_safe, spreadsheet_safe
from flowgraph.cli import main
from flowgraph.io import load_dataset
from flowgraph.scan import run_scan

SRC = Path(__file__).resolve().parents[1] / "src" / "flowgraph"
HEADER = "txn_id,timestamp,src_account,dst_account,amount,currency,channel\n"
#: Ids of the data that a spreadsheet would run: a link, a command, a sum, a tab-led formula.
LINK = '=HYPERLINK("http://e.vil")'
COMMAND = "-2+3+cmd|' /C calc'!A0"
SUM = "@SUM(1+1)"
TABBED = "\t=1+1"


@pytest.mark.parametrize("value, written", [
    (LINK, "'" + LINK),
    ("+1+1", "'+1+1"),
    (COMMAND, "'" + COMMAND),
    (SUM, "'" + SUM),
    (TABBED, "'" + TABBED),
    ("\r=1", "'\r=1"),
    ("-", "'-"),
    ("-500", "-500"),  # a plain number is read as the number, never a formula
    ("+1.5e3", "+1.5e3"),
    ("-.5", "-.5"),
    ("-1,5", "'-1,5"),
    ("a=1", "a=1"),
    (" =1", " =1"),
    ("'=1", "'=1"),
    ("", ""),
    (-3, -3),
    (None, None),
])
def test_formula_safe_quotes_what_a_spreadsheet_would_run(value, written):
    assert formula_safe(value) == written


def test_numeric_columns_and_the_given_frame_stay_as_they_are():
    frame = pd.DataFrame({"txn_id": pd.Series([LINK, "-7", None], dtype="str"), "note": [SUM, 4, ["=x"]],
                          "amount": [-500.0, 1.0, -2.5], "n": [-1, 0, 1], "raised": [True, False, True],
                          "=col": ["ok", "=x", "y"]})
    safe = spreadsheet_safe(frame)
    assert safe["txn_id"].tolist()[:2] == ["'" + LINK, "-7"] and pd.isna(safe["txn_id"].iloc[2])
    assert safe["note"].tolist() == ["'" + SUM, 4, ["=x"]]
    assert safe.columns.tolist() == ["txn_id", "note", "amount", "n", "raised", "'=col"]
    assert safe["'=col"].tolist() == ["ok", "'=x", "y"]
    assert cells(safe.to_csv(index=False))[1] == ["'" + LINK, "'" + SUM, "-500.0", "-1", "True", "ok"]
    assert frame["txn_id"].iloc[0] == LINK and frame.columns[-1] == "=col"
    for name in ("amount", "n", "raised"):
        assert safe[name].dtype == frame[name].dtype


def cells(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def assert_no_formula(rows: list[list[str]]) -> None:
    """No cell a spreadsheet would run: each starts otherwise, with the quote, or is a number."""
    for row in rows:
        for cell in row:
            assert not cell.startswith(FORMULA_START) or re.fullmatch(r"[+-]?[0-9.]+(e[+-]?[0-9]+)?", cell), cell


@pytest.fixture(scope="module")
def hostile_store(tmp_path_factory) -> Path:
    """A scanned file whose large-value cash deposits carry hostile transaction and account
    ids (no accounts file: the customer is the account)."""
    folder = tmp_path_factory.mktemp("hostile")
    rows = [(LINK, "2026-12-01T10:00:00", SUM, "B0001", 60_000), (COMMAND, "2026-12-02T10:00:00", SUM, "B0001", 60_001),
            ("t3", "2026-12-03T10:00:00", "A0001", "+B0002", 60_002)]
    with open(folder / "tx.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(HEADER.strip().split(","))
        writer.writerows([(*r, "CNY", "cash") for r in rows])
    run_scan(load_dataset(folder / "tx.csv"), folder / "out", progress=False)
    return folder / "out" / "store.sqlite"


@pytest.mark.parametrize("reveal", [[], ["--reveal-ids"]])
def test_large_value_reports_csv_quotes_formula_ids(hostile_store, tmp_path, reveal):
    out = tmp_path / "drafts"
    assert main(["report-draft", "--store", str(hostile_store), "--out", str(out), "--today", "2026-12-04",
                 *reveal]) == 0
    rows = cells((out / "large-value-reports.csv").read_text())
    assert_no_formula(rows)
    column = {name: [r[k] for r in rows[1:]] for k, name in enumerate(rows[0])}
    assert "'" + LINK in column["txn_ids"] and "'" + COMMAND in column["txn_ids"]
    assert {"60000.0", "60001.0"} <= set(column["amount"])
    if reveal:
        assert "'" + SUM in column["account"] and "'+B0002" in column["counterparties"]
    assert LINK in (out / "large-value-reports.md").read_text().replace("\\", "")  # the Markdown shows it as text


def test_alert_queue_csv_quotes_formula_customers(hostile_store, capsys):
    assert main(["alerts", "--store", str(hostile_store), "--status", "all", "--format", "csv",
                 "--reveal-ids"]) == 0
    rows = cells(capsys.readouterr().out)
    assert_no_formula(rows)
    assert "'" + SUM in [r[rows[0].index("customer")] for r in rows[1:]]


def hostile_input(tmp_path: Path) -> Path:
    """Rows rejected with hostile values: an id and accounts that are formulas, a negative
    amount (kept a number), and a malformed line that starts with a formula."""
    path = tmp_path / "tx.csv"
    path.write_text(HEADER + f'"{LINK.replace(chr(34), chr(34) * 2)}",2026-12-01T10:00:00,{SUM},-B,-500,CNY,cash\n'
                    "+cmd|x,2026-12-01T10:00:00,A,B,abc,CNY,cash\n"
                    "=1+1,2026-12-01T10:00:00,A,B,5,CNY,cash,extra\n"
                    "ok1,2026-12-01T10:00:00,A,B,5,CNY,cash\n")
    return path


def rejected_cells(rejects: Path) -> dict[str, list[str]]:
    rows = cells(rejects.read_text())
    assert_no_formula(rows)
    return {name: [r[k] for r in rows[1:]] for k, name in enumerate(rows[0])}


def test_rejects_csv_of_a_whole_file_quotes_formula_values(tmp_path):
    assert main(["ingest", str(hostile_input(tmp_path)), "--out", str(tmp_path / "o")]) == 0
    column = rejected_cells(tmp_path / "o" / "rejects.csv")
    assert column["input_txn_id"][:2] == ["'" + LINK, "'+cmd|x"]
    assert column["input_src_account"][0] == "'" + SUM and column["input_dst_account"][0] == "'-B"
    assert column["input_amount"][:2] == ["-500", "abc"]
    assert column["input_line"][2] == "'=1+1,2026-12-01T10:00:00,A,B,5,CNY,cash,extra"


def test_rejects_csv_of_an_ingest_into_a_store_quotes_formula_values(tmp_path):
    assert main(["ingest", str(hostile_input(tmp_path)), "--into", str(tmp_path / "store")]) == 0
    (rejects,) = (tmp_path / "store" / "ingests").glob("*/rejects.csv")
    column = rejected_cells(rejects)
    assert column["input_txn_id"][:2] == ["'" + LINK, "'+cmd|x"]
    assert column["input_line"][2] == "'=1+1,2026-12-01T10:00:00,A,B,5,CNY,cash,extra"


def test_every_csv_writer_goes_through_spreadsheet_safe():
    """A CSV written for people without the helper is the bug this module fixes."""
    calls = [f"{path.relative_to(SRC)}:{n}: {line.strip()}" for path in sorted(SRC.rglob("*.py"))
             for n, line in enumerate(path.read_text().splitlines(), 1)
             if re.search(r"\.to_csv\(|csv\.writer|DictWriter", line)]
    assert calls and [c for c in calls if "spreadsheet_safe(" not in c] == []

import json

import pandas as pd

from flowgraph.cli import main


def test_demo_runs_the_main_job(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "20,006 rows read, 20,000 accepted, 6 rejected" in out
    assert "graph:" in out and "business_days" in out
    rejects = pd.read_csv(tmp_path / "rejects.csv")
    assert len(rejects) == 6
    assert set(";".join(rejects.reason_codes).split(";")) == {
        "BAD_TIMESTAMP", "NON_POSITIVE_AMOUNT", "BAD_AMOUNT", "UNKNOWN_CURRENCY", "NO_PARTIES", "DUPLICATE_TXN_ID"}
    summary = json.loads((tmp_path / "graph_summary.json").read_text())
    assert summary["transactions"] == 20_000


def test_demo_is_deterministic(tmp_path):
    assert main(["demo", "--out", str(tmp_path / "a")]) == 0
    assert main(["demo", "--out", str(tmp_path / "b")]) == 0
    a = pd.read_parquet(tmp_path / "a" / "transactions.parquet")
    b = pd.read_parquet(tmp_path / "b" / "transactions.parquet")
    pd.testing.assert_frame_equal(a, b)


def test_ingest_with_mapping(tmp_path, capsys):
    src = tmp_path / "bank.csv"
    src.write_text("Ref,When,From,To,Amt\nr1,2024-10-08 09:00,A,B,10\nr2,2024-10-08 09:30,B,A,oops\n")
    code = main(["ingest", str(src), "--out", str(tmp_path / "o"), "--map", "txn_id=Ref", "--map", "timestamp=When",
                 "--map", "src_account=From", "--map", "dst_account=To", "--map", "amount=Amt"])
    assert code == 0
    assert "2 rows read, 1 accepted, 1 rejected" in capsys.readouterr().out
    assert pd.read_csv(tmp_path / "o" / "rejects.csv").reason_codes.tolist() == ["BAD_AMOUNT"]


def test_exit_codes(tmp_path, capsys):
    assert main(["ingest", str(tmp_path / "missing.csv"), "--out", str(tmp_path)]) == 3
    assert "no such file" in capsys.readouterr().err
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    assert main(["ingest", str(empty), "--out", str(tmp_path)]) == 3
    assert main(["ingest"]) == 2  # usage: INPUT and --out missing
    assert main(["ingest", str(empty), "--out", str(tmp_path), "--map", "nonsense"]) == 2
    assert main(["--help"]) == 0
    assert "Exit codes" in capsys.readouterr().out

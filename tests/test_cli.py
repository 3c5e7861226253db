import json

import pandas as pd

from flowgraph.cli import main


def test_demo_runs_the_main_job(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "simulated 3,000 customers over 60 business days" in out
    assert "planted patterns:" in out and "graph:" in out and "0 rejected" in out
    for name in ("transactions", "accounts", "patterns"):
        assert (tmp_path / "data" / f"{name}.parquet").exists()
    patterns = pd.read_parquet(tmp_path / "data" / "patterns.parquet")
    summary = json.loads((tmp_path / "ingest" / "graph_summary.json").read_text())
    assert summary["transactions"] == len(pd.read_parquet(tmp_path / "data" / "transactions.parquet"))
    assert summary["business_days"] == 60 and len(patterns) > 0


def test_demo_is_deterministic(tmp_path):
    assert main(["demo", "--out", str(tmp_path / "a")]) == 0
    assert main(["demo", "--out", str(tmp_path / "b")]) == 0
    for name in ("transactions", "patterns"):
        a = pd.read_parquet(tmp_path / "a" / "data" / f"{name}.parquet")
        b = pd.read_parquet(tmp_path / "b" / "data" / f"{name}.parquet")
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

import json

import pandas as pd

from flowgraph.cli import main


def test_demo_runs_the_main_job(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("FLOWGRAPH_KEY_FILE", str(tmp_path / "key"))
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
    assert "pictures of the top alert" in out
    for name in ("ceiling_surface", "alert_subgraph", "alert_utilisation", "alert_daily_flows"):
        assert (tmp_path / "pictures" / f"{name}.png").stat().st_size > 10_000
    assert (tmp_path / "scan" / "alerts.parquet").exists()


def test_demo_says_which_other_typology_names_a_pattern_its_own_does_not(capsys):
    """A naive daily structurer deposits at or above the threshold: the large-value rule
    reports it, not the structuring test, and the demo's table says so instead of a bare 0/2."""
    from flowgraph.cli import _print_found

    patterns = pd.DataFrame({"typology": ["structuring_daily"] * 3 + ["fan_in"],
                             "behaviour": ["naive", "naive", "adaptive", "naive"],
                             "subject": ["A", "B", "C", "D"]})
    hits = pd.DataFrame({"subject": ["A", "A", "C", "D"],
                         "typology": ["large_value_daily", "frequent_daily", "structuring_daily", "fan_out"]})
    _print_found(patterns, hits)
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].split() == ["fan_in", "naive", "0/1", "(1", "more", "named", "by", "fan_out)"]
    assert lines[2].split() == ["structuring_daily", "adaptive", "1/1"]
    assert lines[3].split() == ["structuring_daily", "naive", "0/2", "(1", "more", "named", "by",
                                "frequent_daily,", "large_value_daily)"]
    _print_found(patterns, hits.iloc[:0])  # no hit at all
    assert "0/2" in capsys.readouterr().out


def test_demo_is_deterministic(tmp_path, monkeypatch):
    monkeypatch.setenv("FLOWGRAPH_KEY_FILE", str(tmp_path / "key"))
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


def test_scan_writes_hits(tmp_path, capsys, monkeypatch):
    from flowgraph.simulate import simulate, write_simulation

    monkeypatch.setenv("FLOWGRAPH_KEY_FILE", str(tmp_path / "key"))
    bank = simulate(seed=4, n_customers=800, n_days=25, patterns_per_typology=2, lookalikes_per_kind=1,
                    recruit_pool_share=0.4)
    write_simulation(bank, tmp_path / "data")
    assert main(["scan", str(tmp_path / "data"), "--out", str(tmp_path / "scan"), "--reveal-ids"]) == 0
    hits = pd.read_parquet(tmp_path / "scan" / "hits.parquet")
    assert {"hit_id", "detector", "subject", "accounts", "txn_ids", "window_start", "window_end", "n_accounts",
            "n_days", "amount", "ceiling", "utilisation"} <= set(hits.columns)
    assert (tmp_path / "scan" / "alerts.parquet").exists() and (tmp_path / "scan" / "store.sqlite").exists()
    # evidence uses the user's transaction ids
    assert set(hits.txn_ids.explode()) <= set(bank.transactions.txn_id)
    adaptive = bank.patterns[(bank.patterns.behaviour == "adaptive") & (bank.patterns.typology == "pass_through")]
    assert adaptive.subject.isin(hits.loc[hits.detector == "pass_through", "subject"]).all()
    # re-running gives the same hits, de-identified by default
    assert main(["scan", str(tmp_path / "data"), "--out", str(tmp_path / "again")]) == 0
    again = pd.read_parquet(tmp_path / "again" / "hits.parquet")
    assert sorted(again.hit_id) == sorted(hits.hit_id)
    assert again.subject.str.startswith("ACC-").all()
    # T+1 on one day
    day = str(bank.transactions.timestamp.max().date())
    assert main(["scan", str(tmp_path / "data"), "--out", str(tmp_path / "t1"), "--as-of", day]) == 0
    assert "(t+1, " in capsys.readouterr().out


def test_simulate_seven_day_week_in_usd(tmp_path):
    """`flowgraph simulate --week seven_day --currency USD`: activity on weekends, planted
    amounts in US dollars; an unknown week is a usage error (exit 2)."""
    out = tmp_path / "bank"
    args = ["simulate", "--seed", "3", "--customers", "1000", "--days", "21", "--out", str(out)]
    assert main([*args, "--week", "seven_day", "--currency", "USD"]) == 0
    days = pd.read_parquet(out / "transactions.parquet")["timestamp"].dt.day_of_week
    assert (days >= 5).any()
    patterns = pd.read_parquet(out / "patterns.parquet")
    assert set(patterns.loc[patterns["behaviour"] != "lookalike", "currency"]) == {"USD"}
    assert main([*args, "--week", "lunar"]) == 2


def test_a_banks_channel_codes_are_read_through_channel_map_in_a_file_and_a_store(tmp_path, capsys):
    # a GBK export whose channel column holds the bank's own codes (网银 = online banking)
    src = tmp_path / "gbk.csv"
    src.write_bytes(("txn_id,timestamp,src_account,dst_account,amount,currency,channel\n"
                     "t1,2027-01-04 09:00,张三,李四,100.00,CNY,网银\n"
                     "t2,2027-01-04 10:00,,李四,200.00,CNY, atm \n"
                     "t3,2027-01-05 09:00,李四,王五,300.00,USD,SWIFT\n").encode("gbk"))
    read = ["--encoding", "gb18030"]
    mapped = read + ["--channel-map", "网银=transfer", "--channel-map", "ATM=Cash", "--channel-map", "swift=cross_border"]
    # unmapped: every row set aside, the message names the option that fixes it
    assert main(["ingest", str(src), "--into", str(tmp_path / "bad"), *read]) == 3
    err = capsys.readouterr().err
    assert "UNKNOWN_CHANNEL" in err and "--channel-map" in err
    # a map onto no channel of flowgraph's is a usage error naming the option, before a store is made
    assert main(["ingest", str(src), "--into", str(tmp_path / "bad2"), *read, "--channel-map", "网银=wire"]) == 2
    assert "--channel-map" in capsys.readouterr().err
    assert not (tmp_path / "bad2").exists()
    for how in (["--into", str(tmp_path / "store")], ["--out", str(tmp_path / "file")]):
        assert main(["ingest", str(src), *how, *mapped]) == 0
        assert "3 accepted, 0 rejected" in capsys.readouterr().out
    from flowgraph.txstore import TransactionStore

    stored = TransactionStore(tmp_path / "store").read_days("2027-01-04", "2027-01-05").to_pandas()
    from_file = pd.read_parquet(tmp_path / "file" / "transactions.parquet")
    for table in (stored, from_file):
        channels = dict(zip(table["txn_id"].astype(str), table["channel"].astype(str)))
        assert channels == {"t1": "transfer", "t2": "cash", "t3": "cross_border"}

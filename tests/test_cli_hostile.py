"""Every failure a user can cause from the command line ends in exit 2 (usage or
configuration) or 3 (data) with one message that names what is wrong and the fix, never
a traceback (issue 10's list, case by case)."""

import gzip
import os

import pandas as pd
import pytest

from flowgraph.cli import main

GOOD = ("txn_id,timestamp,src_account,dst_account,amount\n"
        "t1,2026-11-02 09:00,A,B,120.50\nt2,2026-11-03 10:00,B,C,80.00\n")


@pytest.fixture(autouse=True)
def key_file(tmp_path, monkeypatch):
    monkeypatch.setenv("FLOWGRAPH_KEY_FILE", str(tmp_path / "keys" / "pseudonym.key"))


def _files(tmp_path):
    good = tmp_path / "good.csv"
    good.write_text(GOOD)
    (tmp_path / "a_dir").mkdir()
    (tmp_path / "garbage_rates.csv").write_bytes(b"\x00\x01\x02 not a table \xff")
    (tmp_path / "bad_hex.key").write_text("zz" * 32)
    os.chmod(tmp_path / "bad_hex.key", 0o600)
    (tmp_path / "open.key").write_text("ab" * 32)
    os.chmod(tmp_path / "open.key", 0o644)
    (tmp_path / "short.key").write_text("ab" * 8)
    os.chmod(tmp_path / "short.key", 0o600)
    (tmp_path / "all_bad.csv").write_text("txn_id,timestamp,src_account,dst_account,amount\nt1,never,A,B,-1\n")
    (tmp_path / "in_2099.csv").write_text(GOOD + "t3,2099-01-05 10:00,C,A,5.00\n")
    with gzip.open(tmp_path / "broken.csv.gz", "wt") as fh:
        fh.write(GOOD + "t3,2026-11-04,C,A,5.00,extra,fields\n")
    # GB18030 text read as UTF-8, with a malformed line: the encoding is named, not the line
    (tmp_path / "gb_malformed.csv").write_bytes(
        "txn_id;timestamp;src_account;dst_account;amount\nt1;2026-11-02;甲1;乙2;100\nt2;2026-11-03;乙2;丙3;80;x\n"
        .encode("gb18030"))
    (tmp_path / "bad.toml").write_text("[model.weights]\nfan_inn = 1.0\n")
    (tmp_path / "strict.toml").write_text('[calendar]\nbeyond_coverage = "error"\n')
    (tmp_path / "future.csv").write_text(GOOD + "t3,2027-03-01 10:00,C,A,5.00\n")
    pd.DataFrame({"txn_id": ["t1"], "timestamp": ["2026-11-02"], "src_account": [1833.5],
                  "dst_account": [1.0], "amount": [10.0]}).to_parquet(tmp_path / "float_ids.parquet")
    return good


CASES = [
    # (arguments after "scan GOOD --out OUT" or a whole command line, exit code, words of the message)
    (["--as-of", "02/11/2026"], 2, ["--as-of", "YYYY-MM-DD"]),
    (["--as-of", "2030-01-02"], 2, ["--as-of", "outside the data"]),
    (["--config", "{tmp}/bad.toml"], 2, ["fan_inn", "known"]),
    (["--config", "{tmp}/nope.toml"], 2, ["not found"]),
    (["--rates", "{tmp}/garbage_rates.csv"], 3, ["garbage_rates.csv", "Fix"]),
    (["--key-file", "{tmp}/a_dir"], 2, ["a_dir"]),
    (["--key-file", "{tmp}/bad_hex.key"], 2, ["bad_hex.key"]),
    (["--key-file", "{tmp}/open.key"], 2, ["chmod 600"]),
    (["--key-file", "{tmp}/short.key"], 2, ["short.key"]),
    (["--key-file", "{tmp}/mistyped.key"], 2, ["mistyped.key"]),
    (["--store", "{tmp}/a_dir"], 2, ["a_dir", "folder"]),
    (["--encoding", "klingon"], 2, ["klingon"]),
    (["--out", "{tmp}/good.csv"], 2, ["is a file"]),
    ("scan {tmp}/all_bad.csv --out {tmp}/o", 3, ["rejected", "rejects.csv"]),
    ("scan {tmp}/float_ids.parquet --out {tmp}/o", 3, ["src_account", "text"]),
    ("scan {tmp}/future.csv --out {tmp}/o --config {tmp}/strict.toml", 2, ["2027", "holidays_file"]),
    ("scan {tmp}/missing.csv --out {tmp}/o", 3, ["missing.csv"]),
    ("scan {tmp}/gb_malformed.csv --out {tmp}/o", 3, ["not valid utf-8", "line 2", "--encoding gb18030"]),
    # a format the parser refuses, said before anything is read (was a ValueError traceback)
    (["--timestamp-format", "%Q"], 2, ["--timestamp-format", "bad directive", "strftime"]),
    (["--timestamp-format", "%Y-%m-%d %"], 2, ["--timestamp-format", "stray %"]),
    # mapping options that would silently read the wrong thing (the last one won, a typo passed through)
    (["--map", "amount=amount", "--map", "amount=txn_id"], 2, ["--map", "amount is given twice"]),
    (["--map", "src_account=amount", "--map", "dst_account=amount"], 2, ["--map", "src_account and dst_account"]),
    (["--map", "chanel=kanal"], 2, ["--map", "did you mean channel=kanal"]),
    (["--channel-map", "transfer=cash", "--channel-map", "TRANSFER=transfer"], 2, ["--channel-map", "two channels"]),
    ("report --store {tmp}/a_dir", 2, ["directory"]),
    ("dispose nope --store {tmp}/nostore.sqlite --as case --analyst a", 2, ["nostore.sqlite"]),
]


@pytest.mark.parametrize("args, code, words", CASES, ids=[" ".join(c[0]) if isinstance(c[0], list) else c[0]
                                                           for c in CASES])
def test_failure_is_one_clear_message(tmp_path, capsys, args, code, words):
    good = _files(tmp_path)
    if isinstance(args, list):
        argv = ["scan", str(good), "--out", str(tmp_path / "o")] + [a.format(tmp=tmp_path) for a in args]
        if "--out" in args[:1]:
            argv = ["scan", str(good)] + [a.format(tmp=tmp_path) for a in args]
    else:
        argv = args.format(tmp=tmp_path).split()
    assert main(argv) == code
    captured = capsys.readouterr()
    err = captured.err
    assert "Traceback" not in err + captured.out
    for word in words:
        assert word in err, (word, err)


def test_a_bad_key_is_refused_before_the_scan_runs(tmp_path, capsys):
    good = _files(tmp_path)
    assert main(["scan", str(good), "--out", str(tmp_path / "o"), "--key-file", str(tmp_path / "bad_hex.key")]) == 2
    assert "bad_hex.key" in capsys.readouterr().err
    assert not (tmp_path / "o" / "store.sqlite").exists()  # nothing scanned, nothing to redo once the key is fixed


def test_a_row_in_2099_is_rejected_and_the_rest_scanned(tmp_path, capsys):
    _files(tmp_path)
    assert main(["scan", str(tmp_path / "in_2099.csv"), "--out", str(tmp_path / "o")]) == 0
    rejects = pd.read_csv(tmp_path / "o" / "rejects.csv")
    assert rejects["reason_codes"].tolist() == ["FUTURE_TIMESTAMP"]
    assert "(range, 2026-11-02..2026-11-03)" in capsys.readouterr().out


def test_a_malformed_line_in_a_gzip_file_is_a_rejected_row(tmp_path, capsys):
    _files(tmp_path)
    assert main(["scan", str(tmp_path / "broken.csv.gz"), "--out", str(tmp_path / "o")]) == 0
    rejects = pd.read_csv(tmp_path / "o" / "rejects.csv")
    assert rejects["reason_codes"].tolist() == ["MALFORMED_LINE"] and rejects["source_row"].tolist() == [3]


@pytest.mark.parametrize("args, named", [
    (["--days", "5"], "'--days' option of flowgraph simulate"),
    (["--customers", "-5"], "'--customers' option of flowgraph simulate"),
    (["--start", "notadate"], "'--start'"),
    (["--customers", "60", "--patterns-per-typology", "40"], "or more, or lower --patterns-per-typology"),
    (["--seed", "-1"], "'--seed'"),
    (["--patterns-per-typology", "-1"], "'--patterns-per-typology'"),
])
def test_a_bad_simulation_is_said_with_the_option_that_sets_it(tmp_path, capsys, args, named):
    """The simulation's checks speak of its Python parameters (n_days, recruit_pool_share…);
    on the command line they name the option to change."""
    assert main(["simulate", "--out", str(tmp_path / "sim"), *args]) == 2
    err = capsys.readouterr().err
    assert named in err and "n_customers" not in err and "n_days" not in err and "recruit_pool_share" not in err, err


def test_a_column_read_as_another_shows_none_of_its_values_outside_rejects(tmp_path, capsys):
    """Swapped headers put account ids under 'timestamp'; a --map can read them as amounts.
    The first problems were printed with their values: the raw ids on the console and in
    validation.json. The values stay in the owner-only rejects.csv."""
    account = "6222000000001780"
    (tmp_path / "swapped.csv").write_text("txn_id,src_account,timestamp,dst_account,amount\n"
                                          f"t1,2026-11-02 09:00,{account},6222000000002001,120.50\n")
    for args in (["ingest", str(tmp_path / "swapped.csv"), "--out", str(tmp_path / "a")],
                 ["ingest", str(tmp_path / "swapped.csv"), "--out", str(tmp_path / "b"),
                  "--map", "timestamp=src_account", "--map", "src_account=timestamp",
                  "--map", "amount=dst_account", "--map", "dst_account=amount"]):
        main(args)
        captured = capsys.readouterr()
        out = args[args.index("--out") + 1]
        assert "Traceback" not in captured.err and "(value in rejects.csv)" in captured.out
        assert account not in captured.out + captured.err + (tmp_path / out / "validation.json").read_text()
        assert account in (tmp_path / out / "rejects.csv").read_text()


def test_empty_cells_header_only_and_other_formats_are_said_as_such(tmp_path, capsys):
    """An empty currency or channel cell was an "unknown currency" whose fix was to add it to
    the rate table; a header-only file's scan said to see rejected rows there were none of;
    a JSON file was told to pass fmt='csv', a parameter the command line does not have."""
    (tmp_path / "blank.csv").write_text("txn_id,timestamp,src_account,dst_account,amount,currency,channel\n"
                                        "t1,2026-11-02 09:00,A,B,10,,transfer\nt2,2026-11-02 09:05,A,B,10,CNY,\n"
                                        "t3,2026-11-02 09:10,A,B,10,XYZ,teleport\nt4,2026-11-02 09:15,A,B,10,CNY,cash\n")
    assert main(["ingest", str(tmp_path / "blank.csv"), "--out", str(tmp_path / "o")]) == 0
    rejects = pd.read_csv(tmp_path / "o" / "rejects.csv")
    assert rejects["reason_codes"].tolist() == ["MISSING_CURRENCY", "MISSING_CHANNEL",
                                                "UNKNOWN_CURRENCY;UNKNOWN_CHANNEL"]
    assert "fill in the currency code" in rejects["message"][0] and "rate table" not in rejects["message"][0]
    (tmp_path / "header.csv").write_text("txn_id,timestamp,src_account,dst_account,amount\n")
    assert main(["scan", str(tmp_path / "header.csv"), "--out", str(tmp_path / "s")]) == 3
    err = capsys.readouterr().err
    assert "no transaction rows (a header only)" in err and "rejected rows" not in err
    (tmp_path / "lines.jsonl").write_text('{"txn_id": "t1"}\n')
    assert main(["scan", str(tmp_path / "lines.jsonl"), "--out", str(tmp_path / "j")]) == 3
    err = capsys.readouterr().err
    assert "CSV and Parquet" in err and "fmt=" not in err


def test_dates_are_yyyy_mm_dd_and_analysts_one_line_of_text(tmp_path, capsys):
    """Python's ISO parser takes 20241201 and 2024-W48-1: report-draft took both silently and
    the queue failed on one; an analyst's name with a line break forged lines in the drafts."""
    for args in (["report-draft", "--store", "{s}", "--out", "{t}/d", "--today", "20241201"],
                 ["report-draft", "--store", "{s}", "--out", "{t}/d", "--from", "2024-W48-1"],
                 ["scan", "{t}/good.csv", "--out", "{t}/o", "--as-of", "20261102"],
                 ["simulate", "--start", "2024-W36-1", "--out", "{t}/sim"],
                 ["dispose", "a1", "--store", "{s}", "--as", "case", "--analyst", "eve\n# heading"],
                 ["dispose", "a1", "--store", "{s}", "--as", "case", "--analyst", "   "]):
        (tmp_path / "store.sqlite").write_bytes(b"")
        (tmp_path / "good.csv").write_text(GOOD)
        assert main([a.format(s=tmp_path / "store.sqlite", t=tmp_path) for a in args]) == 2, args
        err = capsys.readouterr().err
        assert "Traceback" not in err and ("YYYY-MM-DD" in err or "--analyst" in err), err

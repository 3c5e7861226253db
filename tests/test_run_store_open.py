"""Opening a run store that is not what this version wrote: a table or column missing,
a read-only file, an empty or foreign file. Each desk command ends in exit 2 or 3 with one
message naming the file and the fix, and a file that is not a store is left as it is."""

import os
import sqlite3

import pytest
from desk_banks import copy_store, scan_bank
from test_desk import tiny_bank_rows

from flowgraph.cli import main
from flowgraph.store import Store


@pytest.fixture(scope="module")
def scanned(tmp_path_factory):
    return scan_bank(tmp_path_factory.mktemp("open"), tiny_bank_rows())


@pytest.fixture
def store_path(scanned, tmp_path):
    return copy_store(scanned, tmp_path)


def _raised_alert(path) -> str:
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT alert_id FROM alerts WHERE raised = 1 ORDER BY alert_id").fetchone()[0]


def _desk_commands(path, alert_id, out) -> dict[str, list[str]]:
    """Every command that only reads the store (dispose writes a decision into it)."""
    store = ["--store", str(path)]
    return {"alerts": ["alerts", *store],
            "show": ["show", alert_id, *store, "--out", str(out / "case.html")],
            "report": ["report", *store],
            "report-draft": ["report-draft", *store, "--out", str(out / "drafts"), "--alert", alert_id],
            "learn": ["learn", *store, "--out", str(out / "learned.toml")],
            "dispose": ["dispose", alert_id, *store, "--as", "case", "--analyst", "a"]}


@pytest.mark.parametrize("table, column", [("alerts", "hit_ids"), ("alerts", "explanation"), ("alerts", "last_run"),
                                           ("hits", "measures"), ("runs", "config")])
def test_a_store_lacking_a_column_names_it_and_the_fix(store_path, tmp_path, capsys, table, column):
    alert_id = _raised_alert(store_path)
    with sqlite3.connect(store_path) as conn:
        conn.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
    for name, args in _desk_commands(store_path, alert_id, tmp_path).items():
        assert main(args) == 3, name  # were KeyError, AttributeError and sqlite3 tracebacks (exit 1)
        err = capsys.readouterr().err
        assert str(store_path) in err and f"column {table}.{column}" in err, (name, err)
        assert "backup" in err and "new --store" in err and err.count("\n") == 1, (name, err)


def test_a_store_lacking_a_table_names_it_instead_of_recreating_it_empty(store_path, tmp_path, capsys):
    alert_id = _raised_alert(store_path)
    with sqlite3.connect(store_path) as conn:
        conn.execute("DROP TABLE dispositions")  # the decisions: an empty new table would hide their loss
    assert main(_desk_commands(store_path, alert_id, tmp_path)["alerts"]) == 3
    assert "lacks table dispositions" in capsys.readouterr().err
    with sqlite3.connect(store_path) as conn:
        assert not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'dispositions'").fetchall()


def test_a_store_of_an_earlier_version_still_opens(store_path, capsys):
    # the store as the first versions wrote it: without the hits' run days, seen_through and
    # content, run_chunks.changes, hit_versions and run_hits
    with sqlite3.connect(store_path) as conn:
        for index in ("hits_run_last_seen", "hits_detector_last", "hits_customer_days", "hits_subject_days"):
            conn.execute(f"DROP INDEX {index}")
        for table, column in [("hits", "run_first"), ("hits", "run_last"), ("hits", "seen_through"),
                              ("hits", "content"), ("run_chunks", "changes")]:
            conn.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
        conn.execute("DROP TABLE hit_versions")
        conn.execute("DROP TABLE run_hits")
    store = Store(store_path, create=False)
    assert {"run_last", "content"} <= {r[1] for r in store.conn.execute("PRAGMA table_info(hits)")}
    assert len(store.query("SELECT * FROM run_hits")) == 0
    store.close()
    assert main(["alerts", "--store", str(store_path), "--status", "all"]) == 0
    assert "alert(s)" in capsys.readouterr().out


@pytest.mark.parametrize("content", [b"", "pragma"], ids=["empty file", "sqlite without tables"])
def test_reading_commands_leave_a_file_that_is_not_a_store_untouched(tmp_path, capsys, content):
    path = tmp_path / "f.sqlite"
    if content == "pragma":
        with sqlite3.connect(path) as conn:
            conn.execute("PRAGMA user_version = 7")  # a valid SQLite file holding no table
    else:
        path.write_bytes(content)
    path.chmod(0o640)
    before = path.read_bytes()
    for name, args in _desk_commands(path, "0123456789abcdef", tmp_path).items():
        assert main(args) == 3, name  # alerts and report made it an 86 KB store and exited 0
        err = capsys.readouterr().err
        assert f"{path}: not a flowgraph run store" in err and "--store a scan wrote" in err, (name, err)
        assert path.read_bytes() == before and oct(path.stat().st_mode & 0o777) == "0o640", name


def test_scan_still_creates_a_new_store_owner_only(tmp_path):
    csv = tmp_path / "quiet.csv"
    csv.write_text("txn_id,timestamp,src_account,dst_account,amount\nt1,2026-11-02 09:00,A,B,120.50\n")
    store = tmp_path / "new" / "store.sqlite"
    assert main(["scan", str(csv), "--out", str(tmp_path / "o"), "--store", str(store)]) == 0
    assert oct(store.stat().st_mode & 0o777) == "0o600"
    assert main(["report", "--store", str(store)]) == 0


def _writes(store_path, tmp_path) -> dict[str, list[str]]:
    alert_id = _raised_alert(store_path)
    commands = _desk_commands(store_path, alert_id, tmp_path)
    return {"dispose": commands["dispose"], "alerts --reveal-ids": commands["alerts"] + ["--reveal-ids"],
            "show --reveal-ids": commands["show"] + ["--reveal-ids"]}


def _assert_read_only_message(store_path, err, name):
    assert str(store_path) in err and "read-only" in err and "writable copy" in err, (name, err)
    assert "backup" not in err and "damaged" not in err and err.count("\n") == 1, (name, err)


def test_writing_to_a_read_only_connection_says_read_only_not_damaged(store_path, tmp_path, capsys, monkeypatch):
    """SQLite's own "attempt to write a readonly database", as a read-only file or mount
    gives it, made by ``PRAGMA query_only`` (root, who runs the suite in CI, ignores chmod)."""
    commands = _writes(store_path, tmp_path)
    opened = Store._open

    def read_only(self, *args):
        opened(self, *args)
        self.conn.execute("PRAGMA query_only = 1")

    monkeypatch.setattr(Store, "_open", read_only)
    assert main(["alerts", "--store", str(store_path)]) == 0  # reading needs no write access
    capsys.readouterr()
    for name, args in commands.items():
        assert main(args) == 2, name  # was exit 3 "damaged ... restore it from a backup"
        _assert_read_only_message(store_path, capsys.readouterr().err, name)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes to a 0444 file in a 0555 folder")
def test_a_read_only_store_file_and_folder(store_path, tmp_path, capsys):
    commands = _writes(store_path, tmp_path / "out")
    (tmp_path / "out").mkdir()
    store_path.chmod(0o444)
    tmp_path.chmod(0o555)
    try:
        assert main(["alerts", "--store", str(store_path)]) == 0
        capsys.readouterr()
        for name, args in commands.items():
            assert main(args) == 2, name
            _assert_read_only_message(store_path, capsys.readouterr().err, name)
    finally:
        tmp_path.chmod(0o755)

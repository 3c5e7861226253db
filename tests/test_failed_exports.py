"""A scan that fails leaves none of its exports where a downstream job would take them for
results (flowgraph.exports.staged_exports): a full disk while alerts.parquet is written
after hits.parquet, in a scan of a file and in a scan of a store in blocks, ends in exit 2
with one message naming alerts.parquet and the fix, and OUT holds no hits.parquet,
alerts.parquet or manifest.json of that run; the same command run again resumes and
writes them. An earlier complete run's exports stay as they were, with their manifest,
and a kill -9 while the files are moved into place never leaves a manifest beside a mixed
set (flowgraph._files.StagedFiles)."""

import errno
import json
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

import flowgraph.store
from flowgraph._files import StagedFiles
from flowgraph.cli import main
from flowgraph.io import load_dataset
from flowgraph.simulate import simulate, write_simulation
from flowgraph.txstore import TransactionStore

EXPORTS = ("hits.parquet", "alerts.parquet", "manifest.json")
SRC = str(Path(__file__).resolve().parents[1] / "src")


@pytest.fixture(scope="module")
def bank(tmp_path_factory):
    """A small simulated bank (every typology planted, 20 business days): as files, and
    ingested into a transaction store."""
    folder = tmp_path_factory.mktemp("bank")
    write_simulation(simulate(seed=5, n_customers=400, n_days=20, patterns_per_typology=1, lookalikes_per_kind=1,
                              recruit_pool_share=0.6), folder)
    store = TransactionStore.create(folder / "store")
    store.ingest(load_dataset(folder), str(folder))
    return folder


def _full_disk_on(monkeypatch, name: str) -> list[list[str]]:
    """Parquet writes of ``name`` (into its temporary file) fail as Arrow fails on a full
    disk: the bytes are written, then an OSError naming no file. Returns, per failed
    write, the names the folder held at that moment."""
    real, seen = pq.write_table, []

    def write_table(table, where, *args, **kwargs):
        real(table, where, *args, **kwargs)
        if Path(str(where)).name.startswith(f".{name}."):
            seen.append(sorted(p.name for p in Path(str(where)).parent.iterdir()))
            raise OSError(errno.ENOSPC, "Error writing bytes to file. Detail: [errno 28] No space left on device")

    monkeypatch.setattr(pq, "write_table", write_table)
    return seen


def _assert_failed_cleanly(out: Path, err: str, seen: list[list[str]]) -> None:
    assert seen and any(n.startswith(".hits.parquet.") or n == "hits.parquet" for n in seen[0])  # written first
    assert str(out / "alerts.parquet") in err and "No space left on device" in err, err
    assert "Fix: free space on the file system holding" in err and "run the same command again" in err
    assert "resumes" in err and "Traceback" not in err and err.count("error:") == 1
    assert not [name for name in EXPORTS if (out / name).exists()]
    assert not list(out.glob(".*.tmp"))
    with sqlite3.connect(out / "store.sqlite") as db:  # every committed chunk kept, the run left to resume
        assert db.execute("SELECT status FROM runs").fetchall() == [("running",)]
        assert db.execute("SELECT COUNT(*) FROM run_chunks").fetchone()[0] >= 1


def _assert_complete(out: Path, resumed: bool) -> None:
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["resumed"] is resumed
    assert manifest["n_hits"] == len(pd.read_parquet(out / "hits.parquet")) > 0
    assert manifest["n_alert_groups"] == len(pd.read_parquet(out / "alerts.parquet")) > 0


@pytest.mark.parametrize("what", ["file", "store in blocks"])
def test_disk_full_on_alerts_leaves_no_export_and_the_rerun_resumes(bank, what, tmp_path, capsys, monkeypatch):
    out = tmp_path / "o"
    command = ["scan", str(bank), "--out", str(out)] if what == "file" else \
        ["scan", str(bank / "store"), "--out", str(out), "--block-days", "7"]
    with monkeypatch.context() as patch:
        seen = _full_disk_on(patch, "alerts.parquet")
        assert main(command) == 2
    _assert_failed_cleanly(out, capsys.readouterr().err, seen)
    assert main(command) == 0
    capsys.readouterr()
    _assert_complete(out, resumed=True)


def test_a_failed_rerun_leaves_the_earlier_complete_exports_as_they_were(bank, tmp_path, capsys, monkeypatch):
    out = tmp_path / "o"
    command = ["scan", str(bank), "--out", str(out)]
    assert main(command) == 0
    before = {name: (out / name).read_bytes() for name in EXPORTS}
    with monkeypatch.context() as patch:  # a second run of the same data: a new run, its alerts from the store
        seen = _full_disk_on(patch, "alerts.parquet")
        assert main(command) == 2
    err = capsys.readouterr().err
    assert seen and str(out / "alerts.parquet") in err and "Fix:" in err
    assert {name: (out / name).read_bytes() for name in EXPORTS} == before
    assert not list(out.glob(".*.tmp"))
    assert main(command) == 0
    capsys.readouterr()
    assert json.loads((out / "manifest.json").read_text())["run_id"] != json.loads(before["manifest.json"])["run_id"]


def test_a_store_that_cannot_grow_at_the_end_leaves_no_export(bank, tmp_path, capsys, monkeypatch):
    """The exports are staged and the run store cannot record the run complete: the
    store's error, and none of the exports in OUT."""
    out = tmp_path / "o"
    command = ["scan", str(bank), "--out", str(out)]

    def full(self, *args):
        raise flowgraph.store._translate(self.path, sqlite3.OperationalError("database or disk is full"))

    with monkeypatch.context() as patch:
        patch.setattr(flowgraph.store.Store, "finish_run", full)
        assert main(command) == 2
    assert "the run store cannot grow" in capsys.readouterr().err
    assert not [name for name in EXPORTS if (out / name).exists()] and not list(out.glob(".*.tmp"))
    assert main(command) == 0
    capsys.readouterr()
    _assert_complete(out, resumed=True)


#: Stages a set of three files over an old set and commits it, the process killed (SIGKILL)
#: at the os.replace call given (none: the commit ends).
_KILLED_COMMIT = """
import os, signal, sys
from pathlib import Path
from flowgraph._files import StagedFiles

folder, kill_at = Path(sys.argv[1]), int(sys.argv[2])
real, calls = os.replace, []

def replace(src, dst):
    if len(calls) == kill_at:
        os.kill(os.getpid(), signal.SIGKILL)
    calls.append(dst)
    real(src, dst)

os.replace = replace
files = StagedFiles(folder / "manifest.json")
for name in ("hits.parquet", "alerts.parquet", "manifest.json"):
    files.stage(folder / name, lambda p: p.write_text("new"))
files.commit()
"""


@pytest.mark.parametrize("kill_at", [0, 1, 2, 3])
def test_kill_9_while_the_exports_move_into_place_leaves_no_manifest_beside_a_mixed_set(tmp_path, kill_at):
    for name in EXPORTS:
        (tmp_path / name).write_text("old")
    done = subprocess.run([sys.executable, "-c", _KILLED_COMMIT, str(tmp_path), str(kill_at)],
                          env={"PYTHONPATH": SRC}, capture_output=True, text=True)
    assert done.returncode == (0 if kill_at == 3 else -signal.SIGKILL), done.stderr
    held = {name: (tmp_path / name).read_text() for name in EXPORTS if (tmp_path / name).exists()}
    if "manifest.json" in held:  # a manifest says its set is whole: every file of one generation
        assert set(held) == set(EXPORTS) and len(set(held.values())) == 1, held
    assert ("manifest.json" in held) == (kill_at == 3), held  # the old manifest goes before any file moves


def test_a_commit_that_fails_part_way_leaves_none_of_either_set(tmp_path, monkeypatch):
    for name in EXPORTS:
        (tmp_path / name).write_text("old")
    import flowgraph._files

    real = flowgraph._files.os.replace

    def replace(src, dst):
        if Path(dst).name == "alerts.parquet":
            raise OSError(errno.ENOSPC, "No space left on device", str(src), None, str(dst))
        real(src, dst)

    files = StagedFiles(tmp_path / "manifest.json")
    for name in EXPORTS:
        files.stage(tmp_path / name, lambda p: p.write_text("new"))
    monkeypatch.setattr(flowgraph._files.os, "replace", replace)
    with pytest.raises(OSError) as raised:
        files.commit()
    assert raised.value.filename == str(tmp_path / "alerts.parquet") and raised.value.errno == errno.ENOSPC
    assert sorted(p.name for p in tmp_path.iterdir()) == []

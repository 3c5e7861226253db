"""Scan runs: configuration, the run store, T+1 idempotency, resuming a killed scan,
alerts and their explanations, de-identification, the report and dispositions."""

import json
import re
import signal
import sqlite3
import subprocess
import sys
import time

import pandas as pd
import pytest

from flowgraph.cli import main
from flowgraph.deid import Pseudonymizer, deidentify
from flowgraph.errors import ConfigError
from flowgraph.io import load_dataset
from flowgraph.report import effectiveness
from flowgraph.scan import _made_ahead, run_scan
from flowgraph.scan_config import ScanConfig, load_config
from flowgraph.simulate import simulate, write_simulation
from flowgraph.store import Store


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bank")
    bank = simulate(seed=21, n_customers=900, n_days=25, patterns_per_typology=2, lookalikes_per_kind=1,
                    recruit_pool_share=0.4)
    write_simulation(bank, folder)
    return folder


@pytest.fixture(autouse=True)
def key_file(tmp_path, monkeypatch):
    path = tmp_path / "keys" / "pseudonym.key"
    monkeypatch.setenv("FLOWGRAPH_KEY_FILE", str(path))
    return path


def test_range_scan_writes_store_hits_alerts_and_manifest(data_dir, tmp_path):
    result = run_scan(data_dir, tmp_path / "out", progress=False)
    assert len(result.hits) > 0 and result.alerts["raised"].any()
    m = json.loads((tmp_path / "out" / "manifest.json").read_text())
    for key in ("data_first", "data_last", "data_fingerprint", "config_hash", "calendar", "code_version"):
        assert m[key]
    assert m["status"] == "complete" and m["deidentified"] is True
    # the store is owner-only and holds real ids
    assert oct((tmp_path / "out" / "store.sqlite").stat().st_mode & 0o777) == "0o600"
    conn = sqlite3.connect(tmp_path / "out" / "store.sqlite")
    subjects = {r[0] for r in conn.execute("SELECT subject FROM hits")}
    assert all(s.startswith("6222") for s in subjects)
    # every hit is scored with W(N, D)
    assert {"w", "ceiling", "utilisation", "n_accounts", "n_days", "amount", "phi"} <= set(result.hits.columns)


def test_exports_are_deidentified_unless_revealed(data_dir, tmp_path, key_file):
    run_scan(data_dir, tmp_path / "a", progress=False)
    hits = pd.read_parquet(tmp_path / "a" / "hits.parquet")
    alerts = pd.read_parquet(tmp_path / "a" / "alerts.parquet")
    assert hits["subject"].str.startswith("ACC-").all()
    assert hits["customer"].str.startswith("CUS-").all() or (hits["customer"] == "").any()
    assert all(a.startswith("ACC-") for accts in hits["accounts"] for a in accts)
    assert not re.search(r"6222\d{12}", " ".join(hits["measures"])) and alerts["subject"].str.startswith("ACC-").all()
    # the key is kept apart from the store, owner-only
    assert key_file.exists() and oct(key_file.stat().st_mode & 0o777) == "0o600"
    # the same key gives the same pseudonyms
    run_scan(data_dir, tmp_path / "b", progress=False)
    assert sorted(pd.read_parquet(tmp_path / "b" / "hits.parquet")["subject"]) == sorted(hits["subject"])
    # real ids on request, and the store logs it
    run_scan(data_dir, tmp_path / "c", progress=False, reveal_ids=True, store_path=tmp_path / "s.sqlite")
    assert pd.read_parquet(tmp_path / "c" / "hits.parquet")["subject"].str.startswith("6222").all()
    audit = Store(tmp_path / "s.sqlite").query("SELECT * FROM audit")
    assert list(audit["action"]) == ["export_real_ids"] and audit["who"].iloc[0]


def test_pseudonyms_are_keyed():
    a, b = Pseudonymizer(b"k1" * 16), Pseudonymizer(b"k2" * 16)
    assert a("6222000000000001") == a("6222000000000001") != b("6222000000000001")
    assert a("C1", "customer").startswith("CUS-") and a(None) is None
    frame = deidentify(pd.DataFrame({"subject": ["X"], "accounts": [["X", "Y"]],
                                     "measures": [json.dumps({"members": ["X"]})]}), a)
    assert frame["accounts"].iloc[0] == [a("X"), a("Y")] and a("X") in frame["measures"].iloc[0]


def test_rerunning_adds_no_duplicates_and_t_plus_1_joins_alerts(data_dir, tmp_path):
    store = tmp_path / "store.sqlite"
    dataset = load_dataset(data_dir)
    days = sorted(dataset.transactions.table["timestamp"].dt.normalize().unique())
    late = str(days[-1].date())
    first = run_scan(dataset, tmp_path / "o1", as_of=late, store_path=store, progress=False)
    again = run_scan(dataset, tmp_path / "o2", as_of=late, store_path=store, progress=False)
    conn = sqlite3.connect(store)
    n_hits, n_alerts = conn.execute("SELECT COUNT(*) FROM hits").fetchone()[0], conn.execute(
        "SELECT COUNT(*) FROM alerts").fetchone()[0]
    assert n_hits == len(first.hits) and n_alerts == len(first.alerts)
    assert sorted(first.alerts["alert_id"]) == sorted(again.alerts["alert_id"])
    assert [r[0] for r in conn.execute("SELECT mode FROM runs")] == ["t+1", "t+1"]
    # the whole history, then the last day again: nothing new
    full = run_scan(dataset, tmp_path / "o3", store_path=store, progress=False)
    before = conn.execute("SELECT COUNT(*) FROM alerts").fetchone()[0]
    run_scan(dataset, tmp_path / "o4", as_of=late, store_path=store, progress=False)
    assert conn.execute("SELECT COUNT(*) FROM alerts").fetchone()[0] == before
    assert len(full.hits) >= len(first.hits)


def test_changed_rule_set_rescans_history_separately(data_dir, tmp_path):
    cfg = tmp_path / "old.toml"
    cfg.write_text('rule_set = "PBOC-2003"\n')
    store = tmp_path / "store.sqlite"
    new = run_scan(data_dir, tmp_path / "new", store_path=store, progress=False)
    old = run_scan(data_dir, tmp_path / "old", load_config(cfg), store_path=store, progress=False)
    assert new.manifest["config_hash"] != old.manifest["config_hash"]
    runs = Store(store).query("SELECT config_hash, status FROM runs")
    assert len(runs) == 2 and (runs["status"] == "complete").all()
    rules = {json.loads(h)["rule"] for h in old.hits.loc[old.hits.detector == "large_value", "measures"]
             if "rule" in json.loads(h)}
    assert "LV-PERSON-XB" not in rules  # the 2003 set has no such rule


def test_chunk_rows_are_made_ahead_in_order_a_bounded_few_at_a_time():
    """The rows of the chunks a scan commits are made on a worker thread, in order, at
    most ``ahead`` beyond the one being committed (its memory bounded), and a chunk whose
    rows fail raises when its turn comes, after the chunks before it were committed."""
    started = []

    def make(chunk):
        started.append(chunk)
        return chunk * 10

    made = []
    for k, rows in enumerate(_made_ahead(make, list(range(6)), ahead=2)):
        time.sleep(0.02)  # a commit: time for the worker to run on
        assert len(started) <= k + 3
        made.append(rows)
    assert made == [0, 10, 20, 30, 40, 50] and started == list(range(6))
    assert list(_made_ahead(make, [], ahead=2)) == []

    def fails_on_2(chunk):
        if chunk == 2:
            raise ValueError("chunk 2")
        return chunk

    rows = _made_ahead(fails_on_2, [0, 1, 2, 3])
    assert [next(rows), next(rows)] == [0, 1]
    with pytest.raises(ValueError, match="chunk 2"):
        next(rows)


KILLABLE_SCAN = """
import sys, time
from pathlib import Path
from flowgraph.scan import run_scan
from flowgraph.scan_config import load_config

data, out, store, cfg, marker = sys.argv[1:]

def after_chunk(i):
    if i == 1:  # two chunks committed: tell the test, and wait to be killed
        Path(marker).write_text("2")
        time.sleep(120)

run_scan(data, out, load_config(cfg), store_path=store, progress=False, on_chunk=after_chunk)
"""


def test_killed_scan_leaves_store_consistent_and_next_run_completes(data_dir, tmp_path):
    store = tmp_path / "store.sqlite"
    cfg = tmp_path / "c.toml"
    cfg.write_text("chunk_days = 5\n")
    marker = tmp_path / "two-chunks-committed"
    proc = subprocess.Popen([sys.executable, "-c", KILLABLE_SCAN, str(data_dir), str(tmp_path / "killed"),
                             str(store), str(cfg), str(marker)], stderr=subprocess.PIPE, text=True)
    for _ in range(1200):  # wait for two committed chunks, then kill the scan from outside
        if marker.exists() or proc.poll() is not None:
            break
        time.sleep(0.1)
    assert marker.exists(), proc.stderr.read()[-2000:] if proc.poll() is not None else "no chunk committed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    conn = sqlite3.connect(store)
    assert conn.execute("SELECT status FROM runs").fetchall() == [("running",)]
    chunks = conn.execute("SELECT chunk, n_hits FROM run_chunks ORDER BY chunk").fetchall()
    assert [c for c, _ in chunks] == [0, 1]
    assert conn.execute("SELECT COUNT(*) FROM hits").fetchone()[0] <= sum(n for _, n in chunks)
    assert conn.execute("SELECT COUNT(*) FROM alerts").fetchone()[0] == 0
    conn.close()
    # the same command completes the run
    cmd = [sys.executable, "-m", "flowgraph.cli", "scan", str(data_dir), "--out", str(tmp_path / "killed"),
           "--store", str(store), "--config", str(cfg)]
    done = subprocess.run(cmd, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "resumed" in done.stdout
    conn = sqlite3.connect(store)
    assert conn.execute("SELECT status FROM runs").fetchall() == [("complete",)]
    resumed_hits = {r[0] for r in conn.execute("SELECT hit_id FROM hits")}
    # an uninterrupted run finds the same hits
    fresh = run_scan(data_dir, tmp_path / "fresh", load_config(cfg), store_path=tmp_path / "fresh.sqlite",
                     progress=False)
    assert resumed_hits == set(fresh.hits["hit_id"])
    # ... and counts the killed process's chunks among the hits the run added
    resumed = json.loads((tmp_path / "killed" / "manifest.json").read_text())
    assert resumed["hit_changes"] == fresh.manifest["hit_changes"] == {"added": len(fresh.hits), "updated": 0,
                                                                        "retracted": 0}


def test_config_errors_name_the_key(tmp_path):
    def load(text):
        path = tmp_path / "c.toml"
        path.write_text(text)
        return load_config(path)
    with pytest.raises(ConfigError, match=r"\[detectors.pass_through\]: The 'tolerance' parameter of PassThroughParams"):
        load("[detectors.pass_through]\ntolerance = 2.0\n")
    with pytest.raises(ConfigError, match=r"unknown key\(s\) \['windw_days'\]"):
        load("[detectors.fan]\nwindw_days = 3\n")
    with pytest.raises(ConfigError, match=r"'rule_set' parameter of ScanConfig must be a str among \['PBOC-2003', 'PBOC-2016', 'US-BSA'\] or a RuleSet. Got 'FATF'"):
        load('rule_set = "FATF"\n')
    with pytest.raises(ConfigError, match="not valid TOML"):
        load("rule_set = \n")
    with pytest.raises(ConfigError, match="weight of indicator 'fan_in'"):
        load("[model.weights]\nfan_in = -1\n")
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "missing.toml")
    cfg = load("[detectors.fan]\nwindow_days = 7\n[model]\nalert_threshold = 2.0\n[calendar]\nextra_holidays = ['2024-10-09']\n")
    assert cfg.detector_params["fan"].window_days == 7 and cfg.model.alert_threshold == 2.0
    assert not cfg.calendar().is_business_day("2024-10-09")
    assert cfg.config_hash != ScanConfig().config_hash


def test_cli_exit_codes_and_report_and_dispose(data_dir, tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text("[model]\nalert_threshold = -1\n")
    assert main(["scan", str(data_dir), "--out", str(tmp_path / "x"), "--config", str(bad)]) == 2
    assert "alert_threshold" in capsys.readouterr().err
    assert main(["scan", str(tmp_path / "nothing.csv"), "--out", str(tmp_path / "x")]) == 3
    assert main(["scan", str(data_dir), "--out", str(tmp_path / "o")]) == 0
    store = tmp_path / "o" / "store.sqlite"
    alert_id = Store(store).query("SELECT alert_id FROM alerts WHERE raised = 1 LIMIT 1")["alert_id"].iloc[0]
    assert main(["dispose", alert_id, "--store", str(store), "--as", "reported", "--analyst", "li.wei"]) == 0
    assert main(["dispose", "nope", "--store", str(store), "--as", "reported", "--analyst", "li.wei"]) == 2
    capsys.readouterr()
    assert main(["report", "--store", str(store), "--out", str(tmp_path / "r.csv")]) == 0
    out = capsys.readouterr().out
    assert "alert_rate" in out and "report_rate" in out and "decided 1" in out
    metrics, overall = effectiveness(Store(store))
    assert overall["decided"] == 1 and overall["report_rate"] == pytest.approx(1 / overall["alerts_raised"], abs=1e-4)
    # only the decided alert's indicators have a report rate; the others have no decisions yet
    assert metrics.loc[metrics["decided"] == 0, "report_rate"].isna().all()
    d = Store(store).query("SELECT * FROM dispositions")
    assert list(d["analyst"]) == ["li.wei"] and d["decided_at"].iloc[0]


def test_hits_held_in_memory_export_like_hits_read_back(data_dir, tmp_path):
    # the first run exports the hits it holds; the second finds the same hits, leaves the
    # stored versions in place and reads them back: the exports must not differ
    store = tmp_path / "store.sqlite"
    first = run_scan(data_dir, tmp_path / "o1", store_path=store, progress=False)
    again = run_scan(data_dir, tmp_path / "o2", store_path=store, progress=False)
    for name, key in (("hits", "hit_id"), ("alerts", "alert_id")):
        a, b = (pd.read_parquet(tmp_path / o / f"{name}.parquet").sort_values(key).reset_index(drop=True)
                for o in ("o1", "o2"))
        pd.testing.assert_frame_equal(a.map(_plain), b.map(_plain))
    assert len(first.hits) and set(again.hits["run_id"]) == {first.run_id}
    assert first.manifest["checks"] == again.manifest["checks"]


def _plain(value):
    return value.tolist() if hasattr(value, "tolist") and not isinstance(value, (str, float, int)) else value

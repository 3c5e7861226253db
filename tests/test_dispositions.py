"""Dispositions are sound: conflicting decisions warn and keep history, an alert never
raised needs --force, an unknown id is exit 2 naming it, and `report` lists alert ids."""

import json

import pandas as pd
import pytest

from flowgraph.alerts import ModelConfig, build_alerts
from flowgraph.cli import main
from flowgraph.errors import ConfigError
from flowgraph.report import alert_list
from flowgraph.store import Store


@pytest.fixture
def store(tmp_path):
    """A store holding one raised alert (a pass-through) and one that was not (a fan-out)."""
    day = pd.Timestamp("2024-09-02")
    hits = pd.DataFrame([
        {"hit_id": "h1", "customer": "C1", "subject": "A1", "typology": "pass_through", "txn_ids": ["t1"],
         "accounts": ["A1", "B1"], "amount": 5e5, "utilisation": 0.9},
        {"hit_id": "h2", "customer": "C2", "subject": "A2", "typology": "fan_out", "txn_ids": ["t2"],
         "accounts": ["A2", "B2"], "amount": 10.0, "utilisation": 0.0}]).assign(
        window_start=day, window_end=day, in_band=False, w=1.0, ceiling=1e6)
    alerts = build_alerts(hits, ModelConfig(), "cfg")
    s = Store(tmp_path / "store.sqlite")
    s.replace_alerts("cfg", {"C1", "C2"}, alerts, "run1")
    with s.transaction() as c:
        c.execute("INSERT INTO runs (run_id, status, finished_at, config_hash, n_transactions, config) "
                  "VALUES ('run1', 'complete', 'x', 'cfg', 10, ?)", (json.dumps({"model": {"weights": {}}}),))
    ids = alerts.set_index("customer")["alert_id"]
    return s, ids["C1"], ids["C2"]


def test_conflicting_decisions_warn_and_keep_history(store):
    s, raised, _ = store
    assert s.dispose(raised, "excluded", "li.wei") is None
    assert s.dispose(raised, "excluded", "li.wei") is None  # the same decision again is no conflict
    warning = s.dispose(raised, "case", "wang.fang", "new evidence")
    assert "'excluded' by li.wei" in warning and "'case' by wang.fang counts" in warning
    assert list(s.query("SELECT disposition FROM dispositions")["disposition"]) == ["excluded", "excluded", "case"]
    latest = s.latest_dispositions()
    assert latest.to_dict("records")[0] | {"decided_at": None} == {
        "alert_id": raised, "disposition": "case", "analyst": "wang.fang", "decided_at": None, "n_decisions": 3}


def test_an_alert_never_raised_needs_force(store):
    s, _, quiet = store
    with pytest.raises(ConfigError, match=f"alert '{quiet}' was never raised.*--force"):
        s.dispose(quiet, "case", "li.wei")
    assert s.latest_dispositions().empty
    assert s.dispose(quiet, "case", "li.wei", force=True) is None
    assert list(s.latest_dispositions()["alert_id"]) == [quiet]


def test_cli_dispose_and_report_list_alert_ids(store, capsys):
    s, raised, quiet = store
    path = str(s.path)
    assert main(["dispose", "nope", "--store", path, "--as", "case", "--analyst", "li.wei"]) == 2
    err = capsys.readouterr().err
    assert "no alert 'nope'" in err and "flowgraph report" in err
    assert main(["dispose", quiet, "--store", path, "--as", "case", "--analyst", "li.wei"]) == 2
    assert "--force" in capsys.readouterr().err
    assert main(["dispose", raised, "--store", path, "--as", "reported", "--analyst", "li.wei"]) == 0
    assert main(["dispose", raised, "--store", path, "--as", "excluded", "--analyst", "wang.fang"]) == 0
    assert "warning: alert" in capsys.readouterr().err
    assert main(["report", "--store", path]) == 0
    out = capsys.readouterr().out
    assert raised in out and quiet not in out and "excluded" in out  # the raised alert, its latest decision
    assert "C1" not in out and "A1" not in out  # no customer or account id on display
    assert main(["report", "--store", path, "--all-alerts"]) == 0
    assert quiet in capsys.readouterr().out
    listed = alert_list(s, raised_only=False)
    assert list(listed["alert_id"]) == [raised, quiet] and list(listed["n_decisions"]) == [2, 0]

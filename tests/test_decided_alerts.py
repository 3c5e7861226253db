"""A decided alert keeps its id when later days regroup its hits (Store.keep_decided_ids),
on AMLSim data: a scan of the next weeks adds hits whose spans start before an alert's
first hit, which names the group anew; the analyst's decision must stay on that activity
(the queue shows it reopened, a case is still drafted), not on an alert no longer found
while the same hits come back as a new, undecided one."""

import json
import sqlite3

from flowgraph.cli import main

CONFIG = """[rule_set]
based_on = "PBOC-2016"
scale = 0.001

[detectors.fan]
min_amount_fraction = 4e-06
"""


def _decided_hits(db) -> dict[str, set]:
    return {a: set(json.loads(h)) for a, h in db.execute("SELECT alert_id, decided_hit_ids FROM dispositions")}


def test_decided_alerts_keep_their_ids_when_later_days_regroup_their_hits(amlsim_dir, tmp_path, capsys):
    data, config, run = amlsim_dir / "20K_fanin200cycle200", tmp_path / "amlsim.toml", tmp_path / "run"
    config.write_text(CONFIG)
    store = run / "store.sqlite"
    assert main(["scan", str(data), "--config", str(config), "--out", str(run), "--to", "2018-05-15"]) == 0
    with sqlite3.connect(store) as db:
        raised = [r[0] for r in db.execute("SELECT alert_id FROM alerts WHERE raised = 1 ORDER BY score DESC, alert_id")]
    # two alerts a tester saw regrouped (an exclusion and a case), and the ten highest
    regrouped = ["66698102b2ad0c30", "08dcd551efea431e"]
    assert set(regrouped) <= set(raised)
    decided = regrouped + [a for a in raised[:10] if a not in regrouped]
    for k, alert_id in enumerate(decided):
        assert main(["dispose", alert_id, "--store", str(store), "--as", ("excluded", "case")[k % 2],
                     "--analyst", "ana"]) == 0
    capsys.readouterr()

    assert main(["scan", str(data), "--config", str(config), "--out", str(run), "--from", "2018-05-16"]) == 0
    with sqlite3.connect(store) as db:
        held = {h: a for a, ids in db.execute("SELECT alert_id, hit_ids FROM alerts") for h in json.loads(ids)}
        seen = _decided_hits(db)
        gone = {r[0] for r in db.execute("SELECT alert_id FROM gone_alerts")}
    # no hit an analyst decided on is now in an undecided alert
    strays = {h: held[h] for ids in seen.values() for h in ids if h in held and held[h] not in seen}
    assert not strays
    # the decided alerts whose hits later days regrouped are still found (reopened where they grew)
    assert main(["alerts", "--store", str(store), "--status", "all", "--format", "csv"]) == 0
    queue = capsys.readouterr().out
    status = {line.split(",")[0]: line for line in queue.splitlines()[1:]}
    renamed = [a for a in decided if a in status and "reopened" in status[a]]
    assert set(regrouped) <= set(renamed)
    assert all(a not in gone for a in renamed)
    # every case that still holds hits is drafted
    assert main(["report-draft", "--store", str(store), "--out", str(tmp_path / "drafts"), "--today", "2026-12-05"]) == 0
    cases = [a for k, a in enumerate(decided) if k % 2 == 1 and a not in gone]
    assert "08dcd551efea431e" in cases
    assert cases and all((tmp_path / "drafts" / f"str-{a}.json").is_file() for a in cases)

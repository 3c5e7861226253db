"""An ingest that completes an earlier one, stopped partway, says so and lists the days
that one marked for re-scan with its own (sweep A, repro 5).

The hand-built bank: one transfer a day, Monday 2 to Friday 6 November 2026. A correction
of the 2nd and the 4th is killed after its plan is written (the way a kill leaves it: the
plan, some days written, no manifest); the next day's file brings one late row for the 6th.
Counted by hand: the correction marks the 2nd and the 4th, the late row the 6th, so the
re-scan starts on the 2nd, not the 6th.
"""

import json

import pandas as pd
import pytest

from flowgraph.cli import main
from flowgraph.io import load_dataset
from flowgraph.txstore import TransactionStore

COLUMNS = ["txn_id", "timestamp", "src_account", "dst_account", "amount", "currency", "channel"]
DAYS = ["2026-11-02", "2026-11-03", "2026-11-04", "2026-11-05", "2026-11-06"]


def _csv(path, rows: list[tuple]) -> str:
    pd.DataFrame(rows, columns=COLUMNS).to_csv(path, index=False)
    return str(path)


def test_an_ingest_completing_a_killed_one_lists_its_days_and_re_scans_from_the_first(tmp_path, capsys):
    bank = [(f"T{n}", f"{day} 10:00:00", "A1", "A2", 100 + n, "CNY", "transfer") for n, day in enumerate(DAYS)]
    store = tmp_path / "store"
    assert main(["ingest", _csv(tmp_path / "bank.csv", bank), "--into", str(store)]) == 0
    capsys.readouterr()

    correction = [(t, ts, src, dst, amount * 2, cur, ch) for t, ts, src, dst, amount, cur, ch in bank
                  if ts[:10] in ("2026-11-02", "2026-11-04")]

    def killed(day: str) -> None:
        raise KeyboardInterrupt  # after the first day's file: the plan written, the ingest not finished

    with pytest.raises(KeyboardInterrupt):
        TransactionStore(store).ingest(load_dataset(_csv(tmp_path / "correction.csv", correction)),
                                       str(tmp_path / "correction.csv"), on_day_written=killed)
    assert (store / "ingests" / "000002" / "plan.json").is_file()
    assert not (store / "ingests" / "000002" / "manifest.json").is_file()

    late = [("T9", "2026-11-06 18:00:00", "A2", "A1", 50, "CNY", "transfer")]
    assert main(["ingest", _csv(tmp_path / "late.csv", late), "--into", str(store)]) == 0
    out = capsys.readouterr().out
    assert (f"completed ingest 000002 ({tmp_path / 'correction.csv'}), which had stopped partway: 0 new, 2 replaced, "
            "0 unchanged rows; 2 days written, 2 marked for re-scan") in out
    assert "ingest 000003: 1 new, 0 replaced, 0 unchanged rows; 1 days written" in out
    assert "days to re-scan (their stored data changed): 2026-11-02, 2026-11-04, 2026-11-06." in out
    assert f"flowgraph scan {store} --from 2026-11-02 --out RUN" in out
    marked = json.loads((store / "rescan.json").read_text())["days"]
    assert marked == ["2026-11-02", "2026-11-04", "2026-11-06"]
    manifest = json.loads((store / "ingests" / "000003" / "manifest.json").read_text())
    assert manifest["completed_ingests"] == ["000002"] and manifest["rescan_days"] == ["2026-11-06"]

    # the next ingest completes nothing and lists only its own days
    assert main(["ingest", _csv(tmp_path / "late2.csv", [("T10", "2026-11-05 18:00:00", "A2", "A1", 5, "CNY",
                                                          "transfer")]), "--into", str(store)]) == 0
    out = capsys.readouterr().out
    assert "completed ingest" not in out
    assert "days to re-scan (their stored data changed): 2026-11-05." in out

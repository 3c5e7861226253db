"""An accounts change marks the days its accounts traded on for re-scan: a transaction
corrected did (issue 14), an account whose customer or party type changed did not, though
the hits of those days depend on it (the monitoring unit, the thresholds)."""

import json

import pandas as pd

from flowgraph.cli import main
from flowgraph.txstore import TransactionStore

TX = ["txn_id", "timestamp", "src_account", "dst_account", "amount"]


def _files(folder, name: str, rows: list[tuple], accounts: list[tuple]) -> list[str]:
    pd.DataFrame(rows, columns=TX).to_csv(folder / f"{name}.csv", index=False)
    pd.DataFrame(accounts, columns=["account_id", "customer_id", "party_type"]).to_csv(folder / f"{name}-acc.csv",
                                                                                       index=False)
    return [str(folder / f"{name}.csv"), "--accounts", str(folder / f"{name}-acc.csv")]


def test_a_changed_account_marks_the_days_it_traded_on(tmp_path, capsys):
    store = tmp_path / "store"
    first = [("t1", "2026-11-02 10:00:00", "A0", "A1", 100), ("t2", "2026-11-02 11:00:00", "A2", "A3", 200),
             ("t3", "2026-11-03 10:00:00", "A2", "A3", 300), ("t4", "2026-11-03 12:00:00", "", "A3", 400),
             ("t5", "2026-11-04 09:00:00", "A1", "A0", 500)]
    people = [(f"A{n}", f"C{n}", "person") for n in range(4)]
    assert main(["ingest", *_files(tmp_path, "d1", first, people), "--into", str(store)]) == 0
    capsys.readouterr()

    # the next day's file: A0 is now known to be a business, and A9 is a new customer
    later = [("t6", "2026-11-05 10:00:00", "A2", "A9", 600)]
    changed = [("A0", "C0", "entity"), *people[1:], ("A9", "C9", "person")]
    assert main(["ingest", *_files(tmp_path, "d2", later, changed), "--into", str(store)]) == 0
    out = capsys.readouterr().out
    assert "1 stored account(s) changed" in out
    assert "days to re-scan (their stored data changed): 2026-11-02, 2026-11-04" in out
    manifest = json.loads((store / "ingests" / "000002" / "manifest.json").read_text())
    assert manifest["accounts_changed"] == 1 and manifest["rescan_days"] == ["2026-11-02", "2026-11-04"]
    assert json.loads((store / "rescan.json").read_text())["days"] == ["2026-11-02", "2026-11-04"]

    # the same file again: nothing changed, nothing more to re-scan
    assert main(["ingest", *_files(tmp_path, "d2", later, changed), "--into", str(store)]) == 0
    out = capsys.readouterr().out
    assert "account(s) changed" not in out and "re-scan" not in out
    # a customer moved (A2 joins C3) marks A2's days; a cash deposit's empty side matches nothing
    moved = [("A0", "C0", "entity"), ("A1", "C1", "person"), ("A2", "C3", "person"), ("A3", "C3", "person"),
             ("A9", "C9", "person")]
    assert main(["ingest", *_files(tmp_path, "d3", [], moved), "--into", str(store)]) == 0
    manifest = json.loads((store / "ingests" / "000004" / "manifest.json").read_text())
    assert manifest["accounts_changed"] == 1
    assert manifest["rescan_days"] == ["2026-11-02", "2026-11-03", "2026-11-05"]
    assert TransactionStore(store).accounts().to_pandas().set_index("account_id").loc["A2", "customer_id"] == "C3"


def test_an_account_listed_after_it_traded_marks_the_days_it_traded_on(tmp_path, capsys):
    """Found by a sweep: an account the accounts file did not list traded as another bank's
    (no pattern of its own is monitored); listed later, the days it traded on find other
    hits, but the ingest marked none for re-scan and a nightly T+1 never said so. A new
    account that never traded marks nothing."""
    store = tmp_path / "store"
    rows = [("t1", "2026-11-02 10:00:00", "A0", "X9", 100), ("t2", "2026-11-03 10:00:00", "A1", "A2", 200),
            ("t3", "2026-11-04 10:00:00", "X9", "A1", 300)]
    people = [(f"A{n}", f"C{n}", "person") for n in range(3)]
    assert main(["ingest", *_files(tmp_path, "d1", rows, people), "--into", str(store)]) == 0
    capsys.readouterr()
    listed = [*people, ("X9", "C9", "person"), ("Z1", "C8", "person")]
    assert main(["ingest", *_files(tmp_path, "d2", [], listed), "--into", str(store)]) == 0
    out = capsys.readouterr().out
    assert "1 account(s) listed for the first time traded before, as another bank's" in out
    assert "days to re-scan (their stored data changed): 2026-11-02, 2026-11-04" in out
    manifest = json.loads((store / "ingests" / "000002" / "manifest.json").read_text())
    assert manifest["accounts_listed_after_trading"] == 1 and manifest["accounts_changed"] == 0
    assert json.loads((store / "rescan.json").read_text())["days"] == ["2026-11-02", "2026-11-04"]
    # listed again: nothing new, nothing more to re-scan
    assert main(["ingest", *_files(tmp_path, "d3", [], listed), "--into", str(store)]) == 0
    out = capsys.readouterr().out
    assert "listed for the first time" not in out and "re-scan" not in out


def test_the_accounts_seen_follow_each_ingest_from_its_own_days(tmp_path, monkeypatch):
    """The ids every stored transaction names, kept beside the store and brought up to date
    from the days later ingests touched (a daily ingest does not read the history); a
    store without the file (made before it) reads every day once."""
    store_path = tmp_path / "store"
    rows = [("t1", "2026-11-02 10:00:00", "A0", "X9", 100), ("t2", "2026-11-03 10:00:00", "A1", "A0", 200)]
    assert main(["ingest", *_files(tmp_path, "d1", rows, [("A0", "C0", "person"), ("A1", "C1", "person")]),
                 "--into", str(store_path)]) == 0
    store = TransactionStore(store_path)
    assert sorted(store.accounts_seen().to_pylist()) == ["A0", "A1", "X9"]
    later = [("t3", "2026-11-04 10:00:00", "A1", "Y7", 300)]
    assert main(["ingest", *_files(tmp_path, "d2", later, [("A0", "C0", "person"), ("A1", "C1", "person")]),
                 "--into", str(store_path)]) == 0
    import flowgraph.txstore

    read = []
    original = flowgraph.txstore._read_store_file

    def reading(read_file, path):
        if path.parent.name.startswith("day="):
            read.append(path.parent.name[len("day="):])
        return original(read_file, path)

    monkeypatch.setattr(flowgraph.txstore, "_read_store_file", reading)
    assert sorted(store.accounts_seen().to_pylist()) == ["A0", "A1", "X9", "Y7"]
    assert read == ["2026-11-04"]  # the second ingest's day only
    for gone in ("unlink", "damaged"):  # made again from every day
        if gone == "unlink":
            (store_path / "accounts_seen.parquet").unlink()
        else:
            (store_path / "accounts_seen.parquet").write_bytes(b"PAR1 cut short")
        read.clear()
        assert sorted(store.accounts_seen().to_pylist()) == ["A0", "A1", "X9", "Y7"]
        assert sorted(read) == ["2026-11-02", "2026-11-03", "2026-11-04"]


def test_many_days_to_re_scan_are_shown_as_a_range(tmp_path, capsys):
    """A changed account that trades every day lists every day: the ingest says how many and
    where they are listed, not hundreds of dates on one line."""
    store = tmp_path / "store"
    days = pd.bdate_range("2026-09-01", periods=30)
    rows = [(f"t{k}", f"{d.date()} 10:00:00", "A0", "A1", 100 + k) for k, d in enumerate(days)]
    assert main(["ingest", *_files(tmp_path, "d1", rows, [("A0", "C0", "person"), ("A1", "C1", "person")]),
                 "--into", str(store)]) == 0
    capsys.readouterr()
    assert main(["ingest", *_files(tmp_path, "d2", [], [("A0", "C1", "person"), ("A1", "C1", "person")]),
                 "--into", str(store)]) == 0
    out = capsys.readouterr().out
    assert (f"days to re-scan (their stored data changed): {days[0].date()} .. {days[-1].date()} (30 days, listed in "
            f"{store / 'rescan.json'})") in out


def test_changed_accounts_compare_every_column_missing_as_empty():
    """A column's missing value and empty text are the same (a bank's CSV of the stored
    accounts writes one as the other; the 1e8 store's 161,815 accounts all came out changed);
    a column only one side has counts as missing there; an account not stored is not changed."""
    import pyarrow as pa

    from flowgraph.txstore import _changed_account_ids

    stored = pa.table({"account_id": ["A0", "A1", "A2", "A3"], "customer_id": ["C0", "C1", "C2", "C3"],
                       "segment": [None, "retail", None, "vip"]})
    given = pa.table({"account_id": ["A0", "A1", "A2", "A3", "A9"], "customer_id": ["C0", "C1", "C9", "C3", "C9"],
                      "segment": ["", "retail", "", "", "x"], "contact_id": [None, None, None, "", "K1"]})
    assert _changed_account_ids(stored, given).to_pylist() == ["A2", "A3"]
    assert _changed_account_ids(stored, given.append_column("opened_on", pa.array(["2020-01-01"] * 5))).to_pylist() \
        == ["A0", "A1", "A2", "A3"]

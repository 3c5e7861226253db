"""A run store records the id of the key its pseudonyms are made with (sweep C §D3): a
command that would show or write the store's pseudonyms under another key, or under a key
it would have to create, exits 2 naming the key file, the store and the fix, instead of
showing every customer under a new pseudonym. A store of an earlier version adopts the
key in use, with a note; --reveal-ids needs no key."""

import hashlib
import hmac
import json
import secrets
import sqlite3

import pandas as pd
import pytest
from desk_banks import bank_tables, copy_store
from test_desk import tiny_bank_rows

from flowgraph.cli import main
from flowgraph.deid import KEY_ID_LABEL, Pseudonymizer, key_id, load_key, store_pseudonymizer
from flowgraph.errors import ConfigError
from flowgraph.evaluate import found, run_key_id
from flowgraph.io import load_dataset
from flowgraph.scan import run_scan
from flowgraph.store import Store, recorded_pseudonym_key


def write_key(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(secrets.token_hex(32) + "\n")
    path.chmod(0o600)
    return path


@pytest.fixture(scope="module")
def scanned(tmp_path_factory):
    """The desk's tiny bank scanned with key A (its file passed explicitly)."""
    folder = tmp_path_factory.mktemp("keyid")
    tx, accounts = bank_tables(tiny_bank_rows())
    tx.to_csv(folder / "tx.csv", index=False)
    accounts.to_csv(folder / "accounts.csv", index=False)
    key_a = write_key(folder / "a" / "pseudonym.key")
    run_scan(load_dataset(folder / "tx.csv", accounts=folder / "accounts.csv"), folder / "out", key_file=key_a,
             progress=False)
    return folder


@pytest.fixture
def store_path(scanned, tmp_path):
    return copy_store(scanned, tmp_path)


@pytest.fixture
def key_a(scanned):
    return scanned / "a" / "pseudonym.key"


@pytest.fixture
def other_home(tmp_path, monkeypatch):
    """Another analyst's HOME (or a new machine): no key there, no $FLOWGRAPH_KEY_FILE."""
    home = tmp_path / "home-b"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("FLOWGRAPH_KEY_FILE")
    return home


def _alert_id(store_path) -> str:
    with sqlite3.connect(store_path) as conn:
        return conn.execute("SELECT alert_id FROM alerts WHERE raised = 1 ORDER BY score DESC").fetchone()[0]


def _commands(store_path, tmp_path) -> dict[str, list[str]]:
    """Every command that shows or writes the store's pseudonyms."""
    alert_id, store = _alert_id(store_path), ["--store", str(store_path)]
    return {"alerts": ["alerts", *store, "--status", "all"],
            "show": ["show", alert_id, *store, "--out", str(tmp_path / "case.html")],
            "report-draft": ["report-draft", *store, "--out", str(tmp_path / "drafts"), "--alert", alert_id]}


def _n_runs(store_path) -> int:
    with sqlite3.connect(store_path) as conn:
        return conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0]


def test_key_id_is_an_hmac_of_a_fixed_label_and_tells_keys_apart():
    key = bytes(range(32))
    assert key_id(key) == hmac.new(key, b"flowgraph pseudonym key id v1", hashlib.sha256).hexdigest()[:16]
    assert KEY_ID_LABEL == b"flowgraph pseudonym key id v1"  # a new label would refuse every store's key
    assert key_id(key) == "53279ef5f4776189"  # pinned: stores record it
    assert key_id(bytes(32)) != key_id(key)
    assert key.hex()[:16] not in key_id(key)


def test_the_scan_records_its_key_id_in_the_store_and_the_manifest(scanned, key_a):
    record = recorded_pseudonym_key(scanned / "out" / "store.sqlite")
    assert record["key_id"] == key_id(load_key(key_a))
    assert record["key_file"] == str(key_a.absolute()) and record["adopted"] == 0
    manifest = json.loads((scanned / "out" / "manifest.json").read_text())
    assert manifest["deidentified"] and manifest["pseudonym_key_id"] == record["key_id"]
    assert run_key_id(scanned / "out") == run_key_id(scanned / "out" / "manifest.json") == record["key_id"]
    assert run_key_id(scanned / "out" / "store.sqlite") == record["key_id"]


def test_a_reveal_ids_scan_needs_no_key_and_its_manifest_names_none(tmp_path, other_home):
    tx, accounts = bank_tables(tiny_bank_rows())
    tx.to_csv(tmp_path / "tx.csv", index=False)
    assert main(["scan", str(tmp_path / "tx.csv"), "--out", str(tmp_path / "out"), "--reveal-ids"]) == 0
    assert json.loads((tmp_path / "out" / "manifest.json").read_text())["pseudonym_key_id"] is None
    assert recorded_pseudonym_key(tmp_path / "out" / "store.sqlite") is None
    assert not (other_home / ".config" / "flowgraph").exists()


def test_repro_another_home_is_refused_instead_of_showing_new_pseudonyms(scanned, store_path, tmp_path, other_home,
                                                                          capsys):
    """Sweep C repro-3: the queue seen from a HOME without the key showed CUS-21b2... for
    the customer the scan's alerts.parquet showed as CUS-f106..., exit 0."""
    exported = set(pd.read_parquet(scanned / "out" / "alerts.parquet")["customer"])
    recorded = recorded_pseudonym_key(store_path)["key_id"]
    default_key = other_home / ".config" / "flowgraph" / "pseudonym.key"
    for name, args in _commands(store_path, tmp_path).items():
        assert main(args) == 2, name
        captured = capsys.readouterr()
        err = captured.err
        assert err.count("\n") == 1 and err.startswith(f"error: {store_path}: its pseudonyms were made with the "
                                                       f"key {recorded}"), (name, err)
        assert f"the key file {default_key} does not exist; no new key was made" in err, (name, err)
        assert "Fix: pass --key-file (or set $FLOWGRAPH_KEY_FILE to)" in err and "--reveal-ids" in err, (name, err)
        assert not any(p in captured.out for p in exported) and "CUS-" not in captured.out, name
        assert not default_key.exists(), name  # no new key made
    assert not (tmp_path / "case.html").exists() and not (tmp_path / "drafts").exists()


def test_another_key_is_refused_naming_both_key_ids(store_path, tmp_path, capsys):
    other = write_key(tmp_path / "b.key")
    for name, args in _commands(store_path, tmp_path).items():
        assert main([*args, "--key-file", str(other)]) == 2, name
        err = capsys.readouterr().err
        assert f"but the key file {other} holds another key (id {key_id(load_key(other))})" in err, (name, err)
        assert recorded_pseudonym_key(store_path)["key_id"] in err, (name, err)


def test_the_matching_key_works_from_any_home_and_shows_the_exported_pseudonyms(scanned, store_path, tmp_path,
                                                                                  key_a, other_home, capsys):
    exported = pd.read_parquet(scanned / "out" / "alerts.parquet").set_index("alert_id")["customer"]
    commands = _commands(store_path, tmp_path)
    assert main([*commands["alerts"], "--format", "json", "--key-file", str(key_a)]) == 0
    queue = pd.DataFrame(json.loads(capsys.readouterr().out)).set_index("alert_id")["customer"]
    assert queue.loc[exported.index].equals(exported)
    for name in ("show", "report-draft"):
        assert main([*commands[name], "--key-file", str(key_a)]) == 0, name
    assert exported[_alert_id(store_path)] in (tmp_path / "case.html").read_text()
    # the same key named by $FLOWGRAPH_KEY_FILE
    other_home.joinpath("k").write_bytes(key_a.read_bytes())
    other_home.joinpath("k").chmod(0o600)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FLOWGRAPH_KEY_FILE", str(other_home / "k"))
        assert main(commands["alerts"]) == 0
    assert exported.iloc[0] in capsys.readouterr().out


def test_reveal_ids_needs_no_key_and_is_logged(store_path, tmp_path, other_home, capsys):
    for name, args in _commands(store_path, tmp_path).items():
        assert main([*args, "--reveal-ids"]) == 0, name
    assert "RS0005" in (tmp_path / "case.html").read_text()
    assert not (other_home / ".config" / "flowgraph").exists()
    with sqlite3.connect(store_path) as conn:
        logged = {json.loads(r[0])["command"] for r in conn.execute("SELECT detail FROM audit WHERE action = "
                                                                     "'show_real_ids'")}
    assert logged == {"alerts", "show", "report-draft"}


def test_a_scan_into_the_store_with_another_key_is_refused_before_it_stores_anything(scanned, store_path, tmp_path,
                                                                                     other_home, capsys):
    n_runs = _n_runs(store_path)
    args = ["scan", str(scanned / "tx.csv"), "--accounts", str(scanned / "accounts.csv"), "--out",
            str(tmp_path / "out2"), "--store", str(store_path)]
    assert main(args) == 2  # the command line checks before it reads the input
    assert "no new key was made" in capsys.readouterr().err
    assert not (other_home / ".config" / "flowgraph").exists()
    other = write_key(tmp_path / "b.key")
    with pytest.raises(ConfigError, match="holds another key"):  # the Python API checks under the store's lock
        run_scan(load_dataset(scanned / "tx.csv", accounts=scanned / "accounts.csv"), tmp_path / "out3",
                 store_path=store_path, key_file=other, progress=False)
    assert _n_runs(store_path) == n_runs and not (tmp_path / "out3" / "hits.parquet").exists()


def test_a_scan_into_the_store_with_its_key_goes_on(scanned, store_path, tmp_path, key_a):
    args = ["scan", str(scanned / "tx.csv"), "--accounts", str(scanned / "accounts.csv"), "--out",
            str(tmp_path / "out2"), "--store", str(store_path), "--key-file", str(key_a)]
    assert main(args) == 0
    manifest = json.loads((tmp_path / "out2" / "manifest.json").read_text())
    assert manifest["pseudonym_key_id"] == key_id(load_key(key_a))
    assert set(pd.read_parquet(tmp_path / "out2" / "alerts.parquet")["customer"]) == \
        set(pd.read_parquet(scanned / "out" / "alerts.parquet")["customer"])


def test_a_scan_of_a_transaction_store_in_blocks_checks_the_key_before_any_block(tmp_path, capsys):
    from flowgraph.dask_scan import block_scan

    rows = ["txn_id,timestamp,src_account,dst_account,amount,currency,channel"]
    rows += [f"Q{i},2027-01-{4 + i:02d} 10:00:00,,B{i % 2},{60_000 + i},CNY,cash" for i in range(4)]
    (tmp_path / "tx.csv").write_text("\n".join(rows) + "\n")
    assert main(["ingest", str(tmp_path / "tx.csv"), "--into", str(tmp_path / "tx")]) == 0
    key_a, key_b = write_key(tmp_path / "a.key"), write_key(tmp_path / "b.key")
    out, store_path = tmp_path / "out", tmp_path / "out" / "store.sqlite"
    assert main(["scan", str(tmp_path / "tx"), "--out", str(out), "--block-days", "1", "--key-file", str(key_a)]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["n_chunks"] == 4 and manifest["pseudonym_key_id"] == key_id(load_key(key_a))
    assert set(pd.read_parquet(out / "alerts.parquet")["subject"]) == {Pseudonymizer(load_key(key_a))("B0"),
                                                                       Pseudonymizer(load_key(key_a))("B1")}
    n_runs = _n_runs(store_path)
    with pytest.raises(ConfigError, match="holds another key"):
        block_scan(tmp_path / "tx", tmp_path / "out2", store_path=store_path, key_file=key_b, block_days=1,
                   progress=False)
    assert _n_runs(store_path) == n_runs and not (tmp_path / "out2" / "manifest.json").exists()


@pytest.mark.parametrize("earlier", ["table missing", "no row"])
def test_a_store_of_an_earlier_version_adopts_the_key_in_use_with_a_note(store_path, tmp_path, capsys, earlier):
    with sqlite3.connect(store_path) as conn:
        conn.execute("DROP TABLE pseudonym_key" if earlier == "table missing" else "DELETE FROM pseudonym_key")
    key_b = write_key(tmp_path / "b.key")
    commands = _commands(store_path, tmp_path)
    assert main([*commands["alerts"], "--key-file", str(key_b)]) == 0
    err = capsys.readouterr().err
    notes = [line for line in err.splitlines() if line.startswith("note:")]
    assert len(notes) == 1 and f"{store_path}: the run store had recorded no pseudonym key" in notes[0], err
    assert key_id(load_key(key_b)) in notes[0] and str(key_b.absolute()) in notes[0], err
    record = recorded_pseudonym_key(store_path)
    assert record["key_id"] == key_id(load_key(key_b)) and record["adopted"] == 1
    # adopted once: no second note, and from now on the store's key is required
    assert main([*commands["show"], "--key-file", str(key_b)]) == 0
    assert "note:" not in capsys.readouterr().err
    assert main([*commands["alerts"], "--key-file", str(write_key(tmp_path / "c.key"))]) == 2
    assert "holds another key" in capsys.readouterr().err


def test_a_new_store_records_its_first_key_without_a_note(tmp_path, capsys):
    tx, accounts = bank_tables(tiny_bank_rows())
    tx.to_csv(tmp_path / "tx.csv", index=False)
    assert main(["scan", str(tmp_path / "tx.csv"), "--out", str(tmp_path / "out")]) == 0
    assert "recorded no pseudonym key" not in capsys.readouterr().err
    assert recorded_pseudonym_key(tmp_path / "out" / "store.sqlite")["adopted"] == 0


def test_a_key_recorded_by_another_process_meanwhile_wins(store_path, tmp_path):
    with sqlite3.connect(store_path) as conn:
        conn.execute("DELETE FROM pseudonym_key")
    store = Store(store_path, create=False)
    try:
        first = store.record_pseudonym_key("0123456789abcdef", "/elsewhere/key")
        assert first["made_now"] and first["key_id"] == "0123456789abcdef"
        second = store.record_pseudonym_key(key_id(load_key()), "/here/key")
        assert not second["made_now"] and second["key_id"] == "0123456789abcdef"
        # the store read before the other process recorded its key: refused all the same
        store.pseudonym_key = lambda: None
        with pytest.raises(ConfigError, match="0123456789abcdef .*from the key file /elsewhere/key"):
            store_pseudonymizer(store)
    finally:
        store.close()


def test_evaluate_given_the_run_refuses_a_key_of_another_id(tmp_path):
    key_a, key_b = write_key(tmp_path / "a.key"), write_key(tmp_path / "b.key")
    patterns = pd.DataFrame({"typology": ["fan_in"], "behaviour": ["naive"], "subject": ["A1"],
                             "accounts": [["A1", "A2"]], "first_day": [pd.Timestamp("2024-09-02")],
                             "last_day": [pd.Timestamp("2024-09-03")]})
    pseudo = Pseudonymizer(load_key(key_a))
    hits = pd.DataFrame({"typology": ["fan_in"], "subject": [pseudo("A1")], "accounts": [[pseudo("A1")]],
                         "window_start": [pd.Timestamp("2024-09-02")], "window_end": [pd.Timestamp("2024-09-03")]})
    run = {"pseudonym_key_id": key_id(load_key(key_a))}
    assert found(patterns, hits, key_file=key_a, run=run).tolist() == [True]
    (tmp_path / "manifest.json").write_text(json.dumps(run))
    with pytest.raises(ConfigError, match=rf"pseudonymised with the key whose id is {run['pseudonym_key_id']}, but "
                                          rf"the key file {key_b} holds another key"):
        found(patterns, hits, key_file=key_b, run=tmp_path / "manifest.json")
    # a run of an earlier version recorded no key id: the hits themselves still tell
    assert found(patterns, hits, key_file=key_a, run={}).tolist() == [True]
    with pytest.raises(ConfigError, match="no run store here"):
        found(patterns, hits, key_file=key_a, run=tmp_path / "absent.sqlite")

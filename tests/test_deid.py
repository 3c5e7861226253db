"""The pseudonym key (refused when short, shared or missing; the default created once) and
files holding real ids (owner-only from their first byte)."""

import os
import re
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flowgraph._files import write_atomically, write_parquet
from flowgraph.deid import Pseudonymizer, load_key
from flowgraph.errors import ConfigError
from flowgraph.io import load_dataset, write_dataset


def _key(path: Path, text: str, mode: int = 0o600) -> Path:
    path.write_text(text)
    path.chmod(mode)
    return path


@pytest.fixture
def default_key(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "config" / "flowgraph" / "pseudonym.key"
    monkeypatch.setenv("FLOWGRAPH_KEY_FILE", str(path))
    return path


def test_default_key_is_created_once_owner_only_with_a_note(default_key, capsys):
    key = load_key()
    err = capsys.readouterr().err
    assert str(default_key) in err and "Back it up" in err and "every pseudonym" in err
    assert len(key) == 32 and default_key.stat().st_mode & 0o777 == 0o600
    assert default_key.parent.stat().st_mode & 0o077 == 0
    assert load_key() == key and load_key(default_key) == key
    assert capsys.readouterr().err == ""
    assert [p.name for p in default_key.parent.iterdir()] == ["pseudonym.key"]  # no temporary left


def test_explicit_key_path_must_exist(tmp_path, default_key):
    missing = tmp_path / "pseudonym.kye"
    with pytest.raises(ConfigError, match=r"pseudonym.kye not found. Fix: check the path, or omit --key-file "
                                          r"to use/create the default key"):
        load_key(missing)
    assert not missing.exists() and not default_key.exists()


@pytest.mark.parametrize("text", ["", "00" * 16, "ab" * 31 + "a"])
def test_short_or_empty_keys_are_refused(tmp_path, text):
    with pytest.raises(ConfigError, match=r"(at least 32|not hold a hex key).*Fix: restore the key from its backup"):
        load_key(_key(tmp_path / "k", text))


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660])
def test_keys_readable_by_others_are_refused(tmp_path, mode):
    path = _key(tmp_path / "k", "ab" * 32, mode)
    with pytest.raises(ConfigError, match=rf"readable by group or others \(mode {mode:04o}\). "
                                          rf"Fix: chmod 600 {re.escape(str(path))}"):
        load_key(path)
    path.chmod(0o600)
    assert load_key(path) == bytes.fromhex("ab" * 32)


def test_default_key_is_checked_too(default_key):
    default_key.parent.mkdir(parents=True)
    _key(default_key, "ab" * 32, 0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        load_key()


@pytest.mark.parametrize("text", ["zz" * 32, "ab" * 32 + " and more", "é" * 40])
def test_keys_that_are_not_hex_are_refused(tmp_path, text):
    with pytest.raises(ConfigError, match=r"key file .* (does not hold a hex key|cannot be read as text)"):
        load_key(_key(tmp_path / "k", text))


def test_key_file_that_is_a_directory(tmp_path):
    with pytest.raises(ConfigError, match="is a directory"):
        load_key(tmp_path)


def test_unreadable_key_file(tmp_path, monkeypatch):
    path = _key(tmp_path / "k", "ab" * 32)

    def denied(self, *args, **kwargs):
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "read_text", denied)
    with pytest.raises(ConfigError, match=r"cannot be read \(permission denied\)"):
        load_key(path)


def test_default_key_that_cannot_be_created(tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("FLOWGRAPH_KEY_FILE", str(blocker / "pseudonym.key"))
    with pytest.raises(ConfigError, match="cannot create the pseudonym key .* Fix: set FLOWGRAPH_KEY_FILE"):
        load_key()


def test_pseudonyms_carry_80_bits():
    name = Pseudonymizer(b"k" * 32)
    assert re.fullmatch(r"ACC-[0-9a-f]{20}", name("6222000000000001"))
    assert re.fullmatch(r"CUS-[0-9a-f]{20}", name("C1", "customer"))
    with pytest.raises(ConfigError, match="at least 32 bytes"):
        Pseudonymizer(b"k" * 31)



def test_pseudonyms_are_the_documented_keyed_digest_whatever_the_column():
    """ACC-/CUS-/CON- and the first 20 hex digits of HMAC-SHA256(key, "kind:id"): the same
    for one id, a column, a list column, and in every version (exports and stores made
    earlier stay comparable)."""
    import hashlib
    import hmac

    key = bytes(range(32))
    name = Pseudonymizer(key)

    def expected(kind, prefix, value):
        return prefix + hmac.new(key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()[:20]

    ids = ["6222000000000001", "账户-7", "C1", "", None]
    for kind, prefix in (("account", "ACC-"), ("customer", "CUS-"), ("contact", "CON-")):
        want = [expected(kind, prefix, v) if v else v for v in ids]
        assert [name(v, kind) for v in ids] == want
        assert name.column(pd.Series(ids, dtype=object), kind).tolist() == want
        for dtype in ("string", "string[pyarrow]", pd.ArrowDtype(pa.string()), pd.ArrowDtype(pa.large_string())):
            named = name.column(pd.Series(ids, dtype=dtype), kind).tolist()
            assert named[:4] == want[:4] and pd.isna(named[4])
        arrow = pd.Series(pd.arrays.ArrowExtensionArray(pa.array([ids[:2], ids[2:]], pa.list_(pa.string()))))
        assert name.column(arrow, kind).tolist() == [want[:2], want[2:]]
    assert name(7) == expected("account", "ACC-", 7)
    numbers = name.column(pd.Series([7, None, 8.0, float("nan")], dtype=object)).tolist()  # named as their text
    assert numbers[:3] == [expected("account", "ACC-", 7), None, expected("account", "ACC-", "8.0")]
    assert numbers[3] != numbers[3]  # NaN stays NaN
    assert name._pseudonyms(ids, "account") == [expected("account", "ACC-", v) if v else v for v in ids]

# -- files holding real ids ---------------------------------------------------------------------

@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_files_are_owner_only_from_the_first_byte(tmp_path, umask_022):
    target = tmp_path / "rejects.csv"
    target.write_text("old")
    target.chmod(0o644)
    modes = []

    def write(p):
        modes.append(p.stat().st_mode & 0o777)
        p.write_text("row,reason\n")

    write_atomically(target, write)
    assert modes == [0o600] and target.stat().st_mode & 0o777 == 0o600
    frame = pd.DataFrame({"subject": ["6222000000000001"]})
    assert write_parquet(frame, tmp_path / "hits.parquet").stat().st_mode & 0o777 == 0o600
    shared = write_parquet(frame, tmp_path / "shared.parquet", private=False)
    assert shared.stat().st_mode & 0o777 == 0o644
    assert pd.read_parquet(shared).equals(frame)


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "out.csv"
    target.write_text("old")

    def fail(p):
        p.write_text("half")
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError):
        write_atomically(target, fail)
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["out.csv"]


def test_ingest_outputs_and_rejects_are_owner_only(tmp_path, umask_022):
    csv = tmp_path / "t.csv"
    csv.write_text("txn_id,timestamp,src_account,dst_account,amount,currency,channel\n"
                   "t1,2024-09-24 10:00:00,6222000000000001,6222000000000002,100.00,CNY,transfer\n"
                   "t2,2024-09-24 11:00:00,6222000000000001,6222000000000002,-5,CNY,transfer\n")
    paths = write_dataset(load_dataset(csv), tmp_path / "out")
    assert {name: p.stat().st_mode & 0o777 for name, p in paths.items()} == {name: 0o600 for name in paths}
    assert "6222000000000001" in paths["rejects.csv"].read_text()  # why it must be private


def test_arrow_list_columns_are_pseudonymised_like_python_lists():
    name = Pseudonymizer(b"k" * 32)
    lists = [["a", "b"], [], ["a", ""], ["c"]]
    arrow = pd.Series(pd.arrays.ArrowExtensionArray(pa.array(lists, pa.list_(pa.string())))).iloc[1:]
    assert name.column(arrow).tolist() == name.column(pd.Series(lists).iloc[1:]).tolist()
    assert name.column(arrow).tolist()[1] == [name("a"), ""]


_TEXT_OR_MISSING = st.one_of(st.text(max_size=6), st.sampled_from(["", "6222000000000001", "账户-7"]),
                             st.sampled_from([None, float("nan"), pd.NA]))


@settings(max_examples=60, deadline=None)
@given(st.lists(_TEXT_OR_MISSING, max_size=30), st.integers(0, 1000))
def test_a_text_column_is_named_as_each_of_its_ids_is_and_keeps_its_missing_values(values, start):
    """A column of text ids (the hits' subject and customer) is named in Arrow: each id as
    ``name(id)`` names it one at a time, "" as "", and None, NaN and pd.NA stay themselves;
    the index is kept."""
    name = Pseudonymizer(b"k" * 32)
    series = pd.Series(values, index=range(start, start + len(values)), dtype=object)
    named = name.column(series, "customer")
    assert list(named.index) == list(series.index) and named.dtype == object
    for value, got in zip(values, named.tolist()):
        if isinstance(value, str):
            assert got == (name(value, "customer") if value else "")
        else:  # the same missing value, not another kind of it
            assert got is value or (isinstance(value, float) and isinstance(got, float) and got != got)

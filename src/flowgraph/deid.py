"""De-identification (SPEC §7; 002: AML information-security notice 2020 No.12).

Everything made for display or sharing shows keyed pseudonyms instead of account and
customer ids: ``ACC-`` / ``CUS-`` followed by 20 hex digits (80 bits) of
HMAC-SHA256(key, id): at 10^8 accounts the chance that two share a pseudonym is about
10^-8. The same key gives the same pseudonym, so an analyst can follow an account across
reports without seeing its number.

The key lives apart from the data, never in the run store. Without an explicit path it
is ``$FLOWGRAPH_KEY_FILE`` or ``~/.config/flowgraph/pseudonym.key``, created on first use
(32 random bytes as hex, owner-only) with a note on stderr; back it up, since a new key
changes every pseudonym. An explicit path must exist. A key shorter than
:data:`MIN_KEY_BYTES` or readable by group or others is refused: with a short or leaked
key anyone can reverse pseudonyms by hashing candidate account numbers.

A run store records the id of the key its pseudonyms were made with (:func:`key_id`: an
HMAC of a fixed label under the key, which reveals nothing of the key) the first time
pseudonyms are made for it, and every later command that shows or writes pseudonyms of
that store uses the key only if its id is the recorded one (:func:`store_pseudonymizer`):
with another key, or none (a new machine, another analyst's home, a lost key), every
pseudonym would silently differ from those of the exports, case files and drafts made
before. No key is created for a store that recorded one. A store of an earlier version,
which recorded none, adopts the key in use, with a note.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from ._arrow import one_array
from .errors import ConfigError

PREFIX = {"account": "ACC-", "customer": "CUS-", "contact": "CON-"}

#: Hex digits of the HMAC kept in a pseudonym (80 bits).
PSEUDONYM_HEX_DIGITS = 20

#: Shortest key accepted, bytes (HMAC-SHA256's own output size).
MIN_KEY_BYTES = 32


def default_key_file() -> Path:
    """``$FLOWGRAPH_KEY_FILE``, else ``~/.config/flowgraph/pseudonym.key``."""
    env = os.environ.get("FLOWGRAPH_KEY_FILE")
    return Path(env) if env else Path.home() / ".config" / "flowgraph" / "pseudonym.key"


def load_key(path: str | Path | None = None) -> bytes:
    """The pseudonym key.

    Parameters
    ----------
    path : path, optional
        Key file, which must exist. Default: :func:`default_key_file`, created (32 random
        bytes as hex, mode 0600) when absent.

    Raises
    ------
    ConfigError
        The given file does not exist; the key file is a directory, unreadable, readable
        by group or others, not hex, or shorter than :data:`MIN_KEY_BYTES`.
    """
    if path is None:
        path = default_key_file()
        if not path.exists():
            _create_key(path)
    path = Path(path)
    new_key = "Fix: restore the key from its backup; only if it is lost, move it away and run again to " \
        "create a new one (every pseudonym changes)."
    try:
        mode = path.stat().st_mode
        if path.is_dir():
            raise ConfigError(f"key file {path} is a directory. Fix: give the key file inside it, or omit "
                              "--key-file to use/create the default key.")
        if os.name == "posix" and mode & 0o077:
            raise ConfigError(f"key file {path} is readable by group or others (mode {mode & 0o777:04o}). "
                              f"Fix: chmod 600 {path}")
        text = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        raise ConfigError(f"key file {path} not found. Fix: check the path, or omit --key-file to use/create "
                          f"the default key ({default_key_file()}).") from None
    except PermissionError:
        raise ConfigError(f"key file {path} cannot be read (permission denied). Fix: run as the key's owner, "
                          f"or chmod 600 {path} as its owner.") from None
    except (UnicodeDecodeError, OSError) as exc:
        raise ConfigError(f"key file {path} cannot be read as text ({exc}). {new_key}") from None
    try:
        key = bytes.fromhex(text)
    except ValueError:
        raise ConfigError(f"key file {path} does not hold a hex key. {new_key}") from None
    if len(key) < MIN_KEY_BYTES:
        raise ConfigError(f"key file {path} holds {len(key)} bytes; a key needs at least {MIN_KEY_BYTES} "
                          f"(64 hex digits), or pseudonyms can be reversed. {new_key}")
    return key


def _create_key(path: Path) -> None:
    """Write a new key at ``path`` (owner-only) unless another process just did."""
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        # written whole under a temporary name, then linked into place: a concurrent
        # first run either wins or reads a complete key, never a half-written one
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_hex(MIN_KEY_BYTES) + "\n")
            os.link(tmp, path)
        except FileExistsError:
            return
        finally:
            tmp.unlink()
    except OSError as exc:
        raise ConfigError(f"cannot create the pseudonym key {path} ({exc.strerror}). Fix: set "
                          "FLOWGRAPH_KEY_FILE to a writable place, or pass --key-file.") from None
    print(f"flowgraph: created a new pseudonym key at {path} (owner-only). Back it up and keep it apart "
          "from the data: losing it changes every pseudonym.", file=sys.stderr)


#: What :func:`key_id` authenticates under the key (fixed: the id of a key never changes).
KEY_ID_LABEL = b"flowgraph pseudonym key id v1"

#: Hex digits of a key id (64 bits: two keys of one bank sharing an id is out of reach).
KEY_ID_HEX_DIGITS = 16


def key_id(key: bytes) -> str:
    """The id of a pseudonym key: the first :data:`KEY_ID_HEX_DIGITS` hex digits of
    HMAC-SHA256(key, :data:`KEY_ID_LABEL`). It tells two keys apart and, HMAC being a
    pseudorandom function, reveals nothing of the key, nor any pseudonym."""
    return hmac.new(key, KEY_ID_LABEL, hashlib.sha256).hexdigest()[:KEY_ID_HEX_DIGITS]


def _recorded(record: dict) -> str:
    """Where a store's key id came from, for a message."""
    return (f"{record['key_id']} (recorded {record['recorded_at']} by {record['recorded_by']}, from the key file "
            f"{record['key_file']})")


def key_for_store(store_path: str | Path, record: dict | None, key_file: str | Path | None = None) -> bytes:
    """The pseudonym key for a run store whose recorded key is ``record``
    (:meth:`flowgraph.store.Store.pseudonym_key`; None: none recorded), checked, nothing
    recorded: without a record, :func:`load_key` (the default key is created if absent);
    with one, the key file (``key_file`` or :func:`default_key_file`, never created) must
    hold the key of the recorded id.

    Raises
    ------
    ConfigError
        The key file does not exist, or holds another key than the store's (or
        :func:`load_key`'s errors).
    """
    if record is None:
        return load_key(key_file)
    path = Path(key_file) if key_file is not None else default_key_file()
    fix = ("Fix: pass --key-file (or set $FLOWGRAPH_KEY_FILE to) the key file the store was pseudonymised with, or "
           "--reveal-ids (logged in the store's audit table) if you are authorised to see real ids.")
    if not path.exists():
        raise ConfigError(f"{store_path}: its pseudonyms were made with the key {_recorded(record)}, and the key "
                          f"file {path} does not exist; no new key was made, as every account and customer would "
                          f"get other pseudonyms than in the store's exports, case files and drafts. {fix}")
    key = load_key(path)
    if key_id(key) != record["key_id"]:
        raise ConfigError(f"{store_path}: its pseudonyms were made with the key {_recorded(record)}, but the key "
                          f"file {path} holds another key (id {key_id(key)}): every account and customer would get "
                          f"other pseudonyms than in the store's exports, case files and drafts. {fix}")
    return key


def store_pseudonymizer(store, key_file: str | Path | None = None) -> Pseudonymizer:
    """The pseudonyms of a run store's ids (see the module docstring).

    Parameters
    ----------
    store : flowgraph.store.Store
        The run store whose ids are shown or written.
    key_file : path, optional
        The key file; default :func:`default_key_file`, created only for a store that
        has recorded no key id.

    Raises
    ------
    ConfigError
        The key is not the one whose id the store recorded, or the key file is missing
        (see :func:`key_for_store`).
    """
    record = store.pseudonym_key()
    key = key_for_store(store.path, record, key_file)
    if record is None:
        path = Path(key_file) if key_file is not None else default_key_file()
        record = store.record_pseudonym_key(key_id(key), str(path.absolute()))
        key = key_for_store(store.path, record, key_file)  # another process may have recorded another key
        if record["made_now"] and record["adopted"]:
            print(f"note: {store.path}: the run store had recorded no pseudonym key (it was made by an earlier "
                  f"flowgraph version, or scanned with --reveal-ids only); it now records the key "
                  f"{_recorded(record)}, which every command showing its pseudonyms needs from now on. If its "
                  "earlier exports were made with another key, that key is the store's: delete this record "
                  f"(sqlite3 {store.path} 'DELETE FROM pseudonym_key') and run again with --key-file THAT_KEY.",
                  file=sys.stderr)
    return Pseudonymizer(key)


class Pseudonymizer:
    """Maps ids to keyed pseudonyms (see the module docstring)."""

    def __init__(self, key: bytes):
        if len(key) < MIN_KEY_BYTES:
            raise ConfigError(f"a pseudonym key needs at least {MIN_KEY_BYTES} bytes; got {len(key)}. "
                              "Fix: use load_key(), which reads or creates a proper key.")
        self._key = key
        self._cache: dict[str, dict[str, str]] = {kind: {} for kind in PREFIX}  # kind -> id -> pseudonym

    def __call__(self, value, kind: str = "account"):
        """The pseudonym of one id (None and "" stay as they are)."""
        if value is None or (pd.api.types.is_scalar(value) and pd.isna(value)) or value == "":
            return value
        return self._pseudonyms([str(value)], kind)[0]

    def _pseudonyms(self, ids: list, kind: str) -> list:
        """The pseudonyms of ids (text; None and "" stay as they are), each keyed once: the
        one loop every id passes through (the distinct ids of a range's hits: 200 k)."""
        cache, key, prefix, label = self._cache[kind], self._key, PREFIX[kind], f"{kind}:"
        names = []
        for value in ids:
            name = cache.get(value) if value else value
            if name is None and value is not None:
                name = prefix + hmac.digest(key, (label + value).encode(), "sha256").hex()[:PSEUDONYM_HEX_DIGITS]
                cache[value] = name
            names.append(name)
        return names

    def column(self, series: pd.Series, kind: str = "account") -> pd.Series:
        """A column of ids, or of lists of ids, pseudonymised: each distinct id is keyed once."""
        dtype = getattr(series.dtype, "pyarrow_dtype", None)
        if dtype is not None and pa.types.is_list(dtype) and pa.types.is_string(dtype.value_type):
            return pd.Series(pd.arrays.ArrowExtensionArray(self._list_names(series.array.__arrow_array__(), kind)),
                             index=series.index)
        if pd.api.types.infer_dtype(series, skipna=True) in ("string", "empty"):  # text and missing values only
            return self._text_names(series, kind)
        values = series.tolist()
        is_list = [isinstance(v, (list, tuple, np.ndarray)) for v in values]
        if any(is_list) and all(is_list):
            flat = pa.array([list(v) for v in values], type=pa.list_(pa.string()))
            names = self._names(flat.flatten(), kind)
            out = pa.ListArray.from_arrays(flat.offsets, names).to_pylist()
        elif not any(is_list):  # numbers and other values: named as their text
            return self._text_names(series, kind, pa.array([None if pd.isna(v) else str(v) for v in values],
                                                           type=pa.string()))
        else:
            out = [[self(x, kind) for x in v] if lst else self(v, kind) for v, lst in zip(values, is_list)]
        return pd.Series(out, index=series.index, dtype=object)

    def _text_names(self, series: pd.Series, kind: str, text: pa.Array | None = None) -> pd.Series:
        """Pseudonyms of a column of text ids (object or pandas text), or of ``text``, the
        column's values as Arrow text when they are not text (numbers): named in Arrow, not
        id by id in Python; a missing value (None, NaN, pd.NA) stays as it is, as does "". A
        column of 890,804 ids (the hits of the 1e8 bank's range), 200 k distinct and keyed
        before: 0.32-0.52 s against 0.63-0.98 s id by id (`/tmp/s46/deidb2.py`, alternating)."""
        if text is None:
            text = pa.array(series, type=pa.string(), from_pandas=True)
            text = one_array(text)  # Arrow-backed text
        names = self._names(text, kind).to_numpy(zero_copy_only=False)
        missing = text.is_null().to_numpy(zero_copy_only=False)
        if missing.any():
            names[missing] = series.to_numpy(dtype=object)[missing]
        return pd.Series(names, index=series.index, dtype=object)

    def _list_names(self, lists: pa.ListArray | pa.ChunkedArray, kind: str) -> pa.ListArray:
        """Pseudonyms of an Arrow list array of ids, list by list."""
        lists = one_array(lists)
        offsets = np.asarray(lists.offsets)
        names = self._names(lists.flatten(), kind)
        return pa.ListArray.from_arrays(pa.array(offsets - offsets[0], pa.int32()), names, mask=lists.is_null())

    def _names(self, ids: pa.Array, kind: str) -> pa.Array:
        """Pseudonyms of an Arrow array of ids ("" and null stay as they are)."""
        encoded = ids.dictionary_encode()
        names = pa.array(self._pseudonyms(encoded.dictionary.to_pylist(), kind), type=pa.string())
        return names.take(encoded.indices)


#: Columns of flowgraph's own tables that hold account or customer ids or contact keys; the
#: measures that hold ids come from the detector registry (:func:`id_columns`).
BASE_ID_COLUMNS = {"subject": "account", "accounts": "account", "customer": "customer",
                   "src_account": "account", "dst_account": "account", "account_id": "account",
                   "customer_id": "customer", "contact_id": "contact"}


def id_columns() -> dict[str, str]:
    """Every column (and measure) that holds ids, with its kind: the tables' own, and each
    registered typology's id-bearing measures (as ``name`` in the measures JSON and
    ``m_name`` as a column): account ids, but a measure named as a column above (a
    ``contact_id``) is of that column's kind."""
    from .detectors import TYPOLOGIES
    from .hits import MEASURE_PREFIX

    kinds = {m: BASE_ID_COLUMNS.get(m, "account") for t in TYPOLOGIES.values() for m in t.id_measures}
    return {**BASE_ID_COLUMNS, **kinds, **{MEASURE_PREFIX + m: kind for m, kind in kinds.items()}}


def deidentify(frame: pd.DataFrame, pseudonymize: Pseudonymizer) -> pd.DataFrame:
    """A copy of ``frame`` with every id column of :func:`id_columns` pseudonymised,
    including ids inside a ``measures`` JSON column."""
    out = frame.copy()
    columns = id_columns()
    for col, kind in columns.items():
        if col in out.columns:
            out[col] = pseudonymize.column(out[col], kind)
    if "measures" in out.columns and len(out):
        def clean(text):
            m = json.loads(text) if isinstance(text, str) else dict(text)
            for key, kind in columns.items():
                if key in m:
                    m[key] = [pseudonymize(x, kind) for x in m[key]] if isinstance(m[key], list) \
                        else pseudonymize(m[key], kind)
            return json.dumps(m, sort_keys=True)
        # only measures that name an id key are rewritten (a few typologies have one)
        keys = "|".join(re.escape(k) for k in columns)
        has_ids = out["measures"].astype(str).str.contains(keys, regex=True).to_numpy()
        out.loc[has_ids, "measures"] = out.loc[has_ids, "measures"].map(clean)
    return out

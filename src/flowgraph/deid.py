"""De-identification (SPEC §7; 002: AML information-security notice 2020 No.12).

Everything made for display or sharing shows keyed pseudonyms instead of account and
customer ids: ``ACC-`` / ``CUS-`` followed by 12 hex digits of HMAC-SHA256(key, id). The
same key gives the same pseudonym, so an analyst can follow an account across
reports without seeing its number. The key lives apart from the data: by default in
``~/.config/flowgraph/pseudonym.key`` (created on first use, owner-only), or wherever
``FLOWGRAPH_KEY_FILE`` or an explicit path says; never in the run store.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from pathlib import Path

import numpy as np
import pandas as pd

PREFIX = {"account": "ACC-", "customer": "CUS-"}


def default_key_file() -> Path:
    env = os.environ.get("FLOWGRAPH_KEY_FILE")
    return Path(env) if env else Path.home() / ".config" / "flowgraph" / "pseudonym.key"


def load_key(path: str | Path | None = None) -> bytes:
    """The pseudonym key, created (32 random bytes, mode 0600) if the file is absent.

    Parameters
    ----------
    path : path, optional
        Key file; default :func:`default_key_file`.
    """
    path = Path(path) if path else default_key_file()
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
    return bytes.fromhex(path.read_text().strip())


class Pseudonymizer:
    """Maps ids to keyed pseudonyms (see the module docstring)."""

    def __init__(self, key: bytes):
        self._key = key
        self._cache: dict[tuple[str, str], str] = {}

    def __call__(self, value, kind: str = "account"):
        """The pseudonym of one id (None and "" stay as they are)."""
        if value is None or (isinstance(value, float) and np.isnan(value)) or value == "":
            return value
        key = (kind, str(value))
        if key not in self._cache:
            digest = hmac.new(self._key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()
            self._cache[key] = PREFIX[kind] + digest[:12]
        return self._cache[key]

    def column(self, series: pd.Series, kind: str = "account") -> pd.Series:
        """A column of ids, or of lists of ids, pseudonymised."""
        def one(v):
            if isinstance(v, (list, tuple, np.ndarray)):
                return [self(x, kind) for x in v]
            return self(v, kind)
        return series.map(one)


#: Columns of flowgraph's tables that hold account or customer ids.
ID_COLUMNS = {"subject": "account", "accounts": "account", "customer": "customer",
              "src_account": "account", "dst_account": "account", "account_id": "account",
              "customer_id": "customer", "m_members": "account", "members": "account"}


def deidentify(frame: pd.DataFrame, pseudonymize: Pseudonymizer) -> pd.DataFrame:
    """A copy of ``frame`` with every id column of :data:`ID_COLUMNS` pseudonymised,
    including ids inside a ``measures`` JSON column."""
    out = frame.copy()
    for col, kind in ID_COLUMNS.items():
        if col in out.columns:
            out[col] = pseudonymize.column(out[col], kind)
    if "measures" in out.columns:
        def clean(text):
            m = json.loads(text) if isinstance(text, str) else dict(text)
            for key, kind in ID_COLUMNS.items():
                if key in m:
                    m[key] = [pseudonymize(x, kind) for x in m[key]] if isinstance(m[key], list) \
                        else pseudonymize(m[key], kind)
            return json.dumps(m, sort_keys=True)
        out["measures"] = out["measures"].map(clean)
    return out

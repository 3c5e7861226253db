"""Writing files whole or not at all: a crash mid-write never leaves half a file.

Files are owner-only (0600) unless the caller says they hold no real ids
(``private=False``): ingest outputs, rejects, simulator outputs and ``--reveal-ids``
exports carry account and customer ids, which are confidential (SPEC §7; 002). The
temporary file has its final mode before any byte is written, so there is no moment at
which others can read it.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Callable

import pandas as pd

#: Modes of new files; the process umask still applies (it can only narrow them).
PRIVATE_MODE = 0o600
SHARED_MODE = 0o666


def write_atomically(path: Path, write: Callable[[Path], object], private: bool = True) -> Path:
    """Call ``write(tmp)`` on a new temporary file beside ``path``, then rename it over ``path``.

    Parameters
    ----------
    path : path
        The file to write.
    write : callable
        Writes the content to the path it is given (which exists, empty, with the final
        mode; ``write`` must open it for writing, not replace it).
    private : bool
        Owner-only (0600, the default); False for de-identified files meant to be shared.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_MODE if private else SHARED_MODE))
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def write_parquet(frame: pd.DataFrame, path: Path, private: bool = True) -> Path:
    """``frame`` as Parquet (no index), written atomically; owner-only unless ``private=False``."""
    return write_atomically(path, lambda p: frame.to_parquet(p, index=False), private)

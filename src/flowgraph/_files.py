"""Writing files whole or not at all: a crash mid-write never leaves half a file."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

import pandas as pd


def write_atomically(path: Path, write: Callable[[Path], object]) -> Path:
    """Call ``write(tmp)`` on a temporary name beside ``path``, then rename it over ``path``."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    write(tmp)
    os.replace(tmp, path)
    return path


def write_parquet(frame: pd.DataFrame, path: Path) -> Path:
    """``frame`` as Parquet (no index), written atomically."""
    return write_atomically(path, lambda p: frame.to_parquet(p, index=False))

"""Reading a TOML file a user wrote, with one message per way it can fail."""

from __future__ import annotations

import tomllib
from pathlib import Path

from .errors import ConfigError


def read_toml(path: Path, label: str, missing_fix: str) -> dict:
    """The TOML table in ``path``.

    Parameters
    ----------
    path : Path
    label : str
        How messages name the file (e.g. ``rule_set_file 'acme.toml'``).
    missing_fix : str
        What a user whose file is not found should do.

    Raises
    ------
    ConfigError
        Not found, a folder, unreadable, not UTF-8 (a byte-order mark is taken), or not valid
        TOML: named, with the fix.
    """
    try:
        return tomllib.loads(path.read_text(encoding="utf-8-sig"))  # a byte-order mark, as Windows editors write
    except FileNotFoundError:
        raise ConfigError(f"{label}: not found. Fix: {missing_fix}") from None
    except IsADirectoryError:
        raise ConfigError(f"{label}: is a folder, not a TOML file. Fix: name the file itself.") from None
    except PermissionError:
        raise ConfigError(f"{label}: permission denied. Fix: make the file readable by this user.") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{label}: not UTF-8 text. Fix: save it as UTF-8 TOML.") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{label}: not valid TOML ({exc}). Fix: correct the syntax at that line.") from None

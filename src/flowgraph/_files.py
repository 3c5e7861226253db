"""Writing files whole or not at all: a crash mid-write never leaves half a file, and a
set of files that belong together (a scan's exports, :class:`StagedFiles`) appears whole
or not at all.

Files are owner-only (0600) unless the caller says they hold no real ids
(``private=False``): ingest outputs, rejects, simulator outputs and ``--reveal-ids``
exports carry account and customer ids, which are confidential (SPEC §7; 002). The
temporary file has its final mode before any byte is written, so there is no moment at
which others can read it.
"""

from __future__ import annotations

import errno
import os
import secrets
from pathlib import Path
from typing import Callable

import pandas as pd

#: Modes of new files; the process umask still applies (it can only narrow them).
PRIVATE_MODE = 0o600
SHARED_MODE = 0o666


def _temporary(path: Path, private: bool) -> Path:
    """A new empty file beside ``path``, hidden and named ``.NAME.RANDOM.tmp``, with the final mode."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_MODE if private else SHARED_MODE))
    except OSError as exc:
        named = named_error(exc, path, tmp)
        if named is exc:
            raise
        raise named from exc
    return tmp


def named_error(exc: OSError, path: Path, tmp: Path | None = None) -> OSError:
    """``exc``, an error met while writing ``path`` (through its temporary file ``tmp``), as
    the OSError of the same kind naming ``path``: Arrow's errors (a full disk while a Parquet
    file is written) name no file, and the temporary file's name means nothing to a user.
    An error naming another file is returned as it is."""
    if exc.filename is not None and (tmp is None or Path(exc.filename) != tmp) and Path(exc.filename) != path:
        return exc
    # OSError(errno, ...) is the subclass of that errno (PermissionError for EACCES, ...)
    named = OSError(exc.errno, exc.strerror or str(exc), str(path)) if exc.errno is not None else \
        OSError(errno.EIO, str(exc), str(path))
    return named


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

    Raises
    ------
    OSError
        The file could not be written (a full disk, a read-only folder): naming ``path``
        (:func:`named_error`); the old file, if any, is left as it was.
    """
    path = Path(path)
    _written(path, lambda tmp: (write(tmp), os.replace(tmp, path)), private)
    return path


def _written(path: Path, write: Callable[[Path], object], private: bool) -> Path:
    """A new temporary file beside ``path`` (:func:`_temporary`) after ``write(tmp)``; on an
    error the temporary file is removed, and an OSError is raised naming ``path``
    (:func:`named_error`)."""
    tmp = _temporary(path, private)
    try:
        write(tmp)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        named = named_error(exc, path, tmp)
        if named is exc:
            raise
        raise named from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


class StagedFiles:
    """Files that belong together — a scan's exports — moved into place together, after
    their ``seal``: the file whose presence says the set is complete (a run's
    ``manifest.json``).

    Each file is written under a temporary name beside its path (:meth:`stage`, as
    :func:`write_atomically` writes one), and :meth:`commit` moves them all there: it
    removes the old seal first, renames the other files over their old versions, and
    renames the new seal last. Every rename within a folder is atomic, so whenever the
    process stops — an exception, kill -9 — the folder holds the old set with
    its seal untouched, or no seal, or the whole new set with its seal: never a seal beside
    files of another set. Until the commit nothing of the old set is touched. Used as a
    context manager, files staged and not committed when its block ends (an exception
    passing through) are removed; a commit that fails part way (the old seal already
    gone) removes the whole set, leaving no seal-less mixture of two sets either.

    Why not write each file in place and remove them when something fails: a removal
    runs only if the process lives to run it (kill -9 and the out-of-memory killer do not
    let it), and a file written in place has already replaced the previous complete set's
    version, which a failed run then cannot give back.

    Parameters
    ----------
    seal : path
        The file that marks the set complete; :meth:`commit` needs it staged.
    """

    def __init__(self, seal: Path):
        self.seal = Path(seal)
        #: final path -> temporary file holding its new content, in the order staged
        self.staged: dict[Path, Path] = {}
        #: whether :meth:`commit` began (an error since is one of moving files, not of writing them)
        self.committing = False

    def stage(self, path: Path, write: Callable[[Path], object], private: bool = True) -> Path:
        """Call ``write(tmp)`` on a new temporary file beside ``path`` (as :func:`write_atomically`),
        kept there until :meth:`commit`; ``path`` itself is not touched. Returns ``path``.

        Raises
        ------
        OSError
            The file could not be written: naming ``path`` (:func:`named_error`); its
            temporary file is removed.
        """
        path = Path(path)
        if path in self.staged:
            raise ValueError(f"{path} is staged already")
        self.staged[path] = _written(path, write, private)
        return path

    def commit(self) -> None:
        """Move every staged file to its path, the seal last (see the class docstring).

        Raises
        ------
        OSError
            A file could not be moved or the old seal removed, naming it; every file of
            the set is then removed (none of the old set is, when the old seal could not be).
        """
        if self.seal not in self.staged:
            raise ValueError(f"{self.seal} must be staged before the set it seals is committed")
        self.committing = True
        paths = [p for p in self.staged if p != self.seal] + [self.seal]
        try:
            self.seal.unlink(missing_ok=True)
        except OSError as exc:
            self.discard()
            raise named_error(exc, self.seal) from None
        for path in paths:
            try:
                os.replace(self.staged[path], path)
            except OSError as exc:
                # the old seal is gone: what is left of either set must not be taken for a whole one
                for other in paths:
                    other.unlink(missing_ok=True)
                tmp = self.staged[path]
                self.discard()
                raise named_error(exc, path, tmp) from None
            del self.staged[path]

    def discard(self) -> None:
        """Remove the staged files not committed yet."""
        for tmp in self.staged.values():
            tmp.unlink(missing_ok=True)
        self.staged.clear()

    def __enter__(self) -> "StagedFiles":
        return self

    def __exit__(self, *exc_info) -> None:
        self.discard()


def write_parquet(frame: pd.DataFrame, path: Path, private: bool = True) -> Path:
    """``frame`` as Parquet (no index), written atomically; owner-only unless ``private=False``."""
    return write_atomically(path, lambda p: frame.to_parquet(p, index=False), private)

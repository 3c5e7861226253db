"""The ``flowgraph`` command's entry point: loads the command line (numpy, pandas, numba,
pyarrow: most of a second) under a guard, so a Ctrl-C while it loads ends with a message
and :data:`INTERRUPTED`, as one during a command does (:func:`flowgraph.cli.main`), not
with a traceback. Imports nothing heavy itself (the package imports its names lazily)."""

from __future__ import annotations

import sys

#: Exit code of a command interrupted by Ctrl-C (128 + SIGINT, as shells report it).
INTERRUPTED = 130


def main(argv: list[str] | None = None) -> int:
    """Run the command line (:func:`flowgraph.cli.main`) with ``argv``."""
    try:
        from .cli import main as run
    except KeyboardInterrupt:
        sys.stderr.write("interrupted while starting: nothing was read or written.\n")
        return INTERRUPTED
    return run(argv)

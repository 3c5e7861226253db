"""The previous release, checked out beside this tree so its ``flowgraph scan`` runs on
the same data in the same harness run (``git worktree add --detach``, removed after)."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import tempfile
from pathlib import Path

from .common import REPO, git, log


@contextlib.contextmanager
def checkout(commit: str):
    """Yield ``(tree, full_sha)`` of ``commit`` checked out in a temporary worktree.

    Raises
    ------
    RuntimeError
        When git cannot resolve or check out ``commit``.
    """
    sha = git("rev-parse", "--verify", f"{commit}^{{commit}}")
    if sha is None:
        raise RuntimeError(f"git cannot resolve the baseline commit {commit!r} in {REPO}")
    parent = Path(tempfile.mkdtemp(prefix="flowgraph-baseline-"))
    tree = parent / "tree"
    proc = subprocess.run(["git", "worktree", "add", "--detach", str(tree), sha], cwd=REPO,
                          capture_output=True, text=True)
    if proc.returncode != 0:
        shutil.rmtree(parent, ignore_errors=True)
        raise RuntimeError(f"git worktree add {sha[:12]} failed: {proc.stderr.strip()}")
    log(f"baseline {sha[:12]} checked out in {tree}")
    try:
        yield tree, sha
    finally:
        git("worktree", "remove", "--force", str(tree))
        shutil.rmtree(parent, ignore_errors=True)
        git("worktree", "prune")

"""``flowgraph scan`` as users run it: the command line, in a fresh process, on one tree
of the code (this one, or the baseline release checked out beside it)."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq

from .common import child_env, run_child


class ScanFailed(RuntimeError):
    """A scan exited with an error; the message holds the end of its stderr."""


@dataclass(frozen=True)
class Tree:
    """One version of flowgraph: its ``src`` folder (put first on ``PYTHONPATH``) and commit."""

    label: str
    src: Path
    commit: str | None


@dataclass(frozen=True)
class Workspace:
    """Where scans write (``tmp``), the harness's own pseudonym key, and the time limit."""

    tmp: Path
    key_file: Path
    timeout_s: float

    def env(self, tree: Tree) -> dict:
        return child_env(tree.src, self.key_file)


def imported_from(tree: Tree, ws: Workspace) -> str:
    """The ``flowgraph`` package file a child with ``tree``'s environment imports, so the
    results say which code was measured (an installed copy could otherwise win)."""
    run = run_child([sys.executable, "-c", "import flowgraph; print(flowgraph.__file__)"], ws.env(tree), 120)
    path = run["stdout_tail"].strip()
    if run["returncode"] != 0 or not Path(path).resolve().is_relative_to(tree.src.resolve()):
        raise RuntimeError(f"{tree.label}: PYTHONPATH={tree.src} imports flowgraph from {path!r} "
                           f"({run['stderr_tail'][-300:]})")
    return path


def scan(tree: Tree, input_path: Path, out: Path, ws: Workspace, config: Path | None = None,
         reveal_ids: bool = False) -> dict:
    """Run ``python -m flowgraph.cli scan INPUT --out OUT`` once with a fresh store.

    Returns
    -------
    dict
        The child's measurements (:func:`bench.common.run_child`) plus ``n_hits``,
        ``n_alerts``, ``n_chunks`` (from ``manifest.json``) and ``hits_by_typology``.

    Raises
    ------
    ScanFailed
        Non-zero exit.
    """
    cmd = [sys.executable, "-m", "flowgraph.cli", "scan", str(input_path), "--out", str(out)]
    if config is not None:
        cmd += ["--config", str(config)]
    if reveal_ids:
        cmd.append("--reveal-ids")
    run = run_child(cmd, ws.env(tree), ws.timeout_s)
    if run["returncode"] != 0:
        killed = f" (killed: over {ws.timeout_s:.0f} s, or out of memory)" if run["returncode"] == -9 else ""
        raise ScanFailed(f"{tree.label} scan of {input_path} exited {run['returncode']}{killed}: "
                         f"{run['stderr_tail'][-800:]}")
    manifest = json.loads((out / "manifest.json").read_text())
    typology = pq.read_table(out / "hits.parquet", columns=["typology"]).column("typology").to_pylist()
    by_typology = {t: typology.count(t) for t in sorted(set(typology))}
    return {**run, "n_hits": manifest.get("n_hits"), "n_alerts": manifest.get("n_alerts"),
            "n_chunks": manifest.get("n_chunks"), "hits_by_typology": by_typology,
            # stage times, where the tree's manifest records them (releases after 0ee599c)
            "timings_s": manifest.get("timings_s")}


def config_file(folder: Path, name: str, text: str) -> Path:
    """A ``--config`` TOML written into ``folder``."""
    path = folder / f"{name}.toml"
    path.write_text(text)
    return path

"""Both notebooks run top to bottom as a user gets them (they are stored without outputs):
investigate.ipynb on the demo's run store found from ``notebooks/``, or without one on its
own temporary scan of the demo's bank; and they show pseudonyms, never real ids."""

import json
import re
import shutil
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"

#: The simulator's real ids: account numbers (6222…, 16 digits) and customer ids (C + 8 digits).
REAL_IDS = re.compile(r"(?<![0-9A-Za-z])(?:6222\d{12}|C\d{8})(?![0-9])")


@pytest.fixture
def kernel_env(tmp_path, monkeypatch):
    """A kernel with its own key and temporary folder (what the notebook leaves behind shows)."""
    monkeypatch.setenv("FLOWGRAPH_KEY_FILE", str(tmp_path / "key"))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    temp = tmp_path / "temp"
    temp.mkdir()
    monkeypatch.setenv("TMPDIR", str(temp))
    return temp


def execute(name: str, cwd: Path, source: str | None = None) -> nbformat.NotebookNode:
    """The notebook executed with ``cwd`` as the working folder (Jupyter's: the notebook's),
    optionally with another ``SOURCE`` cell."""
    book = nbformat.read(NOTEBOOKS / name, as_version=4)
    assert all(not c.get("outputs") for c in book.cells if c.cell_type == "code"), "store notebooks stripped"
    if source is not None:
        assert book.cells[1].source.startswith("SOURCE = ")
        book.cells[1].source = f"SOURCE = {source!r}"
    NotebookClient(book, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(cwd)}}).execute()
    return book


def outputs(book: nbformat.NotebookNode) -> str:
    """Every output of every code cell (text, HTML, streams) as one text."""
    return json.dumps([o for c in book.cells if c.cell_type == "code" for o in c.outputs], ensure_ascii=False)


def test_investigate_without_a_demo_store_scans_the_demo_bank_and_deletes_it(tmp_path, kernel_env):
    # the default path as shipped: no store at SOURCE, no FLOWGRAPH_NOTEBOOK_SMALL shortcut
    book = execute("investigate.ipynb", tmp_path)
    text = outputs(book)
    assert "run store: a temporary scan of the demo bank" in text
    assert "ACC-" in text and "CUS-" in text and not REAL_IDS.findall(text)
    assert not list(kernel_env.glob("flowgraph-investigate-*")), "the notebook leaves its temporary scan behind"


@pytest.fixture
def demo_checkout(tmp_path, monkeypatch):
    """A checkout whose root holds a demo run store at ``runs/demo/scan`` (a small bank)."""
    from flowgraph.io import load_dataset
    from flowgraph.scan import run_scan
    from flowgraph.simulate import SimulationParams, simulate, write_simulation

    root = tmp_path / "repo"
    (root / "notebooks").mkdir(parents=True)
    (root / "pyproject.toml").write_text("[project]\nname = 'flowgraph'\n")
    monkeypatch.setenv("FLOWGRAPH_KEY_FILE", str(tmp_path / "key"))
    write_simulation(simulate(SimulationParams(seed=5, n_customers=1_200, n_days=30, recruit_pool_share=0.3)),
                     tmp_path / "data")
    run_scan(load_dataset(tmp_path / "data"), root / "runs" / "demo" / "scan", progress=False)
    shutil.rmtree(tmp_path / "data")
    return root


def test_investigate_run_in_notebooks_opens_the_demo_store_at_the_repository_root(demo_checkout, kernel_env):
    book = execute("investigate.ipynb", demo_checkout / "notebooks")
    text = outputs(book)
    store = demo_checkout / "runs" / "demo" / "scan" / "store.sqlite"
    assert f"run store: {store}" in text
    assert "ACC-" in text and "CUS-" in text and not REAL_IDS.findall(text)
    assert not list(kernel_env.glob("flowgraph-investigate-*"))


def test_investigate_with_a_source_that_does_not_exist_says_so(tmp_path, kernel_env):
    with pytest.raises(CellExecutionError, match=r"SOURCE nowhere/store.sqlite not found .*Fix: set SOURCE to your "
                                                 r"scan's store.sqlite"):
        execute("investigate.ipynb", tmp_path, source="nowhere/store.sqlite")
    assert not list(kernel_env.glob("flowgraph-investigate-*")), "no fallback scan for a source the user named"


def test_tuning_runs_as_shipped(tmp_path, kernel_env):
    text = outputs(execute("tuning.ipynb", tmp_path))
    assert "tolerance" in text and "treasury_sweep" in text and not REAL_IDS.findall(text)

"""Both notebooks run top to bottom on small data (they are stored without outputs)."""

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


@pytest.mark.parametrize("name", ["investigate.ipynb", "tuning.ipynb"])
def test_notebook_runs(name, tmp_path, monkeypatch):
    monkeypatch.setenv("FLOWGRAPH_NOTEBOOK_SMALL", "1")
    monkeypatch.setenv("FLOWGRAPH_KEY_FILE", str(tmp_path / "key"))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    temp = tmp_path / "temp"  # the kernel's temporary folder: what the notebook leaves behind shows
    temp.mkdir()
    monkeypatch.setenv("TMPDIR", str(temp))
    book = nbformat.read(NOTEBOOKS / name, as_version=4)
    assert all(not c.get("outputs") for c in book.cells if c.cell_type == "code"), "store notebooks stripped"
    NotebookClient(book, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    errors = [o for c in book.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert errors == []
    # the investigation shows pseudonyms, never account numbers
    if name == "investigate.ipynb":
        text = "".join(str(o.get("data", {}).get("text/plain", "")) + str(o.get("text", ""))
                       for c in book.cells if c.cell_type == "code" for o in c.outputs)
        assert "ACC-" in text and "6222000" not in text
        assert not list(temp.glob("flowgraph-investigate-*")), "the notebook leaves its temporary scan behind"

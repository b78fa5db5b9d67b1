"""The notebooks in notebooks/ run top to bottom offline, and are committed without outputs."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from tests.conftest import ROOT

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
# Per cell; the slowest cell (training) takes about a minute on two busy cores.
CELL_TIMEOUT_SECONDS = 600
_WARNING = re.compile(r"\b\w*Warning: ")


def test_the_notebooks_are_found() -> None:
    assert [path.name for path in NOTEBOOKS] == [
        "01-explore.ipynb",
        "02-train-evaluate.ipynb",
        "03-error-analysis.ipynb",
    ]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_notebook_is_committed_without_outputs(path: Path) -> None:
    notebook = nbformat.read(path, as_version=nbformat.NO_CONVERT)
    nbformat.validate(notebook)
    executed = [
        number
        for number, cell in enumerate(notebook.cells, start=1)
        if cell.cell_type == "code" and (cell.outputs or cell.execution_count is not None)
    ]
    assert not executed, (
        f"{path.name}: cells {executed} keep outputs or execution counts; "
        "clear them with `.venv/bin/nbstripout notebooks/*.ipynb`"
    )
    # Any other kernel name ties the notebook to one person's Jupyter set-up.
    assert notebook.metadata.get("kernelspec", {}).get("name") == "python3"


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_notebook_runs_top_to_bottom(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The kernel must be this venv's Python. A python3 kernel registered for the user
    # (~/.local/share/jupyter) may run another interpreter, and wins over the venv's when
    # JUPYTER_PREFER_ENV_PATH=0; JUPYTER_PATH is searched before both.
    monkeypatch.setenv("JUPYTER_PATH", str(Path(sys.prefix) / "share" / "jupyter"))
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=CELL_TIMEOUT_SECONDS,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},  # run where Jupyter runs it
    )
    client.execute()  # a failing cell raises CellExecutionError with its source and traceback
    warnings = [
        f"cell {number}: {line}"
        for number, cell in enumerate(notebook.cells, start=1)
        if cell.cell_type == "code"
        for output in cell.outputs
        if output.output_type == "stream" and output.name == "stderr"
        for line in output.text.splitlines()
        if _WARNING.search(line)
    ]
    assert not warnings, "warnings in the notebook's output:\n" + "\n".join(warnings)

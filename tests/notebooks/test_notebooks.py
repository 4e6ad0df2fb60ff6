"""Every notebook in notebooks/ runs top to bottom, headless, with the real QEMU, no cell hanging.

Run with ``--save-notebooks`` (or THESEUS_NB_SAVE_NOTEBOOKS=1) to write the
executed notebooks back with their outputs, as they are checked in.
"""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

pytestmark = pytest.mark.qemu

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"

#: Seconds any one cell of each notebook may take before it counts as hung (nbclient's timeout).
BUDGET = {
    "01_tour.ipynb": 60,
    "02_write_a_cell.ipynb": 60,
    "03_hot_reload.ipynb": 60,
    "04_faults.ipynb": 60,
    "05_dependencies.ipynb": 60,
    "06_experiment_template.ipynb": 90,
}


def test_every_notebook_has_a_budget():
    assert {p.name for p in NOTEBOOKS.glob("*.ipynb")} <= set(BUDGET)


@pytest.mark.parametrize("name", sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")))
def test_notebook_runs(name: str) -> None:
    path = NOTEBOOKS / name
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=BUDGET[name], kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOKS)}})
    # Raises CellExecutionError, naming the cell, on any error; the budget is
    # nbclient's per-cell timeout (a hang fails, a slow run is not a test's business).
    client.execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert not errors
    if os.environ.get("THESEUS_NB_SAVE_NOTEBOOKS"):
        nbformat.write(nb, path)

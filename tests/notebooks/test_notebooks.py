"""Every notebook in notebooks/ runs top to bottom, headless, with the real QEMU, within its budget.

Run with ``--save-notebooks`` (or THESEUS_NB_SAVE_NOTEBOOKS=1) to write the
executed notebooks back with their outputs, as they are checked in.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

import qemu_bridge

pytestmark = pytest.mark.qemu

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"

#: Seconds each notebook may take on a 2-core machine (the suite stays under ~3 minutes).
BUDGET = {
    "01_tour.ipynb": 60,
    "02_write_a_cell.ipynb": 60,
    "03_hot_reload.ipynb": 60,
    "04_faults.ipynb": 60,
    "05_dependencies.ipynb": 60,
    "06_experiment_template.ipynb": 90,
}

#: Notebooks that need the task API (Machine.tasks/spawn), and so wait for it.
NEEDS_TASKS = {"03_hot_reload.ipynb", "04_faults.ipynb"}


def test_every_notebook_has_a_budget():
    assert {p.name for p in NOTEBOOKS.glob("*.ipynb")} <= set(BUDGET)


@pytest.mark.parametrize("name", sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")))
def test_notebook_runs(name: str) -> None:
    if name in NEEDS_TASKS and not hasattr(qemu_bridge.Machine, "spawn"):
        pytest.skip("needs Machine.tasks()/spawn() (qemu_bridge/tasks.py), pending")
    path = NOTEBOOKS / name
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=BUDGET[name], kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOKS)}})
    start = time.monotonic()
    client.execute()  # raises CellExecutionError, naming the cell, on any error
    took = time.monotonic() - start
    assert took < BUDGET[name], f"{name} took {took:.0f} s, budget {BUDGET[name]} s"
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert not errors
    if os.environ.get("THESEUS_NB_SAVE_NOTEBOOKS"):
        nbformat.write(nb, path)

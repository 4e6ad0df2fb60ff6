"""Every notebook in notebooks/ runs top to bottom, headless, with the real QEMU, no cell hanging.

Run with ``--save-notebooks`` (or THESEUS_NB_SAVE_NOTEBOOKS=1) to write the
executed notebooks back with their outputs, as they are checked in.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from theseus_nb import Kernel
from theseus_nb.kernel import repo_root

from .saved_outputs import problems, scrub

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
    "07_two_half_bets.ipynb": 120,
    "08_webassembly.ipynb": 90,
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
    CHECKS.get(name, lambda nb: None)(nb)
    assert not problems(scrub(nb))
    if os.environ.get("THESEUS_NB_SAVE_NOTEBOOKS"):
        nbformat.write(nb, path)


def _printed(nb: nbformat.NotebookNode) -> str:
    """Everything the notebook's cells printed, in order."""
    return "".join("".join(o["text"]) if isinstance(o["text"], list) else o["text"]
                   for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "stream")


def _timer_hz() -> int:
    text = (repo_root() / "kernel_src" / "params.py").read_text()
    return int(re.search(r"^TIMER_HZ: u64 = (\d+)", text, re.M).group(1))


def _check_rates(nb: nbformat.NotebookNode) -> None:
    # The loop adds step() once per timer tick: the kernel's own tick rate times
    # the step is what the notebook must report (steps 1, then 1000, then 6).
    rates = [int(r) for r in re.findall(r"counts (\d+) per second", _printed(nb))]
    expected = [_timer_hz() * step for step in (1, 1000, 6)]
    assert len(rates) == 3, _printed(nb)
    for got, want in zip(rates, expected):
        assert abs(got - want) <= want * 0.10, (rates, expected)


#: Checks of what particular notebooks print, beyond running without an error.
CHECKS = {"03_hot_reload.ipynb": _check_rates}


@pytest.mark.parametrize("name", sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")))
def test_saved_notebook_reads_well_as_opened(name: str) -> None:
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    # saved as run, top to bottom: a reader sees what each cell does
    assert [c.get("execution_count") for c in code] == list(range(1, len(code) + 1)), \
        f"{name} was not saved as run: THESEUS_NB_SAVE_NOTEBOOKS=1 pytest tests/notebooks"
    assert not problems(nb), (f"{name}: {problems(nb)}; re-save the notebooks: "
                              "THESEUS_NB_SAVE_NOTEBOOKS=1 pytest tests/notebooks")
    graphs = [o for c in code for o in c.get("outputs", []) if "image/svg+xml" in o.get("data", {})]
    assert all("image/png" in o["data"] for o in graphs), f"{name}: a graph without a PNG"


def test_saved_experiment_shows_the_image_this_checkout_builds(tmp_path: Path) -> None:
    nb = nbformat.read(NOTEBOOKS / "06_experiment_template.ipynb", as_version=4)
    saved = re.search(r'"image sha256": "([0-9a-f]{64})"', _printed(nb))
    assert saved, "notebook 06 was saved without its environment record"
    assert saved.group(1) == Kernel.default().build(tmp_path).sha256, (
        "notebook 06 shows an image this checkout no longer builds: re-save the notebooks "
        "(THESEUS_NB_SAVE_NOTEBOOKS=1 pytest tests/notebooks)")


def test_the_printed_papermill_command_runs_as_printed(tmp_path: Path) -> None:
    nb = nbformat.read(NOTEBOOKS / "06_experiment_template.ipynb", as_version=4)
    command = next(line.strip() for line in nb.cells[0].source.splitlines()
                   if line.strip().startswith("papermill "))
    shutil.copy(NOTEBOOKS / "06_experiment_template.ipynb", tmp_path)
    done = subprocess.run(shlex.split(command), cwd=tmp_path, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    out = nbformat.read(tmp_path / "out.ipynb", as_version=4)
    injected = next(c for c in out.cells if "injected-parameters" in c.metadata.get("tags", []))
    assert "function_counts = [1, 16]" in injected.source and "repeats = 2" in injected.source
    printed = _printed(out)
    assert '"tree":' in printed and '"git commit":' in printed

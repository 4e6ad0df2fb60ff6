"""The nano_core's imports go one way: the layer table at the top of
kernel_src/nano_core.py is the rule, and every kernel cell's imports obey it."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

KERNEL_SRC = Path(__file__).resolve().parents[2] / "kernel_src"
_ROW = re.compile(r"^\s*(\d+)\s+([a-z_][a-z0-9_ ]*):")


def declared_layers(doc: str) -> dict[str, int]:
    """Cell -> layer, from the "Layers." table of a docstring."""
    layers: dict[str, int] = {}
    for line in doc.split("Layers.", 1)[1].splitlines():
        if m := _ROW.match(line):
            for cell in m.group(2).split():
                assert cell not in layers, f"{cell} is listed twice in the layer table"
                layers[cell] = int(m.group(1))
    return layers


def kernel_imports(source: str) -> set[str]:
    """The kernel cells a cell's source imports (`from kernel_src.X import ...`)."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("kernel_src."):
            found.add(node.module.split(".")[1])
        elif isinstance(node, ast.ImportFrom) and node.module == "kernel_src":
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name.split(".")[1] for a in node.names if a.name.startswith("kernel_src."))
    return found


def violations(layers: dict[str, int], sources: dict[str, str]) -> list[str]:
    """Every import of a cell at its own layer or above, in a sentence each."""
    problems = []
    for cell, text in sorted(sources.items()):
        if cell not in layers:
            problems.append(f"kernel_src/{cell}.py is not in the layer table of nano_core.py")
            continue
        for dep in sorted(kernel_imports(text)):
            if dep not in layers:
                problems.append(f"{cell} imports {dep}, which is not in the layer table")
            elif layers[dep] >= layers[cell]:
                problems.append(f"{cell} (layer {layers[cell]}) imports {dep} "
                                f"(layer {layers[dep]}): imports must go to a lower layer")
    return problems


@pytest.fixture(scope="module")
def layers() -> dict[str, int]:
    return declared_layers(ast.get_docstring(ast.parse((KERNEL_SRC / "nano_core.py").read_text())))


@pytest.fixture(scope="module")
def sources() -> dict[str, str]:
    return {p.stem: p.read_text() for p in KERNEL_SRC.glob("*.py")}


def test_every_cell_is_in_the_table_once(layers: dict[str, int], sources: dict[str, str]) -> None:
    assert set(layers) == set(sources)


def test_every_import_goes_to_a_lower_layer(layers: dict[str, int], sources: dict[str, str]) -> None:
    assert violations(layers, sources) == []


@pytest.mark.parametrize("cell, line", [
    ("heap", "from kernel_src.idt import in_handler"),          # the old knot: heap -> irq -> idt
    ("task_table", "from kernel_src.task import spawn"),        # same group, upwards
    ("switcher", "from kernel_src.heap import alloc"),          # the same layer
    ("namespace", "import kernel_src.irq"),
])
def test_a_backwards_import_is_caught(layers: dict[str, int], sources: dict[str, str],
                                      cell: str, line: str) -> None:
    changed = dict(sources)
    changed[cell] = sources[cell] + "\n" + line + "\n"
    found = violations(layers, changed)
    assert len(found) == 1 and found[0].startswith(f"{cell} (layer")


def test_a_cell_missing_from_the_table_is_caught(layers: dict[str, int],
                                                 sources: dict[str, str]) -> None:
    assert violations(layers, {**sources, "newcell": ""}) == [
        "kernel_src/newcell.py is not in the layer table of nano_core.py"]

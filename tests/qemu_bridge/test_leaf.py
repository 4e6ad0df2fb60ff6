"""qemu_bridge is a leaf: no module of it imports theseus_nb, anywhere in the file."""

from __future__ import annotations

import ast
from pathlib import Path

import qemu_bridge

BRIDGE = Path(qemu_bridge.__file__).parent


def _theseus_imports(source: str) -> list[int]:
    """Lines of ``source`` that import theseus_nb (top level or inside a function)."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and not node.level and (node.module or "").split(".")[0] == "theseus_nb":
            lines.append(node.lineno)
        elif isinstance(node, ast.Import) and any(a.name.split(".")[0] == "theseus_nb" for a in node.names):
            lines.append(node.lineno)
    return lines


def test_no_bridge_module_imports_theseus_nb() -> None:
    found = {p.name: _theseus_imports(p.read_text()) for p in sorted(BRIDGE.glob("*.py"))}
    assert found and not {name: lines for name, lines in found.items() if lines}


def test_the_check_finds_a_hidden_import() -> None:
    hidden = "def graph():\n    from theseus_nb.graph import SectionGraph\n    import theseus_nb.lang\n"
    assert _theseus_imports(hidden) == [2, 3]

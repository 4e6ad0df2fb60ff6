"""The host's import rules (docs/architecture.md, "Layers"), checked from the code itself.

Every import between theseus_nb's modules, at the top of a file or inside a
function, must point to a lower layer. The only upward names allowed are
type hints under ``if TYPE_CHECKING:`` that are listed in TYPE_ONLY.
"""

from __future__ import annotations

import ast
from pathlib import Path

import theseus_nb

PACKAGE = Path(theseus_nb.__file__).parent

#: Bottom first. A module may import only modules of layers below its own.
LAYERS: list[set[str]] = [
    {"errors", "display"},
    {"lang", "tasks", "guest_errors", "graph_render"},
    {"build", "objects", "archive", "wasm"},
    {"signatures", "link", "graph", "swap_report", "fault_lines", "isolation"},
    {"multiboot", "symfile", "compile", "stages", "history"},
    {"live"},
    {"image"},
    {"kernel"},
    {"widgets"},
    {"magics", "__main__"},
    {"__init__"},
]

#: Upward imports allowed because they are type hints only, with the reason.
TYPE_ONLY = {
    ("live", "image"): "an Image boots into a LiveKernel, which remembers its Image",
    ("graph_render", "graph"): "the rendering mixin names the graph it draws",
}


def _unit(path: Path) -> str:
    # The layer unit of a file: a subpackage counts as one unit.
    rel = path.relative_to(PACKAGE)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def _rank(unit: str) -> int:
    for i, layer in enumerate(LAYERS):
        if unit in layer:
            return i
    raise AssertionError(f"theseus_nb.{unit} is in no layer: add it to LAYERS and to "
                         "docs/architecture.md")


def _imports(path: Path) -> list[tuple[str, bool, int]]:
    """(imported unit, type-hint only?, line) for every theseus_nb import in ``path``."""
    tree = ast.parse(path.read_text())
    typing_only: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            typing_only |= {id(n) for stmt in node.body for n in ast.walk(stmt)}
    package = path.relative_to(PACKAGE).parts[:-1]  # () for a top-level module
    found = []
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against this file's package
                base = list(package[:len(package) - node.level + 1])
                parts = base + (node.module.split(".") if node.module else [])
                names = [parts[0]] if parts else [a.name for a in node.names]
            elif node.module and node.module.startswith("theseus_nb."):
                names = [node.module.split(".")[1]]
            elif node.module == "theseus_nb":
                names = [a.name for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name.split(".")[1] for a in node.names if a.name.startswith("theseus_nb.")]
        for name in names:
            found.append((name, id(node) in typing_only, node.lineno))
    return found


def test_every_module_is_in_a_layer() -> None:
    for path in PACKAGE.rglob("*.py"):
        _rank(_unit(path))


def _violations(unit: str, imports: list[tuple[str, bool, int]]) -> list[str]:
    """The imports of ``unit`` that break the rules, one sentence each."""
    known = {u for layer in LAYERS for u in layer}
    wrong = []
    for target, typing_only, line in imports:
        if target == unit or target not in known:
            continue  # inside one unit (lang's own stages), or a name, not a module
        if _rank(target) < _rank(unit) or (typing_only and (unit, target) in TYPE_ONLY):
            continue
        wrong.append(f"line {line}: {unit} imports {target}, which is not below it")
    return wrong


def test_imports_point_down() -> None:
    wrong = [f"{path.relative_to(PACKAGE.parent)}: {v}"
             for path in sorted(PACKAGE.rglob("*.py"))
             for v in _violations(_unit(path), _imports(path))]
    assert not wrong, "\n".join(wrong)


def test_the_checker_sees_a_backwards_import() -> None:
    # The rule must be able to fail: build importing kernel, or a type-only
    # import that is not on the list.
    assert _violations("build", _imports(PACKAGE / "build.py") + [("kernel", False, 1)])
    assert _violations("objects", [("live", True, 1)])
    assert not _violations("live", [("image", True, 1)])


def test_the_language_uses_nothing_of_the_host_but_its_errors() -> None:
    for path in (PACKAGE / "lang").glob("*.py"):
        outside = {t for t, _, _ in _imports(path) if t != "lang"}
        assert outside <= {"errors"}, f"{path.name} imports {outside}"

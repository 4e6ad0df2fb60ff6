"""Every table sized by a limit matches kernel_src/params.py.

An array's length must be a literal in the cell language, so a table sized
by a limit repeats the number, with a comment naming it ("# params.MAX_TASKS",
or a product such as "# params.MAX_TASKS * params.CAUSE_MAX").  This test
reads every such comment and checks the literal against params.py, so a
limit changed in one place only fails here instead of in a bounds check.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

KERNEL_SRC = Path(__file__).resolve().parents[2] / "kernel_src"
#: "NAME: Array[T, N] ... # params.EXPR": EXPR is params names, numbers and * / + -.
_TABLE = re.compile(r"(\w+): Array\[[^\]]*?, (\d+)\][^#]*#\s*(params\.\w+(?:\s*[-+*/]\s*(?:params\.\w+|\d+))*)")


def limits(source: str) -> dict[str, int]:
    """Every typed constant of params.py: name -> value."""
    return {n.target.id: ast.literal_eval(n.value) for n in ast.parse(source).body
            if isinstance(n, ast.AnnAssign) and isinstance(n.target, ast.Name)}


def sized_tables(sources: dict[str, str]) -> list[tuple[str, str, int, str]]:
    """(cell, table, length, params expression) for every table that names its limit."""
    return [(cell, m.group(1), int(m.group(2)), m.group(3))
            for cell, text in sorted(sources.items()) for m in _TABLE.finditer(text)]


def mismatches(params: dict[str, int], sources: dict[str, str]) -> list[str]:
    """A sentence for each table whose length is not what its comment says."""
    problems = []
    for cell, table, length, expr in sized_tables(sources):
        names = re.findall(r"params\.(\w+)", expr)
        unknown = [n for n in names if n not in params]
        if unknown:
            problems.append(f"{cell}.{table} names {', '.join(unknown)}, which params.py does not define")
            continue
        want = eval(re.sub(r"params\.(\w+)", lambda m: str(params[m.group(1)]), expr).replace("/", "//"))
        if want != length:
            problems.append(f"{cell}.{table} has {length} entries, but {expr} is {want}")
    return problems


@pytest.fixture(scope="module")
def params() -> dict[str, int]:
    return limits((KERNEL_SRC / "params.py").read_text())


@pytest.fixture(scope="module")
def sources() -> dict[str, str]:
    return {p.stem: p.read_text() for p in KERNEL_SRC.glob("*.py")}


def test_every_sized_table_matches_params(params: dict[str, int], sources: dict[str, str]) -> None:
    assert len(sized_tables(sources)) >= 30
    assert mismatches(params, sources) == []


def test_the_big_limits_size_their_tables(sources: dict[str, str]) -> None:
    named = {name for *_, expr in sized_tables(sources) for name in re.findall(r"params\.(\w+)", expr)}
    assert {"MAX_TASKS", "CAUSE_MAX", "SPEC_MAX", "MAX_SECTIONS", "MAX_SYMBOLS", "MAX_RELOCS",
            "MAX_OBJECT_SECTIONS", "MAX_STAGED", "MAX_SWAP", "MAX_BLOBS", "MAX_RETIRED"} <= named


def test_a_changed_limit_is_caught(params: dict[str, int], sources: dict[str, str]) -> None:
    changed = dict(params, MAX_TASKS=2048)
    found = mismatches(changed, sources)
    assert any(p.startswith("task_table.tasks has 1024 entries") for p in found)
    assert any("task_table._cause has 131072 entries, but params.MAX_TASKS * params.CAUSE_MAX is 262144"
               == p for p in found)

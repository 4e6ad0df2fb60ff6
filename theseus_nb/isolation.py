"""Isolated cells on the host: the ``# cell: isolated`` marker and the
object section that tells the kernel to load a cell isolated.

An isolated cell runs in ring 3 on its own user pages and reaches other
cells only through gates (``kernel_src/gates.py`` has the design). The
host's part is small: decide whether a cell is isolated (its header's
marker, or ``isolated=`` where it is loaded), and, when it is, write a
non-allocated section ``.theseus.isolated`` into its object with one line
``CELL::FUNCTION TEXT`` per function it imports, TEXT being what the
compiler hashes after ``FUNCTION:`` (``str,u64->None``). The kernel
believes a line only if it hashes to the callee's own recorded hash, and
reads from it which arguments are ``str`` (checked to lie in the caller's
pages) and which are scalars.
"""
from __future__ import annotations

from .build import module_asm
from .lang.marker import marker_line
from .objects import ISOLATED_SECTION

__all__ = ["ISOLATED_MARK", "ISOLATED_SECTION", "isolated_marker_line", "isolation_asm",
           "import_lines"]

ISOLATED_MARK = "# cell: isolated"


def isolated_marker_line(source: str) -> int | None:
    """The 1-based line of a ``# cell: isolated`` comment line in the cell's
    header (before the first statement after the docstring), or None; the
    same rule as the unsafe marker."""
    return marker_line(source, ISOLATED_MARK)


def import_lines(compiled: object, interfaces: dict) -> list[str]:
    """``CELL::FUNCTION TEXT`` for every function of another cell that the
    compiled cell declares (calls), whose interface is known."""
    lines = []
    for fn in compiled.module.functions:  # type: ignore[attr-defined]
        if not fn.is_declaration or "::" not in fn.name:
            continue
        cell, _, short = fn.name.partition("::")
        sig = getattr(interfaces.get(cell), "functions", {}).get(short)
        if sig is not None:
            lines.append(f"{fn.name} {sig.hashed_text}")
    return sorted(lines)


def isolation_asm(compiled: object, interfaces: dict) -> str:
    """Module-level asm for the ``.theseus.isolated`` section of an isolated cell."""
    body = "".join(line.replace('"', '\\"') + "\\n" for line in import_lines(compiled, interfaces))
    # A section with no lines is still the mark; one byte keeps it in the object.
    body = body or "\\n"
    return module_asm(f'.section {ISOLATED_SECTION},"",@progbits\n.ascii "{body}"\n.text')

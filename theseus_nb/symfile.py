"""Symfile: what the host tells the nano_core about the nano_core itself.

The nano_core is linked on the host, so the running kernel has no
relocation records for it.  The host writes them down as the first entry of
the boot archive ("@nano_core"); kernel_src/symfile.py reads it (its header
documents the format).  With it, the kernel's namespace holds the
nano_core's exported symbols and its live graph covers the whole kernel.
"""

from __future__ import annotations

from .graph import SectionGraph
from .link import LinkedImage
from .objects import CellObject
from .signatures import signatures_in

__all__ = ["SYMFILE_ENTRY", "write_symfile"]

#: Archive entry name; "@" cannot start a cell name, so it never clashes.
SYMFILE_ENTRY = "@nano_core"
_KINDS = {"text": 0, "rodata": 1, "data": 2, "bss": 3}


def write_symfile(nano_core: list[CellObject], linked: LinkedImage) -> bytes:
    """The symfile for ``nano_core`` as linked in ``linked``."""
    graph = SectionGraph.from_objects(nano_core, [])
    lines = [f"cell {obj.cell}" for obj in nano_core]
    index: dict[str, int] = {}
    for c, obj in enumerate(nano_core):
        for sec in obj.sections.values():
            name = obj.symbol_of(sec)
            index[name] = len(index)
            addr = linked.placement[(obj.cell, sec.name)]
            lines.append(f"sec {c} {_KINDS[sec.kind]} {sec.size} {addr:x} {name}")
    for a, b in graph.edges:
        lines.append(f"dep {index[a]} {index[b]} {graph.weight(a, b)}")
    for obj in nano_core:
        # The compiler's signature hashes go along, so the kernel can check a
        # call by name of a nano_core function (a command's main) as it
        # checks a loaded cell's.
        sigs = signatures_in(obj.data)
        for sym in obj.defined:
            section = obj.sections[sym.section]
            sig = f" {sigs[sym.name]}" if sym.name in sigs else ""
            lines.append(f"sym {index[obj.symbol_of(section)]} {linked.symbols[sym.name]:x} "
                         f"{sym.name}{sig}")
    return ("\n".join(lines) + "\n").encode("ascii")

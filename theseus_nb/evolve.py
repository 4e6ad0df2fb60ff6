"""Evolve: compile a cell's new source for a hot swap into a running machine.

The new version is compiled against the interfaces of the kernel the
machine booted (with the new cell in place of the old), exactly as a full
build would compile it, so what the kernel receives is what the next boot
would load.
"""

from __future__ import annotations

from typing import Any

from .kernel import CellSource, Kernel, compile_source, interfaces_of
from .objects import CellObject, parse_object

__all__ = ["compile_for_swap", "compile_for_swap_many"]


def compile_for_swap(machine: Any, name: str, source: str | bytes | None,
                     unsafe: bool = False) -> CellObject:
    """The object for cell ``name``: compiled from ``source`` (cell-language
    text), taken as is (``bytes``: an ELF object), or, for ``None``, the
    cell's current source in the machine's kernel."""
    return compile_for_swap_many(machine, {name: source}, unsafe)[name]


def compile_for_swap_many(machine: Any, cells: dict[str, str | bytes | None],
                          unsafe: bool = False) -> dict[str, CellObject]:
    """Objects for several cells changed together: each is compiled against
    the interfaces of the others' new versions."""
    kernel: Kernel | None = getattr(machine.image, "kernel", None) if machine.image else None
    if kernel is None:
        kernel = Kernel.default()
    new: dict[str, CellSource] = {}
    objects: dict[str, CellObject] = {}
    for name, source in cells.items():
        if isinstance(source, bytes):
            objects[name] = parse_object(source, name)
        elif source is None:
            current = kernel.source(name)
            if current is None:
                raise KeyError(f"the kernel has no cell {name!r} to take the source of")
            new[name] = current
        else:
            new[name] = CellSource(name, source, "cell", f"<cell {name}>",
                                   unsafe or "# cell: unsafe" in source)
    sources = [s for s in kernel.nano_core + kernel.cells if s.name not in new] + list(new.values())
    interfaces = interfaces_of(sources)
    for name, src in new.items():
        objects[name] = parse_object(compile_source(src, interfaces).data, name)
    return {name: objects[name] for name in cells}

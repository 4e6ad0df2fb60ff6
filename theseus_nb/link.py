"""Link: the project's own static linker for the nano_core.

Lays out sections one after the other from a base address (text, then
read-only data, then data, then bss), resolves every symbol and applies the
x86-64 relocations.  Each kind whose page permissions differ starts on a
page of its own (text read-execute, rodata read-only, data and bss
read-write), so that the kernel can map them so (kernel_src/paging.py).  The guest's cell loader does the same job at run time
for every other cell; keeping the host linker small and explicit makes the
two easy to compare (and their section graphs must agree).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from .errors import TheseusError
from .objects import CellObject, Relocation

__all__ = ["LinkError", "LinkedImage", "link", "apply_relocation"]

#: Sections are placed in this order so that the image's loaded part is one
#: contiguous run and the zero-filled part (bss) comes last.
_KIND_ORDER = ("text", "rodata", "data", "bss")
#: Where page permissions change, a new page starts (bss shares data's: both read-write).
PAGE = 4096
_PAGE_ALIGNED = ("rodata", "data")


class LinkError(TheseusError):
    """Symbols could not be resolved; ``problems`` lists each one."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("link failed:\n  " + "\n  ".join(problems))


@dataclass
class LinkedImage:
    """The nano_core laid out in memory, ready to be written as an image."""

    base: int
    blob: bytearray  # bytes from ``base`` up to the start of bss
    bss_end: int
    symbols: dict[str, int]
    placement: dict[tuple[str, str], int] = field(default_factory=dict)  # (cell, section) -> address

    @property
    def load_end(self) -> int:
        """First address after the loaded (non-bss) part."""
        return self.base + len(self.blob)


def _align(value: int, alignment: int) -> int:
    return (value + alignment - 1) // alignment * alignment


def _layout(objects: list[CellObject], start: int) -> tuple[dict[tuple[int, int], int], dict[str, int], int]:
    addresses: dict[tuple[int, int], int] = {}
    cursor = start
    starts: dict[str, int] = {}
    for kind in _KIND_ORDER:
        if kind in _PAGE_ALIGNED:
            cursor = _align(cursor, PAGE)
        starts[kind] = cursor
        for n, obj in enumerate(objects):
            for sec in obj.sections.values():
                if sec.kind == kind:
                    cursor = _align(cursor, sec.align)
                    addresses[(n, sec.index)] = cursor
                    cursor += sec.size
    return addresses, starts, cursor


def _global_table(objects: list[CellObject], addresses: dict[tuple[int, int], int],
                  problems: list[str]) -> dict[str, int]:
    table: dict[str, int] = {}
    owner: dict[str, str] = {}
    for n, obj in enumerate(objects):
        for sym in obj.defined:
            if sym.name in table:
                problems.append(f"duplicate symbol {sym.name!r}: defined in cell "
                                f"{owner[sym.name]!r} and in cell {obj.cell!r}")
                continue
            table[sym.name] = addresses[(n, sym.section)] + sym.value
            owner[sym.name] = obj.cell
    return table


def apply_relocation(blob: bytearray, offset: int, place: int, rel: Relocation, target: int) -> None:
    """Patch ``blob[offset:]`` (at address ``place``) for ``rel`` against ``target``.

    S + A for absolute types, S + A - P for PC-relative ones; 32-bit results
    are range-checked because a silent truncation would jump somewhere else.
    """
    value = target + rel.addend
    if rel.type in ("R_X86_64_PC32", "R_X86_64_PLT32", "R_X86_64_PC64"):
        value -= place
    if rel.type in ("R_X86_64_64", "R_X86_64_PC64"):
        struct.pack_into("<Q", blob, offset, value & (2**64 - 1))
        return
    signed = rel.type != "R_X86_64_32"
    low, high = (-(2**31), 2**31 - 1) if signed else (0, 2**32 - 1)
    if not low <= value <= high:
        raise LinkError([f"relocation {rel.type} against {rel.symbol.name!r} does not fit "
                         f"in 32 bits ({value:#x})"])
    struct.pack_into("<i" if signed else "<I", blob, offset, value)


def link(objects: list[CellObject], *, base: int, header_size: int,
         entry: str = "_start") -> LinkedImage:
    """Link ``objects`` into one image whose first byte is at ``base``.

    ``header_size`` bytes are left free at ``base`` for the boot header.
    The linker defines ``__text_start`` (``base``), ``__rodata_start`` and
    ``__data_start`` (page-aligned), ``__bss_start``, ``__bss_end`` and
    ``__kernel_end`` (the next page boundary).
    Raises ``LinkError`` naming every duplicate or undefined symbol and the
    cells that define or need it.
    """
    addresses, starts, end = _layout(objects, _align(base + header_size, 16))
    bss_start = starts["bss"]
    problems: list[str] = []
    table = _global_table(objects, addresses, problems)
    table.update(__text_start=base, __rodata_start=starts["rodata"], __data_start=starts["data"],
                 __bss_start=bss_start, __bss_end=end, __kernel_end=_align(end, PAGE))
    missing: dict[str, list[str]] = {}
    for obj in objects:
        for sym in obj.undefined:
            if sym.name not in table:
                missing.setdefault(sym.name, []).append(obj.cell)
    for name, cells in sorted(missing.items()):
        problems.append(f"undefined symbol {name!r}, needed by cell(s) "
                        + ", ".join(repr(c) for c in sorted(set(cells))))
    if entry not in table:
        problems.append(f"no entry point: nothing defines {entry!r}")
    if problems:
        raise LinkError(problems)

    blob = bytearray(bss_start - base)
    placement: dict[tuple[str, str], int] = {}
    for n, obj in enumerate(objects):
        for sec in obj.sections.values():
            addr = addresses[(n, sec.index)]
            placement[(obj.cell, sec.name)] = addr
            if sec.kind != "bss":
                blob[addr - base:addr - base + sec.size] = sec.data
        for rel in obj.relocations:
            sym = rel.symbol
            if sym.section is None:
                target = table[sym.name]
            else:
                target = addresses[(n, sym.section)] + (0 if sym.kind == "section" else sym.value)
            place = addresses[(n, rel.section)] + rel.offset
            apply_relocation(blob, place - base, place, rel, target)
    return LinkedImage(base, blob, end, table, placement)


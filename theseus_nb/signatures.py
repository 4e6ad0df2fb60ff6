"""Signatures: the table of public-symbol signatures carried in each cell object.

A hot swap must refuse a new cell that keeps a function's name but changes
its parameters (a caller compiled against the old one would pass the wrong
values), or that keeps a global's name but changes its type (its value
cannot be carried over).  The compiler knows both; this module writes them
into a section the loader reads but never loads, ``.theseus.sigs``, one
``NAME HEX16`` line per public function and per global.
"""

from __future__ import annotations

import hashlib
import io

from elftools.elf.elffile import ELFFile

from .build import module_asm
from .lang.types import layout

__all__ = ["SIGS_SECTION", "signature_lines", "signature_asm", "signatures_in", "function_hash"]

SIGS_SECTION = ".theseus.sigs"


def _hash16(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def signature_lines(cell: str, compiled: object) -> list[str]:
    """``NAME HEX16`` for each public function and each global of ``compiled``
    (a ``theseus_nb.lang.CompiledCell``)."""
    lines = []
    for name, sig in compiled.interface.functions.items():  # type: ignore[attr-defined]
        lines.append(f"{cell}::{name} {sig.signature_hash[:16]}")
    # a global's hash is its type with every struct spelled out field by field, so
    # that a swap changing a shared struct's layout changes the hash of each global
    # holding one (and the kernel refuses it while a reader stays)
    for name, ty in compiled.globals.items():  # type: ignore[attr-defined]
        lines.append(f"{cell}::{name} {_hash16(layout(ty))}")
    return lines


def signature_asm(cell: str, compiled: object) -> str:
    """Module-level asm that puts the table into a non-allocated section."""
    body = "".join(line + "\\n" for line in signature_lines(cell, compiled))
    return module_asm(f'.section {SIGS_SECTION},"",@progbits\n.ascii "{body}"\n.text')


def signatures_in(data: bytes) -> dict[str, str]:
    """NAME -> HEX16 from the ``.theseus.sigs`` of the ELF object ``data``
    (empty for an object without one: IR or assembly)."""
    section = ELFFile(io.BytesIO(data)).get_section_by_name(SIGS_SECTION)
    if section is None:
        return {}
    pairs = (line.split(" ") for line in section.data().decode("ascii").splitlines() if line)
    return {name: digest for name, digest in pairs}


def function_hash(name: str, params: list[str], ret: str) -> str:
    """The HEX16 the compiler writes for function ``name`` (unqualified) taking
    ``params`` and returning ``ret`` (type names: "u64", "bool", "fnref"...).

    A cell written in IR or assembly that wants the kernel to call a function
    by name (a task entry, a command's main) lists it in its own
    ``.theseus.sigs``: ``CELL::NAME HEX16``."""
    return _hash16(f"{name}:{','.join(params)}->{ret}")

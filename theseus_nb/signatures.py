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

from llvmlite import ir

from .build import module_asm

__all__ = ["SIGS_SECTION", "signature_lines", "signature_asm"]

SIGS_SECTION = ".theseus.sigs"


def _hash16(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def signature_lines(cell: str, compiled: object) -> list[str]:
    """``NAME HEX16`` for each public function and each global of ``compiled``
    (a ``theseus_nb.lang.CompiledCell``)."""
    lines = []
    for name, sig in compiled.interface.functions.items():  # type: ignore[attr-defined]
        lines.append(f"{cell}::{name} {sig.signature_hash[:16]}")
    module: ir.Module = compiled.module  # type: ignore[attr-defined]
    for value in module.global_values:
        if isinstance(value, ir.GlobalVariable) and not value.global_constant \
                and value.initializer is not None:
            lines.append(f"{value.name} {_hash16(str(value.value_type))}")
    return lines


def signature_asm(cell: str, compiled: object) -> str:
    """Module-level asm that puts the table into a non-allocated section."""
    body = "".join(line + "\\n" for line in signature_lines(cell, compiled))
    return module_asm(f'.section {SIGS_SECTION},"",@progbits\n.ascii "{body}"\n.text')

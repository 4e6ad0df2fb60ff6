"""Unsafe intrinsics: raw memory, port I/O, interrupts, TSC, calls by address.

Only cells marked `# cell: unsafe` (or compiled with unsafe=True) may import
them; the compiler lowers each to an instruction.  These stubs exist so the
names resolve under CPython, where they cannot mean anything.
"""
from __future__ import annotations

from typing import Any, NoReturn

INTRINSICS = ("load8", "load16", "load32", "load64", "store8", "store16",
              "store32", "store64", "outb", "outw", "outl", "inb", "inw", "inl",
              "hlt", "cli", "sti", "pause", "rdtsc", "addr_of", "call_addr",
              "make_str")
__all__ = list(INTRINSICS)


def _stub(name: str) -> Any:
    def intrinsic(*args: Any) -> NoReturn:
        raise RuntimeError(f"{name}() is an unsafe intrinsic: it only works in a "
                           "compiled cell running in the kernel, not under CPython")
    intrinsic.__name__ = name
    return intrinsic


for _name in INTRINSICS:
    globals()[_name] = _stub(_name)

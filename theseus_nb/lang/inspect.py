"""The language's own stage, one call away: the LLVM IR a cell compiles to (untargeted).

The optimised IR and the assembly for the kernel target are the build's
business: ``theseus_nb.stages`` shows those, so the language never reaches
forward into the build.
"""
from __future__ import annotations

from .compile import compile_cell


def show_ir(source: str, name: str = "cell", *, unsafe: bool | None = None,
            interfaces: dict | None = None) -> str:
    """The cell's LLVM IR exactly as the compiler emits it (untargeted)."""
    return str(compile_cell(source, name, unsafe=unsafe, interfaces=interfaces or {}).module)

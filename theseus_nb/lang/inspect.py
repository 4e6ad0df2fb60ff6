"""Every compiler stage one call away: IR, optimized IR, and x86-64 assembly for the kernel target.

The optimized IR and the assembly come from theseus_nb.build itself, so what
a notebook shows is exactly what the kernel build compiles (sections,
dso_local, no SSE, no red zone, static relocation, small code model).
"""
from __future__ import annotations

from .compile import compile_cell


def show_ir(source: str, name: str = "cell", *, unsafe: bool = False, interfaces: dict = {}) -> str:
    """The cell's LLVM IR exactly as the compiler emits it (untargeted)."""
    return str(compile_cell(source, name, unsafe=unsafe, interfaces=interfaces).module)


def show_optimized_ir(source: str, name: str = "cell", *, unsafe: bool = False,
                      interfaces: dict = {}, level: int = 2) -> str:
    """The IR after LLVM's -O2 pipeline for the kernel target, as the build sees it."""
    from .. import build  # the build stage comes after the language: imported on use

    module = compile_cell(source, name, unsafe=unsafe, interfaces=interfaces).module
    return build.kernel_ir(module, name, level)


def show_asm(source: str, name: str = "cell", *, unsafe: bool = False, interfaces: dict = {},
             level: int = 2) -> str:
    """x86-64 assembly (AT&T) for the kernel target after -O2, as the build emits it."""
    from .. import build

    module = compile_cell(source, name, unsafe=unsafe, interfaces=interfaces).module
    return build.kernel_asm(module, name, level)

"""Stages: every compiler stage of a cell one call away, as the kernel build sees it.

``show_ir`` is the language's own output (``theseus_nb.lang``); the
optimised IR and the assembly come from ``theseus_nb.build`` itself, so what
a notebook shows is exactly what the kernel build compiles (sections,
dso_local, no SSE, no red zone, static relocation, small code model).
This module sits above both, so the language never reaches forward into
the build.
"""

from __future__ import annotations

from . import build
from .lang import compile_cell, show_ir

__all__ = ["STAGES", "show_ir", "show_optimized_ir", "show_asm", "show_stage"]

#: Stage name -> what it is, in pipeline order.
STAGES = {"ir": "IR", "opt": "optimised IR", "asm": "x86-64 assembly"}


def show_optimized_ir(source: str, name: str = "cell", *, unsafe: bool | None = None,
                      interfaces: dict | None = None, level: int = 2) -> str:
    """The IR after LLVM's -O2 pipeline for the kernel target, as the build sees it."""
    module = compile_cell(source, name, unsafe=unsafe, interfaces=interfaces or {}).module
    return build.kernel_ir(module, name, level)


def show_asm(source: str, name: str = "cell", *, unsafe: bool | None = None,
             interfaces: dict | None = None, level: int = 2) -> str:
    """x86-64 assembly (AT&T) for the kernel target after -O2, as the build emits it."""
    module = compile_cell(source, name, unsafe=unsafe, interfaces=interfaces or {}).module
    return build.kernel_asm(module, name, level)


def show_stage(stage: str, source: str, name: str = "cell", *, unsafe: bool | None = None,
               interfaces: dict | None = None) -> str:
    """The cell at ``stage`` (a key of STAGES); ValueError for an unknown stage."""
    if stage == "ir":
        return show_ir(source, name, unsafe=unsafe, interfaces=interfaces or {})
    if stage == "opt":
        return show_optimized_ir(source, name, unsafe=unsafe, interfaces=interfaces)
    if stage == "asm":
        return show_asm(source, name, unsafe=unsafe, interfaces=interfaces)
    raise ValueError(f"unknown stage {stage!r}: choose one of {', '.join(STAGES)}")

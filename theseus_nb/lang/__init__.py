"""The cell language: a typed, memory-safe subset of Python compiled to native code by llvmlite.

Pipeline, one stage a module: parse -> typecheck (check_expr, check_call,
check_stmt) -> lower (lower_expr, lower_call, lower_stmt) -> jit / inspect.
The kernel-target stages (optimised IR, assembly) are in theseus_nb.stages.
"""
from __future__ import annotations

from .compile import CompiledCell, compile_cell
from .errors import CellError, CellPanic
from .inspect import show_ir
from .interface import CellInterface, FunctionSig, interface_of
from .jit import JitCell, jit
from .marker import unsafe_marker_line
from .parse import imports_of
from .types import layout

__all__ = [
    "CellError",
    "CellInterface",
    "CellPanic",
    "CompiledCell",
    "FunctionSig",
    "JitCell",
    "compile_cell",
    "imports_of",
    "interface_of",
    "jit",
    "layout",
    "show_ir",
    "unsafe_marker_line",
]

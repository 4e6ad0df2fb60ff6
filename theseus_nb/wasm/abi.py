"""The ABI between lowered code and the runtime that hosts it (the host JIT or the kernel).

One instance's symbols, all named by a ``Names`` given to the lowering:

* ``memory``: a struct ``{ptr base, i64 bytes, i64 max_pages}`` that the runtime fills before
  ``init`` runs; lowered code reads base and size from it at every access, so a grow that
  moves the memory is seen at once.
* ``table``: ``{ptr entries, i64 size}``; an entry is ``{i64 signature hash, ptr function}``,
  null function meaning an uninitialised element.
* one LLVM global per wasm global, one function per wasm function (C calling convention;
  several results come back as a literal struct).
* ``init``: ``i32 ()``, sets the globals and writes the active segments; it returns 0, or
  ``INIT_ELEM_FIT`` / ``INIT_DATA_FIT`` when a segment does not fit (checked before any write,
  as in WebAssembly 1.0); with 2.0 semantics a segment that does not fit traps instead.
* with ``bounds="guard"`` no access is compared with the size: the runtime reserves the
  whole reach of a 32-bit index plus a 32-bit offset (8 GiB), maps only the live pages, and
  turns a fault in the rest into the out-of-bounds trap. A load's only check is then the
  access itself, so every load of linear memory is volatile: LLVM deletes a load whose
  value dies (at once, or after inlining, or on the path it was sunk into), and its trap
  with it; a volatile load happens exactly where and as often as the module says.
  Stores need nothing: LLVM removes a store only when a later one covers it (and traps
  wherever it would have).
* the runtime's own functions: ``trap(i32 kind, i32 function index)`` (never returns),
  ``memory_grow(ptr memory, i32 delta) -> i32`` and, when the runtime checks stack depth,
  a global ``i64`` stack limit that every function compares its frame address with.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

from llvmlite import ir

from .module import FuncType

__all__ = ["Names", "LLTYPES", "MEMORY_T", "TABLE_T", "ENTRY_T", "signature_hash",
           "llvm_functype", "INIT_ELEM_FIT", "INIT_DATA_FIT", "PAGE", "VOLATILE_PREFIX"]

PAGE = 65536
PTR = ir.PointerType(ir.IntType(8))
I32, I64 = ir.IntType(32), ir.IntType(64)
LLTYPES = {"i32": I32, "i64": I64, "f32": ir.FloatType(), "f64": ir.DoubleType()}
MEMORY_T = ir.LiteralStructType([PTR, I64, I64])
TABLE_T = ir.LiteralStructType([PTR, I64])
ENTRY_T = ir.LiteralStructType([I64, PTR])
INIT_ELEM_FIT, INIT_DATA_FIT = 1, 2
#: the name prefix of a load that must happen as written (guard regions); ir_text makes it
#: volatile, which llvmlite.ir cannot say
VOLATILE_PREFIX = "wasm.keep."


@dataclass
class Names:
    """How the symbols of one instance are named, and what the lowering emits around them."""

    func: Callable[[int], str]          # function index -> symbol (imports too)
    glob: Callable[[int], str]          # global index -> symbol (imports too)
    memory: str
    table: str
    init: str
    trap: str
    memory_grow: str
    data: Callable[[int], str]          # data segment index -> symbol of its bytes
    stack_limit: Optional[str] = None   # None: no depth check (the kernel has guard pages)
    host_failed: Optional[str] = None   # an i32 flag checked after each imported call
    define_memory: bool = False         # define the memory/table structs here (zeroed)
    semantics: str = "2.0"              # "1.0": segments that do not fit fail to link
    bounds: str = "checks"              # "checks": compare every access with the size;
    #                                     "guard": none, the runtime's unmapped pages trap
    ready: Optional[str] = None         # an i8 global, non-zero once the instance is set up...
    setup: Optional[str] = None         # ...else exported functions call this void() first


def signature_hash(ft: FuncType) -> int:
    """A non-zero 64-bit FNV-1a hash of a signature: what call_indirect compares, across
    modules too (structural type equality, as the spec asks)."""
    h = 0xCBF29CE484222325
    for byte in str(ft).encode():
        h = ((h ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h or 1


def llvm_functype(ft: FuncType) -> ir.FunctionType:
    """The LLVM type of a wasm function: its params, and void, one value or a struct."""
    if not ft.results:
        ret: ir.Type = ir.VoidType()
    elif len(ft.results) == 1:
        ret = LLTYPES[ft.results[0]]
    else:
        ret = ir.LiteralStructType([LLTYPES[t] for t in ft.results])
    return ir.FunctionType(ret, [LLTYPES[t] for t in ft.params])

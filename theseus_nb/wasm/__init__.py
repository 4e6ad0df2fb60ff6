"""WebAssembly cells: decode and validate a module, lower it to LLVM IR, run it.

The pipeline, one stage a module: ``reader`` (bytes, LEB128) -> ``decode``
(-> ``module``'s data model) -> ``validate`` -> ``lower`` (with ``lower_func``
and ``lower_ops``; symbols per ``abi``) -> ``host`` (the JIT) or the kernel
(``theseus_nb.compile``). ``wat`` turns WAT text into bytes with wabt;
``spec`` runs the official test suite.

    from theseus_nb import wasm
    inst = wasm.instantiate(wasm.wat_to_wasm('(module (func (export "f") (result i32) i32.const 7))'))
    inst.f()   # 7
"""

from .decode import decode
from .errors import InvalidError, LinkError, MalformedError, TRAP_KINDS, WasmError, WasmTrap, WatError
from .host import Instance, instantiate
from .host_objects import Function, Global, Memory, Table
from .module import FuncType, Module
from .validate import validate
from .wat import wat_to_wasm

__all__ = ["decode", "validate", "instantiate", "wat_to_wasm", "Instance", "Function", "Global",
           "Memory", "Table", "FuncType", "Module", "WasmError", "MalformedError",
           "InvalidError", "LinkError", "WasmTrap", "WatError", "TRAP_KINDS"]

"""The host JIT: ``instantiate(wasm_bytes, imports=...)`` runs a module in this process.

Design note (the same idea as ``theseus_nb.lang.jit``): a trap must not
return, yet Python must go on. One runtime module, shared by every instance,
holds ``wasm.trap``, which records the trap's kind and longjmps to the
``jmp_buf`` of the innermost call from Python. Each exported function gets an
IR wrapper that keeps its own ``jmp_buf`` on its stack (so a host function
may call back into wasm), calls ``_setjmp``, then the function, with
arguments and results passed as raw 64-bit bits so that no NaN payload is
ever touched by Python's floats. Nothing is unwound: an instance's memory and
globals keep whatever state they had when it trapped.

The shared runtime (trap, memory grow, the guard regions' SIGSEGV handler) is
``host_runtime``. Instances reach one another (imports of another instance's function, memory,
table or global) by address: every symbol gets a process-unique name, bound
with ``llvm.add_symbol`` before the instance's code is finalised.
"""

from __future__ import annotations

import ctypes
import itertools
import threading
from typing import Any, Mapping, Optional

import llvmlite.binding as llvm
from llvmlite import ir

from ..lang.jit import JMPBUF_BYTES, host_target_machine, optimize
from .abi import I32, I64, INIT_DATA_FIT, INIT_ELEM_FIT, LLTYPES, PTR, Names
from .decode import decode
from .errors import TRAP_KINDS, LinkError, WasmTrap
from .host_objects import Function, Global, Memory, Table
from .host_runtime import Runtime
from .lower import ir_text, lower
from .module import FuncType, Import, Limits, Module
from .validate import validate
from .wat import wat_to_wasm

__all__ = ["instantiate", "Instance", "STACK_BUDGET"]

STACK_BUDGET = 1 << 20   # bytes of stack a call from Python may use before it traps
_CTYPES = {"i32": ctypes.c_int32, "i64": ctypes.c_int64, "f32": ctypes.c_float,
           "f64": ctypes.c_double}
_counter = itertools.count()
_lock = threading.RLock()   # one trap record for the process: one call at a time


def _wrapper(m: ir.Module, name: str, target: ir.Function, ft: FuncType) -> None:
    """``i32 name(ptr args, ptr results)``: setjmp, call ``target`` with raw bits, store results."""
    jmpbuf = m.globals.get("wasm.jmpbuf") or ir.GlobalVariable(m, PTR, "wasm.jmpbuf")
    limit = m.globals.get("wasm.stack_limit") or ir.GlobalVariable(m, I64, "wasm.stack_limit")
    setjmp = m.globals.get("_setjmp")
    if setjmp is None:
        setjmp = ir.Function(m, ir.FunctionType(I32, [PTR]), "_setjmp")
        setjmp.attributes.add("returns_twice")
    frameaddress = m.globals.get("llvm.frameaddress.p0") or ir.Function(
        m, ir.FunctionType(PTR, [I32]), "llvm.frameaddress.p0")
    w = ir.Function(m, ir.FunctionType(I32, [PTR, PTR]), name)
    entry, run, failed = (w.append_basic_block(n) for n in ("entry", "run", "failed"))
    b = ir.IRBuilder(entry)
    buf = b.alloca(ir.ArrayType(ir.IntType(8), JMPBUF_BYTES))
    buf.align = 16
    old_buf, old_limit = b.load(jmpbuf), b.load(limit)
    b.store(b.bitcast(buf, PTR), jmpbuf)
    here = b.ptrtoint(b.call(frameaddress, [ir.Constant(I32, 0)]), I64)
    outermost = b.icmp_unsigned("==", old_limit, ir.Constant(I64, 0))
    b.store(b.select(outermost, b.sub(here, ir.Constant(I64, STACK_BUDGET)), old_limit), limit)
    r = b.call(setjmp, [b.bitcast(buf, PTR)])
    b.cbranch(b.icmp_signed("!=", r, ir.Constant(I32, 0)), failed, run)
    b.position_at_end(failed)
    b.store(old_buf, jmpbuf)
    b.store(old_limit, limit)
    b.ret(ir.Constant(I32, 1))
    b.position_at_end(run)
    args_p = b.bitcast(w.args[0], I64.as_pointer())
    args = []
    for i, t in enumerate(ft.params):
        raw = b.load(b.gep(args_p, [ir.Constant(I32, i)]))
        if t in ("i32", "f32"):
            raw = b.trunc(raw, I32)
        args.append(b.bitcast(raw, LLTYPES[t]) if t[0] == "f" else raw)
    res = b.call(target, args)
    out = b.bitcast(w.args[1], I64.as_pointer())
    values = [res] if len(ft.results) == 1 else [b.extract_value(res, i)
                                                 for i in range(len(ft.results))]
    for i, (t, v) in enumerate(zip(ft.results, values)):
        if t[0] == "f":
            v = b.bitcast(v, I32 if t == "f32" else I64)
        if v.type == I32:
            v = b.zext(v, I64)
        b.store(v, b.gep(out, [ir.Constant(I32, i)]))
    b.store(old_buf, jmpbuf)
    b.store(old_limit, limit)
    b.ret(ir.Constant(I32, 0))


class Instance:
    """A module instantiated on the host: ``exports`` by name (``Function``, ``Memory``,
    ``Table``, ``Global``); exported functions are attributes as well."""

    def __init__(self, module: Module, exports: dict, engine: Any, keep: list) -> None:
        self.module, self.exports = module, exports
        self._engine, self._keep = engine, keep

    def __getattr__(self, name: str) -> Any:
        exports = self.__dict__.get("exports", {})
        if name in exports:
            return exports[name]
        raise AttributeError(f"the instance exports no {name!r} (it exports: "
                             f"{', '.join(exports) or 'nothing'})")

    def __repr__(self) -> str:
        return f"<wasm Instance: {', '.join(self.exports)}>"


def _call(rt: Runtime, cfunc: Any, nargs: int, nres: int, where: str, args: list) -> list:
    argv = (ctypes.c_uint64 * max(nargs, 1))(*args)
    resv = (ctypes.c_uint64 * max(nres, 1))()
    with _lock:
        failed = cfunc(argv, resv)
        if failed:
            kind = TRAP_KINDS[rt.kind.value] if 0 <= rt.kind.value < len(TRAP_KINDS) else "trap"
            pending, rt.pending = rt.pending, None
            rt.host_failed.value = 0
    if failed:
        trap = WasmTrap(kind, where)
        if pending is not None:
            raise trap from pending
        raise trap
    return list(resv)[:nres]


def _host_function(rt: Runtime, imp: Import, ft: FuncType, fn: Any, keep: list) -> int:
    """The address of a C-callable thunk for a Python callable imported as ``ft``."""
    if len(ft.results) > 1:
        raise LinkError(f"import {imp.module}.{imp.name}: a Python function can return at "
                        "most one value")
    restype = _CTYPES[ft.results[0]] if ft.results else None

    def thunk(*args: Any) -> Any:
        try:
            r = fn(*args)
            return 0 if restype is None else r
        except BaseException as e:  # noqa: BLE001 (recorded, raised again after the trap)
            rt.pending = e
            rt.host_failed.value = 1
            return 0 if restype is None else restype().value

    cf = ctypes.CFUNCTYPE(restype, *(_CTYPES[t] for t in ft.params))(thunk)
    keep.append(cf)
    return ctypes.cast(cf, ctypes.c_void_p).value or 0


def _limits_match(kind: str, want: Limits, have: Limits, imp: Import) -> None:
    if have.min < want.min or (want.max is not None and (have.max is None or
                                                         have.max > want.max)):
        raise LinkError(f"incompatible import type for {imp.module}.{imp.name}: {kind} limits "
                        f"{have.min}..{have.max} do not fit {want.min}..{want.max}")


def instantiate(wasm_bytes: bytes | str,
                imports: Optional[Mapping[str, Mapping[str, Any]]] = None,
                *, semantics: str = "2.0", bounds: str = "guard", opt: int = 2) -> Instance:
    """Decode, validate, translate and run a module's initialisation on the host
    (``wasm_bytes`` may be WAT text, assembled by wat2wasm).

    ``imports`` maps module name -> field name -> a ``Function`` of another instance or a
    Python callable (a function import), a ``Memory``, ``Table`` or ``Global``. Bad bytes
    raise MalformedError/InvalidError with the byte offset, a missing or mismatched import
    LinkError, a trap of the start function WasmTrap. ``semantics="1.0"`` checks that every
    segment fits before writing any (WebAssembly 1.0); the default traps on the first
    that does not, as 2.0 does. ``bounds="guard"`` (the default, the faster:
    bench/bench_wasm.py): no access is compared with the memory's size; the memory's 8 GiB
    reservation has only its live pages mapped, and a SIGSEGV in the rest is the
    out-of-bounds trap. ``bounds="checks"``: every access is compared with the size. A
    memory of one kind can be imported only by modules translated the same way.
    """
    if isinstance(wasm_bytes, str):
        wasm_bytes = wat_to_wasm(wasm_bytes)
    if bounds not in ("checks", "guard"):
        raise ValueError(f"bounds must be 'checks' or 'guard', not {bounds!r}")
    m = decode(wasm_bytes)
    validate(m, semantics)
    rt = Runtime.get()
    imports = imports or {}
    prefix = f"wasm{next(_counter)}"
    keep: list = []
    symbols: dict[str, int] = {}
    func_objs: list[Any] = []
    global_objs: list[Global] = []
    memory: Optional[Memory] = None
    table: Optional[Table] = None
    for imp in m.imports:
        got = imports.get(imp.module, {}).get(imp.name) if imp.module in imports else None
        if got is None:
            raise LinkError(f"unknown import {imp.module}.{imp.name} ({imp.kind})")
        if imp.kind == "func":
            ft = m.types[imp.desc]  # type: ignore[index]
            if isinstance(got, Function):
                if got.type != ft:
                    raise LinkError(f"incompatible import type for {imp.module}.{imp.name}: "
                                    f"{got.type} given, {ft} expected")
                addr = got.address
            elif callable(got) and not isinstance(got, (Memory, Table, Global)):
                addr = _host_function(rt, imp, ft, got, keep)
                got = Function(ft, addr, f"{imp.module}.{imp.name}")
            else:
                raise LinkError(f"incompatible import type for {imp.module}.{imp.name}: "
                                "a function expected")
            symbols[f"{prefix}.import.{len(func_objs)}"] = addr
            func_objs.append(got)
        elif imp.kind == "global":
            t, mut = imp.desc  # type: ignore[misc]
            if not isinstance(got, Global) or got.type != t or got.mutable != mut:
                raise LinkError(f"incompatible import type for {imp.module}.{imp.name}: "
                                f"a {'mutable ' if mut else ''}{t} global expected")
            symbols[f"{prefix}.gimport.{len(global_objs)}"] = got.address
            global_objs.append(got)
        elif imp.kind == "memory":
            if not isinstance(got, Memory):
                raise LinkError(f"incompatible import type for {imp.module}.{imp.name}: "
                                "a memory expected")
            _limits_match("memory", imp.desc, Limits(got.pages, got.limits.max), imp)  # type: ignore[arg-type]
            memory = got
        elif imp.kind == "table":
            if not isinstance(got, Table):
                raise LinkError(f"incompatible import type for {imp.module}.{imp.name}: "
                                "a table expected")
            _limits_match("table", imp.desc, Limits(got.size, got.limits.max), imp)  # type: ignore[arg-type]
            table = got
    if memory is not None and memory.guard != (bounds == "guard"):
        raise LinkError("a guarded memory and explicit bounds checks do not mix: import it "
                        "into a module instantiated with the same bounds")
    if m.memories:
        memory = Memory(m.memories[0], guard=bounds == "guard")
    if memory is not None and memory.guard and memory._runtime_slot is None:
        # its own, or one made in Python and imported: its faults become traps from now on
        rt.install_segv()
        rt.register_guard(memory)
    if m.tables:
        table = Table(m.tables[0])
    nimp_f, nimp_g = m.num_imported_funcs, len(global_objs)
    names = Names(
        func=lambda i: f"{prefix}.import.{i}" if i < nimp_f else f"{prefix}.func.{i}",
        glob=lambda i: f"{prefix}.gimport.{i}" if i < nimp_g else f"{prefix}.global.{i}",
        memory=f"{prefix}.memory", table=f"{prefix}.table", init=f"{prefix}.init",
        trap="wasm.trap", data=lambda i: f"{prefix}.data.{i}",
        memory_grow="wasm.memory_grow_guard" if bounds == "guard" else "wasm.memory_grow",
        stack_limit="wasm.stack_limit", host_failed="wasm.host_failed", semantics=semantics,
        bounds=bounds)
    if memory is not None:
        symbols[names.memory] = memory.address
    if table is not None:
        symbols[names.table] = table.address
    irmod = lower(m, names)
    ftypes = m.func_types
    funcs_ir = {f.name: f for f in irmod.functions}
    exported = sorted({e.index for e in m.exports if e.kind == "func"})
    for i in exported:
        _wrapper(irmod, f"{prefix}.call.{i}", funcs_ir[names.func(i)], ftypes[i])
    init_fn = funcs_ir[names.init]
    _wrapper(irmod, f"{prefix}.call.init", init_fn, FuncType((), ("i32",)))
    if m.start is not None:
        _wrapper(irmod, f"{prefix}.call.start", funcs_ir[names.func(m.start)], FuncType((), ()))
    for name, addr in symbols.items():
        llvm.add_symbol(name, addr)
    mod = llvm.parse_assembly(ir_text(irmod))
    mod.verify()
    tm = host_target_machine()
    if opt:
        optimize(mod, tm, opt)
    engine = llvm.create_mcjit_compiler(mod, tm)
    engine.finalize_object()
    proto = ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.c_void_p, ctypes.c_void_p)

    def invoker(symbol: str, ft: FuncType, where: str) -> Any:
        cfunc = proto(engine.get_function_address(symbol))
        return lambda args: _call(rt, cfunc, len(ft.params), len(ft.results), where, args)

    for i in range(nimp_f, len(ftypes)):
        func_objs.append(None)  # filled below for exported ones
    for i, g in enumerate(m.globals):
        global_objs.append(Global(g.type, g.mutable,
                                  address=engine.get_global_value_address(names.glob(nimp_g + i)),
                                  owner=engine))
    exports: dict[str, Any] = {}
    for e in m.exports:
        if e.kind == "func":
            ft = ftypes[e.index]
            addr = (func_objs[e.index].address if e.index < nimp_f
                    else engine.get_function_address(names.func(e.index)))
            exports[e.name] = Function(ft, addr, e.name,
                                       invoker(f"{prefix}.call.{e.index}", ft, e.name),
                                       owner=engine)
        elif e.kind == "memory":
            exports[e.name] = memory
        elif e.kind == "table":
            exports[e.name] = table
        else:
            exports[e.name] = global_objs[e.index]
    keep += [memory, table, global_objs, func_objs]
    code = invoker(f"{prefix}.call.init", FuncType((), ("i32",)), "instantiation")([])[0]
    if code == INIT_ELEM_FIT:
        raise LinkError("elements segment does not fit the table")
    if code == INIT_DATA_FIT:
        raise LinkError("data segment does not fit the memory")
    instance = Instance(m, exports, engine, keep)
    if m.start is not None:
        invoker(f"{prefix}.call.start", FuncType((), ()), "start function")([])
    return instance


"""Run a cell on the host: compile with llvmlite's MCJIT and call it with Python ints.

Design note: a panic must not return (rt::panic is noreturn), yet the Python
process must go on.  Each exported function gets an IR wrapper that calls
_setjmp on a jmp_buf global before calling the cell; the host rt::panic, also
in IR, records message/where/line in globals and longjmps back, so the wrapper
returns 1 and Python raises CellPanic.  Nothing is unwound: a cell has no
destructors, and its globals simply keep whatever state they had.
"""
from __future__ import annotations

import ctypes
import sys
import threading
from typing import Any, Callable, Mapping, Optional

import llvmlite.binding as llvm
from llvmlite import ir

from .compile import CompiledCell, compile_cell
from .errors import CellPanic
from .interface import interface_of
from .lltypes import PANIC_T, PTR, STR_T, function_type
from .types import BOOL, FNREF, NONE, STR, IntT, TupleT

I32, I64 = ir.IntType(32), ir.IntType(64)
JMPBUF_BYTES = 512  # glibc's x86-64 jmp_buf is 200 bytes; leave room
STACK_LIMIT = "jit.stack_limit"
STACK_BUDGET = 1 << 20  # bytes of stack a call from Python may use before it panics
_initialized = False


def init_llvm() -> None:
    """Initialise the native target once (asm parser too: inline asm needs it)."""
    global _initialized
    if not _initialized:
        llvm.initialize_native_target()
        llvm.initialize_native_asmprinter()
        llvm.initialize_native_asmparser()
        libc = ctypes.CDLL(None)
        for sym in ("_setjmp", "longjmp"):
            llvm.add_symbol(sym, ctypes.cast(getattr(libc, sym), ctypes.c_void_p).value)
        _initialized = True


def host_target_machine(opt: int = 2) -> llvm.TargetMachine:
    init_llvm()
    target = llvm.Target.from_default_triple()
    return target.create_target_machine(opt=opt, jit=True)


def optimize(mod: llvm.ModuleRef, tm: llvm.TargetMachine, level: int = 2) -> None:
    """Run LLVM's standard -O<level> module pipeline in place."""
    pto = llvm.create_pipeline_tuning_options(speed_level=level)
    pb = llvm.create_pass_builder(tm, pto)
    pb.getModulePassManager().run(mod, pb)


def _host_write(ptr: int, n: int) -> None:
    sys.stdout.write(ctypes.string_at(ptr, n).decode("ascii", "replace"))


def _host_int(v: int, signed: int) -> None:
    sys.stdout.write(str(v if signed else v & ((1 << 64) - 1)))


# print() on the host: the jitted console::write* call back into Python, which writes to
# sys.stdout (so pytest's capsys and a notebook both see it).  Kept alive for the process.
_WRITE_CB = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_int64)(_host_write)
_INT_CB = ctypes.CFUNCTYPE(None, ctypes.c_int64, ctypes.c_int32)(_host_int)


def _console(m: ir.Module) -> None:
    """console::begin/end/write/write_u64/write_i64/write_bool, what print() calls.

    begin and end do nothing: JitCell runs one call at a time already."""
    void = ir.VoidType()
    write_t = ir.FunctionType(void, [PTR, I64])
    int_t = ir.FunctionType(void, [I64, I32])

    def host(b: ir.IRBuilder, cb: Any, fty: ir.FunctionType, args: list) -> None:
        addr = ctypes.cast(cb, ctypes.c_void_p).value
        b.call(b.inttoptr(ir.Constant(I64, addr), fty.as_pointer()), args)

    for name, params in (("begin", []), ("end", []), ("write", [STR_T]), ("write_u64", [I64]),
                         ("write_i64", [I64]), ("write_bool", [ir.IntType(1)])):
        fn = ir.Function(m, ir.FunctionType(void, params), f"console::{name}")
        b = ir.IRBuilder(fn.append_basic_block())
        if name == "write":
            host(b, _WRITE_CB, write_t, [b.extract_value(fn.args[0], 0), b.extract_value(fn.args[0], 1)])
        elif name in ("write_u64", "write_i64"):
            host(b, _INT_CB, int_t, [fn.args[0], ir.Constant(I32, int(name == "write_i64"))])
        elif name == "write_bool":
            yes, no = fn.append_basic_block("true"), fn.append_basic_block("false")
            b.cbranch(fn.args[0], yes, no)
            for block, word in ((yes, "True"), (no, "False")):
                g = ir.GlobalVariable(m, ir.ArrayType(ir.IntType(8), len(word)), f"jit.{word}")
                g.initializer = ir.Constant(g.value_type, bytearray(word.encode()))
                g.global_constant = True
                b.position_at_end(block)
                host(b, _WRITE_CB, write_t, [b.bitcast(g, PTR), ir.Constant(I64, len(word))])
                b.ret_void()
            continue
        b.ret_void()


def _runtime(cells: list) -> ir.Module:
    """rt::panic (record, then longjmp) and one setjmp wrapper per public function of the cells."""
    m = ir.Module(name="jit.runtime")
    jmpbuf = ir.GlobalVariable(m, ir.ArrayType(ir.IntType(8), JMPBUF_BYTES), "jit.jmpbuf")
    jmpbuf.initializer = ir.Constant(jmpbuf.value_type, None)
    jmpbuf.align = 16
    limit = ir.GlobalVariable(m, I64, STACK_LIMIT)
    limit.initializer = ir.Constant(I64, 0)
    frameaddress = ir.Function(m, ir.FunctionType(PTR, [I32]), "llvm.frameaddress.p0")
    slots = {}
    for gname, ty in (("jit.msg", STR_T), ("jit.where", STR_T), ("jit.line", I64)):
        g = ir.GlobalVariable(m, ty, gname)
        g.initializer = ir.Constant(ty, None)
        slots[gname] = g
    setjmp = ir.Function(m, ir.FunctionType(I32, [PTR]), "_setjmp")
    setjmp.attributes.add("returns_twice")
    longjmp = ir.Function(m, ir.FunctionType(ir.VoidType(), [PTR, I32]), "longjmp")
    longjmp.attributes.add("noreturn")
    panic = ir.Function(m, PANIC_T, "rt::panic")
    b = ir.IRBuilder(panic.append_basic_block())
    for arg, g in zip(panic.args, slots.values()):
        b.store(arg, g)
    b.call(longjmp, [jmpbuf, ir.Constant(I32, 1)])
    b.unreachable()
    _console(m)
    for cc in cells:
        for fname, sig in cc.interface.functions.items():
            target = ir.Function(m, function_type(list(sig.params), sig.ret), f"{cc.name}::{fname}")
            wargs = [PTR]
            for _, t in sig.params:
                wargs += [PTR, I64] if t == STR else [I64]
            w = ir.Function(m, ir.FunctionType(I32, wargs), f"jit.{cc.name}.{fname}")
            entry, run, failed = (w.append_basic_block(n) for n in ("entry", "run", "failed"))
            b = ir.IRBuilder(entry)
            r = b.call(setjmp, [jmpbuf])
            b.cbranch(b.icmp_signed("!=", r, ir.Constant(I32, 0)), failed, run)
            b.position_at_end(failed)
            b.ret(ir.Constant(I32, 1))
            b.position_at_end(run)
            here = b.ptrtoint(b.call(frameaddress, [ir.Constant(I32, 0)]), I64)
            b.store(b.sub(here, ir.Constant(I64, STACK_BUDGET)), limit)
            it = iter(w.args[1:])
            args = []
            for _, t in sig.params:
                if t == STR:
                    s = b.insert_value(ir.Constant(STR_T, None), next(it), 0)
                    args.append(b.insert_value(s, next(it), 1))
                elif t == FNREF:
                    args.append(b.inttoptr(next(it), PTR))
                else:
                    args.append(b.trunc(next(it), ir.IntType(t.bits if isinstance(t, IntT) else 1))
                                if t != IntT(64, False) and t != IntT(64, True) else next(it))
            res = b.call(target, args)
            out = w.args[0]
            if isinstance(sig.ret, TupleT):  # one u64 slot of the out buffer per element
                for i, t in enumerate(sig.ret.elems):
                    v = b.extract_value(res, i)
                    signed = isinstance(t, IntT) and t.signed
                    wide = v if v.type == I64 else (b.sext(v, I64) if signed else b.zext(v, I64))
                    slot = b.gep(out, [ir.Constant(I64, i)], source_etype=I64)
                    slot.type = PTR
                    b.store(wide, slot)
            elif sig.ret == STR:
                b.store(res, out)
            elif sig.ret == FNREF:
                b.store(b.ptrtoint(res, I64), out)
            elif sig.ret != NONE:
                signed = isinstance(sig.ret, IntT) and sig.ret.signed
                wide = res if res.type == I64 else (b.sext(res, I64) if signed else b.zext(res, I64))
                b.store(wide, out)
            b.ret(ir.Constant(I32, 0))
    return m


def _py_arg(value: Any, ty: Any, fname: str, pname: str, strings: dict) -> list:
    if ty == STR:
        if not isinstance(value, str) or not value.isascii():
            raise TypeError(f"{fname}(): '{pname}' must be an ASCII str")
        # a cell may keep a str (in a global, say) after the call returns, as it keeps
        # literals: so the bytes live as long as the jitted cell, once per distinct text
        if value not in strings:
            strings[value] = ctypes.create_string_buffer(value.encode("ascii"))
        return [ctypes.cast(strings[value], ctypes.c_void_p).value or 0, len(value)]
    if ty == BOOL:
        if not isinstance(value, (bool, int)):
            raise TypeError(f"{fname}(): '{pname}' must be a bool")
        return [int(bool(value))]
    if not isinstance(value, int):
        raise TypeError(f"{fname}(): '{pname}' must be an int, not {type(value).__name__}")
    if isinstance(ty, IntT) and not ty.fits(value):
        raise OverflowError(f"{fname}(): {value} does not fit in {ty} ('{pname}')")
    return [value & ((1 << 64) - 1)]


def _py_value(raw: int, ty: Any) -> Any:
    """A returned integer or bool, from its u64 slot, as Python sees it."""
    if ty == BOOL:
        return bool(raw & 1)
    if isinstance(ty, IntT) and ty.signed and raw >= 1 << 63:
        raw -= 1 << 64
    return raw


class JitCell:
    """A jitted cell: its public functions as attributes, and `.ir` (the cell's IR text)
    unless the cell defines a function of that name (the cell's names win)."""

    def __init__(self, engine: Any, compiled: dict, main: str) -> None:
        self._engine, self._cells, self._name = engine, compiled, main
        # one jmp_buf and one set of panic globals per engine: one call at a time
        self._lock = threading.Lock()
        self._strings: dict = {}  # str arguments, kept alive with the cell
        self.ir = str(compiled[main].module)
        self._where = engine.get_global_value_address("jit.where")
        self._msg = engine.get_global_value_address("jit.msg")
        self._line = engine.get_global_value_address("jit.line")
        for fname, sig in compiled[main].interface.functions.items():
            setattr(self, fname, self._function(main, fname, sig))

    def _read_str(self, addr: int) -> str:
        ptr, n = ctypes.c_uint64.from_address(addr).value, ctypes.c_uint64.from_address(addr + 8).value
        return ctypes.string_at(ptr, n).decode("ascii", "replace") if ptr else ""

    def _function(self, cell: str, fname: str, sig: Any) -> Callable[..., Any]:
        addr = self._engine.get_function_address(f"jit.{cell}.{fname}")
        nargs = sum(2 if t == STR else 1 for _, t in sig.params)
        proto = ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.c_void_p, *([ctypes.c_uint64] * nargs))
        cfunc = proto(addr)
        out = (ctypes.c_uint64 * 8)()  # a str's two words, or a tuple's elements
        out_addr = ctypes.addressof(out)

        def call(*args: Any) -> Any:
            if len(args) != len(sig.params):
                raise TypeError(f"{fname}() takes {len(sig.params)} arguments, {len(args)} given")
            flat = []
            for value, (pname, ty) in zip(args, sig.params):
                flat += _py_arg(value, ty, fname, pname, self._strings)
            with self._lock:
                failed = cfunc(out_addr, *flat)
                if failed:
                    where = self._read_str(self._where)
                    pcell, _, pfunc = where.partition("::")
                    panic = CellPanic(self._read_str(self._msg), pcell, pfunc,
                                      ctypes.c_uint64.from_address(self._line).value)
                else:
                    raws = list(out)
                    text = self._read_str(out_addr) if sig.ret == STR else ""
            if failed:
                raise panic
            if sig.ret == NONE:
                return None
            if sig.ret == STR:
                return text
            if isinstance(sig.ret, TupleT):
                return tuple(_py_value(r, t) for r, t in zip(raws, sig.ret.elems))
            return _py_value(raws[0], sig.ret)

        call.__name__ = fname
        call.__doc__ = f"{cell}::{sig.text} (jitted)"
        return call

    def __repr__(self) -> str:
        return f"<JitCell {self._name}: {', '.join(self._cells[self._name].interface.functions)}>"


def jit(source: str, *, name: str = "cell", unsafe: Optional[bool] = None,
        others: Mapping[str, str] = {},
        opt: int = 2, checks: bool = True) -> JitCell:
    """Compile a cell (and the cells it imports, given in `others` by name) for the host.

    Returns a namespace whose attributes are the cell's public functions; a
    panic raises CellPanic and leaves the process running.  Runaway recursion
    panics too ("stack overflow") once a call uses more than 1 MiB of stack.
    opt is the LLVM optimisation level; checks=False (benchmark only) drops
    bounds, overflow and stack checks.  unsafe is compile_cell's (None: from the
    source's marker) for the main cell; the others always take it from their source.
    """
    init_llvm()
    for own, what in (("rt", "rt::panic"), ("console", "console::write and the rest of print()")):
        if own in others or name == own:
            raise ValueError(f"the host JIT provides {what} itself, so a cell named '{own}' can "
                             "be compiled with compile_cell but not jitted; give it another name "
                             "to try it")
    ifaces = {n: interface_of(src, n) for n, src in others.items()}
    ifaces[name] = interface_of(source, name, unsafe=unsafe)
    compiled: dict[str, CompiledCell] = {}
    for n, src in list(others.items()) + [(name, source)]:
        compiled[n] = compile_cell(src, n, unsafe=unsafe if n == name else None,
                                   interfaces=ifaces, checks=checks,
                                   stack_limit=STACK_LIMIT if checks else "")
    tm = host_target_machine()
    mods = []
    for cc in list(compiled.values()):
        mod = llvm.parse_assembly(str(cc.module))
        mod.verify()
        # the optimiser lays out structs by the module's data layout and the code
        # generator by the target's: they must agree, or two cells sharing a struct
        # would place its fields differently
        mod.triple = tm.triple
        mod.data_layout = str(tm.target_data)
        mods.append(mod)
    rt = llvm.parse_assembly(str(_runtime([compiled[name]])))
    rt.verify()
    for mod in mods:
        if opt:
            optimize(mod, tm, opt)
    engine = llvm.create_mcjit_compiler(rt, tm)
    for mod in mods:
        engine.add_module(mod)
    engine.finalize_object()
    engine.run_static_constructors()
    return JitCell(engine, compiled, name)

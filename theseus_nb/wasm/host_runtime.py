"""The host runtime that every jitted instance shares: the trap (record the kind, longjmp to
the innermost call from Python), memory.grow, and for guard regions the SIGSEGV handler
that turns a fault inside a guarded memory's reservation into the out-of-bounds trap.

It is one LLVM module, jitted once per process; its symbols are bound with
``llvm.add_symbol`` so every instance's code reaches them by name.
"""

from __future__ import annotations

import ctypes
from typing import Optional

import llvmlite.binding as llvm
from llvmlite import ir

from ..lang.jit import host_target_machine, init_llvm
from .abi import I32, I64, PTR
from .errors import WasmError
from .host_objects import Memory

__all__ = ["Runtime", "MAX_GUARDED"]

MAX_GUARDED = 256        # guarded memories alive at once (their reservations are 8 GiB each)
_SA_SIGINFO, _SA_ONSTACK, _SA_NODEFER = 0x4, 0x08000000, 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


class _Sigaction(ctypes.Structure):
    # glibc's x86-64 struct sigaction
    _fields_ = [("handler", ctypes.c_void_p), ("mask", ctypes.c_uint64 * 16),
                ("flags", ctypes.c_int), ("restorer", ctypes.c_void_p)]


class Runtime:
    """The shared runtime module (trap, memory grow, the jmp_buf pointer), jitted once."""

    _instance: Optional["Runtime"] = None

    @classmethod
    def get(cls) -> "Runtime":
        if cls._instance is None:
            cls._instance = cls()
        return cls._instance

    def __init__(self) -> None:
        init_llvm()
        m = ir.Module(name="wasm.runtime")
        globs = {}
        for name, ty in (("wasm.jmpbuf", PTR), ("wasm.trap_kind", I32), ("wasm.trap_func", I32),
                         ("wasm.stack_limit", I64), ("wasm.host_failed", I32)):
            g = ir.GlobalVariable(m, ty, name)
            g.initializer = ir.Constant(ty, None)
            globs[name] = g
        longjmp = ir.Function(m, ir.FunctionType(ir.VoidType(), [PTR, I32]), "longjmp")
        longjmp.attributes.add("noreturn")
        trap = ir.Function(m, ir.FunctionType(ir.VoidType(), [I32, I32]), "wasm.trap")
        b = ir.IRBuilder(trap.append_basic_block())
        b.store(trap.args[0], globs["wasm.trap_kind"])
        b.store(trap.args[1], globs["wasm.trap_func"])
        b.call(longjmp, [b.load(globs["wasm.jmpbuf"]), ir.Constant(I32, 1)])
        b.unreachable()
        # memory.grow: the host reserved the whole maximum, so growing only moves the size
        grow = ir.Function(m, ir.FunctionType(I32, [PTR, I32]), "wasm.memory_grow")
        b = ir.IRBuilder(grow.append_basic_block())
        mem = b.bitcast(grow.args[0], I64.as_pointer())
        size_p = b.gep(mem, [ir.Constant(I32, 1)])
        old = b.lshr(b.load(size_p), ir.Constant(I64, 16))
        new = b.add(old, b.zext(grow.args[1], I64))
        too_big = b.icmp_unsigned(">", new, b.load(b.gep(mem, [ir.Constant(I32, 2)])))
        with b.if_then(too_big):
            b.ret(ir.Constant(I32, -1))
        b.store(b.shl(new, ir.Constant(I64, 16)), size_p)
        b.ret(b.trunc(old, I32))
        self._guard_functions(m, globs, trap)
        for sym in ("mprotect", "signal"):
            llvm.add_symbol(sym, ctypes.cast(getattr(_libc, sym), ctypes.c_void_p).value)
        mod = llvm.parse_assembly(str(m))
        mod.verify()
        self.engine = llvm.create_mcjit_compiler(mod, host_target_machine())
        self.engine.finalize_object()
        for name in globs:
            llvm.add_symbol(name, self.engine.get_global_value_address(name))
        for name in ("wasm.trap", "wasm.memory_grow", "wasm.memory_grow_guard"):
            llvm.add_symbol(name, self.engine.get_function_address(name))
        self.guards = (ctypes.c_uint64 * (2 * MAX_GUARDED)).from_address(
            self.engine.get_global_value_address("wasm.guards"))
        self._segv_installed = False
        self.kind = ctypes.c_int32.from_address(self.engine.get_global_value_address("wasm.trap_kind"))
        self.func = ctypes.c_int32.from_address(self.engine.get_global_value_address("wasm.trap_func"))
        self.host_failed = ctypes.c_int32.from_address(
            self.engine.get_global_value_address("wasm.host_failed"))
        self.pending: Optional[BaseException] = None

    @staticmethod
    def _guard_functions(m: ir.Module, globs: dict, trap: ir.Function) -> None:
        """memory.grow for guarded memories (make the new pages accessible) and the SIGSEGV
        handler that turns a fault inside a guarded reservation into the memory trap."""
        i64p = I64.as_pointer()
        mprotect = ir.Function(m, ir.FunctionType(I32, [PTR, I64, I32]), "mprotect")
        grow = ir.Function(m, ir.FunctionType(I32, [PTR, I32]), "wasm.memory_grow_guard")
        b = ir.IRBuilder(grow.append_basic_block())
        mem = b.bitcast(grow.args[0], i64p)
        size_p = b.gep(mem, [ir.Constant(I32, 1)])
        old_bytes = b.load(size_p)
        old = b.lshr(old_bytes, ir.Constant(I64, 16))
        new = b.add(old, b.zext(grow.args[1], I64))
        too_big = b.icmp_unsigned(">", new, b.load(b.gep(mem, [ir.Constant(I32, 2)])))
        with b.if_then(too_big):
            b.ret(ir.Constant(I32, -1))
        base = b.inttoptr(b.load(mem), PTR)
        grown = b.shl(b.zext(grow.args[1], I64), ir.Constant(I64, 16))
        r = b.call(mprotect, [b.gep(base, [old_bytes]), grown, ir.Constant(I32, 3)])
        with b.if_then(b.icmp_signed("!=", r, ir.Constant(I32, 0))):
            b.ret(ir.Constant(I32, -1))
        b.store(b.shl(new, ir.Constant(I64, 16)), size_p)
        b.ret(b.trunc(old, I32))
        table_t = ir.ArrayType(I64, 2 * MAX_GUARDED)
        guards = ir.GlobalVariable(m, table_t, "wasm.guards")
        guards.initializer = ir.Constant(table_t, None)
        old_handler = ir.GlobalVariable(m, PTR, "wasm.old_segv")
        old_handler.initializer = ir.Constant(PTR, None)
        signal = ir.Function(m, ir.FunctionType(PTR, [I32, PTR]), "signal")
        handler_t = ir.FunctionType(ir.VoidType(), [I32, PTR, PTR])
        h = ir.Function(m, handler_t, "wasm.segv")
        entry, loop, body, nxt, hit, chain, default = (h.append_basic_block(n) for n in (
            "entry", "loop", "body", "next", "hit", "chain", "default"))
        b = ir.IRBuilder(entry)
        # siginfo_t: si_signo, si_errno, si_code (3 x i32), padding, then si_addr at byte 16
        addr = b.load(b.bitcast(b.gep(h.args[1], [ir.Constant(I64, 16)]), i64p))
        inside = b.icmp_unsigned("!=", b.load(globs["wasm.jmpbuf"]), ir.Constant(PTR, None))
        b.cbranch(inside, loop, chain)
        b.position_at_end(loop)
        i = b.phi(I64)
        i.add_incoming(ir.Constant(I64, 0), entry)
        b.cbranch(b.icmp_unsigned("<", i, ir.Constant(I64, MAX_GUARDED)), body, chain)
        b.position_at_end(body)
        lo = b.load(b.gep(guards, [ir.Constant(I32, 0), b.mul(i, ir.Constant(I64, 2))]))
        hi = b.load(b.gep(guards, [ir.Constant(I32, 0),
                                   b.add(b.mul(i, ir.Constant(I64, 2)), ir.Constant(I64, 1))]))
        found = b.and_(b.icmp_unsigned(">=", addr, lo), b.icmp_unsigned("<", addr, hi))
        b.cbranch(found, hit, nxt)
        b.position_at_end(nxt)
        i.add_incoming(b.add(i, ir.Constant(I64, 1)), nxt)
        b.branch(loop)
        b.position_at_end(hit)
        b.call(trap, [ir.Constant(I32, 4), ir.Constant(I32, -1)])
        b.unreachable()
        b.position_at_end(chain)
        prev = b.load(old_handler)
        # SIG_DFL (0) or SIG_IGN (1): put the default back and return, so the fault repeats
        # and ends the process as it would have without us
        b.cbranch(b.icmp_unsigned("<=", b.ptrtoint(prev, I64), ir.Constant(I64, 1)), default,
                  h.append_basic_block("call_prev"))
        call_prev = h.blocks[-1]
        b.position_at_end(call_prev)
        b.call(b.bitcast(prev, handler_t.as_pointer()), list(h.args))
        b.ret_void()
        b.position_at_end(default)
        b.call(signal, [h.args[0], ir.Constant(PTR, None)])
        b.ret_void()

    def install_segv(self) -> None:
        """Install wasm.segv for SIGSEGV (once), keeping the previous handler to chain to."""
        if self._segv_installed:
            return
        act = _Sigaction()
        act.handler = self.engine.get_function_address("wasm.segv")
        act.flags = _SA_SIGINFO | _SA_NODEFER | _SA_ONSTACK
        old = _Sigaction()
        if _libc.sigaction(11, ctypes.byref(act), ctypes.byref(old)) != 0:
            raise WasmError("cannot install the SIGSEGV handler that guard regions need")
        ctypes.c_uint64.from_address(
            self.engine.get_global_value_address("wasm.old_segv")).value = old.handler or 0
        self._segv_installed = True

    def register_guard(self, memory: Memory) -> None:
        """Let faults in ``memory``'s reservation become traps."""
        for k in range(MAX_GUARDED):
            if self.guards[2 * k] == 0:
                self.guards[2 * k], self.guards[2 * k + 1] = memory.reserved
                memory._runtime_slot = (self, k)
                return
        raise WasmError(f"more than {MAX_GUARDED} guarded memories at once")



"""Lowering of one function body: the operand stack becomes SSA values at translation time,
and structured control becomes basic blocks.

Design note. Each ``block``/``loop``/``if`` pushes a frame naming its LLVM
blocks: ``end`` (where the construct continues, with one phi per result) and,
for a loop, ``header`` (the target of its branches, with one phi per
parameter). A branch passes the top values of the stack as incoming values of
the target's phis; phis are made at the first branch that needs them, so a
block nobody branches to has none and is closed with ``unreachable``. After
``br``, ``br_table``, ``return`` or ``unreachable`` the rest of the construct
is dead: its instructions are skipped (counting nested constructs) until the
``else`` or ``end`` that closes it. Locals are allocas: LLVM's mem2reg turns
them into SSA as well.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Optional

from llvmlite import ir

from .abi import ENTRY_T, I32, I64, LLTYPES, PTR, llvm_functype, signature_hash
from .lower_ops import TRAP, lower_bulk, lower_memory, lower_numeric
from .module import FuncType, Function, Instr
from .opcodes import MEMORY_OPS, SIGNATURES
from .validate import block_type

if TYPE_CHECKING:
    from .lower import ModuleLowerer

__all__ = ["FuncLowerer"]

_BULK = ("memory.init", "data.drop", "memory.copy", "memory.fill")


@dataclass
class _Frame:
    kind: str                         # "function", "block", "loop", "if"
    type: FuncType
    height: int                       # stack height below the construct's parameters
    end: ir.Block
    header: Optional[ir.Block] = None     # loop: where its branches go
    header_phis: list = field(default_factory=list)
    end_phis: list = field(default_factory=list)
    els: Optional[ir.Block] = None        # if: the else arm (or the way around the then arm)
    if_params: list = field(default_factory=list)
    has_else: bool = False
    reached: bool = False                 # some branch goes to ``end``

    @property
    def label_types(self) -> tuple:
        return self.type.params if self.kind == "loop" else self.type.results


class FuncLowerer:
    """Fills one ``ir.Function`` from one wasm function; ``lower()`` does the work."""

    def __init__(self, ml: "ModuleLowerer", index: int, func: Function, *,
                 fn: ir.Function | None = None, recurse: ir.Function | None = None) -> None:
        self.ml, self.index, self.func = ml, index, func
        self.type = ml.m.types[func.type_index]
        self.fn: ir.Function = fn or ml.funcs[index]
        #: where this body's calls to its own function go (a copy: see recursion_clones)
        self.recurse = recurse
        self.stack: list[ir.Value] = []
        self.frames: list[_Frame] = []
        self.dead = 0        # 0: live code; n > 0: skipping, inside n - 1 nested dead constructs
        self.b = ir.IRBuilder(self.fn.append_basic_block("entry"))

    # --- the operand stack -------------------------------------------------------------

    def push(self, v: ir.Value) -> None:
        self.stack.append(v)

    def pop(self) -> ir.Value:
        return self.stack.pop()

    def pops(self, n: int) -> list:
        if not n:
            return []
        vals = self.stack[-n:]
        del self.stack[-n:]
        return vals

    # --- helpers the operator lowerings use --------------------------------------------

    def intrinsic(self, name: str, ret: ir.Type, args: list) -> ir.Function:
        return self.ml.declare(name, ir.FunctionType(ret, args))

    def trap_if(self, cond: ir.Value, kind: str) -> None:
        """Branch to a trap when ``cond`` holds; code continues in a fresh block."""
        ok = self.fn.append_basic_block("ok")
        bad = self.fn.append_basic_block(f"trap.{kind}")
        self.b.cbranch(cond, bad, ok)
        self.b.position_at_end(bad)
        self.trap(kind)
        self.b.position_at_end(ok)

    def trap(self, kind: str) -> None:
        self.b.call(self.ml.trap_fn, [ir.Constant(I32, TRAP[kind]), ir.Constant(I32, self.index)])
        self.b.unreachable()

    def float_binop(self, name: str, x: ir.Value, y: ir.Value, llt: ir.Type) -> ir.Value:
        return self.ml.float_binop(self.b, name, x, y, llt)

    def tag_memory(self, inst: ir.Instruction) -> None:
        self.ml.tag_memory(inst)

    def memory_fields(self) -> tuple[ir.Value, ir.Value]:
        """(base, size in bytes) of the instance's memory, read now."""
        b, mem = self.b, self.ml.memory
        base = b.load(b.gep(mem, [ir.Constant(I32, 0), ir.Constant(I32, 0)]))
        size = b.load(b.gep(mem, [ir.Constant(I32, 0), ir.Constant(I32, 1)]))
        self.ml.tag_meta(base)
        self.ml.tag_meta(size)
        return base, size

    def address(self, index: ir.Value, offset: int, size: int) -> ir.Value:
        """The host address of ``size`` bytes at wasm address ``index + offset``, checked."""
        b = self.b
        base, bytes_ = self.memory_fields()
        ea = b.add(b.zext(index, I64), ir.Constant(I64, offset))
        if self.ml.names.bounds != "guard":
            last = b.add(ea, ir.Constant(I64, size))
            self.trap_if(b.icmp_unsigned(">", last, bytes_), "memory")
        return b.gep(base, [ea])

    def range_check(self, start: ir.Value, n: ir.Value, limit: ir.Value, kind: str) -> None:
        b = self.b
        end = b.add(b.zext(start, I64), b.zext(n, I64))
        self.trap_if(b.icmp_unsigned(">", end, limit), kind)

    # --- the body ----------------------------------------------------------------------

    def lower(self) -> None:
        b = self.b
        # the allocas first, in the entry block, where mem2reg turns them into SSA values
        self.locals = []
        for i, t in enumerate(list(self.type.params) + self.func.locals):
            slot = b.alloca(LLTYPES[t], name=f"l{i}")
            b.store(self.fn.args[i] if i < len(self.type.params) else ir.Constant(LLTYPES[t], 0),
                    slot)
            self.locals.append(slot)
        if self.ml.stack_limit is not None:
            # the stack pointer itself: unlike llvm.frameaddress it needs no frame pointer
            read = self.ml.declare("llvm.read_register.i64",
                                   ir.FunctionType(I64, [ir.MetaDataType()]))
            here = b.call(read, [self.ml.rsp_name()])
            self.trap_if(b.icmp_unsigned("<", here, b.load(self.ml.stack_limit)), "stack")
        if self.ml.ready is not None and self.index in self.ml.exported \
                and self.fn is self.ml.funcs[self.index]:
            # the kernel sets an instance up on its first call (kernel_cell.py)
            flag = b.load(self.ml.ready)
            with b.if_then(b.icmp_unsigned("==", flag, ir.Constant(flag.type, 0)), likely=False):
                b.call(self.ml.setup_fn, [])
        ret = self.fn.append_basic_block("return")
        self.frames.append(_Frame("function", FuncType((), self.type.results), 0, ret))
        for ins in self.func.body:
            if self.dead:
                self.skip(ins)
            else:
                self.instr(ins)
        # the last "end" closed the function frame and left its results on the stack
        results = self.stack
        if not self.type.results:
            self.b.ret_void()
        elif len(results) == 1:
            self.b.ret(results[0])
        else:
            agg = ir.Constant(self.fn.function_type.return_type, ir.Undefined)
            for i, v in enumerate(results):
                agg = self.b.insert_value(agg, v, i)
            self.b.ret(agg)

    def skip(self, ins: Instr) -> None:
        if ins.op in ("block", "loop", "if"):
            self.dead += 1
        elif ins.op == "else" and self.dead == 1:
            self.dead = 0
            self.else_(ins, live=False)
        elif ins.op == "end":
            if self.dead == 1:
                self.dead = 0
                self.end(live=False)
            else:
                self.dead -= 1

    def go_dead(self) -> None:
        self.dead = 1

    def branch_to(self, fr: _Frame, values: list, to_end: bool = False) -> None:
        """Pass ``values`` to ``fr``'s label (or, ``to_end``, to the block after it) from the
        current block; the caller emits the jump."""
        if fr.kind == "loop" and not to_end:
            phis = fr.header_phis
        else:
            fr.reached = True
            if len(fr.end_phis) < len(values):
                pb = ir.IRBuilder(fr.end)
                for t in fr.type.results:
                    fr.end_phis.append(pb.phi(LLTYPES[t]))
            phis = fr.end_phis
        for phi, v in zip(phis, values):
            phi.add_incoming(v, self.b.block)

    def target(self, fr: _Frame) -> ir.Block:
        return fr.header if fr.kind == "loop" else fr.end  # type: ignore[return-value]

    def label(self, depth: int) -> _Frame:
        return self.frames[-1 - depth]

    def br(self, depth: int) -> None:
        fr = self.label(depth)
        values = self.stack[len(self.stack) - len(fr.label_types):]
        self.branch_to(fr, values)
        self.b.branch(self.target(fr))
        self.go_dead()

    def enter(self, kind: str, ft: FuncType) -> _Frame:
        fr = _Frame(kind, ft, len(self.stack) - len(ft.params),
                    self.fn.append_basic_block(f"{kind}.end"))
        self.frames.append(fr)
        return fr

    def else_(self, ins: Instr, live: bool) -> None:
        fr = self.frames[-1]
        if live:
            self.branch_to(fr, self.pops(len(fr.type.results)), to_end=True)
            self.b.branch(fr.end)
        del self.stack[fr.height:]
        self.stack.extend(fr.if_params)
        fr.has_else = True
        self.b.position_at_end(fr.els)  # type: ignore[arg-type]

    def end(self, live: bool) -> None:
        fr = self.frames.pop()
        if live:
            self.branch_to(fr, self.pops(len(fr.type.results)), to_end=True)
            self.b.branch(fr.end)
        if fr.kind == "if" and not fr.has_else:
            # the missing else arm passes the parameters through as the results
            self.b.position_at_end(fr.els)  # type: ignore[arg-type]
            self.branch_to(fr, fr.if_params, to_end=True)
            self.b.branch(fr.end)
        del self.stack[fr.height:]
        self.b.position_at_end(fr.end)
        if fr.reached:
            self.stack.extend(fr.end_phis)
        elif fr.kind == "function":
            # nothing returns normally: the return block is never reached
            self.stack.extend(ir.Constant(LLTYPES[t], ir.Undefined) for t in fr.type.results)
        else:
            self.b.unreachable()
            self.go_dead()

    def instr(self, ins: Instr) -> None:  # noqa: C901 (one dispatch over the instruction set)
        op, imm, b = ins.op, ins.imm, self.b
        if op in SIGNATURES and op not in _BULK and not op.endswith(".const"):
            n = len(SIGNATURES[op][0])
            self.push(lower_numeric(self, op, self.pops(n)))
        elif op in MEMORY_OPS:
            lower_memory(self, op, imm)  # type: ignore[arg-type]
        elif op == "i32.const" or op == "i64.const":
            self.push(ir.Constant(LLTYPES[op[:3]], imm))
        elif op == "f32.const":
            self.push(ir.Constant(I32, imm).bitcast(LLTYPES["f32"]))
        elif op == "f64.const":
            self.push(ir.Constant(I64, imm).bitcast(LLTYPES["f64"]))
        elif op == "local.get":
            self.push(b.load(self.locals[imm]))  # type: ignore[index]
        elif op == "local.set":
            b.store(self.pop(), self.locals[imm])  # type: ignore[index]
        elif op == "local.tee":
            b.store(self.stack[-1], self.locals[imm])  # type: ignore[index]
        elif op == "global.get":
            self.push(b.load(self.ml.globals[imm]))  # type: ignore[index]
        elif op == "global.set":
            b.store(self.pop(), self.ml.globals[imm])  # type: ignore[index]
        elif op == "drop":
            self.pop()
        elif op in ("select", "select_t"):
            c = self.pop()
            y, x = self.pop(), self.pop()
            self.push(b.select(b.icmp_unsigned("!=", c, ir.Constant(I32, 0)), x, y))
        elif op == "nop":
            pass
        elif op == "unreachable":
            self.trap("unreachable")
            self.go_dead()
        elif op == "block":
            self.enter("block", block_type(self.ml.m, imm, ins.offset))
        elif op == "loop":
            fr = self.enter("loop", block_type(self.ml.m, imm, ins.offset))
            fr.header = self.fn.append_basic_block("loop")
            params = self.pops(len(fr.type.params))
            hb = ir.IRBuilder(fr.header)
            for t, v in zip(fr.type.params, params):
                phi = hb.phi(LLTYPES[t])
                phi.add_incoming(v, b.block)
                fr.header_phis.append(phi)
            b.branch(fr.header)
            b.position_at_end(fr.header)
            self.stack.extend(fr.header_phis)
        elif op == "if":
            cond = self.pop()
            fr = self.enter("if", block_type(self.ml.m, imm, ins.offset))
            fr.if_params = self.stack[fr.height:]
            then = self.fn.append_basic_block("then")
            fr.els = self.fn.append_basic_block("else")
            b.cbranch(b.icmp_unsigned("!=", cond, ir.Constant(I32, 0)), then, fr.els)
            b.position_at_end(then)
        elif op == "else":
            self.else_(ins, live=True)
        elif op == "end":
            self.end(live=True)
        elif op == "br":
            self.br(imm)  # type: ignore[arg-type]
        elif op == "br_if":
            cond = self.pop()
            fr = self.label(imm)  # type: ignore[arg-type]
            values = self.stack[len(self.stack) - len(fr.label_types):]
            self.branch_to(fr, values)
            cont = self.fn.append_basic_block("br_if.else")
            b.cbranch(b.icmp_unsigned("!=", cond, ir.Constant(I32, 0)), self.target(fr), cont)
            b.position_at_end(cont)
        elif op == "br_table":
            self.br_table(imm)  # type: ignore[arg-type]
        elif op == "return":
            self.br(len(self.frames) - 1)
        elif op == "call":
            ft = self.ml.func_types[imm]  # type: ignore[index]
            args = self.pops(len(ft.params))
            # notail: a self-recursive call turned into a loop would never exhaust the stack
            callee = self.ml.funcs[imm]  # type: ignore[index]
            if imm == self.index and self.recurse is not None:
                callee = self.recurse
            res = b.call(callee, args, tail="notail")
            if imm < self.ml.m.num_imported_funcs:  # type: ignore[operator]
                self.check_host()
            self.push_results(ft, res)
        elif op == "call_indirect":
            self.call_indirect(imm[0])  # type: ignore[index]
        elif op == "memory.size":
            _, size = self.memory_fields()
            self.push(b.trunc(b.lshr(size, ir.Constant(I64, 16)), I32))
        elif op == "memory.grow":
            self.push(b.call(self.ml.grow_fn, [b.bitcast(self.ml.memory, PTR), self.pop()]))
        elif op in _BULK:
            lower_bulk(self, op, imm)
        else:
            raise AssertionError(f"no lowering for {op}")

    def push_results(self, ft: FuncType, res: ir.Value) -> None:
        if len(ft.results) == 1:
            self.push(res)
        else:
            for i in range(len(ft.results)):
                self.push(self.b.extract_value(res, i))

    def check_host(self) -> None:
        if self.ml.host_failed is not None:
            flag = self.b.load(self.ml.host_failed)
            self.trap_if(self.b.icmp_unsigned("!=", flag, ir.Constant(I32, 0)), "host")

    def br_table(self, imm: tuple) -> None:
        labels, default = imm
        b = self.b
        index = self.pop()
        arity = len(self.label(default).label_types)
        values = self.stack[len(self.stack) - arity:] if arity else []
        via: dict[int, ir.Block] = {}

        def block_for(depth: int) -> ir.Block:
            fr = self.label(depth)
            if not arity:
                fr.reached = fr.reached or fr.kind != "loop"
                return self.target(fr)
            # one edge block per distinct target, so each phi sees one edge per predecessor
            if depth not in via:
                here = b.block
                via[depth] = blk = self.fn.append_basic_block(f"br_table.{depth}")
                b.position_at_end(blk)
                self.branch_to(fr, values)
                b.branch(self.target(fr))
                b.position_at_end(here)
            return via[depth]

        default_blk = block_for(default)
        cases = [(i, block_for(lab)) for i, lab in enumerate(labels)]
        sw = b.switch(index, default_blk)
        for i, blk in cases:
            sw.add_case(ir.Constant(I32, i), blk)
        self.go_dead()

    def call_indirect(self, type_index: int) -> None:
        b = self.b
        ft = self.ml.m.types[type_index]
        index = self.pop()
        args = self.pops(len(ft.params))
        table = self.ml.table
        entries = b.load(b.gep(table, [ir.Constant(I32, 0), ir.Constant(I32, 0)]))
        size = b.load(b.gep(table, [ir.Constant(I32, 0), ir.Constant(I32, 1)]))
        self.ml.tag_meta(entries)
        self.ml.tag_meta(size)
        idx = b.zext(index, I64)
        self.trap_if(b.icmp_unsigned(">=", idx, size), "undefined")
        entry = b.gep(b.bitcast(entries, ENTRY_T.as_pointer()), [idx])
        fnptr = b.load(b.gep(entry, [ir.Constant(I32, 0), ir.Constant(I32, 1)]))
        self.trap_if(b.icmp_unsigned("==", fnptr, ir.Constant(PTR, None)), "uninitialized")
        sig = b.load(b.gep(entry, [ir.Constant(I32, 0), ir.Constant(I32, 0)]))
        self.trap_if(b.icmp_unsigned("!=", sig, ir.Constant(I64, signature_hash(ft))),
                     "signature")
        fnty = llvm_functype(ft)
        res = b.call(b.bitcast(fnptr, fnty.as_pointer()), args, tail="notail")
        self.check_host()
        self.push_results(ft, res)

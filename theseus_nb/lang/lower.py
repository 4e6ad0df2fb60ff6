"""Stage 3: a checked cell to an `llvmlite.ir.Module` (untargeted, opaque pointers).

Every definition of cell C named f is the symbol `C::f` (external linkage,
privacy is the compiler's business); every panic site calls
`void @"rt::panic"({ptr,i64} msg, {ptr,i64} where, i64 line)` then `unreachable`.
"""
from __future__ import annotations

import ast
import platform

from llvmlite import ir

from .lltypes import I1, I8, I64, PANIC_T, PTR, STR_T, function_type, llvm_type
from .lower_call import CallLowerer
from .lower_expr import ExprLowerer
from .lower_stmt import StmtLowerer
from .parse import CellModel
from .types import BOOL, NONE, STR, ArrayT, StructT, Type


#: The host's stack pointer, as llvm.read_register names it (the host JIT's stack check).
STACK_POINTER = {"x86_64": "rsp", "AMD64": "rsp", "aarch64": "sp", "arm64": "sp"}

#: Unrolling a small self-recursive function into itself (see recursion_clones):
#: at most this many levels, and at most this many AST nodes of copies in all
#: (a function calling itself at k sites gets k + k**2 + ... copies).
RECURSION_CLONE_DEPTH = 4
RECURSION_CLONE_BUDGET = 1100


def _is_zero(c: ir.Constant) -> bool:
    return c.constant is None or (isinstance(c.constant, int) and c.constant == 0)


class CellLowerer:
    """Owns the module: functions, globals, string literals and external declarations."""

    def __init__(self, model: CellModel, checker: object, infos: dict, *, checks: bool = True,
                 stack_limit: str = "") -> None:
        self.model, self.checker, self.infos = model, checker, infos
        self.checks = checks  # False only for the benchmark: measures what safety costs
        self.stack_limit = stack_limit  # name of an i64 global: panic if the stack grows below it
        self.module = ir.Module(name=model.name)
        self.strings: dict = {}
        self.inits = 0  # constant globals of list literals copied into locals
        self.functions: dict = {}
        self.externals: dict = {}
        for name, f in model.functions.items():
            fn = ir.Function(self.module, function_type(f.params, f.ret), f"{model.name}::{name}")
            fn.attributes.add("nounwind")
            fn.attributes.add("noredzone")  # interrupts arrive on the current stack
            self.functions[name] = fn
        self.globals: dict = {}
        for name, g in model.globals.items():
            gv = ir.GlobalVariable(self.module, llvm_type(g.ty), f"{model.name}::{name}")
            gv.initializer = (self.constant(g.value, g.ty) if g.value is not None
                              else ir.Constant(llvm_type(g.ty), None))
            self.globals[name] = gv

    def symbol(self, cell: str, name: str, sig: object) -> ir.Function:
        """Declare (once) another cell's function; the call is what the section graph sees."""
        full = f"{cell}::{name}"
        if full not in self.externals:
            if full in self.module.globals:
                self.externals[full] = self.module.globals[full]
            else:
                self.externals[full] = ir.Function(self.module, function_type(list(sig.params), sig.ret), full)
        return self.externals[full]

    def external_global(self, cell: str, name: str, ty: Type) -> ir.GlobalVariable:
        """Declare (once) another cell's global: a relocation to its data section, an edge
        of the section graph as a call is."""
        full = f"{cell}::{name}"
        if full not in self.module.globals:
            ir.GlobalVariable(self.module, llvm_type(ty), full)  # no initializer: external
        return self.module.globals[full]

    def panic_fn(self) -> ir.Function:
        name = "rt::panic"
        if name in self.module.globals:
            return self.module.globals[name]
        fn = ir.Function(self.module, PANIC_T, name)
        fn.attributes.add("noreturn")
        fn.attributes.add("cold")
        return fn

    def str_eq(self) -> ir.Function:
        """`C::.str_eq`: byte-wise equality of two str values, emitted once per cell when used."""
        name = f"{self.model.name}::.str_eq"
        if name in self.module.globals:
            return self.module.globals[name]
        fn = ir.Function(self.module, ir.FunctionType(I1, [STR_T, STR_T]), name)
        fn.attributes.add("nounwind")
        fn.attributes.add("noredzone")
        entry, loop, body, yes, no = (fn.append_basic_block(n) for n in ("entry", "loop", "body", "yes", "no"))
        b = ir.IRBuilder(entry)
        pa, na = b.extract_value(fn.args[0], 0), b.extract_value(fn.args[0], 1)
        pb, nb = b.extract_value(fn.args[1], 0), b.extract_value(fn.args[1], 1)
        b.cbranch(b.icmp_unsigned("==", na, nb), loop, no)
        b.position_at_end(loop)
        i = b.phi(I64)
        i.add_incoming(ir.Constant(I64, 0), entry)
        b.cbranch(b.icmp_unsigned("<", i, na), body, yes)
        b.position_at_end(body)
        ca = b.load(b.gep(pa, [i], source_etype=I8), typ=I8)
        cb = b.load(b.gep(pb, [i], source_etype=I8), typ=I8)
        i.add_incoming(b.add(i, ir.Constant(I64, 1)), body)
        b.cbranch(b.icmp_unsigned("==", ca, cb), loop, no)
        b.position_at_end(yes)
        b.ret(ir.Constant(I1, 1))
        b.position_at_end(no)
        b.ret(ir.Constant(I1, 0))
        return fn

    def string(self, text: str) -> ir.Constant:
        """A {ptr, len} constant for a literal, sharing one .rodata global per distinct text."""
        if text not in self.strings:
            data = text.encode("ascii")
            arr = ir.ArrayType(I8, len(data))
            gv = ir.GlobalVariable(self.module, arr, f"{self.model.name}::.str.{len(self.strings)}")
            gv.initializer = ir.Constant(arr, bytearray(data))
            gv.global_constant = True
            self.strings[text] = gv
        gv = self.strings[text]
        return ir.Constant(STR_T, [gv, ir.Constant(I64, len(text.encode("ascii")))])

    def initial(self, node: ast.expr, ty: Type) -> ir.GlobalVariable:
        """A constant global `C::.init.N` holding a static initializer, to memcpy from."""
        gv = ir.GlobalVariable(self.module, llvm_type(ty), f"{self.model.name}::.init.{self.inits}")
        gv.initializer = self.constant(node, ty)
        gv.global_constant = True
        self.inits += 1
        return gv

    def constant(self, node: ast.expr, ty: Type) -> ir.Constant:
        """The constant for an initializer that the checker proved static."""
        lt = llvm_type(ty)
        if isinstance(ty, ArrayT):
            if isinstance(node, ast.List):
                vals = [self.constant(e, ty.elem) for e in node.elts]
            else:  # [x] * N or [x for _ in range(N)]: one element repeated
                one = self.constant(node.left.elts[0] if isinstance(node, ast.BinOp) else node.elt, ty.elem)
                if _is_zero(one):
                    return ir.Constant(lt, None)
                vals = [one] * ty.n
            # all zeros: a zeroinitializer (.bss), not N elements of text
            return ir.Constant(lt, None if all(_is_zero(v) for v in vals) else vals)
        if isinstance(ty, StructT):
            vals = [self.constant(a, f) for a, (_, f) in zip(node.args, ty.fields)]
            vals += [ir.Constant(llvm_type(f), None) for _, f in ty.fields[len(node.args):]]
            return ir.Constant(lt, None if all(_is_zero(v) for v in vals) else vals)
        if ty == STR:
            return self.string(node.value)
        if ty == BOOL:
            return ir.Constant(I8, int(bool(node.value)))  # as stored in memory
        return ir.Constant(lt, node.const)

    def lower(self) -> ir.Module:
        for name, info in self.infos.items():
            clones = self.recursion_clones(name, info)
            for fn, recurse in zip([self.functions[name]] + clones, clones + [None]):
                FunctionLowerer(self, info, fn=fn, recurse=recurse).lower()
        return self.module

    def recursion_clones(self, name: str, info: object) -> list:
        """Copies of a small self-recursive function for its own calls to go through.

        LLVM never inlines a function into itself, and a public function is
        `noinline` on the kernel target (each call between public functions must
        stay a relocation a hot swap can redirect).  Its calls to itself may go
        anywhere inside the cell, though: through internal, `alwaysinline` copies
        C::f.rec1 -> C::f.rec2 -> ... -> C::f, so that the recursion is unrolled a
        few levels into f, as gcc -O2 does with recursive inlining.  The copies
        panic with f's name and lines, and vanish once inlined.
        """
        body = info.sig.node
        sites = sum(1 for n in ast.walk(body)
                    if isinstance(n, ast.Call) and getattr(n, "call", None) == ("func", name))
        nodes = sum(1 for _ in ast.walk(body))
        depth = 0
        while sites and depth < RECURSION_CLONE_DEPTH and \
                nodes * sum(sites ** level for level in range(1, depth + 2)) <= RECURSION_CLONE_BUDGET:
            depth += 1
        clones = []
        for level in range(1, depth + 1):
            fn = ir.Function(self.module, self.functions[name].function_type,
                             f"{self.model.name}::{name}.rec{level}")
            fn.linkage = "internal"
            for attr in ("nounwind", "noredzone", "alwaysinline"):
                fn.attributes.add(attr)
            clones.append(fn)
        return clones


class FunctionLowerer(ExprLowerer, CallLowerer, StmtLowerer):
    """Emits one function; expression and statement rules come from the two mixins."""

    def __init__(self, cell: CellLowerer, info: object, *, fn: ir.Function | None = None,
                 recurse: ir.Function | None = None) -> None:
        self.cell, self.info = cell, info
        self.sig = info.sig
        self.fn = fn or cell.functions[self.sig.name]
        self.recurse = recurse  # where this body's calls to its own function go (a clone)
        self.proven: dict = {}  # loop variable -> array length it is known to be below
        self.loops: list = []  # (continue block, break block)
        self.slots: dict = {}
        self.flags: dict = {}  # local -> i1 slot: has it been assigned yet?

    @property
    def where(self) -> ir.Constant:
        """"cell::function" for rt::panic, emitted only if the function can panic."""
        return self.cell.string(f"{self.cell.model.name}::{self.sig.name}")

    def lower(self) -> None:
        self.entry = self.fn.append_basic_block("entry")
        body = self.fn.append_basic_block("body")
        self.builder = ir.IRBuilder(body)
        self.alloca_builder = ir.IRBuilder(self.entry)
        for arg, (pname, _pty) in zip(self.fn.args, self.sig.params):
            arg.name = pname
        for name, local in self.info.locals.items():
            lt = PTR if local.storage == "ref" else llvm_type(local.ty)
            slot = self.alloca_builder.alloca(lt, name=name)
            if local.storage == "value":  # never-assigned reads are deterministic (0)
                self.alloca_builder.store(ir.Constant(lt, None), slot)
            self.slots[name] = slot
        params = {p for p, _ in self.sig.params}
        for name in self.info.locals:
            if name not in params and self.cell.checks:
                # Python raises when a local is read before it is bound (a branch
                # not taken, a loop that never ran); a flag per local makes that a
                # panic.  mem2reg and GVN delete the flag wherever a store dominates.
                flag = self.alloca_builder.alloca(I1, name=f"{name}.bound")
                self.alloca_builder.store(ir.Constant(I1, 0), flag)
                self.flags[name] = flag
        for arg, (pname, pty) in zip(self.fn.args, self.sig.params):
            self.alloca_builder.store(arg if pty != BOOL else self.alloca_builder.zext(arg, I8),
                                      self.slots[pname])
        self.alloca_builder.branch(body)
        if self.cell.stack_limit:
            self.stack_check()
        self.body(self.sig.node.body)
        if not self.builder.block.is_terminated:
            if self.sig.ret == NONE:
                self.builder.ret_void()
            else:
                self.panic("function ended without a return", self.sig.node.body[-1], end=True)

    def stack_check(self) -> None:
        """On the host, runaway recursion must be a panic, not a crash of the Python process."""
        m, b = self.cell.module, self.builder
        limit = m.globals.get(self.cell.stack_limit)
        if limit is None:
            limit = ir.GlobalVariable(m, I64, self.cell.stack_limit)
        sp = STACK_POINTER.get(platform.machine())
        if sp is not None:
            # read the stack pointer itself: llvm.frameaddress would make every
            # function keep a frame pointer (a push, a move and a pop on every call)
            rr = m.globals.get("llvm.read_register.i64") or ir.Function(
                m, ir.FunctionType(I64, [ir.MetaDataType()]), "llvm.read_register.i64")
            here = b.call(rr, [m.add_metadata([ir.MetaDataString(m, sp)])])
        else:
            fa = m.globals.get("llvm.frameaddress.p0") or ir.Function(
                m, ir.FunctionType(PTR, [ir.IntType(32)]), "llvm.frameaddress.p0")
            here = b.ptrtoint(b.call(fa, [ir.Constant(ir.IntType(32), 0)]), I64)
        self.check(b.icmp_unsigned("<", here, b.load(limit, typ=I64)),
                   "stack overflow (recursion too deep)", self.sig.node, always=True)

    def bind(self, name: str) -> None:
        """Record that local `name` now holds a value."""
        if name in self.flags and name not in self.info.global_names:
            self.builder.store(ir.Constant(I1, 1), self.flags[name])

    def check_bound(self, name: str, node: ast.AST) -> None:
        if name in self.flags and name not in self.info.global_names:
            unbound = self.builder.not_(self.builder.load(self.flags[name], typ=I1))
            self.check(unbound, f"local variable '{name}' used before it was assigned", node)

    def load_value(self, ptr: ir.Value, ty: Type) -> ir.Value:
        """Load a scalar of cell type `ty` into a register (a bool's byte becomes an i1)."""
        v = self.builder.load(ptr, typ=llvm_type(ty))
        return self.builder.trunc(v, I1) if ty == BOOL else v

    def store_value(self, v: ir.Value, ptr: ir.Value) -> None:
        """Store a register value to memory (an i1 is stored as the byte 0 or 1)."""
        if v.type == I1:
            v = self.builder.zext(v, I8)
        self.builder.store(v, ptr)

    def temp(self, lt: ir.Type, name: str = "") -> ir.AllocaInstr:
        """A hidden stack slot (loop counters), allocated in the entry block."""
        b = ir.IRBuilder(self.entry)
        b.position_at_start(self.entry)
        return b.alloca(lt, name=name)

    def gep(self, base: ir.Value, indices: list, *, inbounds: bool = True,
            source_etype: ir.Type) -> ir.Value:
        """getelementptr whose result is an opaque ptr (llvmlite would keep the base's typed pointer)."""
        g = self.builder.gep(base, indices, inbounds=inbounds, source_etype=source_etype)
        g.type = PTR
        return g

    def dead_block(self) -> None:
        """After return/break/continue/panic: code that follows goes in an unreachable block."""
        self.builder.position_at_end(self.fn.append_basic_block("dead"))

    def panic(self, message: str, node: ast.AST, end: bool = False) -> None:
        b = self.builder
        b.call(self.cell.panic_fn(), [self.cell.string(message), self.where,
                                      ir.Constant(I64, getattr(node, "lineno", 0))])
        b.unreachable()
        if not end:
            self.dead_block()

    def check(self, failed: ir.Value, message: str, node: ast.AST, *, always: bool = False) -> None:
        """Panic with message when `failed` is true; the likely path continues."""
        if not (self.cell.checks or always):
            return
        b = self.builder
        bad = self.fn.append_basic_block("panic")
        ok = self.fn.append_basic_block("ok")
        br = b.cbranch(failed, bad, ok)
        br.set_weights([1, 1 << 20])
        b.position_at_end(bad)
        self.panic(message, node, end=True)
        b.position_at_end(ok)


def lower_cell(model: CellModel, checker: object, infos: dict, *, checks: bool = True,
               stack_limit: str = "") -> ir.Module:
    """Emit the IR module for a checked cell."""
    return CellLowerer(model, checker, infos, checks=checks, stack_limit=stack_limit).lower()


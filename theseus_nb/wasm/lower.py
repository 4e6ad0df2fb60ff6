"""Lower: a validated ``Module`` -> one ``llvmlite.ir.Module``, with the symbols of ``abi``.

Functions are lowered by ``lower_func``; this module declares what they
refer to (functions, globals, memory, table, the runtime's trap and grow)
and writes ``init``, which evaluates the globals' constant expressions and
copies the active segments into memory and table.
"""

from __future__ import annotations

from llvmlite import ir

from .abi import (ENTRY_T, I32, I64, INIT_DATA_FIT, INIT_ELEM_FIT, LLTYPES, MEMORY_T, PTR,
                  TABLE_T, VOLATILE_PREFIX, Names, llvm_functype, signature_hash)
from .lower_func import FuncLowerer
from .module import Function, Instr, Module

__all__ = ["lower", "ir_text", "ModuleLowerer"]

_LLNAME = {"float": "f32", "double": "f64"}


def lower(m: Module, names: Names, *, triple: str = "") -> ir.Module:
    """Translate a validated module into LLVM IR named by ``names``; turn it into text with
    ``ir_text`` (which adds what llvmlite.ir cannot say)."""
    ml = ModuleLowerer(m, names, triple)
    ml.run()
    ml.ir.strictfp = ml.strict  # type: ignore[attr-defined]
    return ml.ir


def ir_text(module: ir.Module) -> str:
    """The module's IR text with ``strictfp`` on the functions that use constrained float
    intrinsics and on those calls (llvmlite's attribute sets refuse the attribute), and
    ``volatile`` on the loads named VOLATILE_PREFIX (llvmlite cannot make one)."""
    strict = getattr(module, "strictfp", set())
    out = []
    for line in str(module).splitlines():
        if f'%"{VOLATILE_PREFIX}' in line and " = load " in line:
            line = line.replace(" = load ", " = load volatile ", 1)
        if line.startswith("define ") and any(f'@"{n}"(' in line for n in strict):
            # a function attribute goes before the section a kernel cell's function has
            line = (line.replace(' section "', ' strictfp section "', 1) if ' section "' in line
                    else line + " strictfp")
        elif "@\"llvm.experimental.constrained." in line and " call " in line:
            line += " strictfp"
        out.append(line)
    return "\n".join(out) + "\n"


#: Unrolling a small self-recursive function into itself (ModuleLowerer.recursion_clones):
#: at most this many levels, and at most this many wasm instructions of copies in all.
RECURSION_CLONE_DEPTH = 3
RECURSION_CLONE_BUDGET = 400


class ModuleLowerer:
    """The module-wide state the function lowerings share."""

    def __init__(self, m: Module, names: Names, triple: str) -> None:
        self.m, self.names = m, names
        self.strict: set[str] = set()   # functions that use constrained float intrinsics
        self._tags: tuple | None = None
        self._rsp: ir.Value | None = None
        self.volatile: list = []   # loads that must happen as written (guard regions: keep())
        self.ir = ir.Module(name="wasm")
        if triple:
            self.ir.triple = triple
        self.func_types = m.func_types
        nimp = m.num_imported_funcs
        self.funcs = []
        for i, ft in enumerate(self.func_types):
            f = ir.Function(self.ir, llvm_functype(ft), names.func(i))
            if i >= nimp:
                f.linkage = "external"
            self.funcs.append(f)
        self.globals = []
        for i, (t, _mut) in enumerate(m.global_types):
            g = ir.GlobalVariable(self.ir, LLTYPES[t], names.glob(i))
            if i >= len(m.imported("global")):
                g.initializer = ir.Constant(LLTYPES[t], 0)
            self.globals.append(g)
        # a module without a memory (or table) has no symbol for one: nothing to link
        self.memory = (self._struct(names.memory, MEMORY_T, bool(m.memories))
                       if m.all_memories else None)
        self.table = self._struct(names.table, TABLE_T, bool(m.tables)) if m.all_tables else None
        self.trap_fn = self.declare(names.trap, ir.FunctionType(ir.VoidType(), [I32, I32]))
        self.trap_fn.attributes.add("noreturn")
        self.trap_fn.attributes.add("cold")
        self.grow_fn = self.declare(names.memory_grow, ir.FunctionType(I32, [PTR, I32]))
        self.stack_limit = self._external(names.stack_limit, I64)
        self.host_failed = self._external(names.host_failed, I32)
        self.exported = {e.index for e in m.exports if e.kind == "func"}
        self.ready = self.setup_fn = None
        if names.ready and names.setup:
            self.ready = ir.GlobalVariable(self.ir, ir.IntType(8), names.ready)
            self.ready.initializer = ir.Constant(ir.IntType(8), 0)
            self.setup_fn = self.declare(names.setup, ir.FunctionType(ir.VoidType(), []))
        self.datas, self.dropped = [], []
        for i, d in enumerate(m.datas):
            arr = ir.ArrayType(ir.IntType(8), len(d.data))
            g = ir.GlobalVariable(self.ir, arr, names.data(i))
            g.initializer = ir.Constant(arr, bytearray(d.data))
            g.global_constant = True
            g.linkage = "internal"
            self.datas.append(g)
            flag = ir.GlobalVariable(self.ir, ir.IntType(8), names.data(i) + ".dropped")
            flag.initializer = ir.Constant(ir.IntType(8), 0)
            flag.linkage = "internal"
            self.dropped.append(flag)

    def _struct(self, name: str, ty: ir.Type, defined: bool) -> ir.GlobalVariable:
        g = ir.GlobalVariable(self.ir, ty, name)
        if defined and self.names.define_memory:
            g.initializer = ir.Constant(ty, None)
        return g

    def _external(self, name: str | None, ty: ir.Type) -> ir.GlobalVariable | None:
        return ir.GlobalVariable(self.ir, ty, name) if name else None

    def declare(self, name: str, fnty: ir.FunctionType) -> ir.Function:
        """The function ``name`` of this module, declared on first use."""
        existing = self.ir.globals.get(name)
        if existing is not None:
            return existing  # type: ignore[return-value]
        return ir.Function(self.ir, fnty, name)

    def constrained(self, b: ir.IRBuilder, op: str, args: list, ret: ir.Type) -> ir.Value:
        """A float operation LLVM must not fold: ``x - 0.0`` is not ``x`` when x is a
        signalling NaN, whose result wasm wants quieted. The constrained intrinsics keep
        the operation; their functions and calls need ``strictfp`` (added by ``ir_text``)."""
        md = ir.MetaDataType()
        suffix = ".".join(_LLNAME[str(t)] for t in [ret] + ([args[0].type] if op in
                                                        ("fpext", "fptrunc") else []))
        extra = [ir.MetaDataString(self.ir, "fpexcept.strict")]
        if op not in ("fpext",):
            extra.insert(0, ir.MetaDataString(self.ir, "round.tonearest"))
        fn = self.declare(f"llvm.experimental.constrained.{op}.{suffix}",
                          ir.FunctionType(ret, [a.type for a in args] + [md] * len(extra)))
        self.strict.add(b.function.name)
        return b.call(fn, list(args) + extra)

    def float_binop(self, b: ir.IRBuilder, name: str, x: ir.Value, y: ir.Value,
                    llt: ir.Type) -> ir.Value:
        return self.constrained(b, {"add": "fadd", "sub": "fsub", "mul": "fmul",
                                    "div": "fdiv"}[name], [x, y], llt)

    def _tbaa(self) -> tuple:
        # Type-based alias analysis: an access to linear memory never changes a memory's
        # base or size (only memory.grow, a call, does), so LLVM may keep them in
        # registers across a loop of stores instead of reloading them at each access.
        if self._tags is None:
            m = self.ir
            root = m.add_metadata([ir.MetaDataString(m, "wasm tbaa")])
            tags = []
            for name in ("linear memory", "instance fields"):
                node = m.add_metadata([ir.MetaDataString(m, name), root, ir.Constant(I64, 0)])
                tags.append(m.add_metadata([node, node, ir.Constant(I64, 0)]))
            self._tags = tuple(tags)
        return self._tags

    def rsp_name(self) -> ir.Value:
        """The metadata naming x86-64's stack pointer, for llvm.read_register."""
        if self._rsp is None:
            self._rsp = self.ir.add_metadata([ir.MetaDataString(self.ir, "rsp")])
        return self._rsp

    def tag_memory(self, inst: ir.Instruction) -> None:
        """Mark an access to linear memory (see tag_meta)."""
        inst.set_metadata("tbaa", self._tbaa()[0])

    def keep(self, load: ir.LoadInstr) -> None:
        """Make a load volatile (in ir_text): with guard regions its access is its check."""
        load.name = f"{VOLATILE_PREFIX}{len(self.volatile)}"
        self.volatile.append(load)

    def tag_meta(self, inst: ir.Instruction) -> None:
        """Mark a load of a memory's or table's base or size."""
        inst.set_metadata("tbaa", self._tbaa()[1])

    def run(self) -> None:
        nimp = self.m.num_imported_funcs
        for i, f in enumerate(self.m.funcs):
            clones = self.recursion_clones(nimp + i, f)
            for fn, recurse in zip([self.funcs[nimp + i]] + clones, clones + [None]):
                FuncLowerer(self, nimp + i, f, fn=fn, recurse=recurse).lower()
        self._init()

    def recursion_clones(self, index: int, f: Function) -> list:
        """Copies of a small self-recursive function for its own calls to go through.

        LLVM never inlines a function into itself, but gcc -O2 unrolls a recursion such as
        fib's a few levels (recursive inlining). The calls a function makes to itself go
        to internal ``alwaysinline`` copies F.rec1 -> F.rec2 -> ... -> F instead, so LLVM
        inlines the copies and the recursion is unrolled into F; every level keeps its
        checks, and the last calls F for real (so a runaway recursion still exhausts the
        stack). As in the cell language (theseus_nb.lang.lower.recursion_clones).
        """
        sites = sum(1 for ins in f.body if ins.op == "call" and ins.imm == index)
        depth = 0
        while sites and depth < RECURSION_CLONE_DEPTH and len(f.body) * sum(
                sites ** level for level in range(1, depth + 2)) <= RECURSION_CLONE_BUDGET:
            depth += 1
        clones = []
        for level in range(1, depth + 1):
            fn = ir.Function(self.ir, self.funcs[index].function_type,
                             f"{self.funcs[index].name}.rec{level}")
            fn.linkage = "internal"
            fn.attributes.add("alwaysinline")
            clones.append(fn)
        return clones

    def _const(self, b: ir.IRBuilder, expr: tuple[Instr, ...]) -> ir.Value:
        ins = expr[0]
        if ins.op == "global.get":
            return b.load(self.globals[ins.imm])  # type: ignore[index]
        if ins.op == "f32.const":
            return ir.Constant(I32, ins.imm).bitcast(LLTYPES["f32"])
        if ins.op == "f64.const":
            return ir.Constant(I64, ins.imm).bitcast(LLTYPES["f64"])
        return ir.Constant(LLTYPES[ins.op[:3]], ins.imm)

    def _init(self) -> None:
        fn = ir.Function(self.ir, ir.FunctionType(I32, []), self.names.init)
        b = ir.IRBuilder(fn.append_basic_block("entry"))
        nimp = len(self.m.imported("global"))
        for i, g in enumerate(self.m.globals):
            b.store(self._const(b, g.init), self.globals[nimp + i])
        zero = ir.Constant(I32, 0)
        active_elems = [e for e in self.m.elems if e.mode == "active"]
        active_datas = [(i, d) for i, d in enumerate(self.m.datas) if d.mode == "active"]
        elem_offsets = [b.zext(self._const(b, e.offset_expr), I64) for e in active_elems]
        data_offsets = [b.zext(self._const(b, d.offset_expr), I64) for _, d in active_datas]

        def fits(off: ir.Value, n: int, limit_ptr: ir.Value, code: int) -> None:
            limit = b.load(limit_ptr)
            bad = b.icmp_unsigned(">", b.add(off, ir.Constant(I64, n)), limit)
            fail = fn.append_basic_block("does_not_fit")
            ok = fn.append_basic_block("fits")
            b.cbranch(bad, fail, ok)
            b.position_at_end(fail)
            if code:
                b.ret(ir.Constant(I32, code))
            else:
                b.call(self.trap_fn, [ir.Constant(I32, 9 if limit_ptr is table_size else 4),
                                      ir.Constant(I32, -1)])
                b.unreachable()
            b.position_at_end(ok)

        table_size = b.gep(self.table, [zero, ir.Constant(I32, 1)]) if self.m.all_tables else None
        mem_size = b.gep(self.memory, [zero, ir.Constant(I32, 1)]) if self.m.all_memories else None
        early = self.names.semantics == "1.0"
        if early:
            for e, off in zip(active_elems, elem_offsets):
                fits(off, len(e.funcs), table_size, INIT_ELEM_FIT)
            for (_, d), off in zip(active_datas, data_offsets):
                fits(off, len(d.data), mem_size, INIT_DATA_FIT)
        for e, off in zip(active_elems, elem_offsets):
            if not early:
                fits(off, len(e.funcs), table_size, 0)
            entries = b.bitcast(b.load(b.gep(self.table, [zero, zero])), ENTRY_T.as_pointer())
            for k, fi in enumerate(e.funcs):
                slot = b.gep(entries, [b.add(off, ir.Constant(I64, k))])
                if fi is None:
                    value = ir.Constant(ENTRY_T, None)
                else:
                    value = ir.Constant(ENTRY_T, [
                        ir.Constant(I64, signature_hash(self.func_types[fi])),
                        self.funcs[fi].bitcast(PTR)])
                b.store(value, slot)
        for (i, d), off in zip(active_datas, data_offsets):
            if not early:
                fits(off, len(d.data), mem_size, 0)
            base = b.load(b.gep(self.memory, [zero, zero]))
            memcpy = self.declare("llvm.memcpy.p0.p0.i64",
                                  ir.FunctionType(ir.VoidType(), [PTR, PTR, I64, ir.IntType(1)]))
            b.call(memcpy, [b.gep(base, [off]), b.bitcast(self.datas[i], PTR),
                            ir.Constant(I64, len(d.data)), ir.Constant(ir.IntType(1), 0)])
            # an active segment is dropped once it is written (2.0): memory.init then sees 0 bytes
            b.store(ir.Constant(ir.IntType(8), 1), self.dropped[i])
        b.ret(zero)

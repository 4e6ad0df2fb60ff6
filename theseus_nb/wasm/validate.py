"""Validate: the spec's typing rules over a decoded ``Module``; the first broken rule raises
``InvalidError`` at the byte offset of the definition or instruction that breaks it.

Function bodies are checked with the algorithm of the spec's appendix: a stack
of operand types and a stack of control frames; after ``br``, ``return`` or
``unreachable`` the rest of the block is "unreachable" and its stack
polymorphic (an empty stack yields values of any type).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from .errors import InvalidError
from .module import FuncType, Function, Instr, Limits, Module, NUM_TYPES
from .opcodes import MEMORY_OPS, SIGNATURES

__all__ = ["validate", "block_type", "MAX_PAGES"]

MAX_PAGES = 65536          # 4 GiB of 64 KiB pages
UNKNOWN = None             # a value of the polymorphic stack: any type


def validate(m: Module, version: str = "2.0") -> None:
    """Check every rule of the spec; return nothing, raise InvalidError on the first broken one.

    ``version="1.0"`` applies the MVP's rules where 2.0 relaxed them (at most one result).
    """
    nt = len(m.types)
    if version == "1.0":
        for t in m.types:
            if len(t.results) > 1:
                raise InvalidError("invalid result arity: a function returns at most one "
                                   "value in WebAssembly 1.0", 0)
    for imp in m.imports:
        if imp.kind == "func" and not imp.desc < nt:  # type: ignore[operator]
            raise InvalidError(f"unknown type {imp.desc} in import {imp.module}.{imp.name}",
                               imp.offset)
        if imp.kind == "memory":
            _memory_limits(imp.desc, imp.offset)  # type: ignore[arg-type]
        if imp.kind == "table":
            _table_limits(imp.desc, imp.offset)  # type: ignore[arg-type]
    for f in m.funcs:
        if f.type_index >= nt:
            raise InvalidError(f"unknown type {f.type_index}", f.offset)
    for t in m.tables:
        _table_limits(t, 0)
    for mem in m.memories:
        _memory_limits(mem, 0)
    if len(m.all_tables) > 1:
        raise InvalidError("multiple tables (only one is allowed without reference types)", 0)
    if len(m.all_memories) > 1:
        raise InvalidError("multiple memories (only one is allowed)", 0)
    gtypes = m.global_types
    nimported_globals = len(m.imported("global"))
    for g in m.globals:
        _const(m, g.init, g.type, g.offset, nimported_globals)
    nfuncs = len(m.func_types)
    names = set()
    for e in m.exports:
        if e.name in names:
            raise InvalidError(f"duplicate export name {e.name!r}", e.offset)
        names.add(e.name)
        space = {"func": nfuncs, "table": len(m.all_tables), "memory": len(m.all_memories),
                 "global": len(gtypes)}[e.kind]
        if e.index >= space:
            raise InvalidError(f"unknown {e.kind} {e.index} in export {e.name!r}", e.offset)
    if m.start is not None:
        if m.start >= nfuncs:
            raise InvalidError(f"unknown function {m.start} as start function", 0)
        if m.func_types[m.start] != FuncType((), ()):
            raise InvalidError("start function must take no parameters and return nothing", 0)
    for el in m.elems:
        if el.mode == "active":
            if el.table >= len(m.all_tables):
                raise InvalidError(f"unknown table {el.table} in element segment", el.offset)
            _const(m, el.offset_expr, "i32", el.offset, nimported_globals)
        for fi in el.funcs:
            if fi is not None and fi >= nfuncs:
                raise InvalidError(f"unknown function {fi} in element segment", el.offset)
    for d in m.datas:
        if d.mode == "active":
            if d.memory >= len(m.all_memories):
                raise InvalidError(f"unknown memory {d.memory} in data segment", d.offset)
            _const(m, d.offset_expr, "i32", d.offset, nimported_globals)
    ftypes = m.func_types
    for f in m.funcs:
        _Body(m, f, ftypes, gtypes).check()


def _memory_limits(lim: Limits, at: int) -> None:
    if lim.min > MAX_PAGES or (lim.max is not None and lim.max > MAX_PAGES):
        raise InvalidError("memory size must be at most 65536 pages (4GiB)", at)
    if lim.max is not None and lim.min > lim.max:
        raise InvalidError("size minimum must not be greater than maximum", at)


def _table_limits(lim: Limits, at: int) -> None:
    if lim.max is not None and lim.min > lim.max:
        raise InvalidError("size minimum must not be greater than maximum", at)


def _const(m: Module, expr: tuple[Instr, ...], want: str, at: int, nimported: int) -> None:
    if len(expr) != 1:
        where = expr[1].offset if len(expr) > 1 else at
        raise InvalidError(f"type mismatch: a constant expression must give exactly one {want}"
                           if not expr or expr[0].op.endswith("const") or
                           expr[0].op == "global.get" else
                           "constant expression required", where)
    ins = expr[0]
    if ins.op in ("i32.const", "i64.const", "f32.const", "f64.const"):
        got = ins.op[:3]
    elif ins.op == "global.get":
        gtypes = m.global_types
        if ins.imm >= nimported:  # type: ignore[operator]
            raise InvalidError(f"unknown global {ins.imm}: a constant expression may read only "
                               "imported globals", ins.offset)
        got, mut = gtypes[ins.imm]  # type: ignore[index]
        if mut:
            raise InvalidError("constant expression required: global.get of a mutable global",
                               ins.offset)
    elif ins.op in ("ref.null", "ref.func"):
        got = "funcref"
    else:
        raise InvalidError(f"constant expression required, not {ins.op}", ins.offset)
    if got != want:
        raise InvalidError(f"type mismatch: constant expression gives {got}, {want} expected",
                           ins.offset)


def block_type(m: Module, imm: object, at: int) -> FuncType:
    """The type of a block, loop or if: none, one result, or a type index (multi-value)."""
    if imm is None:
        return FuncType((), ())
    if isinstance(imm, str):
        return FuncType((), (imm,))
    if imm >= len(m.types):  # type: ignore[operator]
        raise InvalidError(f"unknown type {imm} as a block type", at)
    return m.types[imm]  # type: ignore[index]


@dataclass
class _Frame:
    op: str
    params: tuple
    results: tuple
    height: int
    unreachable: bool = False

    @property
    def labels(self) -> tuple:
        return self.params if self.op == "loop" else self.results


class _Body:
    def __init__(self, m: Module, f: Function, ftypes: list[FuncType],
                 gtypes: list[tuple[str, bool]]) -> None:
        self.m, self.f, self.ftypes, self.gtypes = m, f, ftypes, gtypes
        self.type = m.types[f.type_index]
        self.locals = list(self.type.params) + f.locals
        self.vals: list[Optional[str]] = []
        self.ctrls: list[_Frame] = []
        self.at = f.offset

    def fail(self, message: str) -> InvalidError:
        return InvalidError(message, self.at)

    def push(self, t: Optional[str]) -> None:
        self.vals.append(t)

    def pop(self, want: Optional[str] = UNKNOWN) -> Optional[str]:
        fr = self.ctrls[-1]
        if len(self.vals) == fr.height:
            if fr.unreachable:
                return want
            raise self.fail(f"type mismatch: the operand stack is empty, "
                            f"{want or 'a value'} expected")
        got = self.vals.pop()
        if got is not UNKNOWN and want is not UNKNOWN and got != want:
            raise self.fail(f"type mismatch: {got} on the operand stack, {want} expected")
        return got if got is not UNKNOWN else want

    def pops(self, types: tuple) -> None:
        for t in reversed(types):
            self.pop(t)

    def pushes(self, types: tuple) -> None:
        self.vals.extend(types)

    def enter(self, op: str, ft: FuncType) -> None:
        self.ctrls.append(_Frame(op, ft.params, ft.results, len(self.vals)))
        self.pushes(ft.params)

    def leave(self) -> _Frame:
        fr = self.ctrls[-1]
        self.pops(fr.results)
        if len(self.vals) != fr.height:
            raise self.fail(f"type mismatch: {len(self.vals) - fr.height} values left on the "
                            f"operand stack at the end of a {fr.op}")
        self.ctrls.pop()
        return fr

    def unreachable(self) -> None:
        fr = self.ctrls[-1]
        del self.vals[fr.height:]
        fr.unreachable = True

    def label(self, depth: int) -> _Frame:
        if depth >= len(self.ctrls):
            raise self.fail(f"unknown label {depth}")
        return self.ctrls[-1 - depth]

    def memory(self) -> None:
        if not self.m.all_memories:
            raise self.fail("unknown memory 0")

    def check(self) -> None:
        self.ctrls.append(_Frame("function", (), self.type.results, 0))
        for ins in self.f.body:
            self.at = ins.offset
            self.instr(ins)
            if not self.ctrls:
                return
        raise self.fail("function body does not end with end")  # decode guarantees it does

    def instr(self, ins: Instr) -> None:
        op, imm = ins.op, ins.imm
        if op in SIGNATURES and op not in ("memory.init", "data.drop", "memory.copy",
                                           "memory.fill"):
            ins_t, out_t = SIGNATURES[op]
            self.pops(ins_t)
            self.pushes(out_t)
        elif op in MEMORY_OPS:
            self.memory()
            ty, size = MEMORY_OPS[op]
            if 1 << imm[0] > size:  # type: ignore[index]
                raise self.fail("alignment must not be larger than natural")
            if ".store" in op:
                self.pop(ty)
                self.pop("i32")
            else:
                self.pop("i32")
                self.push(ty)
        elif op == "nop":
            pass
        elif op == "unreachable":
            self.unreachable()
        elif op in ("block", "loop"):
            ft = block_type(self.m, imm, ins.offset)
            self.pops(ft.params)
            self.enter(op, ft)
        elif op == "if":
            ft = block_type(self.m, imm, ins.offset)
            self.pop("i32")
            self.pops(ft.params)
            self.enter(op, ft)
        elif op == "else":
            if self.ctrls[-1].op != "if":
                raise self.fail("else without a matching if")
            fr = self.leave()
            self.enter("else", FuncType(fr.params, fr.results))
        elif op == "end":
            fr = self.leave()
            if fr.op == "if" and fr.params != fr.results:
                raise self.fail("type mismatch: an if without else must leave the types it "
                                "takes")
            self.pushes(fr.results)
        elif op == "br":
            self.pops(self.label(imm).labels)  # type: ignore[arg-type]
            self.unreachable()
        elif op == "br_if":
            self.pop("i32")
            types = self.label(imm).labels  # type: ignore[arg-type]
            self.pops(types)
            self.pushes(types)
        elif op == "br_table":
            labels, default = imm  # type: ignore[misc]
            self.pop("i32")
            arity = len(self.label(default).labels)
            for lab in labels:
                types = self.label(lab).labels
                if len(types) != arity:
                    raise self.fail("type mismatch: br_table labels of different arities")
                popped = [self.pop(t) for t in reversed(types)]
                self.pushes(tuple(reversed(popped)))
            self.pops(self.label(default).labels)
            self.unreachable()
        elif op == "return":
            self.pops(self.type.results)
            self.unreachable()
        elif op == "call":
            if imm >= len(self.ftypes):  # type: ignore[operator]
                raise self.fail(f"unknown function {imm}")
            ft = self.ftypes[imm]  # type: ignore[index]
            self.pops(ft.params)
            self.pushes(ft.results)
        elif op == "call_indirect":
            ti, table = imm  # type: ignore[misc]
            if table >= len(self.m.all_tables):
                raise self.fail(f"unknown table {table}")
            if ti >= len(self.m.types):
                raise self.fail(f"unknown type {ti}")
            ft = self.m.types[ti]
            self.pop("i32")
            self.pops(ft.params)
            self.pushes(ft.results)
        elif op == "drop":
            self.pop()
        elif op == "select":
            self.pop("i32")
            t1 = self.pop()
            t2 = self.pop(t1)
            t = t1 if t1 is not UNKNOWN else t2
            if t not in NUM_TYPES + (UNKNOWN,):
                raise self.fail("type mismatch: select without a type takes numbers only")
            self.push(t)
        elif op == "select_t":
            if len(imm) != 1:  # type: ignore[arg-type]
                raise self.fail("invalid result arity: select takes exactly one type")
            t = imm[0]  # type: ignore[index]
            self.pop("i32")
            self.pop(t)
            self.pop(t)
            self.push(t)
        elif op in ("local.get", "local.set", "local.tee"):
            if imm >= len(self.locals):  # type: ignore[operator]
                raise self.fail(f"unknown local {imm}")
            t = self.locals[imm]  # type: ignore[index]
            if op == "local.get":
                self.push(t)
            else:
                self.pop(t)
                if op == "local.tee":
                    self.push(t)
        elif op in ("global.get", "global.set"):
            if imm >= len(self.gtypes):  # type: ignore[operator]
                raise self.fail(f"unknown global {imm}")
            t, mut = self.gtypes[imm]  # type: ignore[index]
            if op == "global.get":
                self.push(t)
            else:
                if not mut:
                    raise self.fail(f"global is immutable: global.set of global {imm}")
                self.pop(t)
        elif op == "memory.size":
            self.memory()
            self.push("i32")
        elif op == "memory.grow":
            self.memory()
            self.pop("i32")
            self.push("i32")
        elif op in ("memory.copy", "memory.fill"):
            self.memory()
            self.pops(SIGNATURES[op][0])
        elif op in ("memory.init", "data.drop"):
            if self.m.data_count is None:
                raise self.fail(f"data count section required for {op}")
            if imm >= self.m.data_count:  # type: ignore[operator]
                raise self.fail(f"unknown data segment {imm}")
            if op == "memory.init":
                self.memory()
                self.pops(SIGNATURES[op][0])
        else:
            raise self.fail(f"{op} is not supported (reference types)")

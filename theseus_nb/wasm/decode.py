"""Decode: a module's bytes -> ``Module``, refusing anything malformed with its byte offset.

This stage checks the binary format only (magic, section order and sizes,
LEB128s, opcodes, UTF-8 names); the typing rules are ``validate``'s.
"""

from __future__ import annotations

import struct

from .errors import MalformedError
from .module import Data, Elem, Export, Function, FuncType, Global, Import, Instr, Limits, Module
from .opcodes import FC_OPCODES, OPCODES
from .reader import Reader

__all__ = ["decode", "VALTYPES"]

MAGIC, VERSION = b"\0asm", b"\x01\0\0\0"
VALTYPES = {0x7F: "i32", 0x7E: "i64", 0x7D: "f32", 0x7C: "f64", 0x70: "funcref",
            0x6F: "externref"}
#: section id -> its place in the required order (custom sections, id 0, go anywhere)
_ORDER = {1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 6: 6, 7: 7, 8: 8, 9: 9, 12: 10, 10: 11, 11: 12}
_KINDS = {0: "func", 1: "table", 2: "memory", 3: "global"}
#: a function may declare at most this many locals (the spec's bound is 2**32 - 1; a body
#: with more than this is refused as too large to translate rather than run out of memory)
MAX_LOCALS = 50_000


def decode(data: bytes) -> Module:
    """Decode a binary module; raise MalformedError naming the byte offset of the first problem."""
    r = Reader(bytes(data))
    if bytes(data[:4]) != MAGIC:
        raise MalformedError("magic header not detected: a wasm binary starts with \\0asm", 0)
    if len(data) < 8 or data[4:8] != VERSION:
        raise MalformedError("unknown binary version: only version 1 is supported", 4)
    r.pos = 8
    m = Module()
    last = 0
    func_types: list[int] = []
    while not r.at_end():
        sec_start = r.pos
        sid = r.byte()
        size = r.u32()
        body_start = r.pos
        if size > r.end - r.pos:
            raise MalformedError(f"section size {size} runs past the end of the module "
                                 f"(unexpected end)", sec_start)
        s = Reader(r.data, r.pos, r.pos + size)
        if sid == 0:
            _custom(s, m)
        elif sid not in _ORDER:
            raise MalformedError(f"malformed section id {sid}", sec_start)
        else:
            if _ORDER[sid] <= last:
                raise MalformedError(f"unexpected section {sid}: sections out of order or "
                                     "repeated (junk after last section)", sec_start)
            last = _ORDER[sid]
            if sid == 1:
                m.types = [_functype(s) for _ in range(s.count("type"))]
            elif sid == 2:
                m.imports = [_import(s) for _ in range(s.count("import"))]
            elif sid == 3:
                func_types = [s.u32() for _ in range(s.count("function"))]
            elif sid == 4:
                m.tables = [_tabletype(s) for _ in range(s.count("table"))]
            elif sid == 5:
                m.memories = [_limits(s) for _ in range(s.count("memory"))]
            elif sid == 6:
                m.globals = [_global(s) for _ in range(s.count("global"))]
            elif sid == 7:
                m.exports = [_export(s) for _ in range(s.count("export"))]
            elif sid == 8:
                m.start = s.u32()
            elif sid == 9:
                m.elems = [_elem(s) for _ in range(s.count("element segment"))]
            elif sid == 12:
                m.data_count = s.u32()
            elif sid == 10:
                m.funcs = _code(s, func_types)
            elif sid == 11:
                n = s.count("data segment")
                if m.data_count is not None and n != m.data_count:
                    raise MalformedError(f"data count and data section have inconsistent "
                                         f"lengths ({m.data_count} and {n})", sec_start)
                m.datas = [_data(s) for _ in range(n)]
            if s.pos != s.end:
                raise MalformedError(f"section size mismatch: section {sid} ends at byte "
                                     f"{s.pos}, its size says {s.end}", s.pos)
        r.pos = body_start + size
    if func_types and not m.funcs:
        raise MalformedError("function and code section have inconsistent lengths "
                             f"({len(func_types)} functions, no code section)", len(data))
    if m.data_count is not None and m.data_count and not m.datas:
        raise MalformedError("data count and data section have inconsistent lengths", len(data))
    return m


def _custom(s: Reader, m: Module) -> None:
    name = s.name()
    if name == "name":
        try:
            _names(Reader(s.data, s.pos, s.end), m)
        except MalformedError:
            pass  # a custom section never makes a module malformed beyond its own name
    s.pos = s.end


def _names(s: Reader, m: Module) -> None:
    while not s.at_end():
        sub, size = s.byte(), s.u32()
        end = s.pos + size
        if sub == 1:
            for _ in range(s.u32()):
                idx = s.u32()
                m.names[idx] = s.name()
        s.pos = end


def _valtype(s: Reader) -> str:
    at = s.pos
    b = s.byte()
    if b not in VALTYPES:
        raise s.fail(f"malformed value type 0x{b:02x}", at)
    return VALTYPES[b]


def _functype(s: Reader) -> FuncType:
    at = s.pos
    if s.byte() != 0x60:
        raise s.fail("malformed function type: expected the byte 0x60", at)
    params = tuple(_valtype(s) for _ in range(s.count("parameter")))
    results = tuple(_valtype(s) for _ in range(s.count("result")))
    return FuncType(params, results)


def _limits(s: Reader) -> Limits:
    at = s.pos
    flag = s.byte()
    if flag == 0:
        return Limits(s.u32(), None)
    if flag == 1:
        return Limits(s.u32(), s.u32())
    raise s.fail(f"malformed limits flag 0x{flag:02x} (integer too large or shared memory, "
                 "which is not supported)", at)


def _tabletype(s: Reader) -> Limits:
    at = s.pos
    t = _valtype(s)
    if t not in ("funcref", "externref"):
        raise s.fail(f"malformed table element type {t}", at)
    if t == "externref":
        raise s.fail("externref tables are not supported (reference types)", at)
    return _limits(s)


def _import(s: Reader) -> Import:
    at = s.pos
    module, name = s.name(), s.name()
    kat = s.pos
    kind = s.byte()
    if kind == 0:
        desc: object = s.u32()
    elif kind == 1:
        desc = _tabletype(s)
    elif kind == 2:
        desc = _limits(s)
    elif kind == 3:
        desc = _globaltype(s)
    else:
        raise s.fail(f"malformed import kind {kind}", kat)
    return Import(module, name, _KINDS[kind], desc, at)


def _globaltype(s: Reader) -> tuple[str, bool]:
    t = _valtype(s)
    at = s.pos
    mut = s.byte()
    if mut not in (0, 1):
        raise s.fail(f"malformed mutability 0x{mut:02x}", at)
    return (t, bool(mut))


def _global(s: Reader) -> Global:
    at = s.pos
    t, mut = _globaltype(s)
    return Global(t, mut, _const_expr(s), at)


def _export(s: Reader) -> Export:
    at = s.pos
    name = s.name()
    kat = s.pos
    kind = s.byte()
    if kind not in _KINDS:
        raise s.fail(f"malformed export kind {kind}", kat)
    return Export(name, _KINDS[kind], s.u32(), at)


def _const_expr(s: Reader) -> tuple[Instr, ...]:
    """A constant expression: its instructions, the closing ``end`` dropped."""
    out = []
    while True:
        ins = _instr(s)
        if ins.op == "end":
            return tuple(out)
        out.append(ins)


def _elem(s: Reader) -> Elem:
    at = s.pos
    flags = s.u32()
    if flags > 7:
        raise s.fail(f"malformed elements segment kind {flags}", at)
    table, offset_expr, mode = 0, (), "active"
    if flags & 1:
        mode = "declarative" if flags & 2 else "passive"
    elif flags & 2:
        table = s.u32()
    if mode == "active":
        offset_expr = _const_expr(s)
    if flags & 4:
        if flags & 3:
            _reftype(s)
        funcs = []
        for _ in range(s.count("element")):
            e = _const_expr(s)
            funcs.append(e[0].imm if len(e) == 1 and e[0].op == "ref.func" else
                         (None if len(e) == 1 and e[0].op == "ref.null" else
                          _bad_elem(s, e)))
    else:
        if flags & 3:
            kat = s.pos
            if s.byte() != 0:
                raise s.fail("malformed element kind (only funcref, 0x00)", kat)
        funcs = [s.u32() for _ in range(s.count("element"))]
    return Elem(mode, table, offset_expr, tuple(funcs), at)


def _bad_elem(s: Reader, e: tuple) -> None:
    at = e[0].offset if e else s.pos
    raise MalformedError("an element expression must be one ref.func or ref.null", at)


def _reftype(s: Reader) -> str:
    at = s.pos
    t = _valtype(s)
    if t != "funcref":
        raise s.fail(f"malformed reference type {t} (only funcref is supported)", at)
    return t


def _data(s: Reader) -> Data:
    at = s.pos
    flags = s.u32()
    if flags > 2:
        raise s.fail(f"malformed data segment kind {flags}", at)
    memory = s.u32() if flags == 2 else 0
    expr = () if flags == 1 else _const_expr(s)
    return Data("passive" if flags == 1 else "active", memory, expr, s.bytes(s.u32()), at)


def _code(s: Reader, func_types: list[int]) -> list[Function]:
    at = s.pos
    n = s.count("code")
    if n != len(func_types):
        raise s.fail(f"function and code section have inconsistent lengths "
                     f"({len(func_types)} and {n})", at)
    funcs = []
    for ti in func_types:
        size_at = s.pos
        size = s.u32()
        if size > s.end - s.pos:
            raise s.fail("unexpected end: a function body runs past its section", size_at)
        body = Reader(s.data, s.pos, s.pos + size)
        f = Function(ti, offset=size_at)
        total = 0
        for _ in range(body.count("local declaration")):
            cat = body.pos
            cnt = body.u32()
            total += cnt
            if total > 0xFFFFFFFF:
                raise body.fail("too many locals (more than 2**32 - 1)", cat)
            t = _valtype(body)
            if total > MAX_LOCALS:
                raise body.fail(f"too many locals: {total} (this translator takes up to "
                                f"{MAX_LOCALS})", cat)
            f.locals += [t] * cnt
        depth = 0
        while True:
            if body.at_end():
                raise body.fail("unexpected end of function body: END opcode expected")
            ins = _instr(body)
            f.body.append(ins)
            if ins.op in ("block", "loop", "if"):
                depth += 1
            elif ins.op == "end":
                if depth == 0:
                    break
                depth -= 1
        if body.pos != body.end:
            raise body.fail("section size mismatch: bytes after the function's final end")
        s.pos = body.end
        funcs.append(f)
    return funcs


def _instr(s: Reader) -> Instr:
    at = s.pos
    code = s.byte()
    if code == 0xFC:
        sub = s.u32()
        if sub not in FC_OPCODES:
            raise s.fail(f"illegal opcode 0xfc {sub}", at)
        name, kind = FC_OPCODES[sub]
    elif code == 0xD0:
        return Instr("ref.null", _reftype(s), at)
    elif code == 0xD2:
        return Instr("ref.func", s.u32(), at)
    elif code in OPCODES:
        name, kind = OPCODES[code]
    else:
        raise s.fail(f"illegal opcode 0x{code:02x}", at)
    imm: object = None
    if kind == "block":
        b = s.data[s.pos] if s.pos < s.end else -1
        if b == 0x40:
            s.pos += 1
        elif b in VALTYPES:
            imm = _valtype(s)
        else:
            bat = s.pos
            imm = s.s33()
            if imm < 0:
                raise s.fail("malformed block type", bat)
    elif kind == "idx":
        imm = s.u32()
    elif kind == "br_table":
        labels = [s.u32() for _ in range(s.count("br_table label"))]
        imm = (tuple(labels), s.u32())
    elif kind == "call_indirect":
        imm = (s.u32(), s.u32())  # type index, table index (0x00 in the MVP)
    elif kind == "memarg":
        imm = (s.u32(), s.u32())  # alignment log2, offset
    elif kind == "zero":
        zat = s.pos
        if s.byte() != 0:
            raise s.fail("zero byte expected (memory index)", zat)
    elif kind == "memory.init":
        idx = s.u32()
        zat = s.pos
        if s.byte() != 0:
            raise s.fail("zero byte expected (memory index)", zat)
        imm = idx
    elif kind == "memory.copy":
        for _ in range(2):
            zat = s.pos
            if s.byte() != 0:
                raise s.fail("zero byte expected (memory index)", zat)
    elif kind == "i32":
        imm = s.s32()
    elif kind == "i64":
        imm = s.s64()
    elif kind == "f32":
        imm = struct.unpack("<I", s.bytes(4))[0]
    elif kind == "f64":
        imm = struct.unpack("<Q", s.bytes(8))[0]
    elif kind == "select_t":
        imm = tuple(_valtype(s) for _ in range(s.count("select type")))
    return Instr(name, imm, at)

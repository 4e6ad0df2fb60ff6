"""The instruction set: opcode byte -> name and immediate kind, and the operand types
of every instruction whose typing is fixed (the numeric ones, loads and stores).

Immediate kinds: "" none, "block" a block type, "idx" one index, "br_table",
"call_indirect", "memarg", "zero" a reserved 0x00 byte, "i32"/"i64" signed
LEB128 constants, "f32"/"f64" raw little-endian bits, "select_t" a type vector,
"memory.init"/"memory.copy" their index pairs.
"""

from __future__ import annotations

__all__ = ["OPCODES", "FC_OPCODES", "SIGNATURES", "MEMORY_OPS"]

OPCODES: dict[int, tuple[str, str]] = {
    0x00: ("unreachable", ""), 0x01: ("nop", ""), 0x02: ("block", "block"),
    0x03: ("loop", "block"), 0x04: ("if", "block"), 0x05: ("else", ""), 0x0B: ("end", ""),
    0x0C: ("br", "idx"), 0x0D: ("br_if", "idx"), 0x0E: ("br_table", "br_table"),
    0x0F: ("return", ""), 0x10: ("call", "idx"), 0x11: ("call_indirect", "call_indirect"),
    0x1A: ("drop", ""), 0x1B: ("select", ""), 0x1C: ("select_t", "select_t"),
    0x20: ("local.get", "idx"), 0x21: ("local.set", "idx"), 0x22: ("local.tee", "idx"),
    0x23: ("global.get", "idx"), 0x24: ("global.set", "idx"),
    0x3F: ("memory.size", "zero"), 0x40: ("memory.grow", "zero"),
    0x41: ("i32.const", "i32"), 0x42: ("i64.const", "i64"),
    0x43: ("f32.const", "f32"), 0x44: ("f64.const", "f64"),
}

#: Loads and stores: name -> (value type, access bytes, natural alignment log2).
MEMORY_OPS: dict[str, tuple[str, int]] = {}
_MEM = [
    (0x28, "i32.load", "i32", 4), (0x29, "i64.load", "i64", 8), (0x2A, "f32.load", "f32", 4),
    (0x2B, "f64.load", "f64", 8), (0x2C, "i32.load8_s", "i32", 1), (0x2D, "i32.load8_u", "i32", 1),
    (0x2E, "i32.load16_s", "i32", 2), (0x2F, "i32.load16_u", "i32", 2),
    (0x30, "i64.load8_s", "i64", 1), (0x31, "i64.load8_u", "i64", 1),
    (0x32, "i64.load16_s", "i64", 2), (0x33, "i64.load16_u", "i64", 2),
    (0x34, "i64.load32_s", "i64", 4), (0x35, "i64.load32_u", "i64", 4),
    (0x36, "i32.store", "i32", 4), (0x37, "i64.store", "i64", 8), (0x38, "f32.store", "f32", 4),
    (0x39, "f64.store", "f64", 8), (0x3A, "i32.store8", "i32", 1), (0x3B, "i32.store16", "i32", 2),
    (0x3C, "i64.store8", "i64", 1), (0x3D, "i64.store16", "i64", 2), (0x3E, "i64.store32", "i64", 4),
]
for _code, _name, _ty, _size in _MEM:
    OPCODES[_code] = (_name, "memarg")
    MEMORY_OPS[_name] = (_ty, _size)

#: name -> (operand types, result types), for instructions whose typing never varies.
SIGNATURES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {}


def _numeric(first: int, ty: str, names: str, ins: int, out: str = "") -> None:
    # ins: how many operands of type ty; out: result type (ty when empty)
    for i, n in enumerate(names.split()):
        OPCODES[first + i] = (f"{ty}.{n}", "")
        SIGNATURES[f"{ty}.{n}"] = ((ty,) * ins, (out or ty,))


for _ty, _eqz, _cmp in (("i32", 0x45, 0x46), ("i64", 0x50, 0x51)):
    _numeric(_eqz, _ty, "eqz", 1, "i32")
    _numeric(_cmp, _ty, "eq ne lt_s lt_u gt_s gt_u le_s le_u ge_s ge_u", 2, "i32")
_numeric(0x5B, "f32", "eq ne lt gt le ge", 2, "i32")
_numeric(0x61, "f64", "eq ne lt gt le ge", 2, "i32")
for _ty, _un in (("i32", 0x67), ("i64", 0x79)):
    _numeric(_un, _ty, "clz ctz popcnt", 1)
    _numeric(_un + 3, _ty, "add sub mul div_s div_u rem_s rem_u and or xor shl shr_s shr_u "
                           "rotl rotr", 2)
for _ty, _un in (("f32", 0x8B), ("f64", 0x99)):
    _numeric(_un, _ty, "abs neg ceil floor trunc nearest sqrt", 1)
    _numeric(_un + 7, _ty, "add sub mul div min max copysign", 2)

_CONVERSIONS = [
    (0xA7, "i32.wrap_i64"), (0xA8, "i32.trunc_f32_s"), (0xA9, "i32.trunc_f32_u"),
    (0xAA, "i32.trunc_f64_s"), (0xAB, "i32.trunc_f64_u"), (0xAC, "i64.extend_i32_s"),
    (0xAD, "i64.extend_i32_u"), (0xAE, "i64.trunc_f32_s"), (0xAF, "i64.trunc_f32_u"),
    (0xB0, "i64.trunc_f64_s"), (0xB1, "i64.trunc_f64_u"), (0xB2, "f32.convert_i32_s"),
    (0xB3, "f32.convert_i32_u"), (0xB4, "f32.convert_i64_s"), (0xB5, "f32.convert_i64_u"),
    (0xB6, "f32.demote_f64"), (0xB7, "f64.convert_i32_s"), (0xB8, "f64.convert_i32_u"),
    (0xB9, "f64.convert_i64_s"), (0xBA, "f64.convert_i64_u"), (0xBB, "f64.promote_f32"),
    (0xBC, "i32.reinterpret_f32"), (0xBD, "i64.reinterpret_f64"), (0xBE, "f32.reinterpret_i32"),
    (0xBF, "f64.reinterpret_i64"),
    # sign-extension operators
    (0xC0, "i32.extend8_s"), (0xC1, "i32.extend16_s"), (0xC2, "i64.extend8_s"),
    (0xC3, "i64.extend16_s"), (0xC4, "i64.extend32_s"),
]


def _conversion_types(name: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    # "i32.trunc_f32_s": result i32, operand f32; "i64.extend8_s": i64 -> i64
    out, rest = name.split(".")
    for t in ("i32", "i64", "f32", "f64"):
        if f"_{t}" in rest:
            return (t,), (out,)
    if rest.startswith("reinterpret"):
        return ({"i32": "f32", "i64": "f64", "f32": "i32", "f64": "i64"}[out],), (out,)
    return (out,), (out,)


for _code, _name in _CONVERSIONS:
    OPCODES[_code] = (_name, "")
    SIGNATURES[_name] = _conversion_types(_name)

#: The 0xFC prefix: non-trapping float-to-int conversions and bulk memory.
FC_OPCODES: dict[int, tuple[str, str]] = {}
for _i, _name in enumerate(["i32.trunc_sat_f32_s", "i32.trunc_sat_f32_u", "i32.trunc_sat_f64_s",
                            "i32.trunc_sat_f64_u", "i64.trunc_sat_f32_s", "i64.trunc_sat_f32_u",
                            "i64.trunc_sat_f64_s", "i64.trunc_sat_f64_u"]):
    FC_OPCODES[_i] = (_name, "")
    SIGNATURES[_name] = _conversion_types(_name)
FC_OPCODES[8] = ("memory.init", "memory.init")
FC_OPCODES[9] = ("data.drop", "idx")
FC_OPCODES[10] = ("memory.copy", "memory.copy")
FC_OPCODES[11] = ("memory.fill", "zero")
SIGNATURES["memory.init"] = (("i32", "i32", "i32"), ())
SIGNATURES["memory.copy"] = (("i32", "i32", "i32"), ())
SIGNATURES["memory.fill"] = (("i32", "i32", "i32"), ())
SIGNATURES["data.drop"] = ((), ())
for _name in ("i32.const", "i64.const", "f32.const", "f64.const"):
    SIGNATURES[_name] = ((), (_name[:3],))

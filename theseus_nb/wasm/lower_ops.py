"""Lowering of the instructions without control flow: numbers, conversions, memory
(loads, stores and the bulk operations).

Each wasm operator becomes a few LLVM instructions; the traps the spec asks
for (division by zero, signed overflow, invalid conversions, out-of-bounds
memory) are explicit compare-and-branch to a call of the runtime's trap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from llvmlite import ir

from .abi import I32, I64, LLTYPES, PTR
from .opcodes import MEMORY_OPS

if TYPE_CHECKING:
    from .lower_func import FuncLowerer

__all__ = ["lower_numeric", "lower_memory", "lower_bulk", "TRAP"]

#: trap kind -> the number passed to the runtime's trap (the index in errors.TRAP_KINDS)
TRAP = {"unreachable": 0, "div0": 1, "overflow": 2, "conversion": 3, "memory": 4,
        "undefined": 5, "uninitialized": 6, "signature": 7, "stack": 8, "table": 9,
        "host": 10}

_ICMP = {"eq": ("==", True), "ne": ("!=", True), "lt_s": ("<", True), "lt_u": ("<", False),
         "gt_s": (">", True), "gt_u": (">", False), "le_s": ("<=", True), "le_u": ("<=", False),
         "ge_s": (">=", True), "ge_u": (">=", False)}
_FCMP = {"eq": "==", "lt": "<", "gt": ">", "le": "<=", "ge": ">="}
_INTRINSIC_UNARY = {"clz": "ctlz", "ctz": "cttz", "popcnt": "ctpop", "abs": "fabs",
                    "ceil": "ceil", "floor": "floor", "trunc": "trunc", "nearest": "roundeven",
                    "sqrt": "sqrt"}
_LLNAME = {"i32": "i32", "i64": "i64", "f32": "f32", "f64": "f64"}


def _bits(t: str) -> int:
    return 32 if t in ("i32", "f32") else 64


def _float_limits(src: str, dst_bits: int, signed: bool) -> tuple[float, bool, float]:
    """(lo, lo inclusive?, hi): a float x truncates into the integer range iff it is above
    (or at) lo and below hi; both bounds are exact in the source float type."""
    if not signed:
        return -1.0, False, float(2 ** dst_bits)
    half = float(2 ** (dst_bits - 1))
    if src == "f64" and dst_bits == 32:
        return -half - 1.0, False, half     # -2^31 - 1 is exact in f64
    return -half, True, half                # the float just below -2^(n-1) is out of range


def lower_numeric(fl: "FuncLowerer", op: str, args: list) -> ir.Value:
    """The value of a numeric instruction applied to ``args`` (in operand order)."""
    b = fl.b
    ty, name = op.split(".", 1)
    if ty in ("i32", "i64"):
        llt = LLTYPES[ty]
        if name == "eqz":
            return b.zext(b.icmp_unsigned("==", args[0], ir.Constant(llt, 0)), I32)
        if name in _ICMP:
            cmp, signed = _ICMP[name]
            f = b.icmp_signed if signed else b.icmp_unsigned
            return b.zext(f(cmp, args[0], args[1]), I32)
        if name in ("clz", "ctz"):
            return b.call(fl.intrinsic(f"llvm.{_INTRINSIC_UNARY[name]}.{ty}", llt,
                                       [llt, ir.IntType(1)]), [args[0], ir.Constant(ir.IntType(1), 0)])
        if name == "popcnt":
            return b.call(fl.intrinsic(f"llvm.ctpop.{ty}", llt, [llt]), [args[0]])
        x = args[0]
        y = args[1] if len(args) > 1 else None
        simple = {"add": b.add, "sub": b.sub, "mul": b.mul, "and": b.and_, "or": b.or_,
                  "xor": b.xor}
        if name in simple:
            return simple[name](x, y)
        if name in ("shl", "shr_s", "shr_u"):
            n = b.and_(y, ir.Constant(llt, _bits(ty) - 1))
            return {"shl": b.shl, "shr_s": b.ashr, "shr_u": b.lshr}[name](x, n)
        if name in ("rotl", "rotr"):
            fn = fl.intrinsic(f"llvm.fsh{'l' if name == 'rotl' else 'r'}.{ty}", llt,
                              [llt, llt, llt])
            return b.call(fn, [x, x, y])
        if name in ("div_s", "div_u", "rem_s", "rem_u"):
            zero = ir.Constant(llt, 0)
            fl.trap_if(b.icmp_unsigned("==", y, zero), "div0")
            if name == "div_u":
                return b.udiv(x, y)
            if name == "rem_u":
                return b.urem(x, y)
            minus1 = ir.Constant(llt, -1)
            is_m1 = b.icmp_unsigned("==", y, minus1)
            if name == "div_s":
                smin = ir.Constant(llt, -(1 << (_bits(ty) - 1)))
                fl.trap_if(b.and_(is_m1, b.icmp_unsigned("==", x, smin)), "overflow")
                return b.sdiv(x, y)
            # x rem -1 is 0, but srem of INT_MIN by -1 is undefined in LLVM (and faults on x86)
            return b.srem(x, b.select(is_m1, ir.Constant(llt, 1), y))
        if name.startswith("extend") and name.endswith("_s") and name[6:8] in ("8_", "16", "32"):
            width = int(name[6:].split("_")[0])
            return b.sext(b.trunc(x, ir.IntType(width)), llt)
        if name == "wrap_i64":
            return b.trunc(x, I32)
        if name == "extend_i32_s":
            return b.sext(x, I64)
        if name == "extend_i32_u":
            return b.zext(x, I64)
        if name.startswith("reinterpret"):
            return b.bitcast(x, llt)
        if name.startswith("trunc_sat_"):
            src, sign = name[10:13], name[-1]
            fn = fl.intrinsic(f"llvm.fpto{sign}i.sat.{ty}.{src}", llt, [LLTYPES[src]])
            return b.call(fn, [x])
        if name.startswith("trunc_"):
            src, sign = name[6:9], name[-1]
            fl.trap_if(b.fcmp_unordered("uno", x, x), "conversion")
            lo, inclusive, hi = _float_limits(src, _bits(ty), sign == "s")
            flt = LLTYPES[src]
            lo_ok = b.fcmp_ordered(">=" if inclusive else ">", x, ir.Constant(flt, lo))
            ok = b.and_(lo_ok, b.fcmp_ordered("<", x, ir.Constant(flt, hi)))
            fl.trap_if(b.not_(ok), "overflow")
            return b.fptosi(x, llt) if sign == "s" else b.fptoui(x, llt)
    else:
        llt = LLTYPES[ty]
        x = args[0]
        y = args[1] if len(args) > 1 else None
        if name in _FCMP:
            return b.zext(b.fcmp_ordered(_FCMP[name], x, y), I32)
        if name == "ne":
            return b.zext(b.fcmp_unordered("!=", x, y), I32)
        if name == "sqrt":
            return fl.ml.constrained(b, "sqrt", [x], llt)
        if name in _INTRINSIC_UNARY:
            return b.call(fl.intrinsic(f"llvm.{_INTRINSIC_UNARY[name]}.{ty}", llt, [llt]), [x])
        if name == "neg":
            return b.fneg(x)
        if name in ("add", "sub", "mul", "div"):
            return fl.float_binop(name, x, y, llt)
        if name in ("min", "max"):
            fn = fl.intrinsic(f"llvm.{name}imum.{ty}", llt, [llt, llt])
            # llvm.minimum may hand back a signalling NaN operand as it is; wasm wants a
            # quiet one, which any arithmetic on the NaNs gives
            nan = b.fcmp_unordered("uno", x, y)
            return b.select(nan, b.fadd(x, y), b.call(fn, [x, y]))
        if name == "copysign":
            return b.call(fl.intrinsic(f"llvm.copysign.{ty}", llt, [llt, llt]), [x, y])
        if name.startswith("convert_i"):
            return b.sitofp(x, llt) if name.endswith("_s") else b.uitofp(x, llt)
        if name == "demote_f64":
            return fl.ml.constrained(b, "fptrunc", [x], llt)
        if name == "promote_f32":
            return fl.ml.constrained(b, "fpext", [x], llt)
        if name.startswith("reinterpret"):
            return b.bitcast(x, llt)
    raise AssertionError(f"no lowering for {op}")


def lower_memory(fl: "FuncLowerer", op: str, imm: tuple) -> None:
    """A load or store: the effective address, its bounds check, the access."""
    b = fl.b
    ty, size = MEMORY_OPS[op]
    _align, offset = imm
    if ".store" in op:
        value = fl.pop()
        ptr = fl.address(fl.pop(), offset, size)
        if size * 8 < _bits(ty) and ty in ("i32", "i64"):
            value = b.trunc(value, ir.IntType(size * 8))
        st = b.store(value, b.bitcast(ptr, value.type.as_pointer()))
        st.align = 1
        fl.tag_memory(st)
        return
    ptr = fl.address(fl.pop(), offset, size)
    llt = LLTYPES[ty] if size * 8 == _bits(ty) else ir.IntType(size * 8)
    val = b.load(b.bitcast(ptr, llt.as_pointer()), align=1)
    fl.tag_memory(val)
    if fl.ml.names.bounds == "guard":
        fl.ml.keep(val)
    if llt != LLTYPES[ty]:
        val = b.sext(val, LLTYPES[ty]) if op.endswith("_s") else b.zext(val, LLTYPES[ty])
    fl.push(val)


def lower_bulk(fl: "FuncLowerer", op: str, imm: object) -> None:
    """memory.fill, memory.copy, memory.init and data.drop, each range checked first."""
    b = fl.b
    if op == "data.drop":
        b.store(ir.Constant(ir.IntType(8), 1), fl.ml.dropped[imm])  # type: ignore[index]
        return
    n, src, dst = fl.pop(), fl.pop(), fl.pop()
    base, size = fl.memory_fields()
    i8 = ir.IntType(8)
    if op == "memory.fill":
        fl.range_check(dst, n, size, "memory")
        fn = fl.intrinsic("llvm.memset.p0.i64", ir.VoidType(), [PTR, i8, I64, ir.IntType(1)])
        b.call(fn, [b.gep(base, [b.zext(dst, I64)]), b.trunc(src, i8), b.zext(n, I64),
                    ir.Constant(ir.IntType(1), 0)])
        return
    if op == "memory.copy":
        fl.range_check(src, n, size, "memory")
        fl.range_check(dst, n, size, "memory")
        src_ptr = b.gep(base, [b.zext(src, I64)])
    else:
        seg = fl.ml.m.datas[imm]  # type: ignore[index]
        dropped = b.load(fl.ml.dropped[imm])  # type: ignore[index]
        seg_len = b.select(b.icmp_unsigned("!=", dropped, ir.Constant(i8, 0)),
                           ir.Constant(I64, 0), ir.Constant(I64, len(seg.data)))
        fl.range_check(src, n, seg_len, "memory")
        fl.range_check(dst, n, size, "memory")
        src_ptr = b.gep(b.bitcast(fl.ml.datas[imm], PTR), [b.zext(src, I64)])  # type: ignore[index]
    fn = fl.intrinsic("llvm.memmove.p0.p0.i64", ir.VoidType(), [PTR, PTR, I64, ir.IntType(1)])
    b.call(fn, [b.gep(base, [b.zext(dst, I64)]), src_ptr, b.zext(n, I64),
                ir.Constant(ir.IntType(1), 0)])

"""Stage 3a: expressions to IR, with Python's integer semantics made explicit.

Overflow is detected with llvm.*.with.overflow; `//` and `%` floor like Python
(and INT_MIN % -1 avoids srem's undefined case); `>>` by >= width gives 0 or -1
as Python does, `<<` that loses bits panics; every index is bounds-checked.
"""
from __future__ import annotations

import ast

from llvmlite import ir

from .lltypes import llvm_type, value_type
from .types import BOOL, STR, ArrayT, IntT, StructT, Type, is_aggregate

I1, I64 = ir.IntType(1), ir.IntType(64)
CMP = {ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">="}
SYM = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.FloorDiv: "//", ast.Mod: "%",
       ast.LShift: "<<", ast.RShift: ">>", ast.BitAnd: "&", ast.BitOr: "|", ast.BitXor: "^"}


def const(ty: IntT, value: int) -> ir.Constant:
    return ir.Constant(ir.IntType(ty.bits), value)


class ExprLowerer:
    """Mixin for FunctionLowerer: value(node) gives an ir.Value, place(node) a pointer."""

    # ---- places (arrays, structs, variables) ---------------------------
    def place(self, node: ast.expr) -> ir.Value:
        b = self.builder
        if getattr(node, "kind", None) == "extglobal":  # another cell's, read here only
            if isinstance(node, ast.Name):
                cell, remote, ty = self.cell.checker.imported_globals[node.id]
            else:
                (cell, remote), ty = node.shared, node.ty
            return self.cell.external_global(cell, remote, ty)
        if isinstance(node, ast.Name):
            if node.id in self.info.locals and node.id not in self.info.global_names:
                local = self.info.locals[node.id]
                slot = self.slots[node.id]
                self.check_bound(node.id, node)
                return b.load(slot, typ=ir.PointerType()) if local.storage == "ref" else slot
            return self.cell.globals[node.id]
        if isinstance(node, ast.Subscript):
            arr_t: ArrayT = node.value.ty
            base = self.place(node.value)
            idx = self.index(node.slice, arr_t.n, f"index out of bounds for {arr_t}", node)
            return self.gep(base, [ir.Constant(I64, 0), idx], inbounds=True,
                         source_etype=llvm_type(arr_t))
        if isinstance(node, ast.Attribute):
            st: StructT = node.value.ty
            base = self.place(node.value)
            i, _ = st.field(node.attr)
            return self.gep(base, [ir.Constant(ir.IntType(32), 0), ir.Constant(ir.IntType(32), i)],
                         inbounds=True, source_etype=llvm_type(st))
        raise AssertionError(f"not a place: {ast.unparse(node)}")

    def index(self, node: ast.expr, n: object, message: str, at: ast.AST) -> ir.Value:
        """An i64 index in 0..n-1 (n an int or an i64 value); negative indexes count from the end.

        The bounds check is left out only where this very access is proved in range:
        a constant index (literal, typed, imported, len()) against a constant length,
        or a loop variable in the version of its loop that runs only when every value
        it takes is in range (`self.proven`: name -> the length it is below).
        """
        b = self.builder
        c = getattr(node, "const", None)
        if isinstance(n, int) and isinstance(c, int) and not isinstance(c, bool):
            k = c + n if c < 0 else c
            if 0 <= k < n:
                return ir.Constant(I64, k)
            # the checker refuses such an index; if one gets here, it panics at run time
        v, ty = self.value(node), node.ty
        nv = ir.Constant(I64, n) if isinstance(n, int) else n
        v = b.sext(v, I64) if ty.signed and ty.bits < 64 else (b.zext(v, I64) if ty.bits < 64 else v)
        if isinstance(node, ast.Name) and isinstance(n, int) and self.proven.get(node.id, n + 1) <= n:
            return v  # a loop variable whose loop was entered only if it is in range here
        if ty.signed:  # Python: xs[-1] is the last element
            v = b.select(b.icmp_signed("<", v, ir.Constant(I64, 0)), b.add(v, nv), v)
        self.check(b.icmp_unsigned(">=", v, nv), message, at)
        return v

    # ---- values --------------------------------------------------------
    def value(self, node: ast.expr) -> ir.Value:
        if hasattr(node, "const") and isinstance(node.ty, IntT):
            return const(node.ty, node.const)
        return getattr(self, f"v_{type(node).__name__}")(node)

    def cond(self, node: ast.expr) -> ir.Value:
        v = self.value(node)
        if node.ty != BOOL:
            return self.builder.icmp_unsigned("!=", v, ir.Constant(v.type, 0))
        return v

    def v_Constant(self, node: ast.Constant) -> ir.Value:
        if node.ty == BOOL:
            return ir.Constant(I1, int(node.value))
        if node.ty == STR:
            return self.cell.string(node.value)
        raise AssertionError(node.value)

    def v_Name(self, node: ast.Name) -> ir.Value:
        kind = getattr(node, "kind", "local")
        if kind in ("func", "funcaddr") and node.id in self.cell.functions:
            return self.cell.functions[node.id]
        if kind in ("extfunc", "funcaddr"):
            cell, remote, sig = self.cell.checker.imported_funcs[node.id]
            return self.cell.symbol(cell, remote, sig)
        if kind == "const" and node.ty == STR:
            return self.cell.string(self.cell.checker.consts[node.id].value)
        if kind == "const" and node.ty == BOOL:
            return ir.Constant(I1, int(bool(self.cell.checker.consts[node.id].value)))
        if is_aggregate(node.ty):
            return self.place(node)
        return self.load_value(self.place(node), node.ty)

    v_Subscript = v_Name

    def v_Attribute(self, node: ast.Attribute) -> ir.Value:
        kind = getattr(node, "kind", None)
        if kind == "extfunc":
            cell, remote, sig = self.cell.checker.module_attr(node)
            return self.cell.symbol(cell, remote, sig)
        if kind == "const" and node.ty == STR:
            return self.cell.string(node.value_)
        if kind == "const" and node.ty == BOOL:
            return ir.Constant(I1, int(bool(node.value_)))
        return self.v_Name(node)

    def v_Tuple(self, node: ast.Tuple) -> ir.Value:
        """`return a, b` from a function declared -> tuple[...]: every element in order."""
        vals = [self.value(e) for e in node.elts]
        out = ir.Constant(value_type(node.ty), None)
        for i, v in enumerate(vals):
            out = self.builder.insert_value(out, v, i)
        return out

    def v_BinOp(self, node: ast.BinOp) -> ir.Value:
        return self.binop(node.op, self.value(node.left), node.right, node.ty, node)

    def binop(self, op: ast.operator, a: ir.Value, right: ast.expr, ty: Type, node: ast.AST) -> ir.Value:
        b = self.builder
        bv = self.value(right)
        k = type(op)
        if k in (ast.BitAnd, ast.BitOr, ast.BitXor):
            return {ast.BitAnd: b.and_, ast.BitOr: b.or_, ast.BitXor: b.xor}[k](a, bv)
        if k in (ast.Add, ast.Sub, ast.Mult):
            return self.overflowing(k.__name__.lower()[:3], a, bv, ty, node)
        if k in (ast.FloorDiv, ast.Mod):
            return self.divmod(k is ast.FloorDiv, a, bv, ty, node)
        return self.shift(k is ast.LShift, a, bv, ty, right.ty, node)

    def overflowing(self, op: str, a: ir.Value, bv: ir.Value, ty: IntT, node: ast.AST) -> ir.Value:
        b = self.builder
        name = {"add": "add", "sub": "sub", "mul": "mul"}[op]
        lt = ir.IntType(ty.bits)
        fname = f"llvm.{'s' if ty.signed else 'u'}{name}.with.overflow.i{ty.bits}"
        m = self.cell.module
        fn = m.globals.get(fname) or ir.Function(
            m, ir.FunctionType(ir.LiteralStructType([lt, I1]), [lt, lt]), fname)
        pair = b.call(fn, [a, bv])
        sym = {"add": "+", "sub": "-", "mul": "*"}[op]
        self.check(b.extract_value(pair, 1), f"integer overflow in {sym} ({ty})", node)
        return b.extract_value(pair, 0)

    def divmod(self, is_div: bool, a: ir.Value, bv: ir.Value, ty: IntT, node: ast.AST) -> ir.Value:
        b = self.builder
        zero = const(ty, 0)
        self.check(b.icmp_unsigned("==", bv, zero), "division by zero", node, always=True)
        if not ty.signed:
            return b.udiv(a, bv) if is_div else b.urem(a, bv)
        minus1 = const(ty, -1)
        is_m1 = b.icmp_signed("==", bv, minus1)
        if is_div:  # INT_MIN // -1 does not fit; sdiv would be undefined
            self.check(b.and_(is_m1, b.icmp_signed("==", a, const(ty, ty.min))),
                       f"integer overflow in // ({ty})", node, always=True)
        safe_b = b.select(is_m1, const(ty, 1), bv) if not is_div else bv
        r = b.srem(a, safe_b)
        # Python floors: when the remainder's sign differs from the divisor's, adjust.
        adjust = b.and_(b.icmp_signed("!=", r, zero), b.icmp_signed("<", b.xor(r, bv), zero))
        if is_div:
            q = b.sdiv(a, bv)
            return b.select(adjust, b.sub(q, const(ty, 1)), q)
        return b.select(adjust, b.add(r, bv), r)

    def shift(self, left: bool, a: ir.Value, n: ir.Value, ty: IntT, nty: IntT, node: ast.AST) -> ir.Value:
        b = self.builder
        if nty.signed:
            self.check(b.icmp_signed("<", n, ir.Constant(n.type, 0)), "negative shift count", node, always=True)
        lt = ir.IntType(ty.bits)
        too_big = b.icmp_unsigned(">=", n, ir.Constant(n.type, ty.bits))  # before any truncation
        n = b.zext(n, lt) if nty.bits < ty.bits else (b.trunc(n, lt) if nty.bits > ty.bits else n)
        width = const(ty, ty.bits - 1)
        safe = b.select(too_big, width, n)
        if left:  # exact: 0 << 100 is 0 in Python; anything else that loses bits panics
            zero = const(ty, 0)
            self.check(b.and_(too_big, b.icmp_unsigned("!=", a, zero)),
                       f"integer overflow in << ({ty})", node)
            r = b.shl(a, safe)
            back = b.ashr(r, safe) if ty.signed else b.lshr(r, safe)
            self.check(b.icmp_unsigned("!=", back, a), f"integer overflow in << ({ty})", node)
            return b.select(too_big, zero, r)
        if ty.signed:
            return b.ashr(a, safe)
        return b.select(too_big, const(ty, 0), b.lshr(a, safe))

    def v_UnaryOp(self, node: ast.UnaryOp) -> ir.Value:
        b = self.builder
        if isinstance(node.op, ast.Not):
            return b.not_(self.cond(node.operand))
        v = self.value(node.operand)
        if isinstance(node.op, ast.UAdd):
            return v
        if isinstance(node.op, ast.Invert):
            return b.not_(v)
        return self.overflowing("sub", const(node.ty, 0), v, node.ty, node)

    def v_BoolOp(self, node: ast.BoolOp) -> ir.Value:
        b = self.builder
        done = self.fn.append_basic_block("boolop.end")
        incoming = []
        is_and = isinstance(node.op, ast.And)
        for v in node.values[:-1]:
            c = self.value(v)
            nxt = self.fn.append_basic_block("boolop.next")
            incoming.append((ir.Constant(I1, 0 if is_and else 1), b.block))
            b.cbranch(c, nxt, done) if is_and else b.cbranch(c, done, nxt)
            b.position_at_end(nxt)
        last = self.value(node.values[-1])
        incoming.append((last, b.block))
        b.branch(done)
        b.position_at_end(done)
        phi = b.phi(I1)
        for val, blk in incoming:
            phi.add_incoming(val, blk)
        return phi

    def compare(self, op: ast.cmpop, a: ir.Value, c: ir.Value, ty: Type) -> ir.Value:
        sym = CMP[type(op)]
        if ty == STR:
            eq = self.builder.call(self.cell.str_eq(), [a, c])
            return eq if sym == "==" else self.builder.not_(eq)
        if isinstance(ty, IntT) and ty.signed:
            return self.builder.icmp_signed(sym, a, c)
        return self.builder.icmp_unsigned(sym, a, c)

    def v_Compare(self, node: ast.Compare) -> ir.Value:
        b = self.builder
        ty = node.left.ty
        a = self.value(node.left)
        if len(node.ops) == 1:
            return self.compare(node.ops[0], a, self.value(node.comparators[0]), ty)
        done = self.fn.append_basic_block("cmp.end")
        incoming = []
        for i, (op, rhs) in enumerate(zip(node.ops, node.comparators)):
            c = self.value(rhs)
            r = self.compare(op, a, c, ty)
            if i == len(node.ops) - 1:
                incoming.append((r, b.block))
                b.branch(done)
            else:
                nxt = self.fn.append_basic_block("cmp.next")
                incoming.append((ir.Constant(I1, 0), b.block))
                b.cbranch(r, nxt, done)
                b.position_at_end(nxt)
            a = c
        b.position_at_end(done)
        phi = b.phi(I1)
        for val, blk in incoming:
            phi.add_incoming(val, blk)
        return phi

    def v_IfExp(self, node: ast.IfExp) -> ir.Value:
        b = self.builder
        c = self.cond(node.test)
        then, other, done = (self.fn.append_basic_block(n) for n in ("ifexp.then", "ifexp.else", "ifexp.end"))
        b.cbranch(c, then, other)
        b.position_at_end(then)
        v1 = self.value(node.body)
        then_end = b.block
        b.branch(done)
        b.position_at_end(other)
        v2 = self.value(node.orelse)
        other_end = b.block
        b.branch(done)
        b.position_at_end(done)
        phi = b.phi(v1.type)
        phi.add_incoming(v1, then_end)
        phi.add_incoming(v2, other_end)
        return phi


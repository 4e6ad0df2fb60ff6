"""Stage 2a: type-check expressions, annotating each ast node with `.ty`.

Integer literals (and untyped constants) take the type their context expects;
every other mix of integer types must be converted explicitly.
"""
from __future__ import annotations

import ast
from typing import Optional

from .parse import fold_const
from .types import (BOOL, FNREF, I64, INT_TYPES, NONE, STR, U8, U64, ArrayT, IntT, StructT,
                    Type, is_aggregate)

OP_WORDS = {ast.Add: "add", ast.Sub: "subtract", ast.Mult: "multiply", ast.FloorDiv: "divide",
            ast.Mod: "take the remainder of", ast.LShift: "shift", ast.RShift: "shift",
            ast.BitAnd: "and", ast.BitOr: "or", ast.BitXor: "xor"}
U16, U32 = INT_TYPES["u16"], INT_TYPES["u32"]
# intrinsic -> (param types, return type); None params means "special"
INTRINSIC_SIGS = {
    "load8": ([U64], U8), "load16": ([U64], U16), "load32": ([U64], U32), "load64": ([U64], U64),
    "store8": ([U64, U8], NONE), "store16": ([U64, U16], NONE), "store32": ([U64, U32], NONE),
    "store64": ([U64, U64], NONE), "outb": ([U16, U8], NONE), "outw": ([U16, U16], NONE),
    "outl": ([U16, U32], NONE), "inb": ([U16], U8), "inw": ([U16], U16), "inl": ([U16], U32),
    "hlt": ([], NONE), "cli": ([], NONE), "sti": ([], NONE), "pause": ([], NONE),
    "rdtsc": ([], U64), "call_addr": ([U64, U64], U64), "addr_of": (None, U64),
    "make_str": ([U64, U64], STR),
}
WRAPPING = ("wrapping_add", "wrapping_sub", "wrapping_mul")


class ExprChecker:
    """Mixin: expression rules.  The owner provides ctx, model, lookup(), externals."""

    def expr(self, node: ast.expr, expected: Optional[Type] = None) -> Type:
        ty = self._expr(node, expected)
        node.ty = ty  # type: ignore[attr-defined]
        return ty

    def _expr(self, node: ast.expr, expected: Optional[Type]) -> Type:
        value = self.const_int(node)
        if value is not None:
            ty = expected if isinstance(expected, IntT) else I64
            if not ty.fits(value):
                raise self.ctx.at(node, f"{value} does not fit in {ty} ({ty.min}..{ty.max})")
            node.const = value  # type: ignore[attr-defined]
            return ty
        method = getattr(self, f"e_{type(node).__name__}", None)
        if method is None:
            raise self.ctx.at(node, f"'{ast.unparse(node)}' is not supported in the cell language")
        return method(node, expected)

    def const_int(self, node: ast.expr) -> Optional[int]:
        """The value of an untyped integer constant expression, or None."""
        consts = self.untyped_consts
        if self.info is not None:  # a local (or parameter) hides a constant of the same name
            hidden = (set(self.info.locals) | self.assigned) & consts.keys()
            if hidden:
                consts = {k: v for k, v in consts.items() if k not in hidden}
        v = fold_const(node, consts)
        return v if isinstance(v, int) and not isinstance(v, bool) else None

    def same(self, node: ast.AST, a: Type, b: Type, what: str) -> None:
        if a != b:
            hint = f", e.g. {a}(x)" if isinstance(a, IntT) and isinstance(b, IntT) else ""
            raise self.ctx.at(node, f"cannot {what} {a} and {b}: convert one side "
                                    f"explicitly{hint}{self.defaulted_hint(node, (a, b))}")

    def defaulted_hint(self, node: ast.AST, types: tuple) -> str:
        """Explain a type that came from bare literals (`x = 0`, `for i in range(8)`)."""
        for n in ast.walk(node):
            if isinstance(n, ast.Name) and n.id in getattr(self, "defaulted", ()) \
                    and self.info is not None and n.id in self.info.locals:
                have = self.info.locals[n.id].ty
                want = next((t for t in types if t != have and isinstance(t, IntT)), "u64")
                return (f" ('{n.id}' is {have} because only literals gave it a type; declare "
                        f"it first with the type you need, e.g. '{n.id}: {want} = 0')")
        return ""

    def flexible(self, node: ast.expr) -> bool:
        """True when only literals decide this expression's type (so it adapts to context)."""
        if self.const_int(node) is not None:
            return True
        if isinstance(node, ast.BinOp):
            shift = isinstance(node.op, (ast.LShift, ast.RShift))
            return self.flexible(node.left) and (shift or self.flexible(node.right))
        if isinstance(node, ast.UnaryOp):
            return not isinstance(node.op, ast.Not) and self.flexible(node.operand)
        if isinstance(node, ast.IfExp):
            return self.flexible(node.body) and self.flexible(node.orelse)
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id in ("min", "max", "abs") and node.args
                and self.lookup_kind(node.func.id) == "builtin"):
            return all(self.flexible(a) for a in node.args)
        return False

    def pair(self, left: ast.expr, right: ast.expr, expected: Optional[Type]) -> tuple:
        """Check two operands, letting a literal on either side take the other's type."""
        if self.flexible(left) and not self.flexible(right):
            rt = self.expr(right, expected)
            return self.expr(left, rt if isinstance(rt, IntT) else expected), rt
        lt = self.expr(left, expected)
        return lt, self.expr(right, lt if isinstance(lt, IntT) else None)

    def int_operand(self, node: ast.AST, ty: Type, op: str) -> None:
        if not isinstance(ty, IntT):
            raise self.ctx.at(node, f"'{op}' needs integers, not {ty}")

    def e_Constant(self, node: ast.Constant, expected: Optional[Type]) -> Type:
        if isinstance(node.value, bool):
            return BOOL
        if isinstance(node.value, str):
            if not node.value.isascii():
                raise self.ctx.at(node, "strings must be ASCII")
            return STR
        if node.value is None:
            return NONE
        raise self.ctx.at(node, f"{type(node.value).__name__} literals are not supported (no floats)")

    def e_Name(self, node: ast.Name, expected: Optional[Type]) -> Type:
        kind, ty = self.lookup(node)
        node.kind = kind  # type: ignore[attr-defined]
        if kind == "const":  # a typed constant: an immediate of its declared type
            value = self.model_const(node.id)
            if isinstance(ty, IntT) and not (isinstance(value, int) and ty.fits(value)):
                # parse refuses such a constant; this one came from a hand-made interface
                raise self.ctx.at(node, f"constant '{node.id}' = {value!r} does not fit in {ty}")
            node.const = value  # type: ignore[attr-defined]
        if kind in ("func", "extfunc"):
            sig = ty
            if [t for _, t in sig.params] != [U64] or sig.ret != U64:
                raise self.ctx.at(node, f"'{node.id}' is used as a value (a fnref), so it must "
                                        "take one u64 and return u64")
            return FNREF
        return ty

    def e_BinOp(self, node: ast.BinOp, expected: Optional[Type]) -> Type:
        op = type(node.op)
        if op is ast.Div:
            raise self.ctx.at(node, "'/' gives a float in Python; use '//' for integer division")
        if op not in OP_WORDS:
            sym = {ast.Pow: "**", ast.MatMult: "@"}.get(op, op.__name__)
            raise self.ctx.at(node, f"operator '{sym}' is not supported in the cell language")
        if op in (ast.LShift, ast.RShift):
            lt = self.expr(node.left, expected)
            self.int_operand(node.left, lt, "<<")
            rt = self.expr(node.right, lt)
            self.int_operand(node.right, rt, "<<")
            return lt
        lt, rt = self.pair(node.left, node.right, expected)
        if op in (ast.BitAnd, ast.BitOr, ast.BitXor) and lt == BOOL == rt:
            return BOOL
        self.int_operand(node, lt, OP_WORDS[op])
        self.same(node, lt, rt, OP_WORDS[op])
        return lt

    def e_UnaryOp(self, node: ast.UnaryOp, expected: Optional[Type]) -> Type:
        if isinstance(node.op, ast.Not):
            self.condition(node.operand)
            return BOOL
        ty = self.expr(node.operand, expected)
        self.int_operand(node, ty, "-")
        if isinstance(node.op, ast.Invert) and not ty.signed:
            raise self.ctx.at(node, f"'~' on an unsigned {ty} is negative in Python; "
                                    f"use x ^ {ty.max:#x} to flip the bits")
        return ty

    def condition(self, node: ast.expr) -> None:
        """A bool, or an integer tested against zero as Python does."""
        ty = self.expr(node, BOOL)
        if ty != BOOL and not isinstance(ty, IntT):
            raise self.ctx.at(node, f"a condition must be a bool or an integer, not {ty}")

    def e_BoolOp(self, node: ast.BoolOp, expected: Optional[Type]) -> Type:
        for v in node.values:
            if self.expr(v, BOOL) != BOOL:
                raise self.ctx.at(v, f"'and'/'or' need bools (in Python they would return "
                                     f"the {v.ty} itself); compare it, e.g. 'x != 0'")
        return BOOL

    def e_Compare(self, node: ast.Compare, expected: Optional[Type]) -> Type:
        operands = [node.left] + node.comparators
        for op in node.ops:
            if not isinstance(op, (ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE)):
                raise self.ctx.at(node, f"'{type(op).__name__}' comparisons are not supported; "
                                        "use == != < <= > >=")
        # type every operand from the first one whose type does not come from literals
        anchor = next((o for o in operands if not self.flexible(o)), None)
        base = self.expr(anchor) if anchor is not None else I64
        for o in operands:
            if o is not anchor:
                t = self.expr(o, base if isinstance(base, IntT) else None)
                self.same(o, base, t, "compare")
        if base not in (BOOL, STR) and not isinstance(base, IntT):
            raise self.ctx.at(node, f"cannot compare values of type {base}")
        if base in (BOOL, STR) and not all(isinstance(op, (ast.Eq, ast.NotEq)) for op in node.ops):
            raise self.ctx.at(node, f"{base} values can only be compared with == and !=")
        return BOOL

    def e_IfExp(self, node: ast.IfExp, expected: Optional[Type]) -> Type:
        self.condition(node.test)
        a, b = self.pair(node.body, node.orelse, expected)
        self.same(node, a, b, "choose between")
        if is_aggregate(a):
            raise self.ctx.at(node, "a conditional expression cannot choose between arrays or structs")
        return a

    def e_Subscript(self, node: ast.Subscript, expected: Optional[Type]) -> Type:
        base = self.expr(node.value)
        if base == STR:
            raise self.ctx.at(node, "s[i] is a str in Python; use ord(s[i]) to get the byte as u8")
        if not isinstance(base, ArrayT):
            raise self.ctx.at(node, f"cannot index a {base}")
        if isinstance(node.slice, ast.Slice):
            raise self.ctx.at(node, "slices are not supported")
        untyped = self.const_int(node.slice)  # a literal or an untyped constant
        if untyped is None:
            it = self.expr(node.slice, U64)
            if not isinstance(it, IntT):
                raise self.ctx.at(node.slice, f"an index must be an integer, not {it}")
        # a typed constant (this cell's or imported) and len(array) are known now too
        c = untyped if untyped is not None else getattr(node.slice, "const", None)
        if c is not None and not -base.n <= c < base.n:
            # known now, so refused now; lower still checks whatever it cannot prove in range
            shown = ast.unparse(node.slice)
            what = str(c) if shown == str(c) else f"{shown} = {c}"
            raise self.ctx.at(node.slice, f"index {what} is out of range for {base}: an index "
                                          f"must be 0..{base.n - 1} (or -{base.n}..-1, counting "
                                          "from the end)")
        if untyped is not None:
            self.expr(node.slice, I64)  # so that a negative one counts from the end, as in Python
        return base.elem

    def e_Attribute(self, node: ast.Attribute, expected: Optional[Type]) -> Type:
        ext = self.module_attr(node)
        if ext is not None and ext[0] == "const":  # another cell's constant: an immediate
            cty, value = ext[2]
            node.kind = "const"  # type: ignore[attr-defined]
            node.value_ = value  # type: ignore[attr-defined]
            if cty is None or isinstance(cty, IntT):
                ty = cty or (expected if isinstance(expected, IntT) else I64)
                if not ty.fits(value):
                    raise self.ctx.at(node, f"{value} does not fit in {ty} ({ty.min}..{ty.max})")
                node.const = value  # type: ignore[attr-defined]
                return ty
            return cty
        if ext is not None and ext[0] == "global":  # another cell's global: read-only
            cell, ty = ext[2]
            node.kind = "extglobal"  # type: ignore[attr-defined]
            node.shared = (cell, node.attr)  # type: ignore[attr-defined]
            return ty
        if ext is not None:
            sig = ext[2]
            if [t for _, t in sig.params] != [U64] or sig.ret != U64:
                raise self.ctx.at(node, f"'{ast.unparse(node)}' is used as a value (a fnref), so "
                                        "it must take one u64 and return u64")
            node.kind = "extfunc"  # type: ignore[attr-defined]
            return FNREF
        base = self.expr(node.value)
        if not isinstance(base, StructT):
            raise self.ctx.at(node, f"{base} has no field '{node.attr}'")
        f = base.field(node.attr)
        if f is None:
            names = ", ".join(n for n, _ in base.fields)
            raise self.ctx.at(node, f"struct {base.name.split('.')[-1]} has no field "
                                    f"'{node.attr}' (fields: {names})")
        return f[1]

    def e_Tuple(self, node: ast.Tuple, expected: Optional[Type]) -> Type:
        raise self.ctx.at(node, "a tuple is not a value to store or pass around: write "
                                "'a, b = x, y' (all of the right side first, as Python does), "
                                "'return x, y' from a function declared '-> tuple[...]', or "
                                "'for i, x in enumerate(xs)'")

    def e_JoinedStr(self, node: ast.JoinedStr, expected: Optional[Type]) -> Type:
        raise self.ctx.at(node, "an f-string is only allowed as an argument of print(): "
                                "a str is a read-only literal, never built at run time")

    def e_List(self, node: ast.AST, expected: Optional[Type]) -> Type:
        raise self.ctx.at(node, "a list is only allowed as the initial value of an annotated "
                                "array variable, e.g. 'xs: Array[u64, 3] = [1, 2, 3]'")

    e_ListComp = e_List

"""Stage 2b: type-check calls: builtins, conversions, intrinsics, this cell's and other cells' functions.

Each ast.Call gets `.call`, a tuple saying what kind of call `lower` must emit.
"""
from __future__ import annotations

import ast
from typing import Optional

from .check_expr import INTRINSIC_SIGS, WRAPPING
from .types import (BOOL, FNREF, INT_TYPES, NONE, STR, U8, U64, ArrayT, IntT, TupleT, Type,
                    is_aggregate)


class CallChecker:
    """Mixin: the rules for every kind of call."""

    def e_Call(self, node: ast.Call, expected: Optional[Type]) -> Type:
        if isinstance(node.func, ast.Name) and node.func.id == "print" \
                and self.lookup_kind("print") == "builtin":
            return self.print_call(node)
        if node.keywords:
            raise self.ctx.at(node, "keyword arguments are not supported in calls")
        f = node.func
        if isinstance(f, ast.Attribute):
            sig = self.module_attr(f)
            if sig is None or sig[0] in ("const", "global"):
                raise self.ctx.at(node, f"'{ast.unparse(f)}' is not a function; methods are not supported")
            node.call = ("ext",) + sig  # type: ignore[attr-defined]
            return self.args(node, sig[2])
        if not isinstance(f, ast.Name):
            raise self.ctx.at(node, "only named functions can be called")
        name = f.id
        kind, ty = self.lookup(f, calling=True)
        if kind == "intrinsic":
            return self.intrinsic(node, ty)
        if kind in ("local", "param", "global") and ty == FNREF:
            f.ty = FNREF  # type: ignore[attr-defined]
            f.kind = kind  # type: ignore[attr-defined]
            node.call = ("fnref",)  # type: ignore[attr-defined]
            self.nargs(node, 1)
            self.expect(node.args[0], U64)
            return U64
        if kind == "func":
            node.call = ("func", name)  # type: ignore[attr-defined]
            return self.args(node, ty)
        if kind == "extfunc":
            node.call = ("ext",) + self.imported_sig(name)  # type: ignore[attr-defined]
            return self.args(node, ty)
        if kind == "struct":
            raise self.ctx.at(node, f"{name}() makes a new struct: only allowed as the initial value "
                                    f"of a variable ('t = {name}()') or in '[{name}() for _ in range(N)]'")
        if kind != "builtin":
            raise self.ctx.at(node, f"'{name}' is a {ty}, not a function")
        return self.builtin(node, name, expected)

    def print_call(self, node: ast.Call) -> Type:
        """print(a, b, ..., sep="", end=""): str, integers, bool and f-strings of those.

        lower evaluates every argument first, then writes the pieces between
        console::begin() and console::end(), so a print is never cut by another's."""
        for kw in node.keywords:
            if kw.arg not in ("sep", "end"):
                what = f"{kw.arg}=" if kw.arg else "**"
                raise self.ctx.at(kw, f"print() takes only sep= and end= (string literals), "
                                            f"not {what}")
            if not (isinstance(kw.value, ast.Constant) and isinstance(kw.value.value, str)):
                raise self.ctx.at(kw.value, f"print()'s {kw.arg}= must be a string literal, "
                                            "as in print(a, b, sep=\", \")")
            self.expr(kw.value)  # ASCII, as every str
        for a in node.args:
            if isinstance(a, ast.Starred):
                raise self.ctx.at(a, "print(*args) is not supported: print each value")
            if isinstance(a, ast.JoinedStr):
                self.fstring(a)
                continue
            self.printable(a, self.expr(a))
        node.call = ("print",)  # type: ignore[attr-defined]
        return NONE

    def fstring(self, node: ast.JoinedStr) -> None:
        """An f-string in print(): literal text and {fields} of str, integers and bool."""
        node.ty = STR  # type: ignore[attr-defined]
        for v in node.values:
            if isinstance(v, ast.Constant):
                self.expr(v)
                continue
            assert isinstance(v, ast.FormattedValue)
            if v.conversion != -1:
                raise self.ctx.at(v.value, "f-string conversions (!r, !s, !a and {x=}) are not "
                                           "supported: write the field alone, {x}")
            if v.format_spec is not None:
                raise self.ctx.at(v.value, "f-string format specs ({x:8}, {x:x}) are not "
                                           "supported: write the field alone, {x}")
            self.printable(v.value, self.expr(v.value))

    def printable(self, node: ast.expr, ty: Type) -> None:
        """A CellError unless print() can write a value of type ty."""
        if not (isinstance(ty, IntT) or ty in (BOOL, STR)):
            raise self.ctx.at(node, f"print() prints str, integers and bool, not {ty}")

    def nargs(self, node: ast.Call, n: int) -> None:
        if len(node.args) != n:
            name = ast.unparse(node.func)
            raise self.ctx.at(node, f"{name}() takes {n} argument{'s' if n != 1 else ''}, "
                                    f"{len(node.args)} given")

    def expect(self, node: ast.expr, ty: Type, what: str = "argument") -> None:
        got = self.expr(node, ty)
        if got != ty:
            hint = f": convert it, e.g. {ty}(x)" if isinstance(ty, IntT) and isinstance(got, IntT) else ""
            raise self.ctx.at(node, f"this {what} must be {ty}, not {got}{hint}{self.defaulted_hint(node, (ty, got))}")

    def args(self, node: ast.Call, sig: object) -> Type:
        params, ret = sig.params, sig.ret
        self.nargs(node, len(params))
        for arg, (pname, pty) in zip(node.args, params):
            self.expect(arg, pty, f"argument '{pname}'")
            if is_aggregate(pty):  # passed by reference: the function could write it
                self.refuse_write(arg, what="pass on by reference (the function could write it)")
        return ret

    def intrinsic(self, node: ast.Call, name: str) -> Type:
        params, ret = INTRINSIC_SIGS[name]
        node.call = ("intrinsic", name)  # type: ignore[attr-defined]
        if params is None:  # addr_of: a global, an array or a function
            self.nargs(node, 1)
            a = node.args[0]
            if isinstance(a, ast.Name) and self.lookup_kind(a.id) in ("func", "extfunc"):
                a.kind = "funcaddr"  # type: ignore[attr-defined]
                a.ty = FNREF  # type: ignore[attr-defined]
                return U64
            kind = self.lookup_kind(a.id) if isinstance(a, ast.Name) else "place"
            t = self.expr(a)
            if not (kind == "global" or is_aggregate(t)):
                raise self.ctx.at(a, "addr_of() takes a global, an array, a struct or a function")
            return U64
        self.nargs(node, len(params))
        for a, p in zip(node.args, params):
            self.expect(a, p)
        return ret

    def builtin(self, node: ast.Call, name: str, expected: Optional[Type]) -> Type:
        if name in INT_TYPES or name == "bool":
            self.nargs(node, 1)
            t = self.expr(node.args[0], INT_TYPES.get(name, None))
            if not (isinstance(t, IntT) or t == BOOL):
                raise self.ctx.at(node, f"cannot convert {t} to {name}")
            node.call = ("conv", INT_TYPES.get(name, BOOL))  # type: ignore[attr-defined]
            return INT_TYPES.get(name, BOOL)
        if name == "len":
            self.nargs(node, 1)
            t = self.expr(node.args[0])
            if not (isinstance(t, ArrayT) or t == STR):
                raise self.ctx.at(node, f"len() takes an array or a str, not {t}")
            node.call = ("len",)  # type: ignore[attr-defined]
            if isinstance(t, ArrayT):  # a constant: behaves like the literal N
                node.const = t.n  # type: ignore[attr-defined]
                return expected if isinstance(expected, IntT) and expected.fits(t.n) else U64
            return U64
        if name == "ord":
            self.nargs(node, 1)
            a = node.args[0]
            if not (isinstance(a, ast.Subscript) and not isinstance(a.slice, ast.Slice)):
                raise self.ctx.at(node, "ord() takes one character of a string: ord(s[i])")
            if self.expr(a.value) != STR:
                raise self.ctx.at(a, "ord() needs a str indexed by an integer: ord(s[i])")
            it = self.expr(a.slice, U64)
            if not isinstance(it, IntT):
                raise self.ctx.at(a.slice, "an index must be an integer")
            node.call = ("ord",)  # type: ignore[attr-defined]
            return U8
        if name == "panic":
            self.nargs(node, 1)
            self.expect(node.args[0], STR)
            node.call = ("panic",)  # type: ignore[attr-defined]
            return NONE
        if name in WRAPPING:
            if len(node.args) != 3:
                raise self.ctx.at(node, f"{name}() needs the type as third argument, e.g. "
                                        f"{name}(h, x, u32), so that CPython computes the same")
            tn = node.args[2]
            ty = INT_TYPES.get(tn.id) if isinstance(tn, ast.Name) else None
            if ty is None:
                raise self.ctx.at(tn, "the third argument must be an integer type, e.g. u32")
            self.expect(node.args[0], ty)
            self.expect(node.args[1], ty)
            node.call = ("wrap", name[9:], ty)  # type: ignore[attr-defined]
            return ty
        if name in ("min", "max"):
            self.nargs(node, 2)
            a, b = self.pair(node.args[0], node.args[1], expected)
            self.int_operand(node, a, name)
            self.same(node, a, b, f"take the {name} of")
            node.call = ("minmax", name)  # type: ignore[attr-defined]
            return a
        if name == "divmod":
            self.nargs(node, 2)
            a, b = self.pair(node.args[0], node.args[1], expected.elems[0]
                             if isinstance(expected, TupleT) else None)
            self.int_operand(node, a, "divmod")
            self.same(node, a, b, "divide")
            node.call = ("divmod",)  # type: ignore[attr-defined]
            return TupleT((a, a))
        if name == "abs":
            self.nargs(node, 1)
            t = self.expr(node.args[0], expected)
            self.int_operand(node, t, "abs")
            node.call = ("abs",)  # type: ignore[attr-defined]
            return t
        raise self.ctx.at(node, f"'{name}' cannot be called here")


BUILTINS = frozenset(list(INT_TYPES) + ["bool", "len", "ord", "panic", "min", "max", "abs", "print",
                                         "divmod"]
                     + list(WRAPPING))
__all__ = ["CallChecker", "BUILTINS", "StructT"]

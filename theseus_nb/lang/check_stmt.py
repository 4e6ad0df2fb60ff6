"""Stage 2c: type-check statements, including the aliasing rules for arrays and structs.

Arrays and structs never move: they are created in place by an initializer
(`[0] * N`, a list literal, `[T() for _ in range(N)]`, `T(...)`) and passed by
reference; any plain assignment of one would alias, so it is an error.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass

from .parse import resolve_type
from .types import INT_TYPES, NONE, STR, U64, ArrayT, IntT, StructT, TupleT, Type, is_aggregate

ALIAS = ("assigning {what} would give one {what} two names (aliasing), which the cell "
         "language forbids: copy the elements or fields one by one, or keep using the original name")


@dataclass
class Local:
    """A local variable: 'value' (scalar slot), 'owned' (array/struct stored here), 'ref' (a reference)."""
    ty: Type
    storage: str


def _what(ty: Type) -> str:
    return "an array" if isinstance(ty, ArrayT) else "a struct"


def is_initializer(node: ast.AST) -> bool:
    return (isinstance(node, (ast.List, ast.ListComp))
            or (isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult)
                and isinstance(node.left, ast.List)))


class StmtChecker:
    """Mixin: statement rules.  Expects ExprChecker/CallChecker and Checker's lookup()."""

    def declare(self, name: str, ty: Type, storage: str, node: ast.AST) -> None:
        old = self.info.locals.get(name)
        if old is not None and (old.ty != ty or old.storage != storage):
            raise self.ctx.at(node, f"'{name}' is already a {old.ty}; a variable keeps one type "
                                    "(use a new name)")
        self.info.locals[name] = Local(ty, storage)

    def initializer(self, value: ast.expr, ty: Type, node: ast.AST, static: bool = False) -> None:
        """Check an array/struct creation (or a scalar value) against its declared type."""
        value.ty = ty  # type: ignore[attr-defined]
        if isinstance(ty, ArrayT):
            if isinstance(value, ast.BinOp) and is_initializer(value):
                if len(value.left.elts) != 1 or self.const_int(value.right) != ty.n:
                    raise self.ctx.at(value, f"write [x] * {ty.n} to fill an {ty}")
                if is_aggregate(ty.elem):
                    raise self.ctx.at(value, "[x] * N would repeat one object N times (aliasing); "
                                             "write [T() for _ in range(N)]")
                self.initializer(value.left.elts[0], ty.elem, node, static)
                return
            if isinstance(value, ast.List):
                if len(value.elts) != ty.n:
                    raise self.ctx.at(value, f"an {ty} needs {ty.n} elements, this list has {len(value.elts)}")
                for e in value.elts:
                    self.initializer(e, ty.elem, node, static)
                return
            if isinstance(value, ast.ListComp):
                g = value.generators
                if (len(g) != 1 or g[0].ifs or not isinstance(g[0].target, ast.Name)
                        or not (isinstance(g[0].iter, ast.Call) and isinstance(g[0].iter.func, ast.Name)
                                and g[0].iter.func.id == "range" and len(g[0].iter.args) == 1
                                and self.const_int(g[0].iter.args[0]) == ty.n)):
                    raise self.ctx.at(value, f"the only comprehension allowed is "
                                             f"[T() for _ in range({ty.n})]")
                self.initializer(value.elt, ty.elem, node, static)
                return
            raise self.ctx.at(value, f"an {ty} must be created here with [0] * {ty.n}, a list "
                                     f"literal or [T() for _ in range({ty.n})]" + (
                                         "; " + ALIAS.format(what="an array")
                                         if not is_initializer(value) else ""))
        if isinstance(ty, StructT):
            short = ty.name.split(".")[-1]
            if not (isinstance(value, ast.Call) and isinstance(value.func, ast.Name)
                    and value.func.id == short):
                raise self.ctx.at(value, f"a {short} must be created here with {short}(...); "
                                         + ALIAS.format(what="a struct"))
            if value.keywords:
                raise self.ctx.at(value, "struct constructors take positional arguments only")
            if len(value.args) > len(ty.fields):
                raise self.ctx.at(value, f"{short} has {len(ty.fields)} fields")
            for a, (fname, fty) in zip(value.args, ty.fields):
                self.initializer(a, fty, node, static)
            return
        if static:
            ok = (self.const_int(value) is not None if isinstance(ty, IntT)
                  else isinstance(value, ast.Constant))
            if not ok:
                raise self.ctx.at(value, "a global's initial value must be a constant")
        self.expect(value, ty, "value")

    def assign_target(self, target: ast.expr) -> Type:
        tt = self.expr(target)
        self.refuse_write(target)
        if is_aggregate(tt):
            raise self.ctx.at(target, ALIAS.format(what=_what(tt)))
        return tt

    def s_AnnAssign(self, node: ast.AnnAssign) -> None:
        if not isinstance(node.target, ast.Name):
            raise self.ctx.at(node, "annotate a plain name: 'x: u64 = 0'")
        name = node.target.id
        if name in self.info.global_names:
            raise self.ctx.at(node, f"'{name}' is a global: its type is given at module level")
        ty = resolve_type(node.annotation, self.model, what=name)
        if is_aggregate(ty):
            if node.value is None:
                raise self.ctx.at(node, f"'{name}' needs an initial value, e.g. [0] * N")
            if name in self.info.locals:
                raise self.ctx.at(node, f"'{name}' already holds {_what(ty)}; assign its elements instead")
            self.initializer(node.value, ty, node)
            self.declare(name, ty, "owned", node)
            return
        if ty == NONE:
            raise self.ctx.at(node, "a variable cannot have type None")
        if node.value is not None:
            self.expect(node.value, ty, "value")
        self.declare(name, ty, "value", node)

    def s_Assign(self, node: ast.Assign) -> None:
        if len(node.targets) != 1:
            raise self.ctx.at(node, "assign one target at a time (no 'a = b = 0')")
        target = node.targets[0]
        if isinstance(target, (ast.Tuple, ast.List)):
            self.parallel_assign(node, target)
            return
        if not isinstance(target, ast.Name):
            tt = self.assign_target(target)
            self.expect(node.value, tt, "value")
            return
        name = target.id
        if name in self.info.global_names or name in self.info.locals:
            kind, tt = ("global", self.model.globals[name].ty) if name in self.info.global_names \
                else ("local", self.info.locals[name].ty)
            if is_aggregate(tt):
                raise self.ctx.at(node, f"'{name}' already holds {_what(tt)}; assign its elements "
                                        "or fields instead (" + ALIAS.format(what=_what(tt)) + ")")
            target.ty = tt  # type: ignore[attr-defined]
            self.expect(node.value, tt, "value")
            return
        if is_initializer(node.value):
            raise self.ctx.at(node, f"annotate a new array: '{name}: Array[u64, N] = ...'")
        v = node.value
        if isinstance(v, ast.Call) and isinstance(v.func, ast.Name) and self.struct_named(v.func.id) \
                and self.lookup_kind(v.func.id) == "struct":
            ty = self.struct_named(v.func.id)
            self.initializer(v, ty, node)
            self.declare(name, ty, "owned", node)
            return
        if self.const_int(v) is not None:
            self.defaulted.add(name)
        ty = self.expr(v)
        if is_aggregate(ty):
            raise self.ctx.at(node, ALIAS.format(what=_what(ty)))
        if isinstance(ty, TupleT):
            names = ", ".join("abcdefgh"[i] for i in range(len(ty.elems)))
            raise self.ctx.at(node, f"this is a {ty}, which cannot be stored: unpack it into "
                                    f"{len(ty.elems)} names, e.g. '{names} = ...'")
        if ty == NONE:
            raise self.ctx.at(node, "this expression has no value (None)")
        target.ty = ty  # type: ignore[attr-defined]
        self.declare(name, ty, "value", node)

    def parallel_assign(self, node: ast.Assign, target: ast.Tuple) -> None:
        """`a, b = b, a % b` or `q, r = divmod(x, y)`: every value on the right first, then
        the targets from left to right, as Python does; scalars only."""
        targets = target.elts
        for t in targets:
            if not isinstance(t, (ast.Name, ast.Subscript, ast.Attribute)):
                raise self.ctx.at(t, "each target of a parallel assignment must be a name, an "
                                     "element or a field (no '*rest' or nested tuples)")
        want: list = []  # the type each target already has (None: a new local)
        for t in targets:
            if isinstance(t, ast.Name):
                n = t.id
                if n in self.info.global_names:
                    want.append(self.model.globals[n].ty)
                elif n in self.info.locals:
                    want.append(self.info.locals[n].ty)
                else:
                    want.append(None)
                if want[-1] is not None and is_aggregate(want[-1]):
                    raise self.ctx.at(t, f"'{n}' holds {_what(want[-1])}; " + ALIAS.format(what=_what(want[-1])))
            else:
                want.append(self.assign_target(t))
        v = node.value
        if isinstance(v, (ast.Tuple, ast.List)):
            if isinstance(v, ast.List) or any(isinstance(e, ast.Starred) for e in v.elts):
                raise self.ctx.at(v, "the right side must be values separated by commas, "
                                     "'a, b = x, y', or a call that returns a tuple")
            if len(v.elts) != len(targets):
                raise self.ctx.at(v, f"{len(targets)} targets but {len(v.elts)} values")
            got = []
            for t, e, w in zip(targets, v.elts, want):
                if w is None:
                    if self.const_int(e) is not None:
                        self.defaulted.add(t.id)
                    ty = self.expr(e)
                else:
                    self.expect(e, w, "value")
                    ty = w
                if is_aggregate(ty) or ty == NONE or isinstance(ty, TupleT):
                    raise self.ctx.at(e, f"a parallel assignment moves integers, bools and "
                                         f"strs, not {ty}")
                got.append(ty)
            v.ty = TupleT(tuple(got))  # type: ignore[attr-defined]
        else:
            ty = self.expr(v)
            if not isinstance(ty, TupleT):
                raise self.ctx.at(v, f"{len(targets)} targets need {len(targets)} values: write "
                                     f"'a, b = x, y' or call a function returning a tuple "
                                     f"(this is a {ty})")
            if len(ty.elems) != len(targets):
                raise self.ctx.at(v, f"{len(targets)} targets but a {ty} of "
                                     f"{len(ty.elems)} values")
            got = list(ty.elems)
            for t, w, g in zip(targets, want, got):
                if w is not None and w != g:
                    raise self.ctx.at(t, f"this target is {w}, but its value is {g}")
        for t, w, g in zip(targets, want, got):
            t.ty = g  # type: ignore[attr-defined]
            if w is None:
                self.declare(t.id, g, "value", node)

    def s_AugAssign(self, node: ast.AugAssign) -> None:
        tt = self.assign_target(node.target)
        probe = ast.BinOp(left=node.target, op=node.op, right=node.value,
                          lineno=node.lineno, col_offset=node.col_offset)
        rt = self.expr(probe, tt)
        if rt != tt:
            raise self.ctx.at(node, f"the result is {rt}, but the target is {tt}")

    def s_If(self, node: ast.If) -> None:
        self.condition(node.test)
        self.body(node.body)
        self.body(node.orelse)

    def s_While(self, node: ast.While) -> None:
        if node.orelse:
            raise self.ctx.at(node, "'while ... else' is not supported")
        self.condition(node.test)
        self.loop(node.body)

    def loop(self, body: list) -> None:
        self.loop_depth += 1
        self.body(body)
        self.loop_depth -= 1

    def s_For(self, node: ast.For) -> None:
        if node.orelse:
            raise self.ctx.at(node, "'for ... else' is not supported")
        if isinstance(node.target, ast.Tuple):
            self.enumerate_loop(node)
            return
        if not isinstance(node.target, ast.Name):
            raise self.ctx.at(node.target, "the loop variable must be a plain name")
        name, it = node.target.id, node.iter
        if name in self.info.global_names:
            raise self.ctx.at(node.target, "a global cannot be a loop variable")
        if isinstance(it, ast.Call) and isinstance(it.func, ast.Name) and it.func.id == "range":
            if not 1 <= len(it.args) <= 3 or it.keywords:
                raise self.ctx.at(it, "range() takes 1 to 3 arguments")
            old = self.info.locals.get(name)
            base = old.ty if old is not None else None
            anchor = next((a for a in it.args if not self.flexible(a)), None)
            if base is None and anchor is not None:
                base = self.expr(anchor)
            elif base is None:
                base = self.constant_range_type(name, it.args)
            for a in it.args:
                t = self.expr(a, base if isinstance(base, IntT) else None)
                if not isinstance(t, IntT):
                    raise self.ctx.at(a, f"range() needs integers, not {t}")
                self.same(a, base, t, "mix in range()")
            # a literal, untyped or typed constant step is known now (.const); others are
            # checked when the loop starts
            if len(it.args) == 3 and getattr(it.args[2], "const", None) == 0:
                shown = ast.unparse(it.args[2])
                what = "" if shown == "0" else f" ({shown} is 0)"
                raise self.ctx.at(it.args[2], f"range() step must not be zero{what}: the loop "
                                              "would never end (CPython raises ValueError)")
            node.kind = "range"  # type: ignore[attr-defined]
            self.declare(name, base, "value", node)
        else:
            t = self.expr(it)
            if t == STR:
                raise self.ctx.at(it, "to loop over a str, use 'for i in range(len(s))' and ord(s[i])")
            if not isinstance(t, ArrayT):
                raise self.ctx.at(it, f"a for loop goes over range(...) or an array, not {t}")
            node.kind = "array"  # type: ignore[attr-defined]
            self.declare(name, t.elem, "ref" if is_aggregate(t.elem) else "value", node)
        self.loop(node.body)

    def enumerate_loop(self, node: ast.For) -> None:
        """`for i, x in enumerate(xs)`: i counts from 0 in u64, x is each element."""
        it, names = node.iter, node.target.elts
        if not (isinstance(it, ast.Call) and isinstance(it.func, ast.Name)
                and it.func.id == "enumerate" and self.lookup_kind("enumerate") == "unknown"):
            raise self.ctx.at(node.target, "a loop with two variables goes over "
                                           "enumerate(array): 'for i, x in enumerate(xs)'")
        if len(it.args) != 1 or it.keywords:
            raise self.ctx.at(it, "enumerate() takes one array (no start=)")
        a = it.args[0]
        if isinstance(a, ast.Call) and isinstance(a.func, ast.Name) and a.func.id == "range":
            raise self.ctx.at(a, "enumerate() goes over an array, not a range: for a range, "
                                 "the loop variable is already the count ('for i in range(n)')")
        if len(names) != 2 or not all(isinstance(n, ast.Name) for n in names):
            raise self.ctx.at(node.target, "write 'for i, x in enumerate(xs)': two plain names")
        t = self.expr(it.args[0])
        if not isinstance(t, ArrayT):
            raise self.ctx.at(it.args[0], f"enumerate() goes over an array, not {t}")
        index, elem = names[0].id, names[1].id
        for n in (index, elem):
            if n in self.info.global_names:
                raise self.ctx.at(node.target, "a global cannot be a loop variable")
        old = self.info.locals.get(index)
        if old is not None and old.ty != U64:
            raise self.ctx.at(names[0], f"enumerate() counts in u64, but '{index}' is {old.ty}")
        node.kind = "enumerate"  # type: ignore[attr-defined]
        self.declare(index, U64, "value", node)
        self.declare(elem, t.elem, "ref" if is_aggregate(t.elem) else "value", node)
        self.loop(node.body)

    def constant_range_type(self, name: str, args: list) -> IntT:
        """A range of constants counts in u64 when no argument is negative (it is an
        index or a count, which kernel code keeps in u64), else in i64."""
        self.defaulted.add(name)
        values = [self.const_int(a) for a in args]
        if all(v is not None and v >= 0 for v in values):
            return INT_TYPES["u64"]
        return INT_TYPES["i64"]

    def s_Break(self, node: ast.stmt) -> None:
        if self.loop_depth == 0:
            raise self.ctx.at(node, f"'{type(node).__name__.lower()}' outside a loop")

    s_Continue = s_Break

    def s_Return(self, node: ast.Return) -> None:
        ret = self.info.sig.ret
        if node.value is None or (isinstance(node.value, ast.Constant) and node.value.value is None):
            if ret != NONE:
                raise self.ctx.at(node, f"this function must return a {ret}")
            node.value = None
            return
        if ret == NONE:
            raise self.ctx.at(node, "this function returns None (see its '-> None'), so 'return' takes no value")
        if isinstance(ret, TupleT) and isinstance(node.value, ast.Tuple):
            if len(node.value.elts) != len(ret.elems):
                raise self.ctx.at(node.value, f"this function returns a {ret}: "
                                              f"{len(ret.elems)} values, not {len(node.value.elts)}")
            for e, t in zip(node.value.elts, ret.elems):
                self.expect(e, t, "return value")
            node.value.ty = ret  # type: ignore[attr-defined]
            return
        self.expect(node.value, ret, "return value")

    def s_Assert(self, node: ast.Assert) -> None:
        self.condition(node.test)
        if node.msg is not None and not (isinstance(node.msg, ast.Constant) and isinstance(node.msg.value, str)):
            raise self.ctx.at(node.msg, "an assert message must be a string literal")

    def s_Expr(self, node: ast.Expr) -> None:
        if isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            node.docstring = True  # type: ignore[attr-defined]
            return
        if not isinstance(node.value, ast.Call):
            raise self.ctx.at(node, "this expression has no effect; only calls can stand alone")
        self.expr(node.value)

    def s_Global(self, node: ast.Global) -> None:
        pass

    def s_Pass(self, node: ast.Pass) -> None:
        pass


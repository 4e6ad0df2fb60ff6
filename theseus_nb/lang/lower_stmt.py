"""Stage 3c: statements to IR: assignment (right side first, as in Python),
control flow, `for` over range() and arrays, and in-place initializers.
"""
from __future__ import annotations

import ast
from collections.abc import Callable

from llvmlite import ir

from .lltypes import I8, PTR, llvm_type
from .types import BOOL, ArrayT, IntT, StructT, Type, is_aggregate

I1, I32, I64 = ir.IntType(1), ir.IntType(32), ir.IntType(64)


def _every_leaf(node: ast.expr, ty: Type, leaf: Callable[[ast.expr, Type], bool]) -> bool:
    """True when ``leaf`` holds for every scalar an initializer is built from
    (the elements of lists and ``[x] * n``, the fields of struct calls)."""
    if isinstance(ty, ArrayT):
        if isinstance(node, ast.BinOp):
            return _every_leaf(node.left.elts[0], ty.elem, leaf)
        if isinstance(node, ast.List):
            return all(_every_leaf(e, ty.elem, leaf) for e in node.elts)
        return _every_leaf(node.elt, ty.elem, leaf)
    if isinstance(ty, StructT):
        return all(_every_leaf(a, f, leaf) for a, (_, f) in zip(node.args, ty.fields))
    return leaf(node, ty)


def _static_leaf(node: ast.expr, ty: Type) -> bool:
    if isinstance(ty, IntT):
        return hasattr(node, "const")
    return isinstance(node, ast.Constant)


def _zero_leaf(node: ast.expr, ty: Type) -> bool:
    if isinstance(ty, IntT):
        return node.const == 0
    # a str is never zero: even "" points at its (empty) literal
    return ty == BOOL and isinstance(node, ast.Constant) and node.value is False


def is_static(node: ast.expr, ty: Type) -> bool:
    """True when an initializer is made only of constants (then it is one store)."""
    return _every_leaf(node, ty, _static_leaf)


def is_zero(node: ast.expr, ty: Type) -> bool:
    """True when a static initializer is all zeros (asked without building the constant)."""
    return _every_leaf(node, ty, _zero_leaf)


class StmtLowerer:
    """Mixin for FunctionLowerer."""

    def body(self, stmts: list) -> None:
        for s in stmts:
            getattr(self, f"l_{type(s).__name__}")(s)

    # ---- initializers --------------------------------------------------
    def counted(self, n: int, each: object) -> None:
        """Emit `for i in range(n): each(i)` with a hidden counter."""
        b = self.builder
        slot = self.temp(I64, "init.i")
        b.store(ir.Constant(I64, 0), slot)
        head, body, done = (self.fn.append_basic_block(x) for x in ("init.head", "init.body", "init.end"))
        b.branch(head)
        b.position_at_end(head)
        i = b.load(slot, typ=I64)
        b.cbranch(b.icmp_unsigned("<", i, ir.Constant(I64, n)), body, done)
        b.position_at_end(body)
        each(i)
        b.store(b.add(i, ir.Constant(I64, 1)), slot)
        b.branch(head)
        b.position_at_end(done)

    def init_store(self, ptr: ir.Value, node: ast.expr, ty: Type) -> None:
        """Create `node` (an initializer or a scalar value) in place at `ptr`.

        Never a first-class aggregate store: LLVM splits `store [N x T] c` into N
        scalar stores and its passes then take time quadratic in N (a 10 000-byte
        array took 7 s).  Zeros and repeated bytes are one llvm.memset, a constant
        list literal one llvm.memcpy from a constant global, anything repeated a
        counted loop: code and compile time stay proportional to the source.
        """
        b = self.builder
        lt = llvm_type(ty)
        if not is_aggregate(ty):
            self.store_value(self.cell.constant(node, ty) if is_static(node, ty) else self.value(node), ptr)
            return
        if is_static(node, ty) and is_zero(node, ty):
            self.memset(ptr, ir.Constant(I8, 0), lt)
            return

        def elem(i: ir.Value) -> ir.Value:
            return self.gep(ptr, [ir.Constant(I64, 0), i], inbounds=True, source_etype=lt)

        if isinstance(ty, ArrayT):
            if isinstance(node, ast.BinOp):  # [x] * N: x is evaluated once
                x = node.left.elts[0]
                if llvm_type(ty.elem) in (I1, I8) and is_static(x, ty.elem):
                    # an i1 is one byte in memory (0 or 1), as a u8 is
                    self.memset(ptr, ir.Constant(I8, int(self.cell.constant(x, ty.elem).constant)), lt)
                    return
                v = self.value(x)
                self.counted(ty.n, lambda i: self.store_value(v, elem(i)))
            elif isinstance(node, ast.List):
                if is_static(node, ty):
                    b.call(self.llvm_intrinsic("llvm.memcpy.p0.p0.i64", [PTR, PTR, I64, I1]),
                           [ptr, self.cell.initial(node, ty), self.size_of(lt), ir.Constant(I1, 0)])
                    return
                for k, e in enumerate(node.elts):
                    self.init_store(elem(ir.Constant(I64, k)), e, ty.elem)
            else:  # [T(...) for _ in range(N)]: the element is evaluated N times
                self.counted(ty.n, lambda i: self.init_store(elem(i), node.elt, ty.elem))
            return
        # a struct: fields not given are zero
        self.memset(ptr, ir.Constant(I8, 0), lt)
        for k, (a, (_, fty)) in enumerate(zip(node.args, ty.fields)):
            p = self.gep(ptr, [ir.Constant(I32, 0), ir.Constant(I32, k)], inbounds=True, source_etype=lt)
            self.init_store(p, a, fty)

    def llvm_intrinsic(self, name: str, params: list) -> ir.Function:
        m = self.cell.module
        return m.globals.get(name) or ir.Function(m, ir.FunctionType(ir.VoidType(), params), name)

    def size_of(self, lt: ir.Type) -> ir.Value:
        """sizeof(lt) as an i64 that LLVM folds to a constant for the target's layout."""
        b = self.builder
        end = b.gep(ir.Constant(PTR, None), [ir.Constant(I64, 1)], source_etype=lt)
        end.type = PTR
        return b.ptrtoint(end, I64)

    def memset(self, ptr: ir.Value, byte: ir.Constant, lt: ir.Type) -> None:
        self.builder.call(self.llvm_intrinsic("llvm.memset.p0.i64", [PTR, I8, I64, I1]),
                          [ptr, byte, self.size_of(lt), ir.Constant(I1, 0)])

    # ---- assignment ----------------------------------------------------
    def slot_of(self, name: str) -> ir.Value:
        if name in self.info.global_names or name not in self.info.locals:
            return self.cell.globals[name]
        return self.slots[name]

    def l_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is None:
            return
        local = self.info.locals[node.target.id]
        self.init_store(self.slots[node.target.id], node.value, local.ty)
        self.bind(node.target.id)

    def l_Assign(self, node: ast.Assign) -> None:
        target = node.targets[0]
        if isinstance(target, (ast.Tuple, ast.List)):
            # Python: the whole right side first, then each target from left to right
            # (so `i, xs[i] = 1, 5` indexes with the new i)
            v = node.value
            vals = ([self.value(e) for e in v.elts] if isinstance(v, ast.Tuple) else
                    [None] * len(target.elts))
            if not isinstance(v, ast.Tuple):
                whole = self.value(v)
                vals = [self.builder.extract_value(whole, i) for i in range(len(target.elts))]
            for t, val in zip(target.elts, vals):
                if isinstance(t, ast.Name):
                    self.store_value(val, self.slot_of(t.id))
                    self.bind(t.id)
                else:
                    self.store_value(val, self.place(t))
            return
        if isinstance(target, ast.Name):
            local = self.info.locals.get(target.id)
            if local is not None and local.storage == "owned" and target.id not in self.info.global_names:
                self.init_store(self.slots[target.id], node.value, local.ty)
                self.bind(target.id)
                return
            v = self.value(node.value)  # Python evaluates the right side first
            self.store_value(v, self.slot_of(target.id))
            self.bind(target.id)
            return
        v = self.value(node.value)
        self.store_value(v, self.place(target))

    def l_AugAssign(self, node: ast.AugAssign) -> None:
        b = self.builder
        t = node.target
        if isinstance(t, ast.Name):
            self.check_bound(t.id, t)
        ptr = self.slot_of(t.id) if isinstance(t, ast.Name) else self.place(t)
        old = self.load_value(ptr, t.ty)
        self.store_value(self.binop(node.op, old, node.value, t.ty, node), ptr)

    # ---- control flow --------------------------------------------------
    def l_If(self, node: ast.If) -> None:
        b = self.builder
        c = self.cond(node.test)
        then, other, done = (self.fn.append_basic_block(n) for n in ("if.then", "if.else", "if.end"))
        b.cbranch(c, then, other)
        b.position_at_end(then)
        self.body(node.body)
        b.branch(done)
        b.position_at_end(other)
        self.body(node.orelse)
        b.branch(done)
        b.position_at_end(done)

    def l_While(self, node: ast.While) -> None:
        b = self.builder
        head, body, done = (self.fn.append_basic_block(n) for n in ("while.head", "while.body", "while.end"))
        b.branch(head)
        b.position_at_end(head)
        b.cbranch(self.cond(node.test), body, done)
        b.position_at_end(body)
        self.loops.append((head, done))
        self.body(node.body)
        self.loops.pop()
        b.branch(head)
        b.position_at_end(done)

    def l_For(self, node: ast.For) -> None:
        if node.kind == "enumerate":
            self.array_loop(node, node.target.elts[1].id, node.iter.args[0], node.target.elts[0].id)
            return
        if node.kind != "range":
            self.array_loop(node, node.target.id, node.iter)
            return
        b = self.builder
        var = node.target.id
        ty = self.info.locals[var].ty
        lt = llvm_type(ty)
        args = [self.value(a) for a in node.iter.args]
        start, stop, step = (
            (ir.Constant(lt, 0), args[0], ir.Constant(lt, 1)) if len(args) == 1 else
            (args[0], args[1], ir.Constant(lt, 1)) if len(args) == 2 else tuple(args))
        const_step = getattr(node.iter.args[2], "const", None) if len(args) == 3 else 1
        if not isinstance(const_step, int) or const_step == 0:
            const_step = None  # unknown until run time (the checker refuses a constant 0)
            self.check(b.icmp_unsigned("==", step, ir.Constant(lt, 0)),
                       "range() arg 3 must not be zero", node, always=True)
        bound = self.indexed_bound(node) if const_step is not None and const_step > 0 else None
        if bound is None:
            self.range_loop(node, start, stop, step, const_step)
            return
        # Loop versioning: when every value the loop variable takes is a valid index
        # of the arrays it indexes (0 <= start, stop <= their length, counting up),
        # those accesses cannot fail, and a copy of the loop without their checks
        # runs instead.  Otherwise the checked loop runs and panics where it did.
        # Without the checks LLVM can vectorize, or turn a fill into a memset.
        wide = (lambda v: b.sext(v, I64)) if ty.signed else (lambda v: b.zext(v, I64))
        wide = (lambda v: v) if ty.bits == 64 else wide
        fits = b.icmp_signed("<=", wide(stop), ir.Constant(I64, bound)) if ty.signed \
            else b.icmp_unsigned("<=", wide(stop), ir.Constant(I64, bound))
        if ty.signed:
            fits = b.and_(fits, b.icmp_signed(">=", start, ir.Constant(lt, 0)))
        fast, slow, done = (self.fn.append_basic_block(n) for n in ("for.fast", "for.checked", "for.done"))
        b.cbranch(fits, fast, slow)
        for block, proven in ((fast, {var: bound}), (slow, {})):
            b.position_at_end(block)
            saved = self.proven
            self.proven = {**saved, **proven}
            self.range_loop(node, start, stop, step, const_step)
            self.proven = saved
            b.branch(done)
        b.position_at_end(done)

    def indexed_bound(self, node: ast.For) -> int | None:
        """The smallest length of the arrays that `node`'s body indexes with exactly its
        loop variable, if the body never assigns that variable; else None."""
        var = node.target.id
        if not self.cell.checks or var in self.info.global_names:
            return None
        lengths = []
        for n in ast.walk(ast.Module(body=node.body, type_ignores=[])):
            if isinstance(n, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.For)):
                targets = n.targets if isinstance(n, ast.Assign) else [n.target]
                if any(isinstance(t, ast.Name) and t.id == var for t in targets):
                    return None
            if (isinstance(n, ast.Subscript) and isinstance(n.slice, ast.Name) and n.slice.id == var
                    and isinstance(getattr(n.value, "ty", None), ArrayT)):
                lengths.append(n.value.ty.n)
        return min(lengths) if lengths else None

    def range_loop(self, node: ast.For, start: ir.Value, stop: ir.Value, step: ir.Value,
                   const_step: int | None) -> None:
        """The loop of `for var in range(...)` over values already evaluated."""
        b = self.builder
        var = node.target.id
        ty = self.info.locals[var].ty
        lt = llvm_type(ty)
        counter = self.temp(lt, f"{var}.next")
        b.store(start, counter)
        head, body, latch, done = (self.fn.append_basic_block(n)
                                   for n in ("for.head", "for.body", "for.latch", "for.end"))
        b.branch(head)
        b.position_at_end(head)
        cur = b.load(counter, typ=lt)
        cmp = b.icmp_signed if ty.signed else b.icmp_unsigned
        if const_step is not None:
            go = cmp("<", cur, stop) if const_step > 0 else cmp(">", cur, stop)
        else:
            up = cmp(">", step, ir.Constant(lt, 0)) if ty.signed else ir.Constant(I1, 1)
            go = b.select(up, cmp("<", cur, stop), cmp(">", cur, stop))
        b.cbranch(go, body, done)
        b.position_at_end(body)
        b.store(cur, self.slots[var])
        self.bind(var)
        self.loops.append((latch, done))
        self.body(node.body)
        self.loops.pop()
        b.branch(latch)
        b.position_at_end(latch)
        # stepping past the type's range just ends the loop (Python would stop too)
        cur = b.load(counter, typ=lt)
        op = "sadd" if ty.signed else "uadd"
        fname = f"llvm.{op}.with.overflow.i{ty.bits}"
        m = self.cell.module
        fn = m.globals.get(fname) or ir.Function(
            m, ir.FunctionType(ir.LiteralStructType([lt, I1]), [lt, lt]), fname)
        pair = b.call(fn, [cur, step])  # an unsigned step is never negative
        b.store(b.extract_value(pair, 0), counter)
        b.cbranch(b.extract_value(pair, 1), done, head)
        b.position_at_end(done)

    def array_loop(self, node: ast.For, var: str, array: ast.expr, index: str = "") -> None:
        """`for x in array` (and `for index, x in enumerate(array)`): each element read
        when the loop gets there."""
        b = self.builder
        arr_t = array.ty
        base = self.place(array)
        counter = self.temp(I64, f"{var}.idx")
        b.store(ir.Constant(I64, 0), counter)
        head, body, latch, done = (self.fn.append_basic_block(n)
                                   for n in ("for.head", "for.body", "for.latch", "for.end"))
        b.branch(head)
        b.position_at_end(head)
        i = b.load(counter, typ=I64)
        b.cbranch(b.icmp_unsigned("<", i, ir.Constant(I64, arr_t.n)), body, done)
        b.position_at_end(body)
        p = self.gep(base, [ir.Constant(I64, 0), i], inbounds=True, source_etype=llvm_type(arr_t))
        b.store(p if is_aggregate(arr_t.elem) else b.load(p, typ=llvm_type(arr_t.elem)),
                self.slots[var])
        self.bind(var)
        if index:
            b.store(i, self.slots[index])
            self.bind(index)
        self.loops.append((latch, done))
        self.body(node.body)
        self.loops.pop()
        b.branch(latch)
        b.position_at_end(latch)
        b.store(b.add(b.load(counter, typ=I64), ir.Constant(I64, 1)), counter)
        b.branch(head)
        b.position_at_end(done)

    def l_Break(self, node: ast.Break) -> None:
        self.builder.branch(self.loops[-1][1])
        self.dead_block()

    def l_Continue(self, node: ast.Continue) -> None:
        self.builder.branch(self.loops[-1][0])
        self.dead_block()

    def l_Return(self, node: ast.Return) -> None:
        if node.value is None:
            self.builder.ret_void()
        else:
            self.builder.ret(self.value(node.value))
        self.dead_block()

    def l_Assert(self, node: ast.Assert) -> None:
        msg = node.msg.value if node.msg is not None else "assertion failed"
        self.check(self.builder.not_(self.cond(node.test)), msg, node, always=True)

    def l_Expr(self, node: ast.Expr) -> None:
        if not getattr(node, "docstring", False):
            self.value(node.value)

    def l_Global(self, node: ast.Global) -> None:
        pass

    l_Pass = l_Global

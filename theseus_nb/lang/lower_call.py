"""Stage 3b: calls to IR: this cell's functions, other cells' symbols, function
references, checked conversions, builtins and the unsafe intrinsics (inline asm).
"""
from __future__ import annotations

import ast

from llvmlite import ir
from llvmlite.ir import instructions

from .interface import FunctionSig
from .lltypes import FNREF_T, PTR, STR_T
from .types import BOOL, I64 as I64_T, NONE, STR, U64, IntT, Type, is_aggregate

I1, I32, I64, I128 = ir.IntType(1), ir.IntType(32), ir.IntType(64), ir.IntType(128)
VOID = ir.VoidType()
#: What print() calls, in kernel_src/console.py (the host JIT brings its own).
CONSOLE = "console"
CONSOLE_SIGS = {"begin": FunctionSig("begin", (), NONE, True), "end": FunctionSig("end", (), NONE, True),
                "write": FunctionSig("write", (("s", STR),), NONE, True),
                "write_u64": FunctionSig("write_u64", (("v", U64),), NONE, True),
                "write_i64": FunctionSig("write_i64", (("v", I64_T),), NONE, True),
                "write_bool": FunctionSig("write_bool", (("b", BOOL),), NONE, True)}
PORT_OPS = {"outb": (8, "al"), "outw": (16, "ax"), "outl": (32, "eax"),
            "inb": (8, "al"), "inw": (16, "ax"), "inl": (32, "eax")}


class _VolatileLoad(instructions.LoadInstr):
    """`load volatile`: raw memory may be a device register, so every access must happen."""

    def descr(self, buf: list) -> None:
        super().descr(buf)
        buf[-1] = buf[-1].replace("load ", "load volatile ", 1)


class _VolatileStore(instructions.StoreInstr):
    def descr(self, buf: list) -> None:
        super().descr(buf)
        buf[-1] = buf[-1].replace("store ", "store volatile ", 1)


class CallLowerer:
    """Mixin for FunctionLowerer."""

    def arg(self, node: ast.expr, ty: Type) -> ir.Value:
        return self.place(node) if is_aggregate(ty) else self.value(node)

    def v_Call(self, node: ast.Call) -> ir.Value:
        b = self.builder
        kind = node.call[0]
        if kind == "func":
            f = self.cell.model.functions[node.call[1]]
            fn = self.cell.functions[node.call[1]]
            if node.call[1] == self.sig.name and self.recurse is not None:
                fn = self.recurse
            return b.call(fn, [self.arg(a, t) for a, (_, t) in zip(node.args, f.params)])
        if kind == "ext":
            cell, remote, sig = node.call[1:]
            fn = self.cell.symbol(cell, remote, sig)
            return b.call(fn, [self.arg(a, t) for a, (_, t) in zip(node.args, sig.params)])
        if kind == "fnref":
            # llvmlite needs a pointer that knows its function type; a bitcast
            # ptr -> ptr would be folded away, so go through the integer
            target = b.inttoptr(b.ptrtoint(self.value(node.func), I64), FNREF_T.as_pointer())
            return b.call(target, [self.value(node.args[0])])
        if kind == "intrinsic":
            return self.intrinsic(node, node.call[1])
        if kind == "print":
            return self.print_(node)
        if kind == "conv":
            return self.convert(self.value(node.args[0]), node.args[0].ty, node.call[1], node)
        if kind == "len":
            return b.extract_value(self.value(node.args[0]), 1)
        if kind == "ord":
            sub = node.args[0]
            s = self.value(sub.value)
            i = self.index(sub.slice, b.extract_value(s, 1), "string index out of range", node)
            p = self.gep(b.extract_value(s, 0), [i], inbounds=True, source_etype=ir.IntType(8))
            return b.load(p, typ=ir.IntType(8))
        if kind == "panic":
            b.call(self.cell.panic_fn(), [self.value(node.args[0]), self.where,
                                          ir.Constant(I64, node.lineno)])
            b.unreachable()
            self.dead_block()
            return None
        if kind == "wrap":
            x, y = self.value(node.args[0]), self.value(node.args[1])
            return {"add": b.add, "sub": b.sub, "mul": b.mul}[node.call[1]](x, y)
        if kind == "minmax":
            x, y = self.value(node.args[0]), self.value(node.args[1])
            op = "<" if node.call[1] == "min" else ">"
            cmp = b.icmp_signed(op, y, x) if node.ty.signed else b.icmp_unsigned(op, y, x)
            return b.select(cmp, y, x)  # ties keep the first, as Python does
        if kind == "divmod":  # Python's floor semantics, each operand evaluated once
            x, y = self.value(node.args[0]), node.args[1]
            ty = node.args[0].ty
            yv = self.value(y)
            q = self.divmod(True, x, yv, ty, node)
            r = self.divmod(False, x, yv, ty, node)
            pair = b.insert_value(ir.Constant(ir.LiteralStructType([q.type, r.type]), None), q, 0)
            return b.insert_value(pair, r, 1)
        if kind == "abs":
            x = self.value(node.args[0])
            if not node.ty.signed:
                return x
            neg = self.overflowing("sub", ir.Constant(x.type, 0), x, node.ty, node)
            return b.select(b.icmp_signed("<", x, ir.Constant(x.type, 0)), neg, x)
        raise AssertionError(kind)

    def print_(self, node: ast.Call) -> None:
        """Every argument first (any may panic), then the pieces in one critical section."""
        b = self.builder
        kw = {k.arg: k.value.value for k in node.keywords}
        sep, end = kw.get("sep", " "), kw.get("end", "\n")
        pieces: list = []  # str (literal text) or (Type, value)

        def text(t: str) -> None:
            if pieces and isinstance(pieces[-1], str):
                pieces[-1] += t  # one write for the separator and a literal beside it
            elif t:
                pieces.append(t)

        for i, a in enumerate(node.args):
            if i:
                text(sep)
            for part in a.values if isinstance(a, ast.JoinedStr) else [a]:
                if isinstance(part, ast.Constant) and isinstance(part.value, str):
                    text(part.value)
                else:
                    e = part.value if isinstance(part, ast.FormattedValue) else part
                    pieces.append((e.ty, self.value(e)))
        text(end)
        call = lambda name, args: b.call(self.cell.symbol(CONSOLE, name, CONSOLE_SIGS[name]), args)
        call("begin", [])
        for p in pieces:
            if isinstance(p, str):
                call("write", [self.cell.string(p)])
                continue
            ty, v = p
            if ty == STR:
                call("write", [v])
            elif ty == BOOL:
                call("write_bool", [v])
            elif ty.signed:
                call("write_i64", [b.sext(v, I64) if ty.bits < 64 else v])
            else:
                call("write_u64", [b.zext(v, I64) if ty.bits < 64 else v])
        call("end", [])
        return None

    def convert(self, v: ir.Value, src: Type, dst: Type, node: ast.AST) -> ir.Value:
        """u8(x), i64(x), bool(x)...: exact or a panic, never a silent truncation."""
        b = self.builder
        if dst == src:
            return v
        if dst == BOOL:
            return b.icmp_unsigned("!=", v, ir.Constant(v.type, 0))
        lt = ir.IntType(dst.bits)
        if src == BOOL:
            return b.zext(v, lt)
        assert isinstance(src, IntT) and isinstance(dst, IntT)
        if not (src.min >= dst.min and src.max <= dst.max):
            wide = b.sext(v, I128) if src.signed else b.zext(v, I128)
            bad = b.or_(b.icmp_signed("<", wide, ir.Constant(I128, dst.min)),
                        b.icmp_signed(">", wide, ir.Constant(I128, dst.max)))
            self.check(bad, f"value does not fit in {dst} (conversion from {src})", node)
        if dst.bits < src.bits:
            return b.trunc(v, lt)
        if dst.bits > src.bits:
            return b.sext(v, lt) if src.signed else b.zext(v, lt)
        return v

    def asm(self, ret: ir.Type, args: list, text: str, constraints: str, values: list) -> ir.Value:
        fty = ir.FunctionType(ret, args)
        return self.builder.call(ir.InlineAsm(fty, text, constraints, side_effect=True), values)

    def intrinsic(self, node: ast.Call, name: str) -> ir.Value:
        b = self.builder
        args = node.args
        if name.startswith("load"):
            lt = ir.IntType(int(name[4:]))
            instr = _VolatileLoad(b.block, b.inttoptr(self.value(args[0]), PTR), typ=lt)
            instr.align = None
            b._insert(instr)  # llvmlite has no volatile flag; insert our subclass directly
            return instr
        if name.startswith("store"):
            v = self.value(args[1])
            instr = _VolatileStore(b.block, v, b.inttoptr(self.value(args[0]), PTR))
            instr.align = None
            b._insert(instr)
            return None
        if name in PORT_OPS:
            bits, reg = PORT_OPS[name]
            lt = ir.IntType(bits)
            port = self.value(args[0])
            if name.startswith("out"):
                return self.asm(VOID, [ir.IntType(16), lt], f"out{name[3]} $1, $0",
                                f"{{dx}},{{{reg}}},~{{memory}}", [port, self.value(args[1])])
            return self.asm(lt, [ir.IntType(16)], f"in{name[2]} $1, $0",
                            f"={{{reg}}},{{dx}},~{{memory}}", [port])
        if name in ("hlt", "cli", "sti", "pause"):
            return self.asm(VOID, [], name, "~{memory}", [])
        if name == "rdtsc":
            pair = self.asm(ir.LiteralStructType([I32, I32]), [], "rdtsc", "={eax},={edx}", [])
            lo = b.zext(b.extract_value(pair, 0), I64)
            hi = b.zext(b.extract_value(pair, 1), I64)
            return b.or_(b.shl(hi, ir.Constant(I64, 32)), lo)
        if name == "addr_of":
            a = args[0]
            if getattr(a, "kind", None) == "funcaddr":
                return b.ptrtoint(self.value(a), I64)
            return b.ptrtoint(self.place(a), I64)
        if name == "make_str":  # a str over kernel memory: (address, length)
            text = b.insert_value(ir.Constant(STR_T, None), b.inttoptr(self.value(args[0]), PTR), 0)
            return b.insert_value(text, self.value(args[1]), 1)
        if name == "call_addr":
            target = b.inttoptr(self.value(args[0]), FNREF_T.as_pointer())
            return b.call(target, [self.value(args[1])])
        raise AssertionError(name)


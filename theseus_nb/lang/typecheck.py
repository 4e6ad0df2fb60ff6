"""Stage 2: type-check every function body of a CellModel, annotating the ast for `lower`.

Names resolve as in Python (a name assigned in a function is local to all of
it unless declared `global`); a local's type is fixed by its first assignment.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import Optional

from .check_call import BUILTINS, CallChecker
from .check_expr import ExprChecker
from .check_stmt import Local, StmtChecker
from .parse import SAFE_INTERFACE, CellModel, ConstDef, FuncDef
from .types import is_aggregate
from .unsafe import INTRINSICS




@dataclass
class FuncInfo:
    """What `lower` needs to know about one checked function."""
    sig: FuncDef
    locals: dict = field(default_factory=dict)  # name -> Local
    global_names: set = field(default_factory=set)
    shared_refs: dict = field(default_factory=dict)  # loop variable -> (owner, global)


def _assigned_names(fn: ast.FunctionDef) -> set:
    names = set()
    for node in ast.walk(fn):
        if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign, ast.For)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for t in targets:  # `a, b = ...` and `for i, x in ...` bind each name
                names.update(e.id for e in (t.elts if isinstance(t, (ast.Tuple, ast.List)) else [t])
                             if isinstance(e, ast.Name))
    return names


class Checker(ExprChecker, CallChecker, StmtChecker):
    """Checks one cell, given the interfaces of the cells it imports."""

    def __init__(self, model: CellModel, interfaces: dict) -> None:
        self.model, self.ctx, self.interfaces = model, model.ctx, interfaces
        self.consts: dict = dict(model.constants)
        self.imported_funcs: dict = {}  # local name -> (cell, remote name, FunctionSig)
        self.imported_globals: dict = {}  # local name -> (cell, remote name, Type): read-only
        self.imported_structs: dict = {}  # local name -> StructT
        self._resolve_imports()
        self.untyped_consts = {n: c for n, c in self.consts.items() if c.ty is None}
        self.info: Optional[FuncInfo] = None
        self.loop_depth = 0

    # ---- imports -------------------------------------------------------
    def _interface(self, cell: str, node: ast.AST) -> object:
        if cell == self.model.name:
            raise self.ctx.at(node, f"cell '{cell}' cannot import itself")
        if cell not in self.interfaces:
            raise self.ctx.at(node, f"unknown cell '{cell}': no cell of that name is being built")
        return self.interfaces[cell]

    def _resolve_imports(self) -> None:
        for local, (cell, remote, node) in self.model.imported.items():
            iface = self._interface(cell, node)
            if remote in iface.functions:
                if not self.model.unsafe and not iface.callable_from_safe(remote):
                    raise self.ctx.at(node, iface.safe_refusal(remote))
                self.imported_funcs[local] = (cell, remote, iface.functions[remote])
            elif remote in iface.constants:
                ty, value = iface.constants[remote]
                self.consts[local] = ConstDef(local, value, ty, node)
            elif remote in iface.globals:
                if not is_aggregate(iface.globals[remote]):
                    # CPython's `from m import x` copies an int once; the compiled cell
                    # would read it live: the two would differ after the owner's next write
                    raise self.ctx.at(node, f"'{remote}' is a {iface.globals[remote]} global of "
                                            f"cell '{cell}': 'from ... import' would copy it once "
                                            "in Python, so read it through its module instead "
                                            f"('import cells.{cell}', then 'cells.{cell}.{remote}'"
                                            f" or 'kernel_src.{cell}.{remote}'), which reads it "
                                            "as it is now, in CPython too")
                self.imported_globals[local] = (cell, remote, iface.globals[remote])
            elif remote in iface.structs:
                self.imported_structs[local] = iface.structs[remote]
            elif remote.startswith("_") or remote in iface.private:
                raise self.ctx.at(node, f"'{remote}' is private to cell '{cell}' (its name starts "
                                        "with _); only public names can be imported")
            else:
                raise self.ctx.at(node, f"cell '{cell}' has no public function, constant, "
                                        f"global or struct '{remote}'")
        for _path, (cell, node) in self.model.modules.items():
            self._interface(cell, node)

    def module_attr(self, node: ast.Attribute) -> Optional[tuple]:
        """`cells.serial.write_str` -> (cell, name, sig), `cells.serial.BAUD` -> ("const", name,
        (type, value)); None if node is not such a path."""
        path = ast.unparse(node.value)
        if path not in self.model.modules:
            return None
        cell, _ = self.model.modules[path]
        iface = self.interfaces[cell]
        if node.attr.startswith("_") or node.attr in iface.private:
            raise self.ctx.at(node, f"'{node.attr}' is private to cell '{cell}' (its name starts with _)")
        if node.attr in iface.constants:
            return ("const", node.attr, iface.constants[node.attr])
        if node.attr in iface.globals:
            return ("global", node.attr, (cell, iface.globals[node.attr]))
        if node.attr not in iface.functions:
            raise self.ctx.at(node, f"cell '{cell}' has no public function, constant or global "
                                    f"'{node.attr}'")
        if not self.model.unsafe and not iface.callable_from_safe(node.attr):
            raise self.ctx.at(node, iface.safe_refusal(node.attr))
        return (cell, node.attr, iface.functions[node.attr])

    def struct_named(self, name: str) -> object:
        """The struct type a name stands for here (this cell's or imported), or None."""
        return self.model.structs.get(name) or self.imported_structs.get(name)

    def shared_root(self, node: ast.expr) -> Optional[tuple]:
        """(owner cell, its global's name) when the place node is (inside) another
        cell's global, which this cell may read but never write; else None."""
        while isinstance(node, (ast.Subscript, ast.Attribute)):
            if getattr(node, "kind", None) == "extglobal":
                return node.shared  # type: ignore[attr-defined]
            node = node.value
        if not isinstance(node, ast.Name):
            return None
        kind = getattr(node, "kind", None)
        if kind == "extglobal":
            cell, remote, _ = self.imported_globals[node.id]
            return cell, remote
        if kind == "local" and self.info is not None:
            return self.info.shared_refs.get(node.id)
        return None

    def _shared_refs(self, fn: ast.FunctionDef) -> dict:
        """Loop variables that may refer into another cell's global, wherever they are
        used: `for t in tasks` (and `for r in t.regs`, and so on) makes t read-only for
        the whole function, so no order of statements or loop can write through it."""
        refs: dict = {}
        changed = True
        while changed:
            changed = False
            for node in ast.walk(fn):
                if not isinstance(node, ast.For):
                    continue
                target, it = node.target, node.iter
                if isinstance(target, ast.Tuple) and len(target.elts) == 2 \
                        and isinstance(it, ast.Call) and len(it.args) == 1:
                    target, it = target.elts[1], it.args[0]  # for i, x in enumerate(xs)
                if isinstance(target, ast.Name) and target.id not in refs:
                    root = self._syntactic_root(it, refs)
                    if root is not None:
                        refs[target.id] = root
                        changed = True
        return refs

    def _syntactic_root(self, node: ast.expr, refs: dict) -> Optional[tuple]:
        while isinstance(node, (ast.Subscript, ast.Attribute)):
            if isinstance(node, ast.Attribute) and ast.unparse(node.value) in self.model.modules:
                cell, _ = self.model.modules[ast.unparse(node.value)]
                iface = self.interfaces.get(cell)
                return (cell, node.attr) if iface is not None and node.attr in iface.globals else None
            node = node.value
        if isinstance(node, ast.Name):
            if node.id in refs:
                return refs[node.id]
            if node.id in self.imported_globals and node.id not in self.assigned:
                cell, remote, _ = self.imported_globals[node.id]
                return cell, remote
        return None

    def refuse_write(self, target: ast.expr, what: str = "write") -> None:
        """A CellError if target is (inside) another cell's global."""
        shared = self.shared_root(target)
        if shared is not None:
            raise self.ctx.at(target, read_only(ast.unparse(target), *shared, what=what))

    def imported_sig(self, name: str) -> tuple:
        return self.imported_funcs[name]

    def model_const(self, name: str) -> object:
        return self.consts[name].value

    # ---- names ---------------------------------------------------------
    def lookup_kind(self, name: str) -> str:
        try:
            return self.lookup(ast.Name(id=name, lineno=1, col_offset=0), quiet=True)[0]
        except Exception:
            return "unknown"

    def lookup(self, node: ast.Name, calling: bool = False, quiet: bool = False) -> tuple:
        n, info, m = node.id, self.info, self.model
        if info is not None and n in info.locals and n not in info.global_names:
            return "local", info.locals[n].ty
        if info is not None and n in self.assigned and n not in info.global_names:
            raise self.ctx.at(node, f"'{n}' is used before it is assigned")
        if n in m.globals:
            return "global", m.globals[n].ty
        if n in self.consts:
            c = self.consts[n]
            return "const", c.ty
        if n in m.functions:
            return "func", m.functions[n]
        if n in self.imported_funcs:
            return "extfunc", self.imported_funcs[n][2]
        if n in self.imported_globals:
            return "extglobal", self.imported_globals[n][2]
        if n in m.structs:
            return "struct", m.structs[n]
        if n in self.imported_structs:
            return "struct", self.imported_structs[n]
        if n in m.intrinsics:
            return "intrinsic", m.intrinsics[n]
        if n in BUILTINS:
            return "builtin", None
        if n in INTRINSICS and not m.unsafe:
            raise self.ctx.at(node, m.intrinsic_refusal(n))
        if n in INTRINSICS:
            raise self.ctx.at(node, f"'{n}' is not imported: add 'from theseus_nb.lang.unsafe import {n}'")
        if n == "range":
            raise self.ctx.at(node, "range() is only allowed in 'for x in range(...)'")
        raise self.ctx.at(node, f"'{n}' is not defined")

    # ---- functions -----------------------------------------------------
    def check(self) -> dict:
        """Check every function; return name -> FuncInfo."""
        out = {}
        for f in self.model.functions.values():
            if f.safe_interface and not self.model.unsafe:
                raise self.ctx.at(f.node.decorator_list[0], f"@{SAFE_INTERFACE} marks a function "
                                  "of an unsafe cell as callable from safe cells; this cell is "
                                  "safe, so all its public functions are, and the mark would "
                                  "promise nothing: remove it")
        for g in self.model.globals.values():
            self.info, self.assigned = None, set()
            self.initializer(g.value, g.ty, g.node, static=True) if g.value is not None else None
        for name, f in self.model.functions.items():
            out[name] = self.function(f)
        return out

    def function(self, f: FuncDef) -> FuncInfo:
        info = FuncInfo(f)
        self.info = info
        self.defaulted: set = set()  # locals typed i64 only because of a bare literal
        self.assigned = _assigned_names(f.node)
        info.shared_refs = self._shared_refs(f.node)
        for node in ast.walk(f.node):
            if isinstance(node, ast.Global):
                for n in node.names:
                    if n in self.consts:
                        raise self.ctx.at(node, f"'{n}' is a constant and cannot be assigned")
                    if n in self.imported_globals:
                        cell, remote, _ = self.imported_globals[n]
                        raise self.ctx.at(node, read_only(n, cell, remote))
                    if n not in self.model.globals:
                        raise self.ctx.at(node, f"'{n}' is not a global variable of this cell")
                    info.global_names.add(n)
            elif isinstance(node, (ast.FunctionDef, ast.Lambda)) and node is not f.node:
                raise self.ctx.at(node, "nested functions and lambdas are not supported")
            elif isinstance(node, (ast.Nonlocal, ast.Try, ast.With, ast.Raise, ast.Delete,
                                   ast.Yield, ast.Await, ast.ClassDef, ast.Import, ast.ImportFrom)):
                raise self.ctx.at(node, f"'{type(node).__name__}' is not supported in the cell language")
        for pname, pty in f.params:
            info.locals[pname] = Local(pty, "ref" if is_aggregate(pty) else "value")
        self.body(f.node.body)
        return info

    def body(self, stmts: list) -> None:
        for s in stmts:
            method = getattr(self, f"s_{type(s).__name__}", None)
            if method is None:
                raise self.ctx.at(s, f"'{type(s).__name__}' statements are not supported in the cell language")
            method(s)



def read_only(shown: str, cell: str, remote: str, what: str = "write") -> str:
    """Why a cell may not write another's global, and the way to change it."""
    return (f"'{shown}' is part of '{remote}', a global that belongs to cell '{cell}': another "
            f"cell may read it but not {what} it, because only its owner keeps it consistent; "
            f"to change it, call a function of '{cell}' that does (or add one there)")


def check_cell(model: CellModel, interfaces: dict) -> tuple:
    """Type-check a whole cell; return (checker, {function name: FuncInfo})."""
    checker = Checker(model, interfaces)
    return checker, checker.check()


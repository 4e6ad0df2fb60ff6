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


def _assigned_names(fn: ast.FunctionDef) -> set:
    names = set()
    for node in ast.walk(fn):
        if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign, ast.For)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(t.id for t in targets if isinstance(t, ast.Name))
    return names


class Checker(ExprChecker, CallChecker, StmtChecker):
    """Checks one cell, given the interfaces of the cells it imports."""

    def __init__(self, model: CellModel, interfaces: dict) -> None:
        self.model, self.ctx, self.interfaces = model, model.ctx, interfaces
        self.consts: dict = dict(model.constants)
        self.imported_funcs: dict = {}  # local name -> (cell, remote name, FunctionSig)
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
            elif remote.startswith("_") or remote in iface.private:
                raise self.ctx.at(node, f"'{remote}' is private to cell '{cell}' (its name starts "
                                        "with _); only public names can be imported")
            else:
                raise self.ctx.at(node, f"cell '{cell}' has no public function or constant '{remote}'")
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
        if node.attr not in iface.functions:
            raise self.ctx.at(node, f"cell '{cell}' has no public function or constant '{node.attr}'")
        if not self.model.unsafe and not iface.callable_from_safe(node.attr):
            raise self.ctx.at(node, iface.safe_refusal(node.attr))
        return (cell, node.attr, iface.functions[node.attr])

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
        if n in m.structs:
            return "struct", m.structs[n]
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
        for node in ast.walk(f.node):
            if isinstance(node, ast.Global):
                for n in node.names:
                    if n in self.consts:
                        raise self.ctx.at(node, f"'{n}' is a constant and cannot be assigned")
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



def check_cell(model: CellModel, interfaces: dict) -> tuple:
    """Type-check a whole cell; return (checker, {function name: FuncInfo})."""
    checker = Checker(model, interfaces)
    return checker, checker.check()


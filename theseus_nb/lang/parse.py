"""Stage 1: source text to a CellModel (module-level definitions, imports, signatures).

Uses only the `ast` module; function bodies are left for `typecheck`.
"""
from __future__ import annotations

import ast
import warnings
from dataclasses import dataclass, field
from typing import Optional

from .errors import SourceContext
from .marker import UNSAFE_MARK, marker_position, stray_marker_lines
from .types import BOOL, FNREF, NONE, SCALAR_NAMES, STR, ArrayT, IntT, StructT, TupleT, Type
from .unsafe import INTRINSICS

PRELUDE_MODULES = ("theseus_nb.lang.prelude", "theseus_nb.lang")
UNSAFE_MODULE = "theseus_nb.lang.unsafe"
#: The decorator by which an unsafe cell's author lets safe cells call a function.
SAFE_INTERFACE = "safe_interface"
CELL_PREFIXES = ("cells.", "kernel_src.")
# a zero-filled fnref would be a null function pointer: only locals and parameters hold one
NO_TUPLE = ("a tuple is not a value to store or pass around: only a function's return type "
            "may be one ('-> tuple[u64, bool]'), unpacked where it is called ('q, r = f(x)')")
NO_STORED_FNREF = ("a fnref can only be a parameter or a local (a global, field or array "
                   "element would start as a null function); store addr_of(f) as a u64 in "
                   "an unsafe cell instead")


@dataclass
class FuncDef:
    """A function's signature (resolved types) and its ast node."""
    name: str
    params: list  # of (name, Type)
    ret: Type
    node: ast.FunctionDef
    #: marked @safe_interface: its author promises a safe cell may call it
    safe_interface: bool = False


@dataclass
class GlobalDef:
    name: str
    ty: Type
    value: Optional[ast.expr]
    node: ast.AST


@dataclass
class ConstDef:
    """A module-level constant; ty None means an untyped integer (adapts like a literal)."""
    name: str
    value: object
    ty: Optional[Type]
    node: ast.AST


@dataclass
class CellModel:
    """Everything defined at a cell's top level."""
    name: str
    ctx: SourceContext
    tree: ast.Module
    unsafe: bool
    functions: dict = field(default_factory=dict)
    globals: dict = field(default_factory=dict)
    constants: dict = field(default_factory=dict)
    structs: dict = field(default_factory=dict)
    # local name -> (cell, remote name, import node) for `from cells.x import f`
    imported: dict = field(default_factory=dict)
    # dotted module path -> (cell, node) for `import cells.x`
    modules: dict = field(default_factory=dict)
    intrinsics: dict = field(default_factory=dict)  # local name -> intrinsic name
    #: the interfaces of the cells it imports, when compiling (None: computing its own
    #: interface, when an imported struct used as a type stands for itself by name only)
    foreign: Optional[dict] = None
    stray_marks: list = field(default_factory=list)  # lines with the marker's text that do not count

    def intrinsic_refusal(self, name: str) -> str:
        """Why a safe cell may not use intrinsic `name`, and what to do about it."""
        msg = f"{name} is an unsafe intrinsic; only cells marked '{UNSAFE_MARK}' may use it"
        if self.stray_marks:
            return msg + (f" (line {self.stray_marks[0]} holds that text, but it does not mark "
                          "the cell: the marker must be a comment line of its own above the "
                          "first statement, not text in a docstring or a string, nor a "
                          "comment further down)")
        return msg + f" (write the comment line '{UNSAFE_MARK}' above the first statement)"


def parse_source(source: str, ctx: SourceContext) -> ast.Module:
    """ast.parse, turning SyntaxError into CellError."""
    try:
        with warnings.catch_warnings():  # CPython's own SyntaxWarnings are noise here
            warnings.simplefilter("ignore", SyntaxWarning)
            return ast.parse(source, filename=ctx.filename)
    except SyntaxError as e:
        raise ctx.error(f"syntax error: {e.msg}", e.lineno or 1, e.offset or 1) from None


def cell_of_module(path: str) -> Optional[str]:
    """`cells.serial` -> `serial`; None for modules that are not cells."""
    for prefix in CELL_PREFIXES:
        if path.startswith(prefix):
            return path.split(".")[-1]
    return None


def imports_of(source: str, *, name: str = "cell", filename: str = "<cell>") -> list:
    """The names of the cells a source imports, in order of first appearance."""
    tree = parse_source(source, SourceContext(source, name, filename))
    found: list = []
    for node in tree.body:
        paths = []
        if isinstance(node, ast.ImportFrom) and node.module and node.module + "." in CELL_PREFIXES:
            paths.extend(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            paths.append(node.module)
        elif isinstance(node, ast.Import):
            paths.extend(a.name for a in node.names)
        for p in paths:
            cell = cell_of_module(p)
            if cell and cell not in found:
                found.append(cell)
    return found


def fold_const(node: ast.AST, consts: dict) -> object:
    """Evaluate a constant expression of literals and untyped constants, or return None."""
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, str)):
        return node.value  # bools too: build_model tells them apart
    if isinstance(node, ast.Name) and node.id in consts and consts[node.id].ty is None:
        return consts[node.id].value
    if isinstance(node, ast.UnaryOp):
        v = fold_const(node.operand, consts)
        if isinstance(v, int) and not isinstance(v, bool):
            if isinstance(node.op, ast.USub):
                return -v
            if isinstance(node.op, ast.UAdd):
                return v
            if isinstance(node.op, ast.Invert):
                return ~v
        return None
    if isinstance(node, ast.BinOp):
        a, b = fold_const(node.left, consts), fold_const(node.right, consts)
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in (a, b)):
            return None
        op = type(node.op)
        try:
            if op in (ast.LShift,) and b > 4096:
                return None
            return {ast.Add: lambda: a + b, ast.Sub: lambda: a - b, ast.Mult: lambda: a * b,
                    ast.FloorDiv: lambda: a // b, ast.Mod: lambda: a % b,
                    ast.LShift: lambda: a << b, ast.RShift: lambda: a >> b,
                    ast.BitAnd: lambda: a & b, ast.BitOr: lambda: a | b,
                    ast.BitXor: lambda: a ^ b}.get(op, lambda: None)()
        except (ZeroDivisionError, ValueError):
            return None
    return None


def resolve_type(node: Optional[ast.AST], model: CellModel, *, what: str,
                 tuple_ok: bool = False) -> Type:
    """Turn an annotation into a Type, or raise a CellError saying what is allowed
    (a tuple only where tuple_ok: a function's return type)."""
    ctx = model.ctx
    if (isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name)
            and node.value.id == "tuple"):
        if not tuple_ok:
            raise ctx.at(node, NO_TUPLE)
        parts = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        elems = tuple(resolve_type(p, model, what=what) for p in parts)
        if len(elems) < 2:
            raise ctx.at(node, "a tuple needs at least two elements (a tuple of one is its value)")
        for p, t in zip(parts, elems):
            if not (isinstance(t, IntT) or t == BOOL):
                raise ctx.at(p, f"a tuple holds integers and bools only, not {t}")
        return TupleT(elems)
    if node is None:
        raise ctx.at(None, f"{what} needs a type annotation")
    if isinstance(node, ast.Constant) and node.value is None:
        return NONE
    if isinstance(node, ast.Name):
        if node.id in SCALAR_NAMES:
            return SCALAR_NAMES[node.id]
        if node.id in model.structs:
            return model.structs[node.id]
        if node.id in model.imported:
            cell, remote, _ = model.imported[node.id]
            if model.foreign is None:
                return StructT(f"{cell}.{remote}", ())  # never reaches an interface
            iface = model.foreign.get(cell)
            if iface is not None and remote in iface.structs:
                return iface.structs[remote]
        if node.id == "int":
            raise ctx.at(node, "'int' has no fixed size: use one of u8 u16 u32 u64 i8 i16 i32 i64")
    if (isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name)
            and node.value.id == "Array" and isinstance(node.slice, ast.Tuple)
            and len(node.slice.elts) == 2):
        elem = resolve_type(node.slice.elts[0], model, what=what)
        n = fold_const(node.slice.elts[1], model.constants)
        if not isinstance(n, int) or isinstance(n, bool) or n <= 0:
            raise ctx.at(node.slice.elts[1], "an array length must be a positive integer constant")
        if elem == NONE:
            raise ctx.at(node, "an array cannot hold None")
        if elem == FNREF:
            raise ctx.at(node, NO_STORED_FNREF)
        return ArrayT(elem, n)
    raise ctx.at(node, f"unknown type '{ast.unparse(node)}': use bool, str, u8..u64, i8..i64, "
                       "Array[T, N], fnref or a @struct class")


def _is_struct_class(node: ast.ClassDef) -> bool:
    return any(isinstance(d, ast.Name) and d.id == "struct" for d in node.decorator_list)


def _check_import(node: ast.AST, model: CellModel) -> None:
    ctx = model.ctx
    if isinstance(node, ast.ImportFrom):
        mod = node.module or ""
        if node.level:
            raise ctx.at(node, "relative imports are not supported: write 'from cells.NAME import f'")
        if mod in PRELUDE_MODULES or mod == "__future__":
            return
        if mod == UNSAFE_MODULE:
            for alias in node.names:
                if alias.name == "*":
                    names = INTRINSICS
                else:
                    names = (alias.name,)
                for n in names:
                    if n not in INTRINSICS:
                        raise ctx.at(node, f"'{n}' is not an unsafe intrinsic")
                    if not model.unsafe:
                        raise ctx.at(node, model.intrinsic_refusal(n))
                    model.intrinsics[alias.asname or n if alias.name != "*" else n] = n
            return
        if mod + "." in CELL_PREFIXES:  # from cells import serial: serial.f(...)
            for alias in node.names:
                if alias.name == "*":
                    raise ctx.at(node, "'import *' from a cell is not allowed: name what you use")
                model.modules[alias.asname or alias.name] = (alias.name, node)
            return
        cell = cell_of_module(mod)
        if cell is None:
            raise ctx.at(node, f"cannot import from '{mod}': a cell may import only "
                               "theseus_nb.lang.prelude, theseus_nb.lang.unsafe and other cells "
                               "(cells.NAME or kernel_src.NAME)")
        for alias in node.names:
            if alias.name == "*":
                raise ctx.at(node, "'import *' from a cell is not allowed: name what you use")
            model.imported[alias.asname or alias.name] = (cell, alias.name, node)
        return
    assert isinstance(node, ast.Import)
    for alias in node.names:
        cell = cell_of_module(alias.name)
        if alias.name == UNSAFE_MODULE:
            raise ctx.at(node, "write 'from theseus_nb.lang.unsafe import NAME'")
        if cell is None or alias.asname:
            raise ctx.at(node, f"cannot import '{alias.name}': write 'import cells.NAME' "
                               "(without 'as') or 'from cells.NAME import f'")
        model.modules[alias.name] = (cell, node)


def build_model(source: str, name: str, *, filename: str = "<cell>",
                unsafe: Optional[bool] = None, interfaces: Optional[dict] = None) -> CellModel:
    """Parse a cell and collect its top-level definitions (no function bodies checked).

    unsafe: None takes it from the header's marker; True makes the cell unsafe;
    False makes it safe and refuses a source that carries the marker.
    interfaces: those of the cells it imports (for the structs it may use as types);
    None when only its own interface is wanted.
    """
    ctx = SourceContext(source, name, filename)
    if not name.isidentifier():
        raise ctx.error(f"'{name}' is not a valid cell name: use letters, digits and _", 1, 1)
    tree = parse_source(source, ctx)
    mark = marker_position(source, tree)
    if unsafe is False and mark is not None:
        raise ctx.error(f"this cell is marked unsafe at line {mark[0]} ('{UNSAFE_MARK}') but was "
                        "loaded as safe (unsafe=False), so it is refused: delete that line if "
                        "the cell needs no unsafe intrinsics, or load it as unsafe", *mark)
    model = CellModel(name, ctx, tree, mark is not None if unsafe is None else unsafe)
    model.foreign = interfaces
    model.stray_marks = stray_marker_lines(source, mark[0] if mark else None)
    defined: dict = {}

    def define(n: str, node: ast.AST) -> None:
        if n in defined or n in SCALAR_NAMES or n in ("Array", "struct"):
            raise ctx.at(node, f"'{n}' is defined twice in this cell")
        defined[n] = node

    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            _check_import(node, model)
        elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue  # a docstring
        elif isinstance(node, ast.ClassDef):
            if not _is_struct_class(node):
                raise ctx.at(node, "a class must be a @struct (fields only): add @struct above it")
            define(node.name, node)
            fields = []
            for item in node.body:
                if isinstance(item, ast.Expr) and isinstance(item.value, ast.Constant):
                    continue
                if not (isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name)
                        and item.value is None):
                    raise ctx.at(item, "a @struct body may only hold annotated fields "
                                       "without values, e.g. 'state: u8'")
                fty = resolve_type(item.annotation, model, what=f"field {item.target.id}")
                if fty == FNREF:
                    raise ctx.at(item, NO_STORED_FNREF)
                if fty in (NONE,) or fty == model.structs.get(node.name):
                    raise ctx.at(item, "a field cannot have this type")
                fields.append((item.target.id, fty))
            model.structs[node.name] = StructT(f"{name}.{node.name}", tuple(fields))
        elif isinstance(node, ast.Assign):
            if len(node.targets) != 1 or not isinstance(node.targets[0], ast.Name):
                raise ctx.at(node, "at module level, assign one name: 'NAME = 42'")
            n = node.targets[0].id
            value = fold_const(node.value, model.constants)
            if value is None:
                raise ctx.at(node.value, f"'{n}' is a constant and needs a constant value "
                                          "(a literal or arithmetic on other constants); for a "
                                          f"variable, annotate it: '{n}: u64 = ...'")
            define(n, node)
            cty = BOOL if isinstance(value, bool) else STR if isinstance(value, str) else None
            model.constants[n] = ConstDef(n, value, cty, node)
        elif isinstance(node, ast.AnnAssign):
            if not isinstance(node.target, ast.Name):
                raise ctx.at(node, "at module level, annotate one name: 'count: u64 = 0'")
            n = node.target.id
            ty = resolve_type(node.annotation, model, what=n)
            if ty == FNREF:
                raise ctx.at(node, NO_STORED_FNREF)
            define(n, node)
            if n.lstrip("_").isupper() and not isinstance(ty, (ArrayT, StructT)):
                value = fold_const(node.value, model.constants) if node.value else None
                if value is None:
                    raise ctx.at(node, f"'{n}' is ALL_CAPS, so it is a constant and needs a constant value")
                _check_typed_constant(n, value, ty, node, ctx)
                model.constants[n] = ConstDef(n, value, ty, node)
            else:
                model.globals[n] = GlobalDef(n, ty, node.value, node)
        elif isinstance(node, ast.FunctionDef):
            define(node.name, node)
        else:
            raise ctx.at(node, f"'{type(node).__name__}' is not allowed at the top level of a "
                               "cell: only imports, constants, globals, @struct classes and functions")
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            model.functions[node.name] = _signature(node, model)
    return model


def _check_typed_constant(n: str, value: object, ty: Type, node: ast.AST,
                          ctx: SourceContext) -> None:
    """A typed constant is used as an immediate (an index, a step, an operand): its
    value must be exactly what the annotation says, or it would not mean the same in CPython."""
    if isinstance(ty, IntT):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ctx.at(node.value, f"'{n}' is declared {ty} but its value is a "
                                     f"{type(value).__name__}")
        if not ty.fits(value):
            raise ctx.at(node.value, f"'{n}' is declared {ty}, but {value} does not fit in {ty} "
                                     f"({ty.min}..{ty.max})")
    elif ty == BOOL and not isinstance(value, bool):
        raise ctx.at(node.value, f"'{n}' is declared bool, so its value must be True or False")
    elif ty == STR and not isinstance(value, str):
        raise ctx.at(node.value, f"'{n}' is declared str, so its value must be a string literal")
    elif ty not in (BOOL, STR) and not isinstance(ty, IntT):
        raise ctx.at(node, f"a constant cannot have type {ty}: use an integer type, bool or str")


def _signature(node: ast.FunctionDef, model: CellModel) -> FuncDef:
    ctx = model.ctx
    a = node.args
    if a.vararg or a.kwarg or a.kwonlyargs or a.defaults or a.posonlyargs or a.kw_defaults:
        raise ctx.at(node, "functions take plain positional parameters only (no defaults, *args or **kwargs)")
    safe_interface = False
    for d in node.decorator_list:
        if not (isinstance(d, ast.Name) and d.id == SAFE_INTERFACE) or safe_interface:
            raise ctx.at(d, f"the only function decorator is @{SAFE_INTERFACE}, once "
                            "(an unsafe cell's promise that a safe cell may call the function)")
        safe_interface = True
    params = [(arg.arg, resolve_type(arg.annotation, model, what=f"parameter '{arg.arg}'"))
              for arg in a.args]
    for arg in a.args:
        if arg.annotation is None:
            raise ctx.at(arg, f"parameter '{arg.arg}' needs a type annotation, e.g. '{arg.arg}: u64'")
    if node.returns is None:
        raise ctx.at(node, f"function '{node.name}' needs a return annotation, e.g. '-> u64' or '-> None'")
    ret = resolve_type(node.returns, model, what="the return value", tuple_ok=True)
    if isinstance(ret, (ArrayT, StructT)):
        raise ctx.at(node.returns, "a function cannot return an array or struct: pass one in "
                                   "as a parameter and fill it in place")
    return FuncDef(node.name, params, ret, node, safe_interface)


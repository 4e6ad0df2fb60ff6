"""A cell's public face: its public functions' signatures and public constants.

Computed from the AST alone (no bodies checked), so a build can collect every
cell's interface before compiling any and cycles between cells are fine.
"""
from __future__ import annotations

import ast
import hashlib
from dataclasses import dataclass, field

from typing import Optional

from .marker import UNSAFE_MARK, marker_position
from .parse import SAFE_INTERFACE, CellModel, build_model
from .types import ArrayT, StructT, Type, is_public_abi, owner_of


@dataclass(frozen=True)
class FunctionSig:
    """A public function: parameter types and return type."""
    name: str
    params: tuple  # of (param name, Type)
    ret: Type
    #: marked @safe_interface (only an unsafe cell's functions need the mark)
    safe_interface: bool = False
    #: a function of an unsafe cell (then the hash says whether it is marked)
    unsafe_cell: bool = False

    @property
    def text(self) -> str:
        inner = ", ".join(f"{n}: {t}" for n, t in self.params)
        mark = f"@{SAFE_INTERFACE} " if self.safe_interface else ""
        return f"{mark}{self.name}({inner}) -> {self.ret}"

    @property
    def signature_hash(self) -> str:
        """Stable across runs: changes exactly when the signature changes.

        SHA-256 of "NAME:PARAMS->RET", with "@unsafe" after it for a function
        of an unsafe cell that is not marked @safe_interface: the kernel's
        calls by name a safe cell can ask for (task.spawn) take only the plain
        hash, and a swap that drops the mark (taking the promise back from the
        safe cells that call the function) is a changed signature it refuses."""
        return hashlib.sha256(f"{self.name}:{self.hashed_text}".encode()).hexdigest()[:16]

    @property
    def hashed_text(self) -> str:
        """What the hash covers after ``NAME:``: ``str,u64->None`` (plus
        ``@unsafe``, see ``signature_hash``). An isolated cell's object lists it
        for each import, and the kernel believes it only if it hashes to the
        callee's hash."""
        types_only = ",".join(str(t) for _, t in self.params) + "->" + str(self.ret)
        tail = "@unsafe" if self.unsafe_cell and not self.safe_interface else ""
        return f"{types_only}{tail}"


@dataclass(frozen=True)
class CellInterface:
    """What other cells may use: functions by signature, constants by value, public
    structs (the type, with its layout) and public globals (read-only, by type).

    unsafe: the cell may use unsafe intrinsics, so a safe cell may call only
    those of its functions that are marked @safe_interface."""
    name: str
    functions: dict = field(default_factory=dict)  # name -> FunctionSig
    constants: dict = field(default_factory=dict)  # name -> (Type or None, value)
    private: frozenset = frozenset()  # names defined but private (start with _)
    unsafe: bool = False
    structs: dict = field(default_factory=dict)  # name -> StructT
    globals: dict = field(default_factory=dict)  # name -> Type

    def callable_from_safe(self, fname: str) -> bool:
        """May a safe cell call public function fname of this cell?"""
        return not self.unsafe or self.functions[fname].safe_interface

    def safe_refusal(self, fname: str) -> str:
        """Why a safe cell may not call fname, and what to do about it."""
        return (f"'{fname}' is a function of the unsafe cell '{self.name}' that is not marked "
                f"@{SAFE_INTERFACE}, so a safe cell may not call it (such a function may take "
                "or return a raw address, which would let this cell read or write any memory); "
                f"call a function of '{self.name}' that is marked @{SAFE_INTERFACE}, or mark "
                f"this cell '{UNSAFE_MARK}'")

    def __repr__(self) -> str:
        fs = ", ".join(s.text for s in self.functions.values())
        return f"CellInterface({self.name}: {fs})"


def interface_of(source: str, name: str, *, filename: str = "<cell>",
                 unsafe: Optional[bool] = None) -> CellInterface:
    """The public interface of a cell, from its source alone; raises CellError if malformed.

    The use of intrinsics is not checked here (compile_cell does that).
    unsafe is as for compile_cell (None: as the source's header says); it
    decides which functions safe cells may call (see CellInterface.unsafe).
    """
    model = build_model(source, name, filename=filename, unsafe=True)
    if unsafe is None:
        unsafe = marker_position(source, model.tree) is not None
    return interface_from_model(model, unsafe=unsafe)


def interface_from_model(model: CellModel, *, unsafe: Optional[bool] = None) -> CellInterface:
    """The interface of an already parsed cell (unsafe: None takes the model's)."""
    name = model.name
    unsafe = model.unsafe if unsafe is None else unsafe
    funcs = {}
    private = set()
    for fname, f in model.functions.items():
        if fname.startswith("_"):
            if f.safe_interface:
                raise model.ctx.at(f.node.decorator_list[0], f"'{fname}' is private (its name "
                                   f"starts with _), so no other cell calls it: @{SAFE_INTERFACE} "
                                   "would promise nothing")
            private.add(fname)
            continue
        for pname, pty in f.params:
            if not is_public_abi(pty):
                # other cells (and the host JIT) call it by symbol through a fixed ABI
                raise model.ctx.at(f.node, f"public function '{fname}' takes '{pname}: {pty}', but "
                                           "a public function may only use bool, integers, str "
                                           "and fnref, because other cells call it by symbol and "
                                           "cannot share this cell's arrays or structs; make it "
                                           f"private (name it _{fname}) or pass scalars")
        funcs[fname] = FunctionSig(fname, tuple(f.params), f.ret, f.safe_interface, unsafe)
    consts = {}
    for cname, c in model.constants.items():
        if cname.startswith("_"):
            private.add(cname)
        else:
            consts[cname] = (c.ty, c.value)
    private.update(n for n in list(model.globals) + list(model.structs) if n.startswith("_"))
    structs = {n: t for n, t in model.structs.items() if not n.startswith("_")}
    globals_ = {n: g.ty for n, g in model.globals.items() if not n.startswith("_")}
    for what, table, nodes in (("struct", structs, model.structs), ("global", globals_, model.globals)):
        for n, t in table.items():
            foreign = _foreign_struct(t, name)
            if foreign:
                node = nodes[n].node if what == "global" else next(
                    c for c in model.tree.body if isinstance(c, ast.ClassDef) and c.name == n)
                raise model.ctx.at(node, f"public {what} '{n}' holds a {foreign}, a struct of "
                                         f"another cell, so its layout would be that cell's to "
                                         f"change: make it private (name it _{n})")
    return CellInterface(name, funcs, consts, frozenset(private), unsafe, structs, globals_)


def _foreign_struct(ty: object, cell: str) -> str:
    """The name of the first struct of another cell inside ty, or ""."""
    if isinstance(ty, ArrayT):
        return _foreign_struct(ty.elem, cell)
    if isinstance(ty, StructT):
        if owner_of(ty) != cell:
            return ty.name.replace(".", "::")
        for _, f in ty.fields:
            inner = _foreign_struct(f, cell)
            if inner:
                return inner
    return ""

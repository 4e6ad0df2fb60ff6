"""A cell's public face: its public functions' signatures and public constants.

Computed from the AST alone (no bodies checked), so a build can collect every
cell's interface before compiling any and cycles between cells are fine.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from .parse import CellModel, build_model
from .types import Type, is_public_abi


@dataclass(frozen=True)
class FunctionSig:
    """A public function: parameter types and return type."""
    name: str
    params: tuple  # of (param name, Type)
    ret: Type

    @property
    def text(self) -> str:
        inner = ", ".join(f"{n}: {t}" for n, t in self.params)
        return f"{self.name}({inner}) -> {self.ret}"

    @property
    def signature_hash(self) -> str:
        """Stable across runs: changes exactly when the signature text changes."""
        types_only = ",".join(str(t) for _, t in self.params) + "->" + str(self.ret)
        return hashlib.sha256(f"{self.name}:{types_only}".encode()).hexdigest()[:16]


@dataclass(frozen=True)
class CellInterface:
    """What other cells may use: functions by signature, constants by value."""
    name: str
    functions: dict = field(default_factory=dict)  # name -> FunctionSig
    constants: dict = field(default_factory=dict)  # name -> (Type or None, value)
    private: frozenset = frozenset()  # names defined but private (start with _)

    def __repr__(self) -> str:
        fs = ", ".join(s.text for s in self.functions.values())
        return f"CellInterface({self.name}: {fs})"


def interface_of(source: str, name: str, *, filename: str = "<cell>") -> CellInterface:
    """The public interface of a cell, from its source alone; raises CellError if malformed.

    Safety is not checked here (compile_cell does that): an interface is the
    same whether or not the cell may use unsafe intrinsics.
    """
    return interface_from_model(build_model(source, name, filename=filename, unsafe=True))


def interface_from_model(model: CellModel) -> CellInterface:
    """The interface of an already parsed cell."""
    name = model.name
    funcs = {}
    private = set()
    for fname, f in model.functions.items():
        if fname.startswith("_"):
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
        funcs[fname] = FunctionSig(fname, tuple(f.params), f.ret)
    consts = {}
    for cname, c in model.constants.items():
        if cname.startswith("_"):
            private.add(cname)
        else:
            consts[cname] = (c.ty, c.value)
    private.update(n for n in list(model.globals) + list(model.structs) if n.startswith("_"))
    return CellInterface(name, funcs, consts, frozenset(private))

"""The cell language's types: integers, bool, str, arrays, structs, function references.

Types are plain frozen values compared with ==; `lower` maps them to LLVM types.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Union


@dataclass(frozen=True)
class IntT:
    """A fixed-width integer: u8..u64, i8..i64."""
    bits: int
    signed: bool

    @property
    def name(self) -> str:
        return f"{'i' if self.signed else 'u'}{self.bits}"

    @property
    def min(self) -> int:
        return -(1 << (self.bits - 1)) if self.signed else 0

    @property
    def max(self) -> int:
        return (1 << (self.bits - 1)) - 1 if self.signed else (1 << self.bits) - 1

    def fits(self, value: int) -> bool:
        return self.min <= value <= self.max

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class ScalarT:
    """bool, str (a read-only literal: pointer and length), None, fnref."""
    name: str

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class ArrayT:
    """Array[T, N]: N elements of T, stored inline, passed by reference."""
    elem: "Type"
    n: int

    def __str__(self) -> str:
        return f"Array[{self.elem}, {self.n}]"


@dataclass(frozen=True)
class StructT:
    """A @struct class: named fields stored inline, passed by reference."""
    name: str
    fields: tuple  # of (field name, Type), in declaration order

    def field(self, name: str) -> "tuple[int, Type] | None":
        for i, (fname, fty) in enumerate(self.fields):
            if fname == name:
                return i, fty
        return None

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class TupleT:
    """tuple[T1, T2, ...] of integers and bools: only what a function returns, unpacked
    at once (`q, r = divmod(a, b)`); never stored, passed or compared."""
    elems: tuple

    def __str__(self) -> str:
        return f"tuple[{', '.join(str(t) for t in self.elems)}]"


Type = Union[IntT, ScalarT, ArrayT, StructT, TupleT]

INT_TYPES = {f"{'i' if s else 'u'}{b}": IntT(b, s) for b in (8, 16, 32, 64) for s in (False, True)}
BOOL = ScalarT("bool")
STR = ScalarT("str")
NONE = ScalarT("None")
FNREF = ScalarT("fnref")
U8, U64, I64 = INT_TYPES["u8"], INT_TYPES["u64"], INT_TYPES["i64"]
SCALAR_NAMES = {"bool": BOOL, "str": STR, "fnref": FNREF, "None": NONE, **INT_TYPES}


def layout(ty: object) -> str:
    """A type with every struct spelled out field by field: what a reader in another cell
    depends on (two structs of one name but other fields have different layouts)."""
    if isinstance(ty, StructT):
        return f"{ty.name}{{{', '.join(f'{n}: {layout(t)}' for n, t in ty.fields)}}}"
    if isinstance(ty, ArrayT):
        return f"Array[{layout(ty.elem)}, {ty.n}]"
    return str(ty)


def owner_of(ty: object) -> str:
    """The cell that defines struct type ty ("" for a type of no cell)."""
    return ty.name.split(".")[0] if isinstance(ty, StructT) else ""


def is_aggregate(ty: object) -> bool:
    """Arrays and structs live in memory and move only by reference."""
    return isinstance(ty, (ArrayT, StructT))


def is_public_abi(ty: object) -> bool:
    """Types a public (cross-cell) function may take or return."""
    return isinstance(ty, (IntT, TupleT)) or ty in (BOOL, STR, FNREF, NONE)

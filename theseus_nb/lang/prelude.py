"""The cell language's names in pure Python, so that a cell also runs in CPython.

`from theseus_nb.lang.prelude import *` at the top of a cell is accepted (and
ignored) by the compiler; under CPython it provides the integer types (checked
conversions that raise OverflowError, as the compiled cell panics), Array,
@struct, fnref, the explicit wrapping_* helpers and panic().
"""
from __future__ import annotations

from typing import Any

from ..errors import TheseusError

__all__ = ["u8", "u16", "u32", "u64", "i8", "i16", "i32", "i64", "Array",
           "struct", "fnref", "wrapping_add", "wrapping_sub", "wrapping_mul",
           "panic", "PanicError", "safe_interface"]


class PanicError(TheseusError):
    """Raised by panic(msg) under CPython (a compiled cell calls rt::panic instead)."""


class IntType:
    """A fixed-width integer type; calling it converts, raising OverflowError if the value does not fit."""

    def __init__(self, name: str, bits: int, signed: bool) -> None:
        self.name, self.bits, self.signed = name, bits, signed
        self.min = -(1 << (bits - 1)) if signed else 0
        self.max = (1 << (bits - 1)) - 1 if signed else (1 << bits) - 1

    def __call__(self, value: Any = 0) -> int:
        v = int(value)
        if not self.min <= v <= self.max:
            raise OverflowError(f"{v} does not fit in {self.name}")
        return v

    def wrap(self, value: int) -> int:
        """Reduce value modulo 2**bits into this type's range (two's complement)."""
        v = value & ((1 << self.bits) - 1)
        if self.signed and v > self.max:
            v -= 1 << self.bits
        return v

    def __repr__(self) -> str:
        return self.name


u8, u16, u32, u64 = (IntType(f"u{b}", b, False) for b in (8, 16, 32, 64))
i8, i16, i32, i64 = (IntType(f"i{b}", b, True) for b in (8, 16, 32, 64))


class _ArrayType:
    def __init__(self, elem: Any, n: int) -> None:
        self.elem, self.n = elem, n

    def __repr__(self) -> str:
        return f"Array[{self.elem!r}, {self.n}]"


class Array:
    """`Array[T, N]`: a fixed-size array; under CPython an ordinary list of N elements."""

    def __class_getitem__(cls, params: tuple) -> _ArrayType:
        elem, n = params
        return _ArrayType(elem, n)


class _FnRef:
    def __repr__(self) -> str:
        return "fnref"


fnref = _FnRef()  # the type of a function used as a value: (u64) -> u64


def _default(ty: Any) -> Any:
    if isinstance(ty, IntType) or ty is int:
        return 0
    if ty is bool:
        return False
    if ty is str:
        return ""
    if isinstance(ty, _ArrayType):
        return [_default(ty.elem) for _ in range(ty.n)]
    if isinstance(ty, type) and getattr(ty, "__cell_struct__", False):
        return ty()
    return None


def struct(cls: type) -> type:
    """Make a class of annotated fields a struct: fields start at zero, or take constructor arguments."""
    fields = dict(getattr(cls, "__annotations__", {}))

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        names = list(fields)
        for name, ty in fields.items():
            setattr(self, name, _default(ty))
        for name, value in zip(names, args):
            setattr(self, name, value)
        for name, value in kwargs.items():
            setattr(self, name, value)

    def __repr__(self: Any) -> str:
        inner = ", ".join(f"{n}={getattr(self, n)!r}" for n in fields)
        return f"{cls.__name__}({inner})"

    cls.__init__ = __init__  # type: ignore[misc]
    cls.__repr__ = __repr__  # type: ignore[method-assign]
    cls.__cell_struct__ = True  # type: ignore[attr-defined]
    return cls


def wrapping_add(a: int, b: int, ty: IntType) -> int:
    """a + b modulo 2**bits of ty (the type is explicit so CPython can compute the same)."""
    return ty.wrap(a + b)


def wrapping_sub(a: int, b: int, ty: IntType) -> int:
    """a - b modulo 2**bits of ty."""
    return ty.wrap(a - b)


def wrapping_mul(a: int, b: int, ty: IntType) -> int:
    """a * b modulo 2**bits of ty."""
    return ty.wrap(a * b)


def panic(msg: str) -> None:
    """Stop with a message: a compiled cell calls the kernel's panic handler."""
    raise PanicError(msg)


def safe_interface(fn: Any) -> Any:
    """Mark a public function of an unsafe cell as callable from safe cells.

    The compiler reads the mark (it is the author's promise that the function
    takes and returns no raw address, whatever its arguments); under CPython it
    changes nothing."""
    return fn

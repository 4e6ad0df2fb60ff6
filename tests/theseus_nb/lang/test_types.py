"""Stage 2: typing rules that are easy to get wrong (literals, constants, len, loops)."""
from __future__ import annotations

import pytest

from theseus_nb.lang import CellError, compile_cell, jit

OK = [
    # literals take the type their context needs, on either side
    "def f(a: u8) -> u8:\n    return 1 + a\n",
    "def f(a: i16) -> bool:\n    return 0 < a < 100\n",
    # untyped constants behave like literals; typed ones keep their type
    "SIZE = 1 << 12\nMASK = SIZE - 1\ndef f(a: u16) -> u16:\n    return a & MASK\n",
    "LIMIT: u8 = 10\ndef f(a: u8) -> bool:\n    return a < LIMIT\n",
    # len() of an array is a constant of whatever type is needed
    "def f(i: u32) -> bool:\n    xs: Array[u8, 3] = [1, 2, 3]\n    return i < len(xs)\n",
    # integers are conditions, as in Python
    "def f(a: u64) -> u64:\n    if a:\n        return 1\n    return 0\n",
    # shift counts may have any integer type
    "def f(a: u64, n: u8) -> u64:\n    return a >> n\n",
    # arrays of structs with arrays, assigned in place
    "@struct\nclass T:\n    regs: Array[u64, 4]\n    state: u8\n"
    "ts: Array[T, 4] = [T() for _ in range(4)]\n"
    "def f(i: u64) -> None:\n    ts[i].regs[3] = 7\n    ts[i].state = 2\n",
    # a function may be named panic (the kernel's rt cell defines one)
    "def panic(msg: str, where: str, line: u64) -> None:\n    while True:\n        pass\n",
]


@pytest.mark.parametrize("src", OK)
def test_accepted(src: str) -> None:
    compile_cell(src, "c")


def test_mixing_typed_constant_is_an_error() -> None:
    with pytest.raises(CellError, match="cannot compare u16 and u8"):
        compile_cell("LIMIT: u8 = 10\ndef f(a: u16) -> bool:\n    return a < LIMIT\n", "c")


def test_unannotated_local_literal_defaults_to_i64() -> None:
    with pytest.raises(CellError, match="cannot add i64 and u64"):
        compile_cell("def f(a: u64) -> u64:\n    x = 1\n    return x + a\n", "c")


def test_types_reach_python_as_ints_and_bools() -> None:
    c = jit("def f(a: i8, b: bool) -> i64:\n    return i64(a) if b else -1\n"
            "def g(a: u64) -> bool:\n    return a > 3\n", name="t")
    assert c.f(-5, True) == -5 and c.f(5, False) == -1
    assert c.g(4) is True and c.g(2) is False


def test_a_parameter_hides_a_constant_of_the_same_name() -> None:
    c = jit("x = 1\ndef f(x: u64) -> u64:\n    x ^= x >> 7\n    return x\n", name="t")
    assert c.f(256) == 258

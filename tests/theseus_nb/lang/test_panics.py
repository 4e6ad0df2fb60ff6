"""Every class of run-time panic reaches Python as CellPanic(message, cell, function, line)."""
from __future__ import annotations

import pytest

from theseus_nb.lang import CellPanic, jit

SRC = '''\
from theseus_nb.lang.prelude import *

buf: Array[u64, 8] = [0] * 8


def index(i: u64) -> u64:
    return buf[i]


def add(a: u8, b: u8) -> u8:
    return a + b


def div(a: i32, b: i32) -> i32:
    return a // b


def check(x: u64) -> u64:
    assert x < 10
    return x


def check_msg(x: u64) -> u64:
    assert x < 10, "x must be small"
    return x


def explode(code: u64) -> u64:
    if code == 7:
        panic("seven is not allowed")
    return code


def narrow(x: i64) -> u8:
    return u8(x)


def shift(x: u64, n: u8) -> u64:
    return x << n


def nth(s: str, i: u64) -> u8:
    return ord(s[i])


def steps(n: i32, step: i32) -> i32:
    total: i32 = 0
    for i in range(0, n, step):
        total += i
    return total


def _inner(x: u64) -> u64:
    return x - 1


def outer(x: u64) -> u64:
    return _inner(x) + 1


def neg(x: i8) -> i8:
    return -x
'''


@pytest.fixture(scope="module")
def cell() -> object:
    return jit(SRC, name="p")


@pytest.mark.parametrize("fn,args,message,line", [
    ("index", (8,), "index out of bounds for Array[u64, 8]", 7),
    ("add", (200, 100), "integer overflow in + (u8)", 11),
    ("div", (1, 0), "division by zero", 15),
    ("div", (-2**31, -1), "integer overflow in // (i32)", 15),
    ("check", (10,), "assertion failed", 19),
    ("check_msg", (11,), "x must be small", 24),
    ("explode", (7,), "seven is not allowed", 30),
    ("narrow", (256,), "value does not fit in u8 (conversion from i64)", 35),
    ("narrow", (-1,), "value does not fit in u8 (conversion from i64)", 35),
    ("shift", (1 << 63, 1), "integer overflow in << (u64)", 39),
    ("shift", (1, 64), "integer overflow in << (u64)", 39),
    ("nth", ("abc", 3), "string index out of range", 43),
    ("steps", (10, 0), "range() arg 3 must not be zero", 48),
    ("neg", (-128,), "integer overflow in - (i8)", 62),
])
def test_panic(cell: object, fn: str, args: tuple, message: str, line: int) -> None:
    with pytest.raises(CellPanic) as info:
        getattr(cell, fn)(*args)
    p = info.value
    assert (p.message, p.cell, p.function, p.line) == (message, "p", fn, line)


def test_panic_in_callee_names_the_callee(cell: object) -> None:
    with pytest.raises(CellPanic) as info:
        cell.outer(0)
    assert (info.value.function, info.value.line) == ("_inner", 54)


def test_a_thousand_panics_leave_the_process_working(cell: object) -> None:
    for i in range(1000):
        with pytest.raises(CellPanic):
            cell.index(8 + i)
        assert cell.add(i % 100, 1) == i % 100 + 1
    assert cell.div(-7, 2) == -4


def test_python_side_argument_checks(cell: object) -> None:
    with pytest.raises(OverflowError):
        cell.add(256, 0)
    with pytest.raises(TypeError):
        cell.add("x", 0)
    with pytest.raises(TypeError):
        cell.add(1)


def test_runaway_recursion_is_a_panic_not_a_crash() -> None:
    cell = jit("def down(n: u64) -> u64:\n    if n == 0:\n        return 0\n    return down(n - 1) + 1\n",
               name="deep")
    assert cell.down(1000) == 1000
    for _ in range(3):
        with pytest.raises(CellPanic, match="stack overflow"):
            cell.down(10**9)
    assert cell.down(10) == 10


def test_reading_an_unassigned_local_panics_as_python_raises() -> None:
    src = ("def f(a: u64) -> u64:\n    if a > 5:\n        x: u64 = a\n    return x\n"
           "def g(n: u64) -> u64:\n    for i in range(n):\n        pass\n    return i\n")
    cell = jit(src, name="unbound")
    assert cell.f(9) == 9 and cell.g(4) == 3
    with pytest.raises(CellPanic, match="local variable 'x' used before it was assigned") as info:
        cell.f(1)
    assert info.value.line == 4
    with pytest.raises(CellPanic, match="local variable 'i'"):
        cell.g(0)

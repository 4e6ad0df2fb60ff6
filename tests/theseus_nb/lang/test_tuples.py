"""Tuples of scalars (issue 14, item 3): parallel assignment, enumerate, tuple returns and
unpacking, divmod; the host JIT and CPython agree on each, and everything else done with a
tuple is a CellError with file, line and column."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from theseus_nb.lang import CellError, CellPanic, compile_cell, jit

TUPLES = '''from theseus_nb.lang.prelude import *


def gcd(a: u64, b: u64) -> u64:
    """Euclid's, as in every textbook."""
    while b != 0:
        a, b = b, a % b
    return a


def swapped(a: i32, b: i32) -> i32:
    """A swap, then a difference that tells the order."""
    a, b = b, a
    return a - 2 * b


def fib_pair(n: u64) -> u64:
    """The right side reads what the left side assigns: all of it comes first."""
    a: u64 = 0
    b: u64 = 1
    for _ in range(n):
        a, b = b, a + b
    return a


def index_after(k: u64) -> u64:
    """`i, xs[i] = k, 7`: the target xs[i] is indexed with the new i, as in Python."""
    xs: Array[u64, 3] = [0, 0, 0]
    i: u64 = 0
    i, xs[i] = k, 7
    return xs[0] * 100 + xs[1] * 10 + xs[2] + i * 1000


def qr(a: i64, b: i64) -> tuple[i64, i64]:
    """divmod with Python's floor semantics, returned as a tuple."""
    q, r = divmod(a, b)
    return q, r


def qr8(a: i8, b: i8) -> tuple[i8, i8]:
    """divmod of i8: i8(-128) // -1 does not fit."""
    return divmod(a, b)


def first_over(limit: u64) -> tuple[u64, bool]:
    """Where the first element over limit is, and whether there is one."""
    xs: Array[u64, 5] = [3, 1, 4, 1, 5]
    for i, x in enumerate(xs):
        if x > limit:
            return i, True
    return 0, False


def weighted(seed: u64) -> u64:
    """enumerate over an array of structs, writing through the element."""
    ps: Array[Pair, 4] = [Pair() for _ in range(4)]
    for i, p in enumerate(ps):
        p.x = i * seed
    total: u64 = 0
    for i, p in enumerate(ps):
        total += i * p.x
    return total


def unpack_call(a: i64, b: i64) -> i64:
    """A tuple from a call of this cell, unpacked into a new and an existing name."""
    r: i64 = 0
    q, r = qr(a, b)
    return q * 1000 + r


@struct
class Pair:
    x: u64
    y: u64
'''


@pytest.fixture(scope="module")
def both() -> tuple:
    """(the jitted cell, the same source's functions under CPython)."""
    namespace: dict = {}
    exec(compile(TUPLES, "<tuples>", "exec", dont_inherit=True), namespace)
    return jit(TUPLES, name="tuples"), namespace


CASES = [("gcd", (48, 18)), ("gcd", (17, 0)), ("gcd", (0, 5)), ("swapped", (3, 10)),
         ("fib_pair", (0,)), ("fib_pair", (10,)), ("fib_pair", (92,)), ("index_after", (0,)),
         ("index_after", (1,)), ("index_after", (2,)), ("index_after", (3,)),
         ("qr", (7, 2)), ("qr", (-7, 2)), ("qr", (7, -2)), ("qr", (-7, -2)), ("qr", (0, -3)),
         ("qr", (-2**63, 1)), ("qr", (-2**63, -1)), ("qr", (5, 0)), ("qr8", (-128, -1)),
         ("qr8", (-128, 3)), ("first_over", (4,)), ("first_over", (9,)), ("weighted", (3,)),
         ("unpack_call", (-7, 2)), ("fib_pair", (94,))]


def _cpython(namespace: dict, fn: str, args: tuple) -> object:
    try:
        return namespace[fn](*args)
    except (ZeroDivisionError, IndexError, OverflowError) as e:
        return type(e)


def _jit(cell: object, fn: str, args: tuple) -> object:
    try:
        return getattr(cell, fn)(*args)
    except CellPanic as e:
        return e.message


@pytest.mark.parametrize("fn,args", CASES)
def test_the_jit_and_cpython_agree(both: tuple, fn: str, args: tuple) -> None:
    cell, namespace = both
    expected, got = _cpython(namespace, fn, args), _jit(cell, fn, args)
    if isinstance(expected, type):  # CPython raised: the cell panics (or the type overflows)
        assert isinstance(got, str) and got, (expected, got)
        return
    bits = {"qr": 64, "qr8": 8}.get(fn)
    if bits and any(not -2**(bits - 1) <= v < 2**(bits - 1) for v in expected):
        assert got == f"integer overflow in // (i{bits})"  # Python's result does not fit
        return
    if fn == "fib_pair" and args[0] >= 93:  # fib(n + 1) is computed too, and overflows
        assert got == "integer overflow in + (u64)"
        return
    assert got == expected


def test_the_edges_panic_where_python_cannot_fit_the_result(both: tuple) -> None:
    cell, namespace = both
    assert namespace["qr"](-2**63, -1) == (2**63, 0)  # does not fit in i64
    with pytest.raises(CellPanic, match="integer overflow"):
        cell.qr(-2**63, -1)
    with pytest.raises(CellPanic, match="division by zero"):
        cell.qr(5, 0)
    with pytest.raises(CellPanic, match="index out of bounds"):
        cell.index_after(3)


@settings(max_examples=200, deadline=None)
@given(st.integers(-2**62, 2**62), st.integers(-2**62, 2**62).filter(lambda b: b != 0))
def test_divmod_floors_like_python(a: int, b: int) -> None:
    cell = _DIVMOD
    assert cell.qr(a, b) == divmod(a, b)


_DIVMOD = None


def setup_module() -> None:
    global _DIVMOD
    _DIVMOD = jit(TUPLES, name="tuples_divmod")


def _error(body: str, *, top: str = "") -> CellError:
    src = f"{top}def f(a: u64, b: u64) -> u64:\n    {body}\n    return 0\n"
    with pytest.raises(CellError) as info:
        compile_cell(src, "c", filename="cells/c.py")
    return info.value


REFUSED = {
    "a tuple stored": ("t = divmod(a, b)", 2, 5, "this is a tuple[u64, u64], which cannot be stored: unpack it into 2 names"),
    "a tuple as a value": ("x: u64 = (a, b)", 2, 14, "a tuple is not a value to store or pass around"),
    "a tuple passed": ("print(divmod(a, b))", 2, 11, "print() prints str, integers and bool, not tuple[u64, u64]"),
    "too few targets": ("q, r, s = divmod(a, b)", 2, 15, "3 targets but a tuple[u64, u64] of 2 values"),
    "too many values": ("q, r = a, b, a", 2, 12, "2 targets but 3 values"),
    "a starred target": ("q, *r = a, b", 2, 8, "each target of a parallel assignment must be a name"),
    "a nested target": ("q, (r, s) = a, (b, a)", 2, 8, "each target of a parallel assignment must be a name"),
    "not a tuple on the right": ("q, r = a", 2, 12, "2 targets need 2 values"),
    "a wrong target type": ("x: bool = False\n    x, y = divmod(a, b)", 3, 5, "this target is bool, but its value is u64"),
    "enumerate of a range": ("for i, x in enumerate(range(3)):\n        pass", 2, 27, "enumerate() goes over an array, not a range"),
    "two variables without enumerate": ("for i, x in a:\n        pass", 2, 9, "a loop with two variables goes over enumerate(array)"),
    "an enumerate start": ("xs: Array[u64, 2] = [0] * 2\n    for i, x in enumerate(xs, 1):\n        pass", 3, 17, "enumerate() takes one array (no start=)"),
    "a non-u64 index": ("i: u8 = 0\n    xs: Array[u64, 2] = [0] * 2\n    for i, x in enumerate(xs):\n        pass", 4, 9, "enumerate() counts in u64, but 'i' is u8"),
    "divmod of mixed types": ("q, r = divmod(a, u8(b))", 2, 12, "cannot divide u64 and u8"),
    "divmod of bools": ("q, r = divmod(True, False)", 2, 12, "'divmod' needs integers, not bool"),
    "a tuple parameter": (None, 1, 10, "a tuple is not a value to store or pass around"),
    "a tuple global": (None, 1, 4, "a tuple is not a value to store or pass around"),
    "a tuple of a str": (None, 1, 29, "a tuple holds integers and bools only, not str"),
    "a return of the wrong size": (None, 2, 12, "this function returns a tuple[u64, bool]: 2 values, not 3"),
}
WHOLE = {
    "a tuple parameter": "def f(t: tuple[u64, u64]) -> u64:\n    return 0\n",
    "a tuple global": "t: tuple[u64, u64] = (1, 2)\n",
    "a tuple of a str": "def f(a: u64) -> tuple[u64, str]:\n    return a, 'x'\n",
    "a return of the wrong size": "def f(a: u64) -> tuple[u64, bool]:\n    return a, True, a\n",
}


@pytest.mark.parametrize("case", REFUSED)
def test_everything_else_with_a_tuple_is_refused(case: str) -> None:
    body, line, col, words = REFUSED[case]
    if body is None:
        with pytest.raises(CellError) as info:
            compile_cell(WHOLE[case], "c", filename="cells/c.py")
        e = info.value
    else:
        e = _error(body)
    assert words in e.message, e.message
    assert (e.filename, e.line, e.col) == ("cells/c.py", line, col), str(e)
    assert str(e).startswith(f"cells/c.py:{line}:{col}: ")


def test_a_public_tuple_function_is_called_across_cells() -> None:
    lib = "def qr(a: u64, b: u64) -> tuple[u64, u64]:\n    return divmod(a, b)\n"
    app = ("from cells.lib import qr\n\n\ndef f(a: u64) -> u64:\n    q, r = qr(a, 7)\n"
           "    return q * 10 + r\n")
    assert jit(app, name="app", others={"lib": lib}).f(23) == 32
    assert jit(lib, name="lib").qr(23, 7) == (3, 2)

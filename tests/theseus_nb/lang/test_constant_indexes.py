"""Constants as indexes and range() steps, from the attacker's side (issue 12, item 1).

A constant index (a literal, a typed constant of this cell or another, len())
skips the bounds check only when it is proved in range for that array; one
proved out of range is a CellError at compile time; anything else is checked
at run time.  The same for range(): a constant step of 0 is refused, another
step is checked when the loop starts.  Where CPython can run the cell, it agrees.
"""
from __future__ import annotations

import ast
import re

import pytest

from theseus_nb.lang import CellError, CellPanic, compile_cell, interface_of, jit
from theseus_nb.lang.lower import lower_cell
from theseus_nb.lang.parse import build_model
from theseus_nb.lang.typecheck import check_cell

PRELUDE = "from theseus_nb.lang.prelude import *\n"

LIMITS = PRELUDE + "MAX_TASKS: u64 = 4\nLAST: i64 = -1\nZERO: i64 = 0\n"


def ifaces() -> dict:
    return {"limits": interface_of(LIMITS, "limits")}


def refused(src: str, **kw: object) -> CellError:
    with pytest.raises(CellError) as info:
        compile_cell(src, "evil", filename="cells/evil.py", **kw)
    return info.value


def where(src: str, text: str) -> tuple:
    """(line, column) of the first occurrence of text in src, 1-based, as a CellError gives them."""
    for n, line in enumerate(src.splitlines(), 1):
        if text in line:
            return n, line.index(text) + 1
    raise AssertionError(text)


def in_cpython(src: str) -> dict:
    ns: dict = {}
    exec(compile(src, "<cpython>", "exec"), ns)
    return ns


def function_ir(ir_text: str, cell: str, fn: str) -> str:
    """The text of one function's definition in a module's IR."""
    m = re.search(rf'^define [^\n]*@"{re.escape(cell)}::{re.escape(fn)}"\(.*?^}}', ir_text,
                  re.S | re.M)
    assert m, f"{cell}::{fn} not defined"
    return m.group(0)


def can_panic_with(ir_text: str, cell: str, fn: str, message: str) -> bool:
    """Does cell::fn call rt::panic with this message (a `cell::.str.N` constant)?"""
    m = re.search(rf'^(@"{re.escape(cell)}::\.str\.\d+") = [^\n]*c"{re.escape(message)}"',
                  ir_text, re.M)
    return bool(m) and m.group(1) in function_ir(ir_text, cell, fn)


# ---- out of range: refused at compile time, naming the place ----------------

OUT_OF_RANGE = [
    ("typed constant, stack array",
     "K: u64 = 4\ndef f() -> u64:\n    a: Array[u64, 4] = [7] * 4\n    return a[K]\n", "K]",
     "index K = 4 is out of range for Array[u64, 4]"),
    ("negative typed constant, write to a global",
     "NEG: i64 = -6\nxs: Array[u64, 4] = [0] * 4\ndef f() -> None:\n    xs[NEG] = 99\n", "NEG]",
     "index NEG = -6 is out of range"),
    ("len() of the array itself",
     "xs: Array[u8, 3] = [0] * 3\ndef f() -> u8:\n    return xs[len(xs)]\n", "len(xs)]",
     "index len(xs) = 3 is out of range"),
    ("typed constant in a struct's array field",
     "I: u8 = 2\n@struct\nclass T:\n    regs: Array[u64, 2]\n"
     "t: T = T()\ndef f() -> u64:\n    return t.regs[I]\n", "I]", "index I = 2 is out of range"),
    ("typed constant as the inner index",
     "J: u32 = 5\nm: Array[Array[u8, 5], 2] = [[0] * 5 for _ in range(2)]\n"
     "def f(i: u64) -> u8:\n    return m[i][J]\n", "J]", "for Array[u8, 5]"),
    ("augmented assignment",
     "K: u64 = 8\nxs: Array[u64, 8] = [0] * 8\ndef f() -> None:\n    xs[K] += 1\n", "K]",
     "index K = 8 is out of range"),
]


@pytest.mark.parametrize("what,body,at,fragment", OUT_OF_RANGE, ids=[c[0] for c in OUT_OF_RANGE])
def test_constant_index_out_of_range_is_refused_at_compile_time(what: str, body: str, at: str,
                                                                fragment: str) -> None:
    src = PRELUDE + body
    e = refused(src)
    assert fragment in e.message, str(e)
    assert (e.filename, (e.line, e.col)) == ("cells/evil.py", where(src, at)), str(e)
    assert str(e).startswith(f"cells/evil.py:{e.line}:{e.col}: ")
    assert "0.." in e.message  # says which indexes are valid


def test_cpython_agrees_that_these_indexes_are_out_of_range() -> None:
    for _, body, _, _ in OUT_OF_RANGE[:3]:
        with pytest.raises(IndexError):
            in_cpython(PRELUDE + body)["f"]()


@pytest.mark.parametrize("index", ["MAX_TASKS", "cells.limits.MAX_TASKS"])
def test_imported_constant_out_of_range_is_refused(index: str) -> None:
    src = (PRELUDE + "from cells.limits import MAX_TASKS\nimport cells.limits\n"
           f"def f() -> u64:\n    a: Array[u64, 4] = [0] * 4\n    return a[{index}]\n")
    e = refused(src, interfaces=ifaces())
    assert f"index {index} = 4 is out of range for Array[u64, 4]" in e.message
    assert (e.line, e.col) == where(src, f"{index}]")


def test_a_typed_constant_must_fit_its_type() -> None:
    # else `K: u8 = 300` is 44 in the compiled cell and 300 in CPython
    for decl, fragment in [("K: u8 = 300", "300 does not fit in u8"),
                           ("K: u64 = -6", "-6 does not fit in u64"),
                           ("K: u64 = 'abc'", "declared u64 but its value is a str"),
                           ("K: bool = 5", "must be True or False")]:
        src = PRELUDE + decl + "\n"
        e = refused(src)
        assert fragment in e.message and (e.line, e.col) == (2, decl.index("=") + 3), str(e)
        with pytest.raises(CellError, match=re.escape(fragment)):
            interface_of(src, "evil")  # another cell never sees such a constant


# ---- computed from constants: checked at run time, never reading memory ------

NEIGHBOURS = PRELUDE + '''\
K: u64 = 4
NEG: i64 = -6
LAST: i64 = -1
before: Array[u64, 4] = [11, 12, 13, 14]
xs: Array[u64, 4] = [1, 2, 3, 4]
after: Array[u64, 4] = [21, 22, 23, 24]


def read_past() -> u64:
    return xs[K + 0]


def write_before() -> None:
    xs[NEG + 0] = 99


def last() -> u64:
    return xs[LAST]


def at(i: u64) -> u64:
    return xs[i]


def stack_past() -> u64:
    a: Array[u64, 4] = [5] * 4
    return a[K * 1]


def neighbours() -> u64:
    return before[0] + before[3] + after[0] + after[3]
'''


@pytest.fixture(scope="module")
def neighbours() -> object:
    return jit(NEIGHBOURS, name="nb")


@pytest.mark.parametrize("fn", ["read_past", "write_before", "stack_past"])
def test_index_computed_from_constants_panics_in_jit_and_raises_in_cpython(neighbours: object,
                                                                         fn: str) -> None:
    with pytest.raises(CellPanic) as info:
        getattr(neighbours, fn)()
    assert info.value.message == "index out of bounds for Array[u64, 4]"
    assert info.value.function == fn
    with pytest.raises(IndexError):
        in_cpython(NEIGHBOURS)[fn]()
    assert neighbours.neighbours() == 11 + 14 + 21 + 24  # nothing next door was written


def test_constant_in_range_works_and_agrees_with_cpython(neighbours: object) -> None:
    py = in_cpython(NEIGHBOURS)
    assert neighbours.last() == py["last"]() == 4  # -1 counts from the end, as in Python


def test_constant_in_range_compiles_without_a_check_and_a_variable_with_one() -> None:
    text, oob = compile_cell(NEIGHBOURS, "nb").ir, "index out of bounds for Array[u64, 4]"
    assert not can_panic_with(text, "nb", "last", oob)
    assert can_panic_with(text, "nb", "at", oob)
    assert can_panic_with(text, "nb", "read_past", oob)


def test_imported_constant_in_range_compiles_without_a_check() -> None:
    src = (PRELUDE + "from cells.limits import MAX_TASKS, LAST\nimport cells.limits\n"
           "xs: Array[u64, 5] = [1, 2, 3, 4, 5]\n"
           "def f() -> u64:\n    return xs[MAX_TASKS] + xs[LAST] + xs[cells.limits.MAX_TASKS]\n")
    text = compile_cell(src, "app", interfaces=ifaces()).ir
    assert "index out of bounds" not in text  # the sum is overflow-checked, the reads are not
    assert function_ir(text, "app", "f").count("getelementptr inbounds") == 3
    cell = jit(src, name="app", others={"limits": LIMITS})
    assert cell.f() == 5 + 5 + 5


# ---- range() step ------------------------------------------------------------

LOOP = "def f() -> u64:\n    n: u64 = 0\n    for i in range(10, 0, {step}):\n        n += 1\n    return n\n"


@pytest.mark.parametrize("decl,step", [("", "0"), ("Z = 0\n", "Z"), ("Z: i64 = 0\n", "Z"),
                                       ("from cells.limits import ZERO\n", "ZERO"),
                                       ("import cells.limits\n", "cells.limits.ZERO")])
def test_constant_zero_step_is_refused_at_compile_time(decl: str, step: str) -> None:
    src = PRELUDE + decl + LOOP.format(step=step)
    e = refused(src, interfaces=ifaces())
    assert "range() step must not be zero" in e.message, str(e)
    assert (e.filename, (e.line, e.col)) == ("cells/evil.py", where(src, f"{step})"))
    if "cells" not in decl:
        with pytest.raises(ValueError):
            in_cpython(src)["f"]()


def test_runtime_zero_step_panics_instead_of_looping_forever() -> None:
    # the loop counts its rounds and gives up, so a missing check fails the test, not hangs it
    src = PRELUDE + '''\
zero: i64 = 0


def down(step: i64) -> u64:
    n: u64 = 0
    for i in range(10, 0, step):
        n += 1
        if n > 1000:
            return n
    return n


def from_global() -> u64:
    return down(zero)


def from_expression() -> u64:
    return down(zero * 5)
'''
    cell, py = jit(src, name="steps"), in_cpython(src)
    assert cell.down(-3) == py["down"](-3) == 4
    for fn in ("from_global", "from_expression"):
        with pytest.raises(CellPanic) as info:
            getattr(cell, fn)()
        assert (info.value.message, info.value.function, info.value.line) == (
            "range() arg 3 must not be zero", "down", 7)
        with pytest.raises(ValueError, match="range\\(\\) arg 3 must not be zero"):
            py[fn]()


def test_typed_constant_step_compiles_without_the_zero_check() -> None:
    src = PRELUDE + "S: i64 = -3\n" + LOOP.format(step="S")
    text = compile_cell(src, "c").ir
    assert "range() arg 3 must not be zero" not in text
    assert jit(src, name="c").f() == in_cpython(src)["f"]() == 4


def planted(src: str, name: str, fn: str, kind: type, plant: object) -> str:
    """Check src, then change one node of fn the way a checker bug would, and lower it."""
    model = build_model(src, name)
    checker, infos = check_cell(model, {})
    plant(next(n for n in ast.walk(infos[fn].sig.node) if isinstance(n, kind)))
    return str(lower_cell(model, checker, infos))


def test_lower_proves_each_check_it_skips_itself() -> None:
    # lower does not take the checker's word for it: a constant it cannot prove
    # safe for this very access keeps its run-time check
    text = planted(NEIGHBOURS, "nb", "last", ast.Subscript,
                   lambda sub: setattr(sub.slice, "const", 4))
    assert can_panic_with(text, "nb", "last", "index out of bounds for Array[u64, 4]")
    text = planted(PRELUDE + "S: i64 = -3\n" + LOOP.format(step="S"), "c", "f", ast.Call,
                   lambda call: setattr(call.args[2], "const", 0))
    assert can_panic_with(text, "c", "f", "range() arg 3 must not be zero")

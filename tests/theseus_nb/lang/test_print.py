"""print() in the cell language (issue 13, item 2): the same source prints the same text on
the host JIT as in CPython (the kernel's side is tests/kernel_src/test_print.py), and every
misuse is a CellError with file, line and column."""
from __future__ import annotations

import contextlib
import io

import pytest

from theseus_nb.lang import CellError, CellPanic, compile_cell, jit

#: Several arguments of every printable type, sep, end, f-strings with integer, string
#: and bool fields, an empty print, the extremes of i64 and u64.
PRINTER = '''from theseus_nb.lang.prelude import *


def show(n: u64) -> u64:
    """Print a little of everything."""
    x: i8 = -5
    s: str = "hi"
    small: u8 = 255
    print("a", 1, True, x, s, small, sep=", ", end="!\\n")
    print(f"count={n} neg={x} s={s} big={n > 3}")
    print()
    print("no end", end="")
    print(" then", -9223372036854775807 - 1, 18446744073709551615 - n, sep="")
    print(f"{n}{n}", f"", "tab\\tand", False, sep="", end=" <\\n")
    print("x", "y", "z", sep="")
    return n
'''

#: A print whose second argument panics prints nothing: every argument comes first.
DIVIDES = '''from theseus_nb.lang.prelude import *


def divide(a: i64, b: i64) -> i64:
    """Print a // b after a label (b == 0: nothing at all)."""
    print("before")
    print("quotient", a // b)
    return a // b
'''


def cpython(source: str, fn: str, *args: int) -> tuple:
    """(what fn printed under CPython, what it returned or raised)."""
    namespace: dict = {}
    exec(compile(source, "<cell>", "exec", dont_inherit=True), namespace)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        try:
            result = namespace[fn](*args)
        except ZeroDivisionError as e:
            result = e
    return out.getvalue(), result


@pytest.mark.parametrize("n", [0, 7, 2**64 - 1])
def test_the_jit_prints_what_cpython_prints(n: int, capsys: pytest.CaptureFixture) -> None:
    expected, value = cpython(PRINTER, "show", n)
    assert jit(PRINTER, name="printer").show(n) == value == n
    assert capsys.readouterr().out == expected
    assert "a, 1, True, -5, hi, 255!\n" in expected and f"count={n} " in expected


def test_every_argument_is_evaluated_before_anything_is_printed(capsys: pytest.CaptureFixture) -> None:
    expected, raised = cpython(DIVIDES, "divide", 7, 0)
    assert isinstance(raised, ZeroDivisionError) and expected == "before\n"
    cell = jit(DIVIDES, name="divides")
    with pytest.raises(CellPanic, match="division by zero"):
        cell.divide(7, 0)
    assert capsys.readouterr().out == expected
    assert cell.divide(-7, 2) == -4 and capsys.readouterr().out == "before\nquotient -4\n"


def test_print_calls_the_console_between_begin_and_end() -> None:
    ir = compile_cell(PRINTER, "printer").ir
    for fn in ("begin", "end", "write", "write_u64", "write_i64", "write_bool"):
        assert f'declare void @"console::{fn}"' in ir
    body = ir[ir.index('define i64 @"printer::show"'):]
    calls = [line.split('@"console::')[1].split('"')[0] for line in body.splitlines()
             if 'call void @"console::' in line]
    # seven prints: each is begin, its writes, end, and the writes never stand outside
    assert calls.count("begin") == calls.count("end") == 7
    depth = 0
    for c in calls:
        depth += {"begin": 1, "end": -1}.get(c, 0)
        assert depth in (0, 1) and (depth == 1 or c in ("begin", "end")), calls


MISUSE = {
    "another keyword": ('print(1, file=2)', 14, "print() takes only sep= and end= (string literals), not file="),
    "a sep that is not a literal": ('s: str = ","\n    print(1, sep=s)', 18, "print()'s sep= must be a string literal"),
    "an array": ('a: Array[u64, 2] = [0] * 2\n    print(a)', 11, "print() prints str, integers and bool, not Array[u64, 2]"),
    "a conversion": ('print(f"{n!r}")', 14, "f-string conversions (!r, !s, !a and {x=}) are not supported"),
    "a self-documenting field": ('print(f"{n=}")', 14, "f-string conversions"),
    "a format spec": ('print(f"{n:8}")', 14, "f-string format specs"),
    "a field of a bad type": ('print(f"{print}")', 14, "print() prints str, integers and bool"),
    "an f-string elsewhere": ('s: str = f"{n}"', 14, "an f-string is only allowed as an argument of print()"),
    "starred arguments": ('print(*n)', 11, "print(*args) is not supported"),
    "a non-ASCII sep": ('print(1, sep="\u00e9")', 18, "strings must be ASCII"),
}


@pytest.mark.parametrize("case", MISUSE)
def test_a_misused_print_is_refused_with_its_place(case: str) -> None:
    body, col, words = MISUSE[case]
    src = f"def f(n: u64) -> None:\n    {body}\n"
    with pytest.raises(CellError) as info:
        compile_cell(src, "c", filename="cells/c.py")
    e = info.value
    assert words in e.message, e.message
    assert (e.filename, e.line, e.col) == ("cells/c.py", src.count("\n"), col), str(e)

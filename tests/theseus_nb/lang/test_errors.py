"""Every class of compile error: a CellError with the right line and a plain message."""
from __future__ import annotations

import textwrap

import pytest

from theseus_nb.lang import CellError, compile_cell, interface_of

SERIAL = """
def write_str(s: str) -> None:
    pass

def _helper() -> u64:
    return 1

BAUD = 9600
"""


def error(src: str, **kw: object) -> CellError:
    with pytest.raises(CellError) as info:
        compile_cell(textwrap.dedent(src), kw.pop("name", "c"), **kw)
    return info.value


CASES = [
    # (what, source, line, fragment of the message)
    ("syntax", "def f(:\n    pass\n", 1, "syntax error"),
    ("unknown name", "def f() -> u64:\n    return y\n", 2, "'y' is not defined"),
    ("type mismatch", "def f(a: u8, b: u64) -> u64:\n    return a + b\n", 2,
     "cannot add u8 and u64: convert one side explicitly, e.g. u8(x)"),
    ("return type", "def f(a: u8) -> u64:\n    return a\n", 2, "must be u64, not u8"),
    ("literal too big", "def f() -> None:\n    x: u8 = 300\n", 2, "300 does not fit in u8"),
    ("float", "def f() -> u64:\n    return 1.5\n", 2, "no floats"),
    ("true division", "def f(a: u64) -> u64:\n    return a / 2\n", 2, "use '//'"),
    ("try", "def f() -> None:\n    try:\n        pass\n    except:\n        pass\n", 2, "not supported"),
    ("lambda", "def f() -> None:\n    g = lambda: 1\n", 2, "lambdas are not supported"),
    ("plain class", "class A:\n    x: u8\n", 1, "@struct"),
    ("int annotation", "def f(x: int) -> None:\n    pass\n", 1, "'int' has no fixed size"),
    ("missing annotation", "def f(x) -> None:\n    pass\n", 1, "needs a type annotation"),
    ("missing return annotation", "def f(x: u8):\n    pass\n", 1, "needs a return annotation"),
    ("return array", "def _f() -> Array[u8, 4]:\n    pass\n", 1, "cannot return an array"),
    ("aliasing", "def f() -> None:\n    a: Array[u8, 4] = [0] * 4\n    b = a\n", 3, "aliasing"),
    ("aliasing element", "def f() -> None:\n    m: Array[Array[u8, 2], 2] = [[0] * 2 for _ in range(2)]\n"
     "    r: Array[u8, 2] = [0] * 2\n    m[0] = r\n", 4, "aliasing"),
    ("array of one struct", "@struct\nclass T:\n    x: u8\n\nts: Array[T, 4] = [T()] * 4\n", 5,
     "[T() for _ in range(N)]"),
    ("public array param", "def f(a: Array[u8, 4]) -> None:\n    pass\n", 1,
     "a public function may only use bool, integers, str and fnref"),
    ("and on ints", "def f(a: u8, b: u8) -> bool:\n    return a and b\n", 2, "need bools"),
    ("invert unsigned", "def f(a: u8) -> u8:\n    return ~a\n", 2, "use x ^ 0xff"),
    ("str index", "def f(s: str) -> u8:\n    return s[0]\n", 2, "use ord(s[i])"),
    ("wrapping needs type", "def f(a: u32) -> u32:\n    return wrapping_add(a, 1)\n", 2,
     "needs the type as third argument"),
    ("retyping a local", "def f() -> None:\n    x: u8 = 1\n    x: u16 = 2\n", 3, "already a u8"),
    ("constant assigned", "LIMIT = 4\ndef f() -> None:\n    global LIMIT\n    LIMIT = 5\n", 3, "constant"),
    ("unbound local", "count: u64 = 0\ndef f() -> None:\n    count += 1\n", 3, "used before it is assigned"),
    ("constant index", "def f() -> u8:\n    xs: Array[u8, 4] = [0] * 4\n    return xs[4]\n", 3,
     "index 4 is out of range for Array[u8, 4]"),
    ("break outside loop", "def f() -> None:\n    break\n", 2, "outside a loop"),
    ("no effect", "def f(a: u8) -> None:\n    a + 1\n", 2, "no effect"),
    ("for over str", "def f(s: str) -> None:\n    for c in s:\n        pass\n", 2, "range(len(s))"),
    ("unsafe intrinsic import", "from theseus_nb.lang.unsafe import outb\n", 1,
     "outb is an unsafe intrinsic; only cells marked '# cell: unsafe' may use it"),
    ("unsafe intrinsic use", "def f() -> None:\n    hlt()\n", 2, "hlt is an unsafe intrinsic"),
    ("bad import", "import os\n", 1, "cannot import 'os'"),
    ("bare literal hint", "def f(a: u64) -> u64:\n    x = 0\n    return x + a\n", 3,
     "declare it first with the type you need, e.g. 'x: u64 = 0'"),
    ("loop variable hint", "def g(v: i32) -> None:\n    pass\ndef f() -> None:\n    for v in range(8):\n"
     "        g(v)\n", 5, "'v' is u64 because only literals gave it a type; declare it first with "
     "the type you need, e.g. 'v: i32 = 0'"),
    ("str ordering", "def f(a: str) -> bool:\n    return a < \"b\"\n", 2, "only be compared with == and !="),
    ("global initializer", "t: Array[u8, 2] = [1, wrapping_add(1, 2, u8)]\n", 1,
     "a global's initial value must be a constant"),
    ("fnref global", "handler: fnref\n", 1, "a fnref can only be a parameter or a local"),
    ("fnref field", "@struct\nclass T:\n    entry: fnref\n", 3, "a fnref can only be"),
    ("fnref array", "def f() -> None:\n    xs: Array[fnref, 2] = [0] * 2\n", 2, "a fnref can only be"),
    ("fnref signature", "def g(a: u8) -> u8:\n    return a\ndef f() -> fnref:\n    return g\n", 4,
     "must take one u64 and return u64"),
]


@pytest.mark.parametrize("what,src,line,fragment", CASES, ids=[c[0] for c in CASES])
def test_error(what: str, src: str, line: int, fragment: str) -> None:
    e = error(src)
    assert e.line == line, str(e)
    assert fragment in e.message, str(e)
    assert e.cell == "c" and e.col >= 1


def iface() -> dict:
    return {"serial": interface_of(SERIAL, "serial")}


def test_private_name_from_another_cell() -> None:
    e = error("x: u8 = 0\nfrom cells.serial import _helper\n", interfaces=iface())
    assert e.line == 2 and "'_helper' is private to cell 'serial'" in e.message
    e = error("import cells.serial\ndef f() -> u64:\n    return cells.serial._helper()\n", interfaces=iface())
    assert e.line == 3 and "private" in e.message


def test_unknown_cell_and_name() -> None:
    e = error("\n\nfrom cells.nope import f\n", interfaces=iface())
    assert e.line == 3 and "unknown cell 'nope'" in e.message
    e = error("from kernel_src.serial import read\n", interfaces=iface())
    assert e.line == 1 and "has no public function, constant, global or struct 'read'" in e.message


def test_cross_cell_argument_types_are_checked() -> None:
    e = error("from cells.serial import write_str\ndef f() -> None:\n    write_str(5)\n",
              interfaces=iface())
    assert e.line == 3 and "must be str, not i64" in e.message


def test_display_has_caret_and_html() -> None:
    e = error("def f(a: u8, b: u64) -> u64:\n    return a + b\n", filename="cells/c.py")
    text = str(e).splitlines()
    assert text[0] == "cells/c.py:2:12: cannot add u8 and u64: convert one side explicitly, e.g. u8(x)"
    assert text[1].strip() == "return a + b"
    assert text[2].index("^") == text[1].index("a + b")
    html = e._repr_html_()
    assert "CellError" in html and "^" in html and "cells/c.py:2:12" in html


def test_interface_of_refuses_bad_public_signature() -> None:
    with pytest.raises(CellError, match="public function 'f'"):
        interface_of("def f(a: Array[u8, 4]) -> None:\n    pass\n", "c")


def test_first_error_stops_and_nothing_is_half_built() -> None:
    e = error("def f() -> u64:\n    return y\ndef g() -> u64:\n    return z\n")
    assert e.line == 2

"""Speed with every check kept: loops over array indexes run in a version without
bounds checks only when every index they take is in range, and a small recursive
function is unrolled into itself; panics happen where CPython raises, after the
same side effects."""
from __future__ import annotations

import pytest

from theseus_nb import build
from theseus_nb.lang import CellPanic, compile_cell, jit

LOOPS = '''\
from theseus_nb.lang.prelude import *

buf: Array[u8, 100] = [0] * 100
written: u64 = 0


def fill(n: u64) -> u64:
    global written
    for i in range(n):
        written += 1
        buf[i] = u8(i % 7)
    return u64(buf[n - 1])


def fill_signed(a: i32, b: i32) -> u64:
    total: u64 = 0
    for i in range(a, b):
        total += u64(buf[i])
    return total


def reassigned(n: u64) -> u64:
    total: u64 = 0
    for i in range(n):
        i = i * 2
        total += u64(buf[i])
    return total


def stepped(start: u64, n: u64, step: u64) -> u64:
    total: u64 = 0
    for i in range(start, n, step):
        buf[i] = 1
        total += u64(i)
    return total


def fib(n: u64) -> u64:
    if n < 2:
        return n
    return fib(n - 1) + fib(n - 2)


def depth(n: u64) -> u64:
    if n == 0:
        return 0
    return depth(n - 1) + 1


def wide(n: u64) -> u8:
    if n == 0:
        return 250
    return wide(n - 1) + 1
'''

CALLS = [("fill", (100,)), ("fill", (37,)), ("fill", (101,)), ("fill", (500,)),
         ("fill_signed", (0, 100)), ("fill_signed", (-5, 10)), ("fill_signed", (-101, 3)),
         ("fill_signed", (90, 101)), ("reassigned", (50,)), ("reassigned", (51,)),
         ("stepped", (0, 100, 3)), ("stepped", (50, 120, 7)), ("stepped", (99, 200, 1)),
         ("fib", (20,)), ("fib", (1,)), ("depth", (900,)), ("wide", (5,))]  # wide(6) overflows u8: below


def _line(text: str) -> int:
    return next(n for n, line in enumerate(LOOPS.splitlines(), 1) if text in line)


def _cpython(name: str, args: tuple, namespace: dict) -> tuple:
    try:
        return "ok", namespace[name](*args)
    except (IndexError, OverflowError) as exc:
        return "raised", type(exc).__name__


@pytest.fixture(scope="module")
def both() -> tuple:
    namespace: dict = {}
    exec(compile(LOOPS, "loops.py", "exec", dont_inherit=True), namespace)
    return jit(LOOPS, name="loops"), namespace


def test_results_panics_and_side_effects_agree_with_cpython(both: tuple) -> None:
    compiled, python = both
    for name, args in CALLS:
        expected = _cpython(name, args, python)
        try:
            got = "ok", getattr(compiled, name)(*args)
        except CellPanic as exc:
            got = "raised", "IndexError" if "index out of bounds" in exc.message else "OverflowError"
        assert got == expected, (name, args)
        # what the loop wrote before it panicked is there too, element by element
        assert [compiled.fill_signed(k, k + 1) for k in range(100)] == python["buf"], (name, args)


def test_the_checked_loop_still_panics_at_the_first_bad_index(both: tuple) -> None:
    compiled, _ = both
    with pytest.raises(CellPanic, match=r"index out of bounds for Array\[u8, 100\]") as info:
        compiled.fill(101)
    assert (info.value.function, info.value.line) == ("fill", _line("buf[i] = u8(i % 7)"))


def test_unrolled_recursion_still_panics_with_its_own_name_and_line(both: tuple) -> None:
    compiled, _ = both
    with pytest.raises(CellPanic, match="integer overflow in \\+ \\(u8\\)") as info:
        compiled.wide(6)
    assert (info.value.function, info.value.line) == ("wide", _line("return wide(n - 1) + 1"))
    with pytest.raises(CellPanic, match="stack overflow"):
        compiled.depth(10**7)


def test_a_fill_in_range_becomes_a_memset() -> None:
    # the version of the loop for n <= 100 has no check left, so LLVM sees a plain
    # fill; the checked version is still there for larger n
    source = LOOPS.replace("buf[i] = u8(i % 7)", "buf[i] = 3").replace("written += 1\n", "")
    ir = build.kernel_ir(compile_cell(source, "loops").module, "loops")
    fill = ir[ir.index('@"loops::fill"'):]
    fill = fill[:fill.index("\n}\n")]
    assert "llvm.memset" in fill and "rt::panic" in fill


def test_a_bool_fill_is_a_memset_too() -> None:
    # a bool is a byte in memory (an i1 store would leave LLVM unsure of the rest
    # of the byte, and no memset could replace the loop)
    source = "flags: Array[bool, 4096] = [False] * 4096\n\n\ndef setall(n: u64) -> None:\n" \
             "    for i in range(n):\n        flags[i] = True\n"
    ir = build.kernel_ir(compile_cell(source, "flags").module, "flags")
    assert "llvm.memset" in ir and "store i1" not in ir


def test_recursion_is_unrolled_but_the_public_function_stays_a_relocation() -> None:
    module = compile_cell(LOOPS, "loops").module
    assert '"loops::fib.rec1"' in str(module)
    asm = build.kernel_asm(module, "loops")
    assert 'callq\t"loops::fib"' in asm  # the deepest level calls the public symbol again
    assert "fib.rec" not in asm  # every copy was inlined and is gone
    text = build._prepare_text(compile_cell(LOOPS, "loops").module, "loops")
    head = next(line for line in text.splitlines() if line.startswith('define') and '@"loops::fib"(' in line)
    assert "noinline" in head

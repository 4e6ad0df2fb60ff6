"""Differential tests: every program in programs/ runs in CPython (through the
prelude) and through jit, with many arguments; results must be equal, or the
compiled cell must panic where CPython raised (or overflowed the type)."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from theseus_nb.lang import CellPanic, jit
from theseus_nb.lang.interface import interface_of
from theseus_nb.lang.types import IntT

PROGRAMS = Path(__file__).parent / "programs"
RAISES = (ZeroDivisionError, IndexError, AssertionError, OverflowError, ValueError,
          RecursionError, Exception)


def ints(bits: int, signed: bool, lo: int | None = None, hi: int | None = None) -> st.SearchStrategy:
    t = IntT(bits, signed)
    return st.integers(t.min if lo is None else lo, t.max if hi is None else hi)


u8, u16, u32, u64 = (lambda lo=None, hi=None, b=b: ints(b, False, lo, hi) for b in (8, 16, 32, 64))
i8, i16, i32, i64 = (lambda lo=None, hi=None, b=b: ints(b, True, lo, hi) for b in (8, 16, 32, 64))
small = i64(-1000, 1000)
B = st.booleans()

CASES = {
    "arith": {
        "floordiv": (i64(), i64()), "mod": (i64(), i64()), "floordiv8": (i8(), i8()),
        "mod16": (i16(), i16()), "udivmod": (u32(), u32()), "add8": (u8(), u8()),
        "sub_signed": (i32(), i32()), "mul64": (i64(-2**33, 2**33), i64(-2**33, 2**33)),
        "shl": (u32(), u8(0, 40)), "shr_signed": (i32(), u8(0, 40)), "shr_unsigned": (u16(), u8(0, 20)),
        "neg": (i16(),), "invert": (i32(),), "narrow": (i64(-10, 300),), "widen": (i8(),),
        "to_signed": (u64(0, 2**33),), "mixed": (u16(), u16()), "clamp": (small, small, small),
        "absdiff": (i32(), i32()), "as_bool": (i64(-5, 5),), "literal_fold": (u8(),),
    },
    "bits": {
        "popcount": (u64(),), "is_pow2": (u64(),), "lowest_bit": (i64(),), "rotl32": (u32(), u8()),
        "reverse8": (u8(),), "parity": (u32(),), "sign_extend12": (u16(),), "xorshift": (u64(), u8(0, 20)),
    },
    "recursion": {
        "fib": (u32(0, 18),), "gcd": (u64(), u64()), "power": (i64(-20, 20), u8(0, 20)),
        "ackermann": (u64(0, 2), u64(0, 5)), "is_even": (u32(0, 300),), "is_odd": (u32(0, 300),), "digits": (u64(),),
    },
    "loops": {
        "sum_to": (u32(0, 3000),), "sum_range": (i32(-500, 500), i32(-500, 500)),
        "sum_step": (i32(-300, 300), i32(-300, 300), i32(-20, 20)), "countdown": (i16(-5, 2000),),
        "last_loop_value": (u8(),), "first_multiple": (u32(0, 10000), u32(1, 100)),
        "skip_and_stop": (u32(0, 100),), "collatz": (u64(1, 10**6),), "nested": (u8(0, 40),),
        "triangle": (i64(-3, 10), i64(-3, 10), i64(-3, 10)), "between": (i32(-3, 3), i32(-3, 3), i32(-3, 3)),
    },
    "arrays": {
        "primes_below": (u32(0, 1000),), "sorted_checksum": (u32(),), "literal": (i64(-7, 7),),
        "get": (u8(0, 6),), "matrix_trace": (u8(),), "max_of": (i32(), i32(), i32()),
        "histogram": (u32(),),
    },
    "structs": {
        "schedule": (u32(), u8(0, 60)), "ring": (u64(),), "manhattan": (i32(-10**6, 10**6),) * 4,
    },
    "nested": {"setup": (i32(-1000, 1000),), "get_name": (i32(-1000, 1000),), "local_struct": (i32(-1000, 1000),)},
    "order": {
        "assign": (i64(-50, 50),), "augmented": (i64(-50, 50),), "args": (i64(0, 9),),
        "operators": (i64(-5, 5),), "conditional": (i64(-3, 3),), "chained": (i64(-2, 7),),
        "loops": (i64(-3, 30),), "nested_break": (u8(0, 20),),
    },
    "strings": {
        "checksum": (st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=40),),
        "greeting_sum": (), "count_char": (st.text(alphabet="abc ", max_size=30), u8(97, 100)),
        "pick": (u8(0, 4),), "command": (st.sampled_from(["help", "hel", "helpx", "", "hello, theseus", "x"]),), "last_char": (st.text(alphabet="xyz", max_size=5),),
    },
}


def load_python(name: str) -> object:
    spec = importlib.util.spec_from_file_location(f"cellprog_{name}", PROGRAMS / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


_jitted: dict = {}


def load_jit(name: str) -> object:
    if name not in _jitted:
        _jitted[name] = jit((PROGRAMS / f"{name}.py").read_text(), name=name)
    return _jitted[name]


def run_both(name: str, fn: str, args: tuple) -> str:
    """Run one call both ways and compare; returns 'value' or 'panic' for statistics."""
    py, cell = load_python(name), load_jit(name)
    ret = interface_of((PROGRAMS / f"{name}.py").read_text(), name).functions[fn].ret
    try:
        expected, raised = getattr(py, fn)(*args), None
    except RAISES as e:  # noqa: PERF203
        expected, raised = None, e
    try:
        got = getattr(cell, fn)(*args)
    except CellPanic as p:
        # a panic is right where CPython raised, or where its result (or an
        # intermediate) does not fit the fixed-width type: the language's promise
        assert raised is not None or "overflow" in p.message or "does not fit" in p.message, (
            f"{name}.{fn}{args}: cell panicked ({p.message}) but CPython returned {expected!r}")
        return "panic"
    assert raised is None, f"{name}.{fn}{args}: CPython raised {raised!r} but the cell returned {got!r}"
    if isinstance(ret, IntT):
        assert ret.fits(expected), f"{name}.{fn}{args}: CPython result {expected} does not fit {ret}"
    assert got == expected, f"{name}.{fn}{args}: cell gave {got!r}, CPython {expected!r}"
    return "value"


PARAMS = [(p, f) for p, fs in CASES.items() for f in fs]


@pytest.mark.parametrize("program,fn", PARAMS, ids=[f"{p}.{f}" for p, f in PARAMS])
def test_differential(program: str, fn: str) -> None:
    strategies = CASES[program][fn]
    outcomes: list = []

    @settings(max_examples=40, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(st.tuples(*strategies))
    def check(args: tuple) -> None:
        outcomes.append(run_both(program, fn, args))

    check()
    assert outcomes.count("value") >= len(outcomes) // 4, f"{program}.{fn} panicked too often"


def test_every_public_function_is_covered() -> None:
    for path in PROGRAMS.glob("*.py"):
        if path.stem == "globals_logic":
            continue
        public = set(interface_of(path.read_text(), path.stem).functions)
        assert public == set(CASES.get(path.stem, {})), path.stem


def test_globals_and_short_circuit_side_effects() -> None:
    py, cell = load_python("globals_logic"), jit((PROGRAMS / "globals_logic.py").read_text(),
                                                 name="globals_logic")
    for a in (False, True):
        for b in (False, True):
            for c in (False, True):
                assert cell.short(a, b, c) == py.short(a, b, c)
    for args in [(1, 2, 3), (3, 2, 1), (1, 1, 2), (2, 3, 3), (-5, 0, 5)]:
        assert cell.chain(*args) == py.chain(*args)
    for n in [5, -3, 7, 100, -250, 1, 2, 3]:
        assert cell.bump(n) == py.bump(n)
        assert cell.table_sum() == py.table_sum()
    assert [cell.toggle() for _ in range(3)] == [py.toggle() for _ in range(3)]

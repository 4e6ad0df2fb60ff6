"""Every integer operator on every integer type, at the edges of each range,
against Python's own semantics: the result must be Python's, or a panic exactly
when Python's result does not fit (or Python raises)."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from theseus_nb.lang import CellPanic, jit
from theseus_nb.lang.types import INT_TYPES, IntT

OPS = {"add": "+", "sub": "-", "mul": "*", "floordiv": "//", "mod": "%", "shl": "<<", "shr": ">>",
       "and": "&", "or": "|", "xor": "^"}
SRC = "".join(f"def {op}_{t}(a: {t}, b: {t}) -> {t}:\n    return a {sym} b\n\n"
              for t in INT_TYPES for op, sym in OPS.items())
SRC += "".join(f"def conv_{s}_{d}(a: {s}) -> {d}:\n    return {d}(a)\n\n" for s in INT_TYPES for d in INT_TYPES)
SRC += "".join(f"def neg_{t}(a: {t}) -> {t}:\n    return -a\n\n" for t in INT_TYPES)


def python(op: str, a: int, b: int) -> int:
    return {"add": a + b, "sub": a - b, "mul": a * b, "and": a & b, "or": a | b, "xor": a ^ b,
            "floordiv": a // b if b else None, "mod": a % b if b else None,
            "shl": (0 if a == 0 else a << b if b < 4096 else None) if b >= 0 else None, "shr": a >> b if b >= 0 else None}[op]


@pytest.fixture(scope="module")
def cell() -> object:
    return jit(SRC, name="ops")


def edge(t: IntT) -> st.SearchStrategy:
    edges = [t.min, t.min + 1, -1, 0, 1, 2, t.bits - 1, t.bits, t.max - 1, t.max]
    return st.one_of(st.sampled_from([e for e in edges if t.fits(e)]), st.integers(t.min, t.max))


@pytest.mark.parametrize("tname", list(INT_TYPES))
def test_binary_operators(cell: object, tname: str) -> None:
    t = INT_TYPES[tname]

    @settings(max_examples=150, deadline=None, database=None)
    @given(st.sampled_from(list(OPS)), edge(t), edge(t))
    def check(op: str, a: int, b: int) -> None:
        expected = python(op, a, b)
        try:
            got = getattr(cell, f"{op}_{tname}")(a, b)
        except CellPanic:
            assert expected is None or not t.fits(expected), (op, a, b, expected)
            return
        assert expected is not None and got == expected, (op, a, b, got, expected)

    check()


@settings(max_examples=300, deadline=None, database=None)
@given(st.sampled_from(list(INT_TYPES)), st.sampled_from(list(INT_TYPES)), st.data())
def test_conversions_and_negation(cell: object, s: str, d: str, data: st.DataObject) -> None:
    src, dst = INT_TYPES[s], INT_TYPES[d]
    a = data.draw(edge(src))
    try:
        got = getattr(cell, f"conv_{s}_{d}")(a)
        assert dst.fits(a) and got == a
    except CellPanic as p:
        assert not dst.fits(a) and "does not fit" in p.message
    try:
        assert getattr(cell, f"neg_{s}")(a) == -a
    except CellPanic:
        assert not src.fits(-a)

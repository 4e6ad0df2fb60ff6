"""Arrays of 100 000 elements, local and global, in every kind of initializer: they
compile (an initializer is a memset, a memcpy or a loop, never one aggregate store
whose optimisation grows with the square of its size) and agree with CPython."""
from __future__ import annotations

import pytest

from theseus_nb.lang import CellPanic, jit

N = 100_000
LITERAL = [(k * 37) % 251 for k in range(N)]

BIG = f'''\
from theseus_nb.lang.prelude import *


@struct
class Hist:
    tag: u8
    counts: Array[u16, {N}]


zeros: Array[u8, {N}] = [0] * {N}
sevens: Array[u32, {N}] = [7] * {N}
table: Array[u8, {N}] = {LITERAL}
hist: Hist = Hist(9)


def globals_sum(k: u64) -> u64:
    zeros[k] = 5
    sevens[k] = 1
    hist.counts[k] += 2
    total: u64 = u64(hist.tag) + u64(hist.counts[k])
    for i in range({N}):
        total += u64(zeros[i]) + u64(sevens[i]) + u64(table[i])
    return total


def locals_sum(k: u64) -> u64:
    a: Array[u8, {N}] = [0] * {N}
    b: Array[u32, {N}] = [3] * {N}
    c: Array[bool, {N}] = [True] * {N}
    d: Array[u8, {N}] = {LITERAL}
    h = Hist(4)
    a[k] = 200
    b[k] = 0
    c[k] = False
    h.counts[k] = 60000
    total: u64 = u64(h.tag)
    for i in range({N}):
        total += u64(a[i]) + u64(b[i]) + u64(d[i]) + u64(h.counts[i])
        if c[i]:
            total += 1
    return total
'''


@pytest.fixture(scope="module")
def cells() -> tuple:
    namespace: dict = {}
    exec(compile(BIG, "big.py", "exec", dont_inherit=True), namespace)  # no __future__ from here
    return jit(BIG, name="big"), namespace


@pytest.mark.parametrize("k", [0, 1, 31_337, N - 1])
def test_locals_agree_with_cpython(cells: tuple, k: int) -> None:
    compiled, python = cells
    assert compiled.locals_sum(k) == python["locals_sum"](k)


def test_globals_agree_with_cpython(cells: tuple) -> None:
    # each call changes the globals, in the cell and in CPython alike
    compiled, python = cells
    for k in (0, N - 1, 0, 777):
        assert compiled.globals_sum(k) == python["globals_sum"](k)


@pytest.mark.parametrize("fn", ["locals_sum", "globals_sum"])
def test_index_past_the_end_panics_as_cpython_raises(cells: tuple, fn: str) -> None:
    compiled, python = cells
    with pytest.raises(IndexError):
        python[fn](N)
    with pytest.raises(CellPanic, match=r"index out of bounds for Array\[u8, 100000\]"):
        getattr(compiled, fn)(N)


def test_zero_global_is_zeroinitializer_and_no_aggregate_store(cells: tuple) -> None:
    ir = cells[0].ir
    assert f'@"big::zeros" = global [{N} x i8] zeroinitializer' in ir
    assert f"store [{N} x" not in ir and "store {i8" not in ir
    assert ir.count("call void @\"llvm.memset.p0.i64\"") >= 3  # a, c (bytes), h's zeroing

"""Globals (.data/.bss), the global statement, and short-circuit logic with side effects."""
from theseus_nb.lang.prelude import *

calls: u64 = 0
counter: i64 = 100
table: Array[u8, 4] = [1, 2, 3, 4]
flag: bool = False


def _touch(v: bool) -> bool:
    global calls
    calls += 1
    return v


def short(a: bool, b: bool, c: bool) -> u64:
    global calls
    calls = 0
    r = (_touch(a) and _touch(b)) or _touch(c)
    return calls * 10 + (1 if r else 0)


def chain(a: i64, b: i64, c: i64) -> u64:
    global calls
    calls = 0
    r = _count(a) < _count(b) < _count(c)
    return calls * 10 + (1 if r else 0)


def _count(v: i64) -> i64:
    global calls
    calls += 1
    return v


def bump(n: i64) -> i64:
    global counter
    counter += n
    table[u64(counter) % 4 if counter >= 0 else 0] += 1
    return counter


def table_sum() -> u64:
    total: u64 = 0
    for x in table:
        total += u64(x)
    return total


def toggle() -> bool:
    global flag
    flag = not flag
    return flag

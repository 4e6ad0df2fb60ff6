"""Evaluation order: which side of an assignment, call or operator runs first."""
from theseus_nb.lang.prelude import *

log: Array[u8, 32] = [0] * 32
n_log: u64 = 0
xs: Array[i64, 4] = [0, 0, 0, 0]


def _note(code: u8, v: i64) -> i64:
    global n_log
    if n_log < 32:
        log[n_log] = code
        n_log += 1
    return v


def _trace() -> u64:
    global n_log
    out: u64 = 0
    for i in range(n_log):
        out = out * 10 + u64(log[i])
    n_log = 0
    return out


def _three(a: i64, b: i64, c: i64) -> i64:
    return a * 100 + b * 10 + c


def assign(k: i64) -> u64:
    xs[_note(1, k % 4)] = _note(2, k)
    return _trace() * 1000 + u64(xs[k % 4] % 1000)


def augmented(k: i64) -> u64:
    xs[_note(1, 1)] += _note(2, k)
    return _trace()


def args(k: i64) -> u64:
    r = _three(_note(1, k), _note(2, 2), _note(3, 3))
    return _trace() * 1000 + u64(r % 1000)


def operators(k: i64) -> u64:
    r = _note(1, k) * _note(2, 3) - _note(3, 1) // _note(4, 1)
    t = _trace()
    return t if r > 0 else t + 1


def conditional(k: i64) -> u64:
    r = _note(1, 1) if _note(2, k) > 0 else _note(3, 2)
    return _trace() * 10 + u64(r)


def chained(k: i64) -> u64:
    r = _note(1, 0) <= _note(2, k) < _note(3, 5) != _note(4, 4)
    return _trace() * 10 + (1 if r else 0)


def loops(k: i64) -> u64:
    total: i64 = 0
    for i in range(_note(1, 0), _note(2, k), _note(3, 2)):
        total += i
    while _note(4, total) > 10:
        total -= 50
    return _trace() * 100 + u64(total)


def nested_break(n: u8) -> u64:
    found: u64 = 0
    for i in range(n):
        for j in range(n):
            if j > i:
                break
            if (i * j) % 7 == 3:
                found += u64(i * 10 + j)
                continue
            if i + j > 12:
                return found * 2 + 1
    return found

"""Arrays: sieve, sorting, list literals, negative indexes, passing by reference, 2-D arrays."""
from theseus_nb.lang.prelude import *

N = 64


def primes_below(n: u32) -> u32:
    sieve: Array[bool, 1000] = [True] * 1000
    count: u32 = 0
    for i in range(2, n):
        if sieve[i]:
            count += 1
            for j in range(i * i, n, i):
                sieve[j] = False
    return count


def _fill(xs: Array[u32, 64], seed: u32) -> None:
    x = seed
    for i in range(len(xs)):
        x = wrapping_add(wrapping_mul(x, 1103515245, u32), 12345, u32)
        xs[i] = x >> 16


def _sort(xs: Array[u32, 64]) -> None:
    for i in range(N):
        for j in range(N - 1 - i):
            if xs[j] > xs[j + 1]:
                t = xs[j]
                xs[j] = xs[j + 1]
                xs[j + 1] = t


def sorted_checksum(seed: u32) -> u64:
    xs: Array[u32, 64] = [0] * 64
    _fill(xs, seed)
    _sort(xs)
    total: u64 = 0
    for i in range(N - 1):
        assert xs[i] <= xs[i + 1]
    for x in xs:
        total = total * 31 % 1000000007 + u64(x)
    return total


def literal(i: i64) -> i64:
    xs: Array[i64, 5] = [10, -20, 30, -40, 50]
    return xs[i] + xs[-1]


def get(i: u8) -> u16:
    xs: Array[u16, 4] = [1, 2, 3, 4]
    return xs[i]


def matrix_trace(n: u8) -> u64:
    m: Array[Array[u64, 8], 8] = [[0] * 8 for _ in range(8)]
    for i in range(8):
        for j in range(8):
            m[i][j] = u64(i) * 8 + u64(j) + u64(n)
    total: u64 = 0
    for i in range(8):
        total += m[i][i]
    for row in m:
        total += row[7]
    return total


def max_of(a: i32, b: i32, c: i32) -> i32:
    xs: Array[i32, 3] = [a, b, c]
    best = xs[0]
    for x in xs:
        if x > best:
            best = x
    return best


def histogram(seed: u32) -> u32:
    counts: Array[u32, 10] = [0] * 10
    x = seed
    for _ in range(200):
        x = wrapping_add(wrapping_mul(x, 1664525, u32), 1013904223, u32)
        counts[x % 10] += 1
    best: u32 = 0
    for i in range(10):
        if counts[i] > counts[best]:
            best = u32(i)
    return best * 1000 + counts[best]

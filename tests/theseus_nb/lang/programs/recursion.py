"""Recursion: fibonacci, gcd, fast power, Ackermann, mutual recursion."""
from theseus_nb.lang.prelude import *


def fib(n: u32) -> u64:
    if n < 2:
        return u64(n)
    return fib(n - 1) + fib(n - 2)


def gcd(a: u64, b: u64) -> u64:
    return a if b == 0 else gcd(b, a % b)


def power(base: i64, e: u8) -> i64:
    if e == 0:
        return 1
    half = power(base, e // 2)
    if e % 2 == 0:
        return half * half
    return half * half * base


def ackermann(m: u64, n: u64) -> u64:
    if m == 0:
        return n + 1
    if n == 0:
        return ackermann(m - 1, 1)
    return ackermann(m - 1, ackermann(m, n - 1))


def is_even(n: u32) -> bool:
    return True if n == 0 else is_odd(n - 1)


def is_odd(n: u32) -> bool:
    return False if n == 0 else is_even(n - 1)


def _digits(n: u64, acc: u64) -> u64:
    if n < 10:
        return acc + 1
    return _digits(n // 10, acc + 1)


def digits(n: u64) -> u64:
    return _digits(n, 0)

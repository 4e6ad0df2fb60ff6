"""mathutil: integer maths for the demo apps (no floats in the kernel)."""
from theseus_nb.lang.prelude import *


def gcd(a: u64, b: u64) -> u64:
    """Greatest common divisor (Euclid)."""
    while b != 0:
        t: u64 = a % b
        a = b
        b = t
    return a


def isqrt(n: u64) -> u64:
    """The largest r with r * r <= n (Newton's method on integers)."""
    if n < 2:
        return n
    x: u64 = n
    y: u64 = (x + 1) // 2
    while y < x:
        x = y
        y = (x + n // x) // 2
    return x


def is_prime(n: u64) -> bool:
    """Is n prime? (trial division up to its square root)"""
    if n < 2:
        return False
    if n % 2 == 0:
        return n == 2
    d: u64 = 3
    limit: u64 = isqrt(n)
    while d <= limit:
        if n % d == 0:
            return False
        d += 2
    return True


def fib(n: u64) -> u64:
    """The n-th Fibonacci number (panics on overflow past fib(92))."""
    a: u64 = 0
    b: u64 = 1
    for _ in range(n):
        t: u64 = a + b
        a = b
        b = t
    return a

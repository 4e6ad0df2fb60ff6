"""primes: an app cell, the primes below N, built on mathutil and fmt."""
from theseus_nb.lang.prelude import *
from kernel_src.shell import arg_u64
from kernel_src.serial import write, write_u64, newline
from cells.mathutil import is_prime


def main(arg: u64) -> u64:
    """Print the primes below N (default 50) on one line."""
    n: u64 = arg_u64(1)
    if n == 0:
        n = 50
    first: bool = True
    for k in range(n):
        if is_prime(k):
            if not first:
                write(" ")
            write_u64(k)
            first = False
    newline()
    return 0

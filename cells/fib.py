"""fib: an app cell, the N-th Fibonacci number (it panics past fib 92)."""
from theseus_nb.lang.prelude import *
from kernel_src.shell import arg_u64
from kernel_src.serial import write_u64, newline
from cells.mathutil import fib


def main(arg: u64) -> u64:
    """Print fib(N)."""
    write_u64(fib(arg_u64(1)))
    newline()
    return 0

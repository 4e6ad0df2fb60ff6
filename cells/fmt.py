"""fmt: formatting helpers for console output (columns, numbers, sizes).

A library cell: other cells call it, it has no command of its own.
"""
from theseus_nb.lang.prelude import *
from kernel_src.serial import write, put, write_u64, newline


def digits(v: u64) -> u64:
    """How many decimal digits v has."""
    n: u64 = 1
    while v >= 10:
        v = v // 10
        n += 1
    return n


def spaces(n: u64) -> None:
    """Print n spaces."""
    for _ in range(n):
        put(32)


def left(s: str, width: u64) -> None:
    """Print s padded with spaces to width (left-aligned)."""
    write(s)
    if u64(len(s)) < width:
        spaces(width - u64(len(s)))


def right_u64(v: u64, width: u64) -> None:
    """Print v right-aligned in width columns."""
    d: u64 = digits(v)
    if d < width:
        spaces(width - d)
    write_u64(v)


def size(bytes: u64) -> None:
    """Print a byte count in B, KiB or MiB, whichever reads best."""
    if bytes < 10240:
        write_u64(bytes)
        write(" B")
    elif bytes < 10485760:
        write_u64(bytes // 1024)
        write(" KiB")
    else:
        write_u64(bytes // 1048576)
        write(" MiB")


def kv(key: str, value: u64) -> None:
    """Print a "key value" line."""
    left(key, 16)
    write_u64(value)
    newline()


def line(s: str) -> None:
    """Print s and end the line."""
    write(s)
    newline()

"""rollback: swap a cell back to the version it ran before its last swap.

    rollback CELL

The kernel keeps each swapped cell's previous object (kernel_src/versions.py);
the swap back is an ordinary swap, refused like one when a cell swapped in
later uses what the old version lacks.  Prints "rolled back CELL" and the
swap's figures, as `swap` does.
"""
from theseus_nb.lang.prelude import *
from kernel_src.shell import arg, argc
from kernel_src.serial import write, newline
from kernel_src.restart import rollback_cell


def main(a: u64) -> u64:
    """Roll back the cell named on the line."""
    if argc() != 2:
        write("usage: rollback CELL")
        newline()
        return 2
    return rollback_cell(arg(1))

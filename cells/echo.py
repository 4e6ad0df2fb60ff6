"""echo: print the rest of the line."""
from theseus_nb.lang.prelude import *
from kernel_src.shell import rest
from cells.fmt import line


def main(arg: u64) -> u64:
    """Print everything after the command word."""
    line(rest(1))
    return 0

"""help: list the shell's commands (each command is a cell with a main())."""
from theseus_nb.lang.prelude import *
from cells.fmt import left, line



def write_row(name: str, what: str) -> None:
    """Print one command and what it does."""
    left("  ", 2)
    left(name, 18)
    line(what)


def main(arg: u64) -> u64:
    """Print the command list."""
    line("commands:")
    write_row("help", "this list")
    write_row("echo TEXT", "print TEXT")
    write_row("uptime", "time since boot")
    write_row("halt [N]", "power off (QEMU exits with 2N+1)")
    write_row("cells", "loaded cells, their sections and sizes")
    write_row("sections CELL", "the sections of one cell")
    write_row("deps SECTION", "what a section depends on, and its dependents")
    write_row("graph", "the whole live section graph, one record a line")
    write_row("mem", "frames and kernel heap in use")
    write_row("primes N", "the primes below N")
    write_row("fib N", "the N-th Fibonacci number")
    line("any loaded cell with a main() is a command too")
    return 0

"""help: list the shell's commands (each command is a cell with a main())."""
from theseus_nb.lang.prelude import *
from cells.fmt import left, line



def write_row(name: str, what: str) -> None:
    """Print one command and what it does."""
    left("  ", 2)
    left(name, 22)
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
    write_row("ps", "the task table")
    write_row("spawn FN [ARG [STACK]]", "start a task running CELL::FN (STACK: bytes of stack)")
    write_row("  ... --restart N", "restart it after a fault, N times, then reload its cell")
    write_row("kill ID", "end a task")
    write_row("tasks", "the task table, one record a line, for the host")
    write_row("faults [SINCE]", "the fault log: causes, backtraces, what recovery did")
    write_row("sched [CELL]", "show or change the scheduling policy cell")
    write_row("swap CELL[=SRC] ...", "replace running cells (live evolution)")
    write_row("rollback CELL", "undo a cell's last swap")
    write_row("load NAME[=SRC]", "add a cell to the running kernel")
    write_row("boottime", "how long loading each cell took at boot")
    write_row("primes N", "the primes below N")
    write_row("fib N", "the N-th Fibonacci number")
    line("any loaded cell with a main() is a command too")
    return 0

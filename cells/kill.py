"""kill: end task ID at once; its stack goes back to the heap."""
from theseus_nb.lang.prelude import *
from kernel_src.shell import arg_u64
from kernel_src.serial import write, write_u64, newline
from kernel_src.task import kill


def main(a: u64) -> u64:
    """Print "killed ID" (status 1 if there is no such live task, or it is the nano_core's)."""
    id: u64 = arg_u64(1)
    if not kill(id):
        write("kill: no live task ")
        write_u64(id)
        write(" (the shell and idle tasks cannot be killed)")
        newline()
        return 1
    write("killed ")
    write_u64(id)
    newline()
    return 0

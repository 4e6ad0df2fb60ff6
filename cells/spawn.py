"""spawn: start CELL::FUNCTION [ARG] as a new task and print its id."""
from theseus_nb.lang.prelude import *
from kernel_src.shell import arg, arg_u64
from kernel_src.serial import write, write_u64, newline
from kernel_src.task import spawn, spawn_error


def main(a: u64) -> u64:
    """Print the new task's id (status 1 and the reason if it could not start)."""
    id: u64 = spawn(arg(1), arg_u64(2))
    if id == 0:
        write("spawn: ")
        write(spawn_error())
        newline()
        return 1
    write_u64(id)
    newline()
    return 0

"""spawn: start a task and print its id.

    spawn CELL::FUNCTION [ARG [STACK]]

ARG (default 0) is passed to the function; STACK is the size of the task's
stack in bytes (decimal or 0x hex; default 16 KiB, params.TASK_STACK),
rounded up to whole pages, with an unmapped guard page under it.

A person may start any loaded cell's function, an unsafe cell's too, so
this command calls task.spawn_trusted, and is an unsafe cell for that
alone (a safe cell's task.spawn starts only functions a safe cell could call).
"""
# cell: unsafe
from theseus_nb.lang.prelude import *
from kernel_src.params import TASK_STACK
from kernel_src.shell import arg, arg_u64, argc
from kernel_src.serial import write, write_u64, newline
from kernel_src.task import spawn_trusted, spawn_error


def main(a: u64) -> u64:
    """Print the new task's id (status 1 and the reason if it could not start)."""
    stack: u64 = TASK_STACK
    if argc() > 3:
        stack = arg_u64(3)
        if stack == 0:
            write("spawn: STACK must be a number of bytes, got ")
            write(arg(3))
            newline()
            return 2
    id: u64 = spawn_trusted(arg(1), arg_u64(2), stack)
    if id == 0:
        write("spawn: ")
        write(spawn_error())
        newline()
        return 1
    write_u64(id)
    newline()
    return 0

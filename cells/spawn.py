"""spawn: start a task and print its id.

    spawn CELL::FUNCTION [ARG [STACK]] [--restart N]

ARG (default 0) is passed to the function; STACK is the size of the task's
stack in bytes (decimal or 0x hex; default 16 KiB, params.TASK_STACK),
rounded up to whole pages, with an unmapped guard page under it.
`--restart N` (last on the line) makes the task restartable: after a fault
it is started again, up to N times, and then recovery escalates to
reloading its cell (kernel_src/restart.py).

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
from kernel_src.restart import spawn_restartable, restart_error


def main(a: u64) -> u64:
    """Print the new task's id (status 1 and the reason if it could not start)."""
    words: u64 = argc()
    restart: bool = False
    most: u64 = 0
    if words >= 3 and arg(words - 2) == "--restart":
        restart = True
        most = arg_u64(words - 1)
        if most == 0 and arg(words - 1) != "0":
            write("spawn: --restart needs a number of restarts, got ")
            write(arg(words - 1))
            newline()
            return 2
        words -= 2
    for i in range(1, words):
        if arg(i) == "--restart":
            write("spawn: --restart N must come last, as in spawn CELL::FUNCTION ARG --restart 3")
            newline()
            return 2
    stack: u64 = TASK_STACK
    if words > 3:
        stack = arg_u64(3)
        if stack == 0:
            write("spawn: STACK must be a number of bytes, got ")
            write(arg(3))
            newline()
            return 2
    start_arg: u64 = 0
    if words > 2:
        start_arg = arg_u64(2)
    id: u64 = 0
    if restart:
        id = spawn_restartable(arg(1), start_arg, stack, most)
    else:
        id = spawn_trusted(arg(1), start_arg, stack)
    if id == 0:
        write("spawn: ")
        if restart:
            write(restart_error())
        else:
            write(spawn_error())
        newline()
        return 1
    write_u64(id)
    newline()
    return 0

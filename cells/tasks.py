"""tasks: the task table for machines, one line a task (qemu_bridge/tasks.py parses it).

    ID STATE TICKS SWITCHES VALUE RESTARTS CELL FUNCTION CAUSE

fields separated by single spaces; STATE is runnable, running, blocked,
sleeping, exited, faulted or restarting; VALUE is the exit value or "-";
RESTARTS counts the restarts of a restartable task (0 otherwise); CAUSE is
"-" or the rest of the line (it may hold spaces): for a restarted task that
runs again, the cause of its last fault.
"""
from theseus_nb.lang.prelude import *
from kernel_src.serial import write, put, write_u64, newline
from kernel_src.task_table import (state_name, task_cell, task_function, task_cause, FREE, EXITED,
                                   tasks)
from kernel_src import task_table
from kernel_src.restart_table import restarts


def main(arg: u64) -> u64:
    """Print one line per task (free slots left out)."""
    for i in range(task_table.high_slot):
        st: u8 = tasks[i].state
        if st != FREE:
            write_u64(tasks[i].id)
            put(32)
            write(state_name(st))
            put(32)
            write_u64(tasks[i].ticks)
            put(32)
            write_u64(tasks[i].switches)
            put(32)
            if st == EXITED and tasks[i].value != 0xFFFFFFFFFFFFFFFF:
                write_u64(tasks[i].value)
            else:
                write("-")
            put(32)
            write_u64(restarts(i))
            put(32)
            write(task_cell(i))
            put(32)
            write(task_function(i))
            put(32)
            cause: str = task_cause(i)
            if len(cause) == 0:
                write("-")
            else:
                write(cause)
            newline()
    return 0

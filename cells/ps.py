"""ps: the task table for people (the `tasks` command prints it for machines)."""
from theseus_nb.lang.prelude import *
from kernel_src.serial import write, write_u64, newline
from kernel_src.task_table import state_name, task_name, task_cause, FREE, EXITED, tasks
from kernel_src import task_table
from kernel_src.clock import ticks
from cells.fmt import left, right_u64, spaces


def main(arg: u64) -> u64:
    """Print id, state, run time, switches, cell::function and cause of every task."""
    write("   ID  STATE      TICKS  SWITCHES  TASK")
    newline()
    for i in range(task_table.high_slot):
        st: u8 = tasks[i].state
        if st != FREE:
            right_u64(tasks[i].id, 5)
            spaces(2)
            left(state_name(st), 9)
            right_u64(tasks[i].ticks, 7)
            right_u64(tasks[i].switches, 10)
            spaces(2)
            write(task_name(i))
            if st == EXITED and tasks[i].value != 0xFFFFFFFFFFFFFFFF:
                write(" = ")
                write_u64(tasks[i].value)
            if len(task_cause(i)) > 0:
                write("  (")
                write(task_cause(i))
                write(")")
            newline()
    write("ticks ")
    write_u64(ticks())
    write(", context switches ")
    write_u64(task_table.switches)
    newline()
    return 0

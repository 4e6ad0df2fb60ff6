"""ps: the task table for people (the `tasks` command prints it for machines)."""
from theseus_nb.lang.prelude import *
from kernel_src.serial import write, write_u64, newline
from kernel_src.task_table import (task_count, task_state, state_name, task_id, task_ticks,
                                   task_switches, task_value, task_name, task_cause, FREE, EXITED,
                                   switch_count)
from kernel_src.clock import ticks
from cells.fmt import left, right_u64, spaces


def main(arg: u64) -> u64:
    """Print id, state, run time, switches, cell::function and cause of every task."""
    write("   ID  STATE      TICKS  SWITCHES  TASK")
    newline()
    for i in range(task_count()):
        st: u8 = task_state(i)
        if st != FREE:
            right_u64(task_id(i), 5)
            spaces(2)
            left(state_name(st), 9)
            right_u64(task_ticks(i), 7)
            right_u64(task_switches(i), 10)
            spaces(2)
            write(task_name(i))
            if st == EXITED and task_value(i) != 0xFFFFFFFFFFFFFFFF:
                write(" = ")
                write_u64(task_value(i))
            if len(task_cause(i)) > 0:
                write("  (")
                write(task_cause(i))
                write(")")
            newline()
    write("ticks ")
    write_u64(ticks())
    write(", context switches ")
    write_u64(switch_count())
    newline()
    return 0

"""sched_rr: the round-robin scheduling policy (the nano_core asks it on every switch).

The nano_core's switcher calls <policy>::pick_next(current) through the
namespace on every pick, so another policy cell (sched_priority, ...) can
replace this one at run time.  A policy only chooses; switcher.py does the rest.
"""
from theseus_nb.lang.prelude import *
from kernel_src.task_table import RUNNABLE, IDLE, NO_TASK, tasks
from kernel_src import task_table


def pick_next(current: u64) -> u64:
    """The next runnable slot after current, in table order; NO_TASK if none (idle runs)."""
    n: u64 = task_table.high_slot
    for k in range(1, n + 1):
        i: u64 = (current + k) % n
        if i != IDLE and tasks[i].state == RUNNABLE:
            return i
    return NO_TASK

"""restart_table: which tasks are restartable, how often they have been restarted, and what waits.

One row a task slot, valid while the slot still holds the task it was
made for (the row remembers the task's id: a slot reused by another task
is not restartable).  The fault handler (fault.py) marks a restartable
task's fault as pending here; the recovery (restart.py) takes it from the
shell's task, where swaps may run.  The escalation step says how far the
task has climbed Theseus's ladder: 0 plain restarts, 1 its cell was
reloaded, 2 it was rolled back.
Invariant: rows change only with interrupts off, so pending_count() is
exact when the shell decides to sleep (task.wait_input checks it).
"""
# cell: unsafe
from theseus_nb.lang.prelude import *
from kernel_src.params import MAX_TASKS
from kernel_src.task_table import tasks

PLAIN: u8 = 0            # restarts only
RELOADED: u8 = 1         # its cell was reloaded from its object
ROLLED_BACK: u8 = 2      # its cell was rolled back to the version before its last swap

_id: Array[u64, 1024] = [0] * 1024             # params.MAX_TASKS: the task the row is for (0: none)
_max: Array[u64, 1024] = [0] * 1024            # params.MAX_TASKS: plain restarts allowed
_restarts: Array[u64, 1024] = [0] * 1024       # params.MAX_TASKS: restarts so far (all kinds)
_step: Array[u8, 1024] = [0] * 1024            # params.MAX_TASKS: PLAIN, RELOADED, ROLLED_BACK
_stack: Array[u64, 1024] = [0] * 1024          # params.MAX_TASKS: its stack size, for the next start
_pending: Array[u64, 1024] = [0] * 1024        # params.MAX_TASKS: fault-log record waiting (0: none)
_live: Array[bool, 1024] = [False] * 1024      # params.MAX_TASKS: still restarted after a fault
_pending_count: u64 = 0


def make_restartable(slot: u64, id: u64, most: u64, stack_bytes: u64) -> None:
    """Task id in slot is restarted after a fault, at most `most` plain times."""
    _id[slot] = id
    _max[slot] = most
    _restarts[slot] = 0
    _step[slot] = PLAIN
    _stack[slot] = stack_bytes
    _pending[slot] = 0
    _live[slot] = True


def restartable(slot: u64) -> bool:
    """Does slot hold a task spawned restartable that has not been given up?"""
    return _live[slot] and _id[slot] == tasks[slot].id


def forget(slot: u64) -> None:
    """slot is no longer restartable (given up, or killed); its pending fault
    goes, its count of restarts stays for the task table."""
    global _pending_count
    if _pending[slot] != 0:
        _pending[slot] = 0
        _pending_count -= 1
    _live[slot] = False


def note_fault(slot: u64, seq: u64) -> None:
    """The restartable task in slot faulted (fault-log record seq): recovery must act."""
    global _pending_count
    if _pending[slot] == 0:
        _pending_count += 1
    _pending[slot] = seq


def pending_count() -> u64:
    """How many restartable tasks wait for recovery."""
    return _pending_count


def pending(slot: u64) -> u64:
    """The fault-log record slot waits on (0: none)."""
    return _pending[slot]


def take_pending(slot: u64) -> u64:
    """The record slot waits on, now the caller's to act on (0: none)."""
    global _pending_count
    seq: u64 = _pending[slot]
    if seq != 0:
        _pending[slot] = 0
        _pending_count -= 1
    return seq


def count_restart(slot: u64) -> u64:
    """One more restart of slot; how many so far."""
    _restarts[slot] += 1
    return _restarts[slot]


def set_step(slot: u64, step: u8) -> None:
    """slot has climbed to this escalation step."""
    _step[slot] = step


def step(slot: u64) -> u8:
    """How far slot has escalated (PLAIN, RELOADED, ROLLED_BACK)."""
    return _step[slot]


def max_restarts(slot: u64) -> u64:
    """Plain restarts slot may have before its cell is reloaded."""
    return _max[slot]


def stack_bytes(slot: u64) -> u64:
    """The stack size slot was spawned with."""
    return _stack[slot]


@safe_interface
def restarts(slot: u64) -> u64:
    """Restarts of the task in slot so far (0 if it is not restartable, or never was)."""
    if slot >= MAX_TASKS or _id[slot] == 0 or _id[slot] != tasks[slot].id:
        return 0
    return _restarts[slot]

"""switcher: which task runs next, decided in interrupt context.

Design note.  A task that is not running is one saved interrupt frame on
its own stack (see interrupts.s).  schedule(frame) records the current
task's frame, asks the policy cell which slot runs next (looked up by name
on every pick, so swapping the policy cell takes effect at once), and
returns that slot's frame: the stub then pops it, which is the switch.
Called by the timer (every tick), by a yield (int $0x81) and by the
console interrupt; the table it reads and writes is task_table's.
"""
# cell: unsafe
from theseus_nb.lang.prelude import *
from theseus_nb.lang.unsafe import addr_of, call_addr, make_str
from kernel_src.params import SPEC_MAX
from kernel_src.namespace import sym_find_mem, sym_addr, NONE
from kernel_src.irq import irq_off, irq_restore
from kernel_src.task_table import (RUNNABLE, RUNNING, BLOCKED, NO_TASK, IDLE, INPUT_KEY, started,
                                   current, task_count, task_state, task_wait_key, task_saved_rsp,
                                   set_state, set_current, set_saved_rsp, charge_tick,
                                   wake_sleepers)

_policy: Array[u8, 64] = [0] * 64     # params.SPEC_MAX: "<policy cell>::pick_next"
_policy_len: u64 = 0
_boost: u64 = 0xFFFFFFFFFFFFFFFF      # a slot to run next whatever the policy says


def set_policy(cell: str) -> bool:
    """Use CELL::pick_next(current_slot) -> slot as the policy from now on."""
    global _policy_len
    n: u64 = u64(len(cell))
    if n + 11 > SPEC_MAX:
        return False
    flags: u64 = irq_off()
    for i in range(n):
        _policy[i] = u8(ord(cell[i]))
    tail: str = "::pick_next"
    for i in range(11):
        _policy[n + i] = u8(ord(tail[i]))
    _policy_len = n + 11
    irq_restore(flags)
    return True


def policy() -> str:
    """The policy's function name ("sched_rr::pick_next")."""
    return make_str(addr_of(_policy), _policy_len)


def _builtin_pick(cur: u64) -> u64:
    # Round robin over the table: the fallback while no policy cell is loaded.
    high: u64 = task_count()
    for k in range(1, high + 1):
        i: u64 = (cur + k) % high
        if i != IDLE and task_state(i) == RUNNABLE:
            return i
    return IDLE


def _pick(cur: u64) -> u64:
    entry: u64 = sym_find_mem(addr_of(_policy), _policy_len)
    if entry != NONE:
        n: u64 = call_addr(sym_addr(entry), cur)
        if n == NO_TASK:
            return IDLE
        if n < task_count() and task_state(n) == RUNNABLE:
            return n
    return _builtin_pick(cur)


def schedule(frame: u64) -> u64:
    """Save the running task's frame and return the frame of the task to run."""
    global _boost
    if not started():
        return frame
    cur: u64 = current()
    set_saved_rsp(cur, frame)
    if task_state(cur) == RUNNING:
        set_state(cur, RUNNABLE)
    nxt: u64 = _pick(cur)
    if _boost != NO_TASK and task_state(_boost) == RUNNABLE:
        nxt = _boost                 # woken by console input: runs at once
    _boost = NO_TASK
    set_current(nxt)
    set_state(nxt, RUNNING)
    return task_saved_rsp(nxt)


def on_tick(now: u64) -> None:
    """Charge the tick to the running task and wake the sleepers that are due."""
    if not started():
        return
    charge_tick(current())
    wake_sleepers(now)


def input_arrived(frame: u64) -> u64:
    """The console interrupt: wake the tasks waiting for input and run the
    first of them at once (a person is waiting for it); the frame to resume."""
    global _boost
    if not started():
        return frame
    for i in range(task_count()):
        if task_state(i) == BLOCKED and task_wait_key(i) == INPUT_KEY:
            set_state(i, RUNNABLE)
            if _boost == NO_TASK:
                _boost = i
    if _boost == NO_TASK:
        return frame
    return schedule(frame)

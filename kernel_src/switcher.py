"""switcher: which task runs next, decided in interrupt context.

Design note.  A task that is not running is one saved interrupt frame on
its own stack (see interrupts.s).  schedule(frame) records the current
task's frame, asks the policy cell which slot runs next (looked up by name
on every pick, so swapping the policy cell takes effect at once), and
returns that slot's frame: the stub then pops it, which is the switch.
Called by the timer (every tick, through preempt), by a yield (vector 0x81),
by the console interrupt and after a task faults; the table it reads and
writes is task_table's.

The policy is a loaded cell, so it is not trusted to behave.  It runs with
interrupts on (nothing else runs meanwhile: a nested interrupt only counts
time and wakes tasks, then resumes it), so a pick_next that loops is seen
by the next timer ticks: after POLICY_TICKS it is abandoned.  A panic or a
CPU exception inside it comes to fault.py, which writes the cause here.
Either way policy_failed() drops the policy for the built-in round robin,
keeps the fault (the `sched` command shows it), and finishes the switch
that was in progress; the handler frames the policy ran in are abandoned
(idt.py asks policy_abandoned() to reset its depth).
"""
# cell: unsafe
from theseus_nb.lang.prelude import *
from theseus_nb.lang.unsafe import addr_of, call_addr, make_str, sti, cli
from kernel_src.params import SPEC_MAX, CAUSE_MAX, POLICY_TICKS
from kernel_src.namespace import sym_find_mem, sym_addr, sym_sig, sym_section, NONE
from kernel_src.call_by_name import find_function, still_callable, lookup_error, signature_hash
from kernel_src.clock import ticks
from kernel_src.irq import irq_off, irq_restore
from kernel_src.fpu import switch_to as fpu_switch_to
from kernel_src.ring import enter as ring_enter
from kernel_src.isolated_cells import is_isolated
from kernel_src.section_table import all_sections
from kernel_src.task_table import (RUNNABLE, RUNNING, BLOCKED, SLEEPING, NO_TASK, IDLE, INPUT_KEY,
                                   started, current, set_state, set_current, set_saved_rsp,
                                   charge_tick, wake_sleepers, tasks)
from kernel_src import task_table

_policy: Array[u8, 64] = [0] * 64     # params.SPEC_MAX: "<policy cell>::pick_next"
_policy_len: u64 = 0                  # 0: the built-in round robin
_policy_sig: u64 = 0                  # the hash of pick_next(u64) -> u64
_asked: Array[u8, 64] = [0] * 64      # params.SPEC_MAX: the name set_policy() checks
_error: str = ""
_boost: u64 = 0xFFFFFFFFFFFFFFFF      # a slot to run next whatever the policy says

# The policy call in progress (interrupts are on while it runs).
_in_policy: bool = False
_picking_for: u64 = 0                 # the slot schedule() was picking a successor for
_its_state: u8 = 0                    # that slot's state when the policy was called
_started_at: u64 = 0                  # the tick the call began
_cause_written: bool = False          # fault.py has written why this call failed
_abandoned: bool = False              # a failed call's handler frames were left behind

# The last policy fault: "<cell>::pick_next: <cause>".
_fault: Array[u8, 192] = [0] * 192    # params.SPEC_MAX + params.CAUSE_MAX
_fault_len: u64 = 0


@safe_interface
def set_policy(cell: str) -> bool:
    """Use CELL::pick_next(current_slot) -> slot as the policy from now on;
    False (policy_error() says why) if it is not a loaded cell's public
    pick_next(u64) -> u64."""
    global _policy_len, _policy_sig, _fault_len, _error
    n: u64 = u64(len(cell))
    if n + 11 > SPEC_MAX:
        _error = "the cell name is too long for a policy (53 bytes at most)"
        return False
    for i in range(n):
        _asked[i] = u8(ord(cell[i]))
    tail: str = "::pick_next"
    for i in range(11):
        _asked[n + i] = u8(ord(tail[i]))
    found: u64 = find_function(addr_of(_asked), n + 11, "u64", "u64", "a scheduling policy", True)
    if found == NONE:
        _error = lookup_error()
        return False
    if is_isolated(all_sections[sym_section(found)].cell):
        # The policy runs in ring 0, inside the timer interrupt.
        _error = "the cell is isolated: its code runs only as a task, not as the policy"
        return False
    flags: u64 = irq_off()
    for i in range(n + 11):
        _policy[i] = _asked[i]
    _policy_len = n + 11
    _policy_sig = sym_sig(found)      # as the compiler wrote it (an unsafe cell's has "@unsafe")
    _fault_len = 0
    irq_restore(flags)
    return True


@safe_interface
def policy_error() -> str:
    """Why the last set_policy() refused."""
    return _error


@safe_interface
def policy() -> str:
    """The policy's function name ("sched_rr::pick_next"), or "built-in round robin"."""
    if _policy_len == 0:
        return "built-in round robin"
    return make_str(addr_of(_policy), _policy_len)


@safe_interface
def policy_fault() -> str:
    """Why the last policy was dropped ("" if it was not): its name and the cause."""
    return make_str(addr_of(_fault), _fault_len)


def _builtin_pick(cur: u64) -> u64:
    # Round robin over the table: when no policy cell is in use.
    high: u64 = task_table.high_slot
    for k in range(1, high + 1):
        i: u64 = (cur + k) % high
        if i != IDLE and tasks[i].state == RUNNABLE:
            return i
    return IDLE


# ---- a failed policy ---------------------------------------------------------

def policy_running() -> bool:
    """Is a policy's pick_next running right now (a fault here is its fault)?"""
    return _in_policy


def policy_cause_begin() -> None:
    """Start writing why the running policy failed: its name comes first."""
    global _fault_len, _cause_written
    _fault_len = 0
    for i in range(_policy_len):
        policy_cause_byte(_policy[i])
    policy_cause(": ")
    _cause_written = True


def policy_cause_byte(c: u8) -> None:
    """Append one byte to the cause (control characters become spaces)."""
    global _fault_len
    if _fault_len < SPEC_MAX + CAUSE_MAX:
        if c < 32:
            c = 32
        _fault[_fault_len] = c
        _fault_len += 1


def policy_cause(s: str) -> None:
    """Append s to the cause."""
    for i in range(len(s)):
        policy_cause_byte(u8(ord(s[i])))


def policy_cause_written() -> bool:
    """Has the cause of the running call's failure been written already?"""
    return _cause_written


def policy_failed() -> u64:
    """The running policy call failed: drop the policy for the built-in round
    robin, finish the switch it was making; the frame to resume."""
    global _in_policy, _policy_len, _abandoned
    _in_policy = False
    _policy_len = 0
    _abandoned = True
    # A policy that slept or blocked put the task it was picking for to
    # sleep: undo that (one that ended the task has ended it).
    st: u8 = tasks[_picking_for].state
    if st == SLEEPING or st == BLOCKED:
        set_state(_picking_for, _its_state)
    return _switch_to(_builtin_pick(_picking_for))


def policy_abandoned() -> bool:
    """Did the switch just made abandon a failed policy call, and with it the
    handler it ran in?  (Asking clears it.)"""
    global _abandoned
    was: bool = _abandoned
    _abandoned = False
    return was


def _fail_now(why: str) -> u64:
    policy_cause_begin()
    policy_cause(why)
    return policy_failed()


# ---- picking -------------------------------------------------------------------

def _pick(cur: u64) -> u64:
    global _in_policy, _picking_for, _its_state, _started_at, _cause_written, _policy_len
    if _policy_len == 0:
        return _builtin_pick(cur)
    entry: u64 = sym_find_mem(addr_of(_policy), _policy_len)
    if entry == NONE or not still_callable(entry, _policy_sig):
        # A swap removed it or changed its signature since `sched` checked it.
        policy_cause_begin()
        policy_cause("is no longer a pick_next(u64) -> u64")
        _policy_len = 0
        return _builtin_pick(cur)
    _picking_for = cur
    _its_state = tasks[cur].state
    _started_at = ticks()
    _cause_written = False
    _in_policy = True
    sti()
    n: u64 = call_addr(sym_addr(entry), cur)
    cli()
    _in_policy = False
    if n == NO_TASK:
        return IDLE
    if n < task_table.high_slot and tasks[n].state == RUNNABLE:
        return n
    return _builtin_pick(cur)


def _switch_to(nxt: u64) -> u64:
    # Run nxt (or the task console input woke): its saved frame.
    global _boost
    if _boost != NO_TASK and tasks[_boost].state == RUNNABLE:
        nxt = _boost                 # woken by console input: runs at once
    _boost = NO_TASK
    set_current(nxt)
    set_state(nxt, RUNNING)
    fpu_switch_to(nxt)               # its SSE registers, eagerly (fpu.py)
    ring_enter(nxt)                  # a ring-3 task's interrupts land on its kernel stack
    return tasks[nxt].rsp


def schedule(frame: u64) -> u64:
    """Save the running task's frame and return the frame of the task to run."""
    if not started():
        return frame
    if _in_policy:
        # Only a yield gets here while the policy runs: it slept, blocked or
        # yielded, which a function running in the timer interrupt must not.
        return _fail_now("yielded, slept or blocked, which pick_next must not: it runs "
                         "in the timer interrupt")
    cur: u64 = current()
    set_saved_rsp(cur, frame)
    if tasks[cur].state == RUNNING:
        set_state(cur, RUNNABLE)
    return _switch_to(_pick(cur))


def preempt(frame: u64) -> u64:
    """The timer's switch: schedule(), or, while a policy runs, check its time."""
    if _in_policy:
        if ticks() - _started_at >= POLICY_TICKS:
            return _fail_now("did not return within params.POLICY_TICKS timer ticks")
        return frame                 # back into the policy
    return schedule(frame)


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
    for i in range(task_table.high_slot):
        if tasks[i].state == BLOCKED and tasks[i].wait_key == INPUT_KEY:
            set_state(i, RUNNABLE)
            if _boost == NO_TASK:
                _boost = i
    if _boost == NO_TASK or _in_policy:
        return frame                 # (during a policy: it runs when the pick is made)
    return schedule(frame)

"""task: the task table and the mechanisms every scheduling policy uses.

Design note.  A task that is not running is one saved interrupt frame on
its own stack (see interrupts.s).  schedule(frame) records the current
task's frame, asks the policy cell which slot runs next (looked up by name
on every pick, so swapping the policy cell takes effect at once), and
returns that slot's frame.  Slot 0 is the shell (the boot context, on the
boot stack), slot 1 the idle task; they belong to the nano_core and never
end.  Invariant: the table changes only with interrupts off (in a handler,
or between irq_off() and irq_restore() in task context).
The heap has no lock: stacks are allocated and freed only in task context
with interrupts off, and a dead task's stack is freed later (reap()), never
while a handler might still be running on it.
"""
# cell: unsafe
from theseus_nb.lang.prelude import *
from theseus_nb.lang.unsafe import addr_of, load64, store64, call_addr, cli, sti, hlt, make_str
from kernel_src.params import MAX_TASKS, TASK_STACK, KEEP_ENDED
from kernel_src.namespace import sym_find_mem, sym_addr, sym_section
from kernel_src.section_table import NONE, section_kind
from kernel_src.heap import alloc, free
from kernel_src.timer import ticks
from kernel_src.irq import irq_off, irq_restore
from kernel_src.idt import symbol_address
from kernel_src.serial import ready
from kernel_src.fault import cause_begin, cause_str

FREE: u8 = 0
RUNNABLE: u8 = 1
RUNNING: u8 = 2
BLOCKED: u8 = 3
SLEEPING: u8 = 4
EXITED: u8 = 5
FAULTED: u8 = 6

NO_TASK: u64 = 0xFFFFFFFFFFFFFFFF
NO_VALUE: u64 = 0xFFFFFFFFFFFFFFFF    # join() of a faulted or unknown task
SHELL: u64 = 0
IDLE: u64 = 1
JOIN_KEY: u64 = 0x4A00000000000000    # wait key of "task ID ended": JOIN_KEY | ID
INPUT_KEY: u64 = 0x4900000000000000   # wait key of "the console has input"
SPEC_MAX: u64 = 64                    # bytes of "cell::function"


@struct
class Task:
    id: u64
    state: u8
    spec_len: u64         # "cell::function" in _spec[slot * SPEC_MAX ...]
    colon: u64            # where "::" starts in it
    entry: u64
    arg: u64
    rsp: u64              # saved frame (valid while not running)
    stack: u64            # heap block of the stack; 0 for the shell and idle
    stack_lo: u64
    stack_hi: u64
    ticks: u64            # timer ticks while running
    switches: u64         # times switched to
    wake: u64             # tick to wake at (SLEEPING)
    wait_key: u64         # what it waits for (BLOCKED)
    value: u64            # exit value
    free_stack: bool      # dead: its stack goes back to the heap in reap()


_tasks: Array[Task, 1024] = [Task() for _ in range(1024)]     # params.MAX_TASKS
_spec: Array[u8, 65536] = [0] * 65536                       # MAX_TASKS * SPEC_MAX
_idle_stack: Array[u64, 512] = [0] * 512
_policy: Array[u8, 64] = [0] * 64     # "<policy cell>::pick_next"
_policy_len: u64 = 0
_high: u64 = 0                        # slots in use are below this
_current: u64 = 0
_next_id: u64 = 2
_started: bool = False
_sleepers: u64 = 0
_to_free: u64 = 0
_switches: u64 = 0
_yield_fn: u64 = 0
_return_fn: u64 = 0
_error: str = ""
_boost: u64 = 0xFFFFFFFFFFFFFFFF      # a slot to run next whatever the policy says
_lookup: Array[u8, 64] = [0] * 64     # the "cell::function" spawn looks up


# ---- starting ----------------------------------------------------------

def _set_spec(slot: u64, s: str) -> None:
    base: u64 = slot * SPEC_MAX
    n: u64 = u64(len(s))
    for i in range(n):
        _spec[base + i] = u8(ord(s[i]))
        if i + 1 < n and ord(s[i]) == 58 and ord(s[i + 1]) == 58 and _tasks[slot].colon == 0:
            _tasks[slot].colon = i
    _tasks[slot].spec_len = n


def _idle(arg: u64) -> u64:
    # Runs only when no other task can: wait for the next interrupt.
    while True:
        sti()
        hlt()
    return 0


def _build_frame(slot: u64, entry: u64, arg: u64) -> None:
    # A frame as interrupts.s would have saved it, so that the first switch
    # to the task "returns" into entry(arg); entry's own return lands in
    # interrupts::task_return, which calls exit_current(value).
    top: u64 = _tasks[slot].stack_hi & 0xFFFFFFFFFFFFFFF0
    ret: u64 = top - 16 + 8                    # rsp = 8 mod 16, as after a call
    store64(ret, _return_fn)
    frame: u64 = ret - 22 * 8
    for w in range(22):
        store64(frame + w * 8, 0)
    store64(frame + 9 * 8, arg)                # rdi
    store64(frame + 17 * 8, entry)             # rip
    store64(frame + 18 * 8, 0x08)              # cs
    store64(frame + 19 * 8, 0x202)             # rflags: interrupts on
    store64(frame + 20 * 8, ret)               # rsp
    store64(frame + 21 * 8, 0x10)              # ss
    _tasks[slot].rsp = frame


def init() -> bool:
    """Adopt the boot context as task 0 (the shell) and create the idle task."""
    global _high, _current, _started, _yield_fn, _return_fn, _policy_len
    _yield_fn = symbol_address("interrupts::yield_now")
    _return_fn = symbol_address("interrupts::task_return")
    if _yield_fn == 0 or _return_fn == 0:
        return False
    set_policy("sched_rr")
    _tasks[SHELL].id = 0
    _tasks[SHELL].state = RUNNING
    _set_spec(SHELL, "shell::run")
    _tasks[SHELL].stack_lo = symbol_address("boot_stack_bottom")
    _tasks[SHELL].stack_hi = symbol_address("boot_stack_top")
    _tasks[IDLE].id = 1
    _tasks[IDLE].state = RUNNABLE
    _set_spec(IDLE, "task::idle")
    _tasks[IDLE].stack_lo = addr_of(_idle_stack)
    _tasks[IDLE].stack_hi = addr_of(_idle_stack) + 512 * 8
    _build_frame(IDLE, addr_of(_idle), 0)
    _high = 2
    _current = SHELL
    _started = True
    return True


def set_policy(cell: str) -> bool:
    """Use CELL::pick_next(current_slot) -> slot as the policy from now on."""
    global _policy_len
    n: u64 = u64(len(cell))
    if n + 11 > 64:
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


# ---- the switcher (interrupt context) ----------------------------------

def _builtin_pick(cur: u64) -> u64:
    # Round robin over the table: the fallback while no policy cell is loaded.
    for k in range(1, _high + 1):
        i: u64 = (cur + k) % _high
        if i != IDLE and _tasks[i].state == RUNNABLE:
            return i
    return IDLE


def _pick(cur: u64) -> u64:
    entry: u64 = sym_find_mem(addr_of(_policy), _policy_len)
    if entry != NONE:
        n: u64 = call_addr(sym_addr(entry), cur)
        if n == NO_TASK:
            return IDLE
        if n < _high and _tasks[n].state == RUNNABLE:
            return n
    return _builtin_pick(cur)


def schedule(frame: u64) -> u64:
    """Save the running task's frame and return the frame of the task to run."""
    global _current, _switches, _boost
    if not _started:
        return frame
    cur: u64 = _current
    _tasks[cur].rsp = frame
    if _tasks[cur].state == RUNNING:
        _tasks[cur].state = RUNNABLE
    nxt: u64 = _pick(cur)
    if _boost != NO_TASK and _tasks[_boost].state == RUNNABLE:
        nxt = _boost                 # woken by console input: runs at once
    _boost = NO_TASK
    if nxt != cur:
        _tasks[nxt].switches += 1
        _switches += 1
    _tasks[nxt].state = RUNNING
    _current = nxt
    return _tasks[nxt].rsp


def on_tick(now: u64) -> None:
    """Charge the tick to the running task and wake the sleepers that are due."""
    global _sleepers
    if not _started:
        return
    _tasks[_current].ticks += 1
    if _sleepers == 0:
        return
    for i in range(_high):
        if _tasks[i].state == SLEEPING and _tasks[i].wake <= now:
            _tasks[i].state = RUNNABLE
            _sleepers -= 1


# ---- what tasks call ---------------------------------------------------

def yield_now() -> None:
    """Let the scheduler run another task (returns at once if none is ready)."""
    if _yield_fn != 0:
        call_addr(_yield_fn, 0)


def sleep(n: u64) -> None:
    """Sleep for n timer ticks."""
    global _sleepers
    if not _started:
        return
    flags: u64 = irq_off()
    _tasks[_current].state = SLEEPING
    _tasks[_current].wake = ticks() + n
    _sleepers += 1
    yield_now()
    irq_restore(flags)


def wait_input() -> None:
    """Block the running task until the console has input (IRQ 4 wakes it).

    The check is made with interrupts off, so input that arrives just after
    it still raises the interrupt once the next task turns them on.
    """
    if not _started:
        return
    flags: u64 = irq_off()
    if not ready():
        block_on(INPUT_KEY)
    irq_restore(flags)


def input_arrived(frame: u64) -> u64:
    """The console interrupt: wake the tasks waiting for input and run the
    first of them at once (a person is waiting for it); the frame to resume."""
    global _boost
    if not _started:
        return frame
    for i in range(_high):
        if _tasks[i].state == BLOCKED and _tasks[i].wait_key == INPUT_KEY:
            _tasks[i].state = RUNNABLE
            if _boost == NO_TASK:
                _boost = i
    if _boost == NO_TASK:
        return frame
    return schedule(frame)


def block_on(key: u64) -> None:
    """Block the current task until wake_key(key); call with interrupts off."""
    _tasks[_current].state = BLOCKED
    _tasks[_current].wait_key = key
    yield_now()


def wake_key(key: u64) -> u64:
    """Make every task blocked on key runnable; how many woke."""
    woke: u64 = 0
    flags: u64 = irq_off()
    for i in range(_high):
        if _tasks[i].state == BLOCKED and _tasks[i].wait_key == key:
            _tasks[i].state = RUNNABLE
            woke += 1
    irq_restore(flags)
    return woke


def finish(slot: u64, state: u8, value: u64) -> None:
    """End a task (EXITED or FAULTED): wake its joiners, release its stack.

    Interrupts must be off.  The stack of the running task is freed later.
    """
    global _sleepers, _to_free
    if _tasks[slot].state == SLEEPING:
        _sleepers -= 1
    _tasks[slot].state = state
    _tasks[slot].value = value
    if _tasks[slot].stack != 0:
        _tasks[slot].free_stack = True
        _to_free += 1
    for i in range(_high):
        if _tasks[i].state == BLOCKED and _tasks[i].wait_key == (JOIN_KEY | _tasks[slot].id):
            _tasks[i].state = RUNNABLE


def exit_current(value: u64) -> None:
    """End the running task with value (also where a returning entry lands)."""
    irq_off()
    if _current == SHELL or _current == IDLE:
        panic("exit_current() in the shell or the idle task")
    finish(_current, EXITED, value)
    yield_now()
    panic("an exited task was scheduled")


def die_current() -> None:
    """End the running task as FAULTED (fault.py wrote its cause): never returns."""
    irq_off()
    finish(_current, FAULTED, NO_VALUE)
    yield_now()
    while True:
        hlt()


def reap() -> u64:
    """Give the stacks of ended tasks back to the heap (task context); how many."""
    global _to_free
    if _to_free == 0:
        return 0
    n: u64 = 0
    flags: u64 = irq_off()
    for i in range(_high):
        if _tasks[i].free_stack and i != _current:
            free(_tasks[i].stack)
            _tasks[i].stack = 0
            _tasks[i].free_stack = False
            _to_free -= 1
            n += 1
    irq_restore(flags)
    return n


# ---- spawn, kill, join -------------------------------------------------

def _free_slot() -> u64:
    # A free slot; else the oldest ended task's record once KEEP_ENDED are
    # kept (so ps stays short and join() can still read recent values);
    # else a new slot; else any ended task's record.
    global _high
    oldest: u64 = NO_TASK
    ended: u64 = 0
    for i in range(2, _high):
        if _tasks[i].state == FREE:
            return i
        if (_tasks[i].state == EXITED or _tasks[i].state == FAULTED) and not _tasks[i].free_stack:
            ended += 1
            if oldest == NO_TASK or _tasks[i].id < _tasks[oldest].id:
                oldest = i
    if ended >= KEEP_ENDED or _high == MAX_TASKS:
        return oldest
    _high += 1
    return _high - 1


def spawn(spec: str, arg: u64) -> u64:
    """Start CELL::FUNCTION(arg) as a new task; its id, or 0 (see spawn_error())."""
    global _next_id, _error
    reap()
    n: u64 = u64(len(spec))
    if not _started:
        _error = "tasks are not running yet"
        return 0
    if n > SPEC_MAX:
        _error = "name too long"
        return 0
    for i in range(n):
        _lookup[i] = u8(ord(spec[i]))
    flags: u64 = irq_off()
    sym: u64 = sym_find_mem(addr_of(_lookup), n)
    if sym == NONE or sym_section(sym) == NONE or section_kind(sym_section(sym)) != 0:
        irq_restore(flags)
        _error = "no such function (expected CELL::FUNCTION of a loaded cell)"
        return 0
    entry: u64 = sym_addr(sym)
    slot: u64 = _free_slot()
    if slot == NO_TASK:
        irq_restore(flags)
        _error = "task table full"
        return 0
    stack: u64 = alloc(TASK_STACK, 16)
    if stack == 0:
        if slot == _high - 1 and _tasks[slot].state == FREE:
            _release_top(slot)
        irq_restore(flags)
        _error = "out of memory for a task stack"
        return 0
    _clear(slot)
    _tasks[slot].id = _next_id
    _next_id += 1
    _set_spec(slot, spec)
    _tasks[slot].entry = entry
    _tasks[slot].arg = arg
    _tasks[slot].stack = stack
    _tasks[slot].stack_lo = stack
    _tasks[slot].stack_hi = stack + TASK_STACK
    _build_frame(slot, entry, arg)
    _tasks[slot].state = RUNNABLE
    irq_restore(flags)
    return _tasks[slot].id


def _clear(slot: u64) -> None:
    t: u64 = slot
    _tasks[t].state = FREE
    _tasks[t].spec_len = 0
    _tasks[t].colon = 0
    _tasks[t].ticks = 0
    _tasks[t].switches = 0
    _tasks[t].wake = 0
    _tasks[t].wait_key = 0
    _tasks[t].value = 0
    cause_begin(t)                                  # an empty cause
    _tasks[t].free_stack = False


def _release_top(slot: u64) -> None:
    global _high
    if slot == _high - 1:
        _high -= 1


def spawn_error() -> str:
    """Why the last spawn() failed."""
    return _error


def slot_of(id: u64) -> u64:
    """Slot of the task with this id, or NO_TASK (ids are never reused)."""
    for i in range(_high):
        if _tasks[i].id == id and _tasks[i].state != FREE:
            return i
    return NO_TASK


def kill(id: u64) -> bool:
    """End task id now (cause "killed") and free its stack; False if it cannot be."""
    slot: u64 = slot_of(id)
    if slot == NO_TASK or slot == SHELL or slot == IDLE:
        return False
    flags: u64 = irq_off()
    st: u8 = _tasks[slot].state
    if st == EXITED or st == FAULTED:
        irq_restore(flags)
        return False
    cause_begin(slot)
    cause_str("killed")
    finish(slot, EXITED, NO_VALUE)
    if slot == _current:
        yield_now()                  # a task killed itself: never comes back
    irq_restore(flags)
    reap()
    return True


def join(id: u64) -> u64:
    """Wait until task id ends; its exit value (NO_VALUE if it faulted or is unknown)."""
    slot: u64 = slot_of(id)
    if slot == NO_TASK or slot == _current:
        return NO_VALUE
    flags: u64 = irq_off()
    while _tasks[slot].state != EXITED and _tasks[slot].state != FAULTED:
        block_on(JOIN_KEY | id)
    v: u64 = _tasks[slot].value
    irq_restore(flags)
    return v


# ---- reading the table (ps, tasks, the hot-swap walker) -----------------

def started() -> bool:
    """True once init() ran."""
    return _started


def current() -> u64:
    """Slot of the running task."""
    return _current


def can_fault() -> bool:
    """True when a fault can end the running task (it is not the nano_core's)."""
    return _started and _current != SHELL and _current != IDLE


def task_count() -> u64:
    """Slots in use are below this (some may be FREE)."""
    return _high


def task_state(i: u64) -> u8:
    """State of slot i (FREE, RUNNABLE, RUNNING, BLOCKED, SLEEPING, EXITED, FAULTED)."""
    return _tasks[i].state


def state_name(st: u8) -> str:
    """The lower-case word for a state."""
    if st == RUNNABLE:
        return "runnable"
    if st == RUNNING:
        return "running"
    if st == BLOCKED:
        return "blocked"
    if st == SLEEPING:
        return "sleeping"
    if st == EXITED:
        return "exited"
    if st == FAULTED:
        return "faulted"
    return "free"


def task_id(i: u64) -> u64:
    """Id of slot i."""
    return _tasks[i].id


def task_ticks(i: u64) -> u64:
    """Timer ticks slot i has run for."""
    return _tasks[i].ticks


def task_switches(i: u64) -> u64:
    """Times slot i was switched to."""
    return _tasks[i].switches


def task_value(i: u64) -> u64:
    """Exit value of slot i (NO_VALUE if it did not exit normally)."""
    return _tasks[i].value


def task_cell(i: u64) -> str:
    """The cell slot i runs."""
    return make_str(addr_of(_spec) + i * SPEC_MAX, _tasks[i].colon)


def task_function(i: u64) -> str:
    """The entry function of slot i (without its cell)."""
    c: u64 = _tasks[i].colon + 2
    return make_str(addr_of(_spec) + i * SPEC_MAX + c, _tasks[i].spec_len - c)


def task_name(i: u64) -> str:
    """"cell::function" of slot i."""
    return make_str(addr_of(_spec) + i * SPEC_MAX, _tasks[i].spec_len)


def task_entry(i: u64) -> u64:
    """Entry address of slot i."""
    return _tasks[i].entry


def task_stack_lo(i: u64) -> u64:
    """Lowest address of slot i's stack."""
    return _tasks[i].stack_lo


def task_stack_hi(i: u64) -> u64:
    """One past the highest address of slot i's stack."""
    return _tasks[i].stack_hi


def task_saved_rsp(i: u64) -> u64:
    """Saved frame of slot i (meaningful while it is not running)."""
    return _tasks[i].rsp


def task_saved_rip(i: u64) -> u64:
    """Where slot i will resume (0 for the running task)."""
    if i == _current or _tasks[i].rsp == 0:
        return 0
    return load64(_tasks[i].rsp + 17 * 8)


def switch_count() -> u64:
    """Context switches since boot."""
    return _switches

"""task_table: the task records, one slot a task, and what can be read of them.

This is the data the switcher (switcher.py) and the life cycle (task.py)
share.  Other cells read `tasks` directly (tasks[i].state, as xv6's procdump
reads p->state) and change it only through the functions here, which keep
the invariant below.  Slot 0 is the shell (the boot context), slot 1 the
idle task; both belong to the nano_core and never end.
Invariant: the table changes only with interrupts off (in a handler, or
between irq_off() and irq_restore() in task context); set_state() is the
only way a state changes, so the count of sleepers is always exact.
Each slot also holds its "cell::function" and the cause of its end (the
fault handler writes it, ps and tasks read it).
"""
# cell: unsafe
from theseus_nb.lang.prelude import *
from theseus_nb.lang.unsafe import addr_of, load64, make_str
from kernel_src.params import MAX_TASKS, KEEP_ENDED, SPEC_MAX, CAUSE_MAX
from kernel_src.frame import FRAME_RIP
from kernel_src.serial import route as route_output

FREE: u8 = 0
RUNNABLE: u8 = 1
RUNNING: u8 = 2
BLOCKED: u8 = 3
SLEEPING: u8 = 4
EXITED: u8 = 5
FAULTED: u8 = 6
RESTARTING: u8 = 7     # faulted, restartable: recovery (restart.py) starts it again in this slot

NO_TASK: u64 = 0xFFFFFFFFFFFFFFFF
NO_VALUE: u64 = 0xFFFFFFFFFFFFFFFF    # join() of a faulted or unknown task
SHELL: u64 = 0
IDLE: u64 = 1
JOIN_KEY: u64 = 0x4A00000000000000    # wait key of "task ID ended": JOIN_KEY | ID
INPUT_KEY: u64 = 0x4900000000000000   # wait key of "the console has input"


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


tasks: Array[Task, 1024] = [Task() for _ in range(1024)]     # params.MAX_TASKS
_spec: Array[u8, 65536] = [0] * 65536                       # params.MAX_TASKS * params.SPEC_MAX
_cause: Array[u8, 131072] = [0] * 131072                    # params.MAX_TASKS * params.CAUSE_MAX
_cause_len: Array[u64, 1024] = [0] * 1024                   # params.MAX_TASKS
high_slot: u64 = 0                        # slots in use are below this
_current: u64 = 0
_next_id: u64 = 2
_started: bool = False
_sleepers: u64 = 0                    # slots in state SLEEPING
_to_free: u64 = 0                     # slots whose stack waits for reap()
switches: u64 = 0


# ---- changing the table (interrupts off) ---------------------------------

def start(current: u64, high: u64) -> None:
    """Tasks are on: current runs, slots below high are in use."""
    global _started, _current, high_slot
    _current = current
    high_slot = high
    _started = True


def task_new(slot: u64, id: u64, spec: str, entry: u64, arg: u64, stack: u64,
             lo: u64, hi: u64) -> u64:
    """Fill slot with a new task (state FREE until set_state); id NO_TASK
    takes the next id.  Returns the id."""
    global _next_id
    if id == NO_TASK:
        id = _next_id
        _next_id += 1
    set_state(slot, FREE)
    tasks[slot].id = id
    tasks[slot].colon = 0
    n: u64 = u64(len(spec))
    for i in range(n):
        _spec[slot * SPEC_MAX + i] = u8(ord(spec[i]))
        if i + 1 < n and ord(spec[i]) == 58 and ord(spec[i + 1]) == 58 and tasks[slot].colon == 0:
            tasks[slot].colon = i
    tasks[slot].spec_len = n
    tasks[slot].arg = arg
    tasks[slot].ticks = 0
    tasks[slot].switches = 0
    _start_run(slot, entry, stack, lo, hi)
    _cause_len[slot] = 0
    return id


def _start_run(slot: u64, entry: u64, stack: u64, lo: u64, hi: u64) -> None:
    # What a task starts with, the first time and at every restart.
    tasks[slot].entry = entry
    tasks[slot].rsp = 0
    tasks[slot].stack = stack
    tasks[slot].stack_lo = lo
    tasks[slot].stack_hi = hi
    tasks[slot].wake = 0
    tasks[slot].wait_key = 0
    tasks[slot].value = 0
    tasks[slot].free_stack = False


def renew(slot: u64, entry: u64, stack: u64, lo: u64, hi: u64) -> None:
    """Start slot's task again (a restart): same id, spec, argument and
    cause (the last one, kept for the task table), new entry address and
    stack; state FREE until set_state.  Its old stack must be freed already."""
    set_state(slot, FREE)
    _start_run(slot, entry, stack, lo, hi)


def take_slot() -> u64:
    """A slot for a new task, or NO_TASK when the table is full.

    A free slot; else the oldest ended task's record once KEEP_ENDED are
    kept (so ps stays short and join() can still read recent values);
    else a new slot; else any ended task's record.
    """
    global high_slot
    oldest: u64 = NO_TASK
    ended: u64 = 0
    for i in range(2, high_slot):
        if tasks[i].state == FREE:
            return i
        if (tasks[i].state == EXITED or tasks[i].state == FAULTED) and not tasks[i].free_stack:
            ended += 1
            if oldest == NO_TASK or tasks[i].id < tasks[oldest].id:
                oldest = i
    if ended >= KEEP_ENDED or high_slot == MAX_TASKS:
        return oldest
    high_slot += 1
    return high_slot - 1


def give_back_slot(slot: u64) -> None:
    """A slot take_slot() returned is not used after all (spawn failed)."""
    global high_slot
    if slot == high_slot - 1 and tasks[slot].state == FREE:
        high_slot -= 1


def set_state(slot: u64, st: u8) -> None:
    """Move slot to state st."""
    global _sleepers
    if tasks[slot].state == SLEEPING:
        _sleepers -= 1
    if st == SLEEPING:
        _sleepers += 1
    tasks[slot].state = st


_speaker: u64 = 0                   # the task that prints as the shell (speak_for_shell)


def set_current(slot: u64) -> None:
    """slot runs from now on (the switcher chose it)."""
    global _current, switches
    if slot != _current:
        tasks[slot].switches += 1
        switches += 1
    _current = slot
    # Only the shell's task may be answering the host, and the task it runs
    # an isolated cell's command in (shell.py), while it waits for it.
    route_output(slot == SHELL or speaks_for_shell(slot))


def speak_for_shell(id: u64) -> None:
    """Task id runs the shell's command: its output is the shell's (0: none)."""
    global _speaker
    _speaker = id


def speaks_for_shell(slot: u64) -> bool:
    """Does slot's task run the shell's command (speak_for_shell)?"""
    return _speaker != 0 and tasks[slot].id == _speaker


def set_saved_rsp(slot: u64, frame: u64) -> None:
    """slot's saved frame, where it resumes."""
    tasks[slot].rsp = frame


def set_stack(slot: u64, lo: u64, hi: u64) -> None:
    """slot runs on [lo, hi) from now on (the shell, while a command runs)."""
    tasks[slot].stack_lo = lo
    tasks[slot].stack_hi = hi


def set_wake(slot: u64, tick: u64) -> None:
    """The tick a SLEEPING slot wakes at."""
    tasks[slot].wake = tick


def set_wait_key(slot: u64, key: u64) -> None:
    """What a BLOCKED slot waits for."""
    tasks[slot].wait_key = key


def charge_tick(slot: u64) -> None:
    """One timer tick ran in slot."""
    tasks[slot].ticks += 1


def end_task(slot: u64, st: u8, value: u64) -> None:
    """slot ended (EXITED or FAULTED) with value; its stack waits for reap()."""
    global _to_free
    set_state(slot, st)
    tasks[slot].value = value
    if tasks[slot].stack != 0 and not tasks[slot].free_stack:
        tasks[slot].free_stack = True
        _to_free += 1


def take_dead_stack(slot: u64) -> u64:
    """The stack of an ended slot, now the caller's to free (0 if none waits)."""
    global _to_free
    if not tasks[slot].free_stack:
        return 0
    stack: u64 = tasks[slot].stack
    tasks[slot].stack = 0
    tasks[slot].free_stack = False
    _to_free -= 1
    return stack


def dead_stacks() -> u64:
    """How many ended slots still hold a stack."""
    return _to_free


def wake_blocked(key: u64) -> u64:
    """Make every slot BLOCKED on key runnable; how many woke."""
    woke: u64 = 0
    for i in range(high_slot):
        if tasks[i].state == BLOCKED and tasks[i].wait_key == key:
            set_state(i, RUNNABLE)
            woke += 1
    return woke


def wake_sleepers(now: u64) -> None:
    """Make every slot whose sleep ends by tick now runnable."""
    if _sleepers == 0:
        return
    for i in range(high_slot):
        if tasks[i].state == SLEEPING and tasks[i].wake <= now:
            set_state(i, RUNNABLE)


# ---- the cause of a task's end -------------------------------------------

def set_cause(slot: u64, s: str) -> None:
    """The cause of slot's end is s (an empty s clears it)."""
    _cause_len[slot] = 0
    add_cause(slot, s)


def add_cause(slot: u64, s: str) -> None:
    """Append s to slot's cause."""
    for i in range(len(s)):
        add_cause_byte(slot, u8(ord(s[i])))


def add_cause_byte(slot: u64, c: u8) -> None:
    """Append one byte (control characters become spaces: the dump is one line a task)."""
    n: u64 = _cause_len[slot]
    if n < CAUSE_MAX:
        if c < 32:
            c = 32
        _cause[slot * CAUSE_MAX + n] = c
        _cause_len[slot] = n + 1


@safe_interface
def task_cause(slot: u64) -> str:
    """Why the task in slot ended ("" while it runs, or if it exited normally)."""
    return make_str(addr_of(_cause) + slot * CAUSE_MAX, _cause_len[slot])


# ---- reading the table (ps, tasks, policies, the hot-swap walker) -----------

def started() -> bool:
    """True once the shell and idle task are in the table."""
    return _started


def current() -> u64:
    """Slot of the running task."""
    return _current


def can_fault() -> bool:
    """True when a fault can end the running task (it is not the nano_core's)."""
    return _started and _current != SHELL and _current != IDLE


def slot_of(id: u64) -> u64:
    """Slot of the task with this id, or NO_TASK (ids are never reused)."""
    for i in range(high_slot):
        if tasks[i].id == id and tasks[i].state != FREE:
            return i
    return NO_TASK


@safe_interface
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
    if st == RESTARTING:
        return "restarting"
    return "free"


@safe_interface
def task_cell(i: u64) -> str:
    """The cell slot i runs."""
    return make_str(addr_of(_spec) + i * SPEC_MAX, tasks[i].colon)


@safe_interface
def task_function(i: u64) -> str:
    """The entry function of slot i (without its cell)."""
    c: u64 = tasks[i].colon + 2
    return make_str(addr_of(_spec) + i * SPEC_MAX + c, tasks[i].spec_len - c)


@safe_interface
def task_name(i: u64) -> str:
    """"cell::function" of slot i."""
    return make_str(addr_of(_spec) + i * SPEC_MAX, tasks[i].spec_len)


def task_saved_rip(i: u64) -> u64:
    """Where slot i will resume (0 for the running task)."""
    if i == _current or tasks[i].rsp == 0:
        return 0
    return load64(tasks[i].rsp + FRAME_RIP * 8)



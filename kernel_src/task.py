"""task: a task's life (spawn, exit, kill, join) and what a task calls to wait.

Tasks are kernel threads in the one address space: an entry function
CELL::FUNCTION(arg) of a loaded cell, a stack with an unmapped guard page
under it (stacks.py; its size chosen at spawn), and a record in task_table.  The switcher (switcher.py) decides who runs; this cell
creates and ends tasks and puts them to sleep or to wait.
Invariant: the heap has no lock, so stacks are allocated and freed only in
task context with interrupts off, and a dead task's stack is freed later
(reap()), never while a handler might still be running on it.
"""
# cell: unsafe
from theseus_nb.lang.prelude import *
from theseus_nb.lang.unsafe import addr_of, store64, call_addr, sti, hlt
from kernel_src.params import TASK_STACK, MIN_STACK, MAX_STACK, IDLE_STACK, SPEC_MAX
from kernel_src.frame import (FRAME_RDI, FRAME_RIP, FRAME_CS, FRAME_RFLAGS, FRAME_RSP, FRAME_SS,
                              FRAME_WORDS, KERNEL_CODE, KERNEL_DATA, RFLAGS_IF, RFLAGS_FIXED)
from kernel_src.namespace import NONE, sym_addr, sym_section, symbol_address
from kernel_src.call_by_name import find_function, find_safe_function, lookup_error
from kernel_src.stacks import alloc_stack, free_stack
from kernel_src.paging import PAGE
from kernel_src.clock import ticks
from kernel_src.irq import irq_off, irq_restore
from kernel_src.serial import ready
from kernel_src.switcher import set_policy
from kernel_src.fpu import init as fpu_init, fresh as fpu_fresh, forget as fpu_forget
from kernel_src.paging import PERM_RW, protect, protect_user
from kernel_src.ring import set_user_task, is_user_task, user_stack_lo, user_stack_size
from kernel_src.gates import section_isolated, exit_stub
from kernel_src.user_pages import cell_mapped
from kernel_src.section_table import all_sections
from kernel_src.task_table import (RUNNABLE, RUNNING, BLOCKED, SLEEPING, EXITED, FAULTED, NO_TASK,
                                   NO_VALUE, SHELL, IDLE, JOIN_KEY, INPUT_KEY, start, started,
                                   current, task_new, take_slot, give_back_slot, set_state,
                                   set_saved_rsp, set_wake, set_wait_key, end_task,
                                   take_dead_stack, dead_stacks, slot_of, set_cause, wake_blocked,
                                   tasks, RESTARTING, renew, task_name)
from kernel_src import task_table
from kernel_src.restart_table import pending_count, forget as forget_restart, take_pending
from kernel_src.fault_log import set_action, KILLED

_yield_fn: u64 = 0
_return_fn: u64 = 0
_error: str = ""
_lookup: Array[u8, 64] = [0] * 64     # params.SPEC_MAX: the "cell::function" spawn looks up


# ---- starting ----------------------------------------------------------

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
    top: u64 = tasks[slot].stack_hi & 0xFFFFFFFFFFFFFFF0
    ret: u64 = top - 16 + 8                    # rsp = 8 mod 16, as after a call
    store64(ret, _return_fn)
    _first_frame(slot, ret - FRAME_WORDS * 8, entry, arg, ret, KERNEL_CODE, KERNEL_DATA)


def _first_frame(slot: u64, frame: u64, entry: u64, arg: u64, rsp: u64, cs: u64, ss: u64) -> None:
    # The interrupt frame at `frame` from which slot's task starts: entry(arg)
    # on the stack at rsp, in the ring the cs and ss selectors say.
    for w in range(FRAME_WORDS):
        store64(frame + w * 8, 0)
    store64(frame + FRAME_RDI * 8, arg)
    store64(frame + FRAME_RIP * 8, entry)
    store64(frame + FRAME_CS * 8, cs)
    store64(frame + FRAME_RFLAGS * 8, RFLAGS_IF | RFLAGS_FIXED)
    store64(frame + FRAME_RSP * 8, rsp)
    store64(frame + FRAME_SS * 8, ss)
    set_saved_rsp(slot, frame)


USER_CODE: u64 = 0x33          # idt.py's GDT: ring-3 code (0x30) | RPL 3
USER_DATA: u64 = 0x2B          # ring-3 data (0x28) | RPL 3
KERNEL_STACK: u64 = 16384      # a ring-3 task's kernel stack: interrupts and gate calls


def _build_user_frame(slot: u64, entry: u64, arg: u64, ustack: u64, size: u64, ret: u64,
                      cell: u64) -> None:
    # The first frame of a task of an isolated cell: on its kernel stack,
    # resuming in ring 3 at entry(arg) on its user stack, whose top word is
    # the cell's exit stub (written before the stack became a user page).
    top: u64 = tasks[slot].stack_hi
    _first_frame(slot, top - FRAME_WORDS * 8, entry, arg, ret, USER_CODE, USER_DATA)
    set_user_task(slot, top, ustack, size, cell)


def _free_user_stack(slot: u64) -> None:
    # Its pages become supervisor-only again before the heap reuses them.
    if is_user_task(slot):
        lo: u64 = user_stack_lo(slot)
        if not protect(lo, user_stack_size(slot), PERM_RW):
            panic("task: a user stack cannot be mapped back")
        free_stack(lo, user_stack_size(slot))
        set_user_task(slot, 0, 0, 0, 0)


def init() -> bool:
    """Adopt the boot context as task 0 (the shell) and create the idle task."""
    global _yield_fn, _return_fn
    _yield_fn = symbol_address("interrupts::yield_now")
    _return_fn = symbol_address("interrupts::task_return")
    idle_stack: u64 = alloc_stack(IDLE_STACK)
    if _yield_fn == 0 or _return_fn == 0 or idle_stack == 0 or not fpu_init():
        return False
    set_policy("sched_rr")
    task_new(SHELL, 0, "shell::run", 0, 0, 0, symbol_address("boot_stack_bottom"),
             symbol_address("boot_stack_top"))
    set_state(SHELL, RUNNING)
    task_new(IDLE, 1, "task::idle", addr_of(_idle), 0, 0, idle_stack, idle_stack + IDLE_STACK)
    _build_frame(IDLE, addr_of(_idle), 0)
    set_state(IDLE, RUNNABLE)
    start(SHELL, 2)
    return True


# ---- what tasks call ---------------------------------------------------

@safe_interface
def yield_now() -> None:
    """Let the scheduler run another task (returns at once if none is ready)."""
    if _yield_fn != 0:
        call_addr(_yield_fn, 0)


@safe_interface
def sleep(n: u64) -> None:
    """Sleep for n timer ticks."""
    if not started():
        return
    flags: u64 = irq_off()
    set_wake(current(), ticks() + n)
    set_state(current(), SLEEPING)
    yield_now()
    irq_restore(flags)


def wait_input() -> None:
    """Block the running task until the console has input (IRQ 4 wakes it).

    The check is made with interrupts off, so input that arrives just after
    it still raises the interrupt once the next task turns them on.  A
    restartable task waiting for recovery counts as input (the shell runs
    recovery, and the fault handler wakes it the same way).
    """
    if not started():
        return
    flags: u64 = irq_off()
    if not ready() and pending_count() == 0:
        block_on(INPUT_KEY)
    irq_restore(flags)


def block_on(key: u64) -> None:
    """Block the current task until wake_key(key); call with interrupts off."""
    set_wait_key(current(), key)
    set_state(current(), BLOCKED)
    yield_now()


def wake_key(key: u64) -> u64:
    """Make every task blocked on key runnable; how many woke."""
    flags: u64 = irq_off()
    woke: u64 = wake_blocked(key)
    irq_restore(flags)
    return woke


# ---- the end of a task ---------------------------------------------------

def finish(slot: u64, state: u8, value: u64) -> None:
    """End a task (EXITED or FAULTED): wake its joiners, release its stack.

    Interrupts must be off.  The stack of the running task is freed later.
    """
    end_task(slot, state, value)
    fpu_forget(slot)
    wake_blocked(JOIN_KEY | tasks[slot].id)


def exit_current(value: u64) -> None:
    """End the running task with value (also where a returning entry lands)."""
    irq_off()
    if current() == SHELL or current() == IDLE:
        panic("exit_current() in the shell or the idle task")
    finish(current(), EXITED, value)
    yield_now()
    panic("an exited task was scheduled")


def die_current() -> None:
    """End the running task as FAULTED (its cause is written): never returns."""
    irq_off()
    finish(current(), FAULTED, NO_VALUE)
    yield_now()
    while True:
        hlt()


def reap() -> u64:
    """Give the stacks of ended tasks back to the heap (task context); how many."""
    if dead_stacks() == 0:
        return 0
    n: u64 = 0
    flags: u64 = irq_off()
    for i in range(task_table.high_slot):
        if i != current():
            size: u64 = tasks[i].stack_hi - tasks[i].stack_lo
            stack: u64 = take_dead_stack(i)
            if stack != 0:
                free_stack(stack, size)
                _free_user_stack(i)
                n += 1
    irq_restore(flags)
    return n


# ---- spawn, kill, join -------------------------------------------------

@safe_interface
def spawn(spec: str, arg: u64) -> u64:
    """Start CELL::FUNCTION(arg) as a new task with the default stack
    (TASK_STACK bytes); its id, or 0 (see spawn_error()).  The function must
    be a loaded cell's public FUNCTION(u64) -> u64."""
    return spawn_stack(spec, arg, TASK_STACK)


@safe_interface
def spawn_stack(spec: str, arg: u64, stack_bytes: u64) -> u64:
    """Start CELL::FUNCTION(arg) as a new task on a stack of stack_bytes
    (rounded up to whole pages, MIN_STACK to MAX_STACK); its id, or 0.
    A function of an unsafe cell must be marked @safe_interface, as when a
    safe cell calls it (spawn_trusted starts any)."""
    return _spawn(spec, arg, stack_bytes, False)


def spawn_trusted(spec: str, arg: u64, stack_bytes: u64) -> u64:
    """spawn_stack() of any loaded cell's public FUNCTION(u64) -> u64, an unsafe
    cell's unmarked ones too: for unsafe cells (the shell's spawn command)."""
    return _spawn(spec, arg, stack_bytes, True)


def _spawn(spec: str, arg: u64, stack_bytes: u64, trusted: bool) -> u64:
    global _error
    reap()
    n: u64 = u64(len(spec))
    if not started():
        _error = "tasks are not running yet"
        return 0
    if n > SPEC_MAX:
        _error = "name too long"
        return 0
    if stack_bytes > MAX_STACK:
        _error = "stack too large (the most a task can have is 16 MiB)"
        return 0
    size: u64 = (max(stack_bytes, MIN_STACK) + PAGE - 1) // PAGE * PAGE
    for i in range(n):
        _lookup[i] = u8(ord(spec[i]))
    flags: u64 = irq_off()
    # A task's entry is called as entry(arg): it must take one u64 and
    # return one (call_by_name.py checks the compiler's signature hash).
    sym: u64 = NONE
    if trusted:
        sym = find_function(addr_of(_lookup), n, "u64", "u64", "a task", False)
    else:
        sym = find_safe_function(addr_of(_lookup), n, "u64", "u64", "a task")
    if sym == NONE:
        irq_restore(flags)
        _error = lookup_error()
        return 0
    entry: u64 = sym_addr(sym)
    slot: u64 = take_slot()
    if slot == NO_TASK:
        irq_restore(flags)
        _error = "task table full"
        return 0
    if section_isolated(sym_section(sym)):
        started_id: u64 = 0
        if _start_user(slot, True, spec, entry, arg, size, all_sections[sym_section(sym)].cell):
            started_id = tasks[slot].id
        else:
            give_back_slot(slot)
        irq_restore(flags)
        return started_id
    stack: u64 = alloc_stack(size)
    if stack == 0:
        give_back_slot(slot)
        irq_restore(flags)
        _error = "out of memory for a task stack"
        return 0
    id: u64 = task_new(slot, NO_TASK, spec, entry, arg, stack, stack, stack + size)
    _build_frame(slot, entry, arg)
    fpu_fresh(slot)
    set_state(slot, RUNNABLE)
    irq_restore(flags)
    return id


def respawn(slot: u64, stack_bytes: u64) -> bool:
    """Start the RESTARTING task in slot again: same id, entry (looked up
    again by name: a reload moves its code), argument, and a fresh stack of
    stack_bytes; False (spawn_error() says why) if it cannot be."""
    global _error
    reap()
    spec: str = task_name(slot)
    n: u64 = u64(len(spec))
    for i in range(n):
        _lookup[i] = u8(ord(spec[i]))
    flags: u64 = irq_off()
    if tasks[slot].state != RESTARTING:
        irq_restore(flags)
        _error = "the task is not waiting to be restarted"
        return False
    sym: u64 = find_function(addr_of(_lookup), n, "u64", "u64", "a task", False)
    if sym == NONE:
        irq_restore(flags)
        _error = lookup_error()
        return False
    entry: u64 = sym_addr(sym)
    if section_isolated(sym_section(sym)):
        # Its cell is isolated (a reload keeps it so): ring 3 again.
        ok: bool = _start_user(slot, False, spec, entry, tasks[slot].arg, stack_bytes,
                               all_sections[sym_section(sym)].cell)
        irq_restore(flags)
        return ok
    stack: u64 = alloc_stack(stack_bytes)
    if stack == 0:
        irq_restore(flags)
        _error = "out of memory for a task stack"
        return False
    renew(slot, entry, stack, stack, stack + stack_bytes)
    _build_frame(slot, entry, tasks[slot].arg)
    fpu_fresh(slot)                 # a restart starts with clean SSE registers too
    set_state(slot, RUNNABLE)
    irq_restore(flags)
    return True


def _start_user(slot: u64, fresh: bool, spec: str, entry: u64, arg: u64, size: u64,
                cell: u64) -> bool:
    # A task of an isolated cell, in slot (interrupts off): ring 3, a user
    # stack of size bytes and a kernel stack; a new task (fresh) or a
    # restart in the same slot.  False (with _error) if no memory is left.
    global _error
    kstack: u64 = alloc_stack(KERNEL_STACK)
    ustack: u64 = alloc_stack(size)
    ret: u64 = ustack + size - 8               # rsp = 8 mod 16, as after a call
    if kstack == 0 or ustack == 0:
        if kstack != 0:
            free_stack(kstack, KERNEL_STACK)
        if ustack != 0:
            free_stack(ustack, size)
        _error = "out of memory for a task stack"
        return False
    store64(ret, exit_stub(cell))
    # A user page now only if its cell's pages are the user pages now;
    # otherwise user_pages.map_cell makes it one when the task first runs.
    if cell_mapped(cell) and not protect_user(ustack, size, PERM_RW):
        panic("task: a user stack cannot be mapped")
    if fresh:
        task_new(slot, NO_TASK, spec, entry, arg, kstack, kstack, kstack + KERNEL_STACK)
    else:
        renew(slot, entry, kstack, kstack, kstack + KERNEL_STACK)
    _build_user_frame(slot, entry, arg, ustack, size, ret, cell)
    fpu_fresh(slot)
    set_state(slot, RUNNABLE)
    return True


@safe_interface
def spawn_error() -> str:
    """Why the last spawn() failed."""
    return _error


@safe_interface
def kill(id: u64) -> bool:
    """End task id now (cause "killed") and free its stack; False if it cannot be."""
    slot: u64 = slot_of(id)
    if slot == NO_TASK or slot == SHELL or slot == IDLE:
        return False
    flags: u64 = irq_off()
    st: u8 = tasks[slot].state
    if st == EXITED or st == FAULTED:
        irq_restore(flags)
        return False
    set_action(take_pending(slot), KILLED)     # a restart it waited for is off
    forget_restart(slot)
    set_cause(slot, "killed")
    finish(slot, EXITED, NO_VALUE)
    if slot == current():
        yield_now()                  # a task killed itself: never comes back
    irq_restore(flags)
    reap()
    return True


@safe_interface
def join(id: u64) -> u64:
    """Wait until task id ends; its exit value (NO_VALUE if it faulted or is unknown)."""
    slot: u64 = slot_of(id)
    if slot == NO_TASK or slot == current():
        return NO_VALUE
    flags: u64 = irq_off()
    while tasks[slot].state != EXITED and tasks[slot].state != FAULTED:
        block_on(JOIN_KEY | id)
    v: u64 = tasks[slot].value
    irq_restore(flags)
    return v

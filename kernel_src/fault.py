"""fault: a CPU exception or a panic ends the task it happened in, not the kernel.

The cause is written here into the task's record, which task_table keeps:
what happened, where, and the cell::function the section table finds at
the faulting instruction.  A page fault is named from its error code, the
faulting address (CR2) and the page tables: a stack overflow (the guard
page under the task's stack), a null pointer access (page 0), a write to
read-only memory, an execute of non-executable memory, an address that
is not mapped, or (inside a WebAssembly memory's guard region) the
module's out-of-bounds trap.  The task is marked faulted, its stack and guard page go
back to the heap, and the scheduler goes on.  A double fault (a fault
while the CPU delivered another) ends the task the same way, from the
double-fault stack.  A shell command that faults ends just the command
(command.py).  A fault or panic inside a scheduling policy's pick_next
(which runs in the timer interrupt) ends the policy instead: the cause goes
to the switcher, which drops the policy for its built-in round robin.
Only a fault in the nano_core itself (before tasks start,
in the shell or idle task outside a command, or inside an interrupt
handler) cannot be contained: it prints a crash report and stops QEMU
with status 101.

Every contained fault of a task or a command is logged (fault_log.py) with
its backtrace (backtrace.py, walked here from the faulting frame or from
the panic handler), and a task's fault is reported on the console with
its frames (a restartable task's first fault only).  A task
spawned restartable (restart.py) does not end FAULTED: it ends RESTARTING,
its fault is marked pending, and the shell, woken as if input had come,
runs the recovery in task context, where a cell may be swapped.
"""
# cell: unsafe
from theseus_nb.lang.prelude import *
from theseus_nb.lang.unsafe import load64, outl, cli, hlt, call_addr
from kernel_src.params import DEBUG_EXIT_PORT, EXIT_FAULT, GUARD
from kernel_src.frame import FRAME_VECTOR, FRAME_ERROR, FRAME_RIP, FRAME_RSP, FRAME_RBP, FRAME_CS
from kernel_src.serial import write, write_hex, write_u64, newline
from kernel_src.section_table import NONE, section_at, all_sections
from kernel_src.names import name_text
from kernel_src.task_table import (can_fault, current, task_name, set_cause, add_cause_byte,
                                   FAULTED, NO_VALUE, tasks, started, task_cause, end_task,
                                   wake_blocked, RESTARTING, INPUT_KEY, speaks_for_shell)
from kernel_src.task import finish, die_current, yield_now
from kernel_src.namespace import symbol_address
from kernel_src.backtrace import walk
from kernel_src.fault_log import record, write_walk, PENDING, ENDED
from kernel_src.restart_table import restartable, note_fault, restarts
from kernel_src.irq import irq_off
from kernel_src.switcher import (schedule, policy_running, policy_cause_begin, policy_cause,
                                 policy_cause_byte, policy_cause_written, policy_failed)
from kernel_src.paging import PAGE
from kernel_src.command import running as in_command, abandon_frame, abandon_now
from kernel_src.fpu import mxcsr, cr0, recover as fpu_recover, forget as fpu_forget
from kernel_src.paging import is_user
from kernel_src.ring import user_stack_lo
from kernel_src.wasm_memory import in_space as in_wasm_space

PAGE_FAULT: u64 = 14
DOUBLE_FAULT: u64 = 8
DEVICE_NOT_AVAILABLE: u64 = 7   # #NM: an x87/SSE instruction with CR0.TS or EM set
SIMD_ERROR: u64 = 19           # #XM: an SSE exception that MXCSR does not mask
CR0_EM: u64 = 0x4
CR0_TS: u64 = 0x8
PF_PRESENT: u64 = 0x1         # page-fault error code: the page was present (a protection fault)
PF_WRITE: u64 = 0x2           # the access was a write
PF_FETCH: u64 = 0x10          # the access was an instruction fetch

# A load from a non-canonical address always raises a general protection
# fault: a panic in a policy leaves through the exception path, the one
# place a failed policy is recovered.
NON_CANONICAL: u64 = 0x8000000000000000

_cr2_fn: u64 = 0
_fp_fn: u64 = 0              # frame_pointer::read: the caller's rbp, where a panic's backtrace starts
_to_policy: bool = False     # the cause being written is a policy's, not a task's


# ---- writing the cause into the running task's record (or the policy's) -------

def _cause(s: str) -> None:
    # The cause is s from now on.
    if _to_policy:
        policy_cause_begin()
        policy_cause(s)
    else:
        set_cause(current(), s)


def _say_byte(c: u8) -> None:
    if _to_policy:
        policy_cause_byte(c)
    else:
        add_cause_byte(current(), c)


def _say(s: str) -> None:
    for i in range(len(s)):
        _say_byte(u8(ord(s[i])))


def _say_dec(v: u64) -> None:
    if v >= 10:
        _say_dec(v // 10)
    _say_byte(u8(v % 10) + 48)


def _say_hex(v: u64) -> None:
    _say("0x")
    started: bool = False
    shift: u64 = 64
    while shift > 0:
        shift -= 4
        d: u8 = u8((v >> shift) & 0xF)
        if d != 0 or started or shift == 0:
            started = True
            if d < 10:
                _say_byte(d + 48)
            else:
                _say_byte(d + 87)


# ---- exceptions and panics ----------------------------------------------------


def exception_name(vector: u64) -> str:
    """The CPU's name for an exception vector."""
    if vector == 0:
        return "divide error"
    if vector == 1:
        return "debug"
    if vector == 3:
        return "breakpoint"
    if vector == 4:
        return "overflow"
    if vector == 5:
        return "bound range exceeded"
    if vector == 6:
        return "invalid opcode"
    if vector == 7:
        return "device not available"
    if vector == 8:
        return "double fault"
    if vector == 10:
        return "invalid TSS"
    if vector == 11:
        return "segment not present"
    if vector == 12:
        return "stack-segment fault"
    if vector == 13:
        return "general protection fault"
    if vector == 14:
        return "page fault"
    if vector == 16:
        return "x87 floating-point error"
    if vector == 17:
        return "alignment check"
    if vector == 18:
        return "machine check"
    if vector == 19:
        return "SIMD floating-point error"
    return "CPU exception"


def _function_at(addr: u64) -> str:
    s: u64 = section_at(addr)
    if s == NONE:
        return "?"
    return name_text(all_sections[s].name)


def init(cr2_fn: u64) -> None:
    """Remember interrupts::read_cr2 (found by the nano_core at boot) and
    frame_pointer::read."""
    global _cr2_fn, _fp_fn
    _cr2_fn = cr2_fn
    _fp_fn = symbol_address("frame_pointer::read")


def _caller_rbp() -> u64:
    # A frame pointer inside the panic handler: the walk from it skips the
    # handler's own frames (rt::panic, fault::*) up to the code that panicked.
    if _fp_fn == 0:
        return 0
    return call_addr(_fp_fn, 0)


def _stack_bounds_walk(pc: u64, rbp: u64, skip: bool) -> None:
    # Walk the running task's (or command's) stack; before tasks start, the
    # boot stack's.
    if started():
        walk(pc, rbp, tasks[current()].stack_lo, tasks[current()].stack_hi, skip)
    else:
        walk(pc, rbp, symbol_address("boot_stack_bottom"), symbol_address("boot_stack_top"), skip)


def crash_backtrace(line: u64) -> None:
    """Print the backtrace of the code that called the kernel's panic handler
    (rt::panic), innermost first; a kernel panic's report ends with it."""
    _stack_bounds_walk(0, _caller_rbp(), True)
    write_walk(line)


def _after_fault(line: u64) -> bool:
    # Log the fault of the running task (its cause written, its backtrace
    # walked) and say so on the console.  A restartable task ends RESTARTING
    # and the shell is woken to run recovery: True.  Interrupts are off.
    slot: u64 = current()
    if in_command() or speaks_for_shell(slot):
        # (speaks_for_shell: the ring-3 task of an isolated cell's command.)
        record(slot, line, ENDED)       # the shell prints "faulted: CAUSE" in its reply
        return False
    again: bool = restartable(slot)
    action: u8 = ENDED
    if again:
        action = PENDING
    seq: u64 = record(slot, line, action)
    # Each byte on the console is a port write (a host system call under
    # TCG): a restartable task, which may fault hundreds of times, reports
    # its first fault only; every one is in the log (`faults`).
    if not again or restarts(slot) == 0:
        newline()
        write("task ")
        write_u64(tasks[slot].id)
        write(" (")
        write(task_name(slot))
        write(") faulted: ")
        write(task_cause(slot))
        newline()
        write_walk(line)
    if not again:
        return False
    end_task(slot, RESTARTING, NO_VALUE)
    fpu_forget(slot)                    # as finish() does: its registers are nobody's now
    note_fault(slot, seq)
    wake_blocked(INPUT_KEY)             # the shell sleeps on input: recovery runs there
    return True


def _cr2() -> u64:
    if _cr2_fn == 0:
        return 0
    return call_addr(_cr2_fn, 0)


def _crash(frame: u64, vector: u64) -> None:
    # The nano_core itself faulted: nothing can be trusted, say what we know.
    cli()
    rip: u64 = load64(frame + FRAME_RIP * 8)
    newline()
    write("!! kernel fault: ")
    write(exception_name(vector))
    write(" (vector ")
    write_u64(vector)
    write(") at ")
    write_hex(rip)
    write(" in ")
    write(_function_at(rip))
    newline()
    write("   error ")
    write_hex(load64(frame + FRAME_ERROR * 8))
    write(" rsp ")
    write_hex(load64(frame + FRAME_RSP * 8))
    if vector == PAGE_FAULT:
        write(" cr2 ")
        write_hex(_cr2())
    write(" task ")
    write(task_name(current()))
    newline()
    _stack_bounds_walk(rip, load64(frame + FRAME_RBP * 8), False)
    write_walk(0)
    outl(DEBUG_EXIT_PORT, EXIT_FAULT)
    while True:
        hlt()


def can_end_current() -> bool:
    """Can a fault now be contained: is a task running, or a shell command?"""
    return can_fault() or in_command()


def _in_guard(addr: u64) -> bool:
    # Is addr in the guard page under the running task's stack?
    lo: u64 = tasks[current()].stack_lo
    return lo >= GUARD and addr >= lo - GUARD and addr < lo


def _page_fault_cause(frame: u64) -> None:
    addr: u64 = _cr2()
    error: u64 = load64(frame + FRAME_ERROR * 8)
    if in_wasm_space(addr):
        # past a wasm memory's live pages: the module's own trap (wasm_memory.py)
        _cause("wasm trap: out of bounds memory access")
    elif error & PF_PRESENT == 0:
        if _in_guard(addr):
            _cause("stack overflow")
        elif addr < PAGE:
            _cause("null pointer access")
        else:
            _cause("page fault at ")
            _say_hex(addr)
            _say(" (not mapped)")
    elif error & PF_FETCH != 0:
        _cause("execute of non-executable memory at ")
        _say_hex(addr)
    elif error & PF_WRITE != 0:
        _cause("write to read-only memory at ")
        _say_hex(addr)
    else:
        _cause("page fault at ")
        _say_hex(addr)
        _say(" (error ")
        _say_hex(error)
        _say(")")


def _simd_cause(m: u64) -> str:
    # The first exception MXCSR both flags (bits 0-5) and leaves unmasked
    # (bits 7-12): that one raised #XM.
    raised: u64 = m & ((m >> 7) ^ 0x3F) & 0x3F
    if raised & 0x1 != 0:
        return "invalid operation"
    if raised & 0x2 != 0:
        return "denormal operand"
    if raised & 0x4 != 0:
        return "divide by zero"
    if raised & 0x8 != 0:
        return "overflow"
    if raised & 0x10 != 0:
        return "underflow"
    if raised & 0x20 != 0:
        return "precision"
    return "no unmasked flag in MXCSR"


GENERAL_PROTECTION: u64 = 13


def _ring3_cause(frame: u64, vector: u64) -> bool:
    # A fault in ring 3 (an isolated cell's task): privileged instructions
    # (cli, hlt, in/out) raise #GP there; a page fault on a page that is not
    # one of its own is an access outside the cell's pages.  False: name it
    # as any other fault (a write to its own constants, say).
    if load64(frame + FRAME_CS * 8) & 3 != 3:
        return _smep_smap_cause(frame, vector)
    if vector == GENERAL_PROTECTION:
        _cause("privileged instruction")
        return True
    if vector != PAGE_FAULT:
        return False
    addr: u64 = _cr2()
    lo: u64 = user_stack_lo(current())
    if lo >= GUARD and addr >= lo - GUARD and addr < lo:
        _cause("stack overflow")
    elif addr < PAGE:
        _cause("null pointer access")
    elif not is_user(addr):
        _cause("access outside the cell's pages at ")
        _say_hex(addr)
    else:
        return False
    return True


def _smep_smap_cause(frame: u64, vector: u64) -> bool:
    # Ring 0 touched a present user page: SMEP (an execute) or SMAP (a read
    # or write) stopped it.  The kernel never does that on purpose; a
    # trusted cell's stray pointer into an isolated cell does.
    if vector != PAGE_FAULT:
        return False
    addr: u64 = _cr2()
    error: u64 = load64(frame + FRAME_ERROR * 8)
    if error & PF_PRESENT == 0 or not is_user(addr):
        return False
    if error & PF_FETCH != 0:
        _cause("kernel execute of an isolated cell's code at ")
        _say_hex(addr)
        _say(" (SMEP)")
    else:
        _cause("kernel access to an isolated cell's page at ")
        _say_hex(addr)
        _say(" (SMAP)")
    return True


def _describe(frame: u64, vector: u64) -> None:
    # What happened and where: "page fault at 0x... (not mapped) in cell::function".
    rip: u64 = load64(frame + FRAME_RIP * 8)
    if _ring3_cause(frame, vector):
        pass
    elif vector == PAGE_FAULT:
        _page_fault_cause(frame)
    elif vector == DOUBLE_FAULT and _in_guard(load64(frame + FRAME_RSP * 8) - 8):
        _cause("stack overflow")
    elif vector == SIMD_ERROR:
        _cause("SIMD floating-point error (")
        _say(_simd_cause(mxcsr()))
        _say(") at ")
        _say_hex(rip)
    elif vector == DEVICE_NOT_AVAILABLE:
        _cause("device not available (")
        c: u64 = cr0()
        if c & CR0_EM != 0:
            _say("x87/SSE used with CR0.EM set")
        elif c & CR0_TS != 0:
            _say("x87/SSE used with CR0.TS set")
        else:
            _say("x87/SSE used while switched off")
        _say(") at ")
        _say_hex(rip)
    else:
        _cause(exception_name(vector))
        _say(" at ")
        _say_hex(rip)
    _say(" in ")
    _say(_function_at(rip))


def exception(frame: u64, nested: bool) -> u64:
    """An exception (vector < 32) arrived with this frame: end its task (or
    the shell's command, or the scheduling policy it happened in) and return
    the frame to resume, or stop the machine (see the header)."""
    global _to_policy
    vector: u64 = load64(frame + FRAME_VECTOR * 8)
    if policy_running():
        if not policy_cause_written():           # (a panic has written its own)
            _to_policy = True
            _describe(frame, vector)
            _to_policy = False
        _sse_usable_again(vector)
        return policy_failed()
    if nested or not can_end_current():
        _crash(frame, vector)
    _describe(frame, vector)
    _sse_usable_again(vector)
    _stack_bounds_walk(load64(frame + FRAME_RIP * 8), load64(frame + FRAME_RBP * 8), False)
    restarting: bool = _after_fault(0)
    if in_command():
        return abandon_frame(frame)
    if not restarting:
        finish(current(), FAULTED, NO_VALUE)
    return schedule(frame)


def _sse_usable_again(vector: u64) -> None:
    # #NM leaves CR0.TS or EM set and #XM an unmasked MXCSR: the next task
    # must not inherit either (its own registers come from fpu.py).
    if vector == DEVICE_NOT_AVAILABLE or vector == SIMD_ERROR:
        fpu_recover()


def panic_in_policy(msg: str, where: str, line: u64) -> None:
    """rt::panic inside a policy's pick_next: the message becomes the
    policy's fault, and the policy call ends through exception()."""
    global _to_policy
    cli()
    _to_policy = True
    _cause("panic: ")
    _say(msg)
    _say(" in ")
    _say(where)
    _say(" line ")
    _say_dec(line)
    _to_policy = False
    load64(NON_CANONICAL)
    while True:
        hlt()


def panic_in_task(msg: str, where: str, line: u64) -> None:
    """rt::panic inside a task (or a shell command): it ends faulted with the
    message as cause (or RESTARTING, if it is restartable)."""
    irq_off()                       # the record and the end happen as one
    set_cause(current(), "panic: ")
    _say(msg)
    _say(" in ")
    _say(where)
    _say(" line ")
    _say_dec(line)
    end_current(line)


def end_current(line: u64) -> None:
    """End the running task (or shell command) faulted, its cause already
    written (a panic's, a WebAssembly trap's): logged with the backtrace of
    the code that called here, reported, and restarted if it is restartable.
    Never returns.  Interrupts must be off."""
    _stack_bounds_walk(0, _caller_rbp(), True)
    restarting: bool = _after_fault(line)
    if in_command():
        abandon_now()
    if not restarting:
        die_current()
    yield_now()                     # never scheduled again: recovery starts a new frame
    while True:
        hlt()

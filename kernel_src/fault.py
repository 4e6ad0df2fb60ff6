"""fault: a CPU exception or a panic ends the task it happened in, not the kernel.

The cause (exception name, faulting address, and the cell::function found
by the section table) is written here into the task's record, which
task_table keeps; the task is marked faulted, its stack goes back to the
heap, and the scheduler goes on.
Only a fault in the nano_core itself (before tasks start, in the shell or
idle task, inside an interrupt handler, or any double fault) cannot be
contained: it prints a crash report and stops QEMU with status 101.
"""
# cell: unsafe
from theseus_nb.lang.prelude import *
from theseus_nb.lang.unsafe import load64, outl, cli, hlt, call_addr
from kernel_src.params import DEBUG_EXIT_PORT, EXIT_FAULT
from kernel_src.frame import FRAME_VECTOR, FRAME_ERROR, FRAME_RIP, FRAME_RSP
from kernel_src.serial import write, write_hex, write_u64, newline
from kernel_src.section_table import NONE, section_at, section_name
from kernel_src.names import name_text
from kernel_src.task_table import can_fault, current, task_name, set_cause, add_cause_byte, FAULTED, NO_VALUE
from kernel_src.task import finish, die_current
from kernel_src.switcher import schedule

PAGE_FAULT: u64 = 14
DOUBLE_FAULT: u64 = 8

_cr2_fn: u64 = 0


# ---- writing the cause into the running task's record ------------------------

def _say(s: str) -> None:
    for i in range(len(s)):
        add_cause_byte(current(), u8(ord(s[i])))


def _say_dec(v: u64) -> None:
    if v >= 10:
        _say_dec(v // 10)
    add_cause_byte(current(), u8(v % 10) + 48)


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
                add_cause_byte(current(), d + 48)
            else:
                add_cause_byte(current(), d + 87)


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
    return name_text(section_name(s))


def init(cr2_fn: u64) -> None:
    """Remember interrupts::read_cr2 (found by the nano_core at boot)."""
    global _cr2_fn
    _cr2_fn = cr2_fn


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
    outl(DEBUG_EXIT_PORT, EXIT_FAULT)
    while True:
        hlt()


def exception(frame: u64, nested: bool) -> u64:
    """An exception (vector < 32) arrived with this frame: end its task and
    return the next task's frame, or stop the machine (see the header)."""
    vector: u64 = load64(frame + FRAME_VECTOR * 8)
    if nested or vector == DOUBLE_FAULT or not can_fault():
        _crash(frame, vector)
    rip: u64 = load64(frame + FRAME_RIP * 8)
    set_cause(current(), exception_name(vector))
    _say(" at ")
    _say_hex(rip)
    if vector == PAGE_FAULT:
        _say(" address ")
        _say_hex(_cr2())
    _say(" in ")
    _say(_function_at(rip))
    finish(current(), FAULTED, NO_VALUE)
    return schedule(frame)


def panic_in_task(msg: str, where: str, line: u64) -> None:
    """rt::panic inside a task: the task ends faulted with the message as cause."""
    set_cause(current(), "panic: ")
    _say(msg)
    _say(" in ")
    _say(where)
    _say(" line ")
    _say_dec(line)
    die_current()

"""fault: a CPU exception or a panic ends the task it happened in, not the kernel.

The cause is written into the task's record (exception name, faulting
address, and the cell::function found by the section table), the task is
marked faulted, its stack goes back to the heap, and the scheduler goes on.
Only a fault in the nano_core itself (before tasks start, in the shell or
idle task, inside an interrupt handler, or any double fault) cannot be
contained: it prints a crash report and stops QEMU with status 101.
"""
# cell: unsafe
from theseus_nb.lang.prelude import *
from theseus_nb.lang.unsafe import load64, outl, cli, hlt, call_addr, addr_of, make_str
from kernel_src.params import DEBUG_EXIT_PORT, EXIT_FAULT
from kernel_src.serial import write, write_hex, write_u64, newline
from kernel_src.section_table import NONE, section_at, section_name
from kernel_src.names import name_text
from kernel_src.task import can_fault, current, finish, schedule, die_current, task_name, FAULTED, NO_VALUE

CAUSE_MAX: u64 = 128                           # bytes of a cause; longer ones are cut

_cause: Array[u8, 131072] = [0] * 131072       # params.MAX_TASKS * CAUSE_MAX, by task slot
_cause_len: Array[u64, 1024] = [0] * 1024      # params.MAX_TASKS
_cause_slot: u64 = 0
_cr2_fn: u64 = 0


# ---- the cause of a task's end, one text per task slot ---------------------

def cause_begin(slot: u64) -> None:
    """Start writing the cause of slot's end (an empty cause until appended to)."""
    global _cause_slot
    _cause_slot = slot
    _cause_len[slot] = 0


def cause_byte(c: u8) -> None:
    """Append one byte (control characters become spaces: the dump is one line a task)."""
    n: u64 = _cause_len[_cause_slot]
    if n < CAUSE_MAX:
        if c < 32:
            c = 32
        _cause[_cause_slot * CAUSE_MAX + n] = c
        _cause_len[_cause_slot] = n + 1


def cause_str(s: str) -> None:
    """Append a string."""
    for i in range(len(s)):
        cause_byte(u8(ord(s[i])))


def cause_dec(v: u64) -> None:
    """Append v in decimal."""
    if v >= 10:
        cause_dec(v // 10)
    cause_byte(u8(v % 10) + 48)


def cause_hex(v: u64) -> None:
    """Append v in hexadecimal with 0x."""
    cause_str("0x")
    started: bool = False
    shift: u64 = 64
    while shift > 0:
        shift -= 4
        d: u8 = u8((v >> shift) & 0xF)
        if d != 0 or started or shift == 0:
            started = True
            if d < 10:
                cause_byte(d + 48)
            else:
                cause_byte(d + 87)


def task_cause(slot: u64) -> str:
    """Why the task in slot ended ("" while it runs, or if it exited normally)."""
    return make_str(addr_of(_cause) + slot * CAUSE_MAX, _cause_len[slot])


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
    rip: u64 = load64(frame + 17 * 8)
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
    write_hex(load64(frame + 16 * 8))
    write(" rsp ")
    write_hex(load64(frame + 20 * 8))
    if vector == 14:
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
    vector: u64 = load64(frame + 15 * 8)
    if nested or vector == 8 or not can_fault():
        _crash(frame, vector)
    rip: u64 = load64(frame + 17 * 8)
    cause_begin(current())
    cause_str(exception_name(vector))
    cause_str(" at ")
    cause_hex(rip)
    if vector == 14:
        cause_str(" address ")
        cause_hex(_cr2())
    cause_str(" in ")
    cause_str(_function_at(rip))
    finish(current(), FAULTED, NO_VALUE)
    return schedule(frame)


def panic_in_task(msg: str, where: str, line: u64) -> None:
    """rt::panic inside a task: the task ends faulted with the message as cause."""
    cause_begin(current())
    cause_str("panic: ")
    cause_str(msg)
    cause_str(" in ")
    cause_str(where)
    cause_str(" line ")
    cause_dec(line)
    die_current()

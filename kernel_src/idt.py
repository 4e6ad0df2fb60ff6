"""idt: the interrupt descriptor table, a GDT with a TSS, and dispatch.

Every interrupt enters through interrupts.s, which saves the registers and
calls dispatch(frame); dispatch returns the frame to resume, which is how
the timer and yield switch tasks (see the design note in interrupts.s).
Two exceptions run on stacks of their own (the TSS's interrupt stack
table), each with a guard page: the page fault (IST2), because the usual
page fault of a task is a stack overflow, and its frame cannot be pushed
onto the stack that overflowed; and the double fault (IST1), what the CPU
raises when it cannot deliver an exception at all.
The GDT also has the ring-3 segments an isolated cell's tasks run in
(data 0x28, code 0x30, in the order syscall/sysret need: gates.py), and
the TSS's rsp0 is where an interrupt from ring 3 lands (ring.py sets it
to the running task's kernel stack).
"""
# cell: unsafe
from theseus_nb.lang.prelude import *
from theseus_nb.lang.unsafe import addr_of, load64, store8, store16, store64, call_addr
from kernel_src.params import FAULT_STACK
from kernel_src.frame import FRAME_VECTOR, KERNEL_CODE
from kernel_src.namespace import symbol_address
from kernel_src.stacks import alloc_stack
from kernel_src.timer import tick, console, spurious
from kernel_src.switcher import schedule, policy_abandoned
from kernel_src.fault import exception, DOUBLE_FAULT, PAGE_FAULT
from kernel_src.serial import receive, CONSOLE, HOST
from kernel_src.command import interrupt as interrupt_command, pending_stop
from kernel_src.gates import init as gates_init

TIMER_VECTOR: u64 = 32
CONSOLE_VECTOR: u64 = 36     # IRQ 4: COM1, the console
HOST_VECTOR: u64 = 35        # IRQ 3: COM2, the host's channel
YIELD_VECTOR: u64 = 0x81
EXCEPTIONS: u64 = 32         # vectors below this are the CPU's exceptions
STUBS: u64 = 48              # interrupts::stub_table covers the exceptions and the PIC's IRQs

_idt: Array[u64, 512] = [0] * 512              # 256 gates of 16 bytes
_gdt: Array[u64, 7] = [0] * 7                  # null, code, data, TSS (two words), user data, user code
_tss: Array[u64, 14] = [0] * 14                # 104 bytes used, as bytes via store*
_pointers: Array[u64, 4] = [0] * 4             # gdtr at +0, idtr at +16
_depth: u64 = 0                                # > 0 while a handler runs


def _gate(vector: u64, handler: u64, ist: u64) -> None:
    # A 64-bit interrupt gate: present, ring 0, interrupts off on entry.
    _idt[vector * 2] = (handler & 0xFFFF) | (KERNEL_CODE << 16) | (ist << 32) | (0x8E << 40) \
        | (((handler >> 16) & 0xFFFF) << 48)
    _idt[vector * 2 + 1] = handler >> 32


def init() -> bool:
    """Build the GDT (with a TSS) and the IDT and load them; False if the
    entry stubs are missing from the namespace."""
    table: u64 = symbol_address("interrupts::stub_table")
    yield_stub: u64 = symbol_address("interrupts::yield_stub")
    load: u64 = symbol_address("interrupts::load_tables")
    double_fault: u64 = alloc_stack(FAULT_STACK)
    page_fault: u64 = alloc_stack(FAULT_STACK)
    if table == 0 or yield_stub == 0 or load == 0 or double_fault == 0 or page_fault == 0:
        return False
    tss: u64 = addr_of(_tss)
    store64(tss + 36, double_fault + FAULT_STACK)  # IST1 (stack tops are page-aligned)
    store64(tss + 44, page_fault + FAULT_STACK)    # IST2
    store16(tss + 102, 104)                        # no I/O permission bitmap
    _gdt[1] = 0x00AF9A000000FFFF                   # 64-bit code, as in boot.s
    _gdt[2] = 0x00CF92000000FFFF                   # data
    _gdt[3] = 103 | ((tss & 0xFFFFFF) << 16) | (0x89 << 40) | (((tss >> 24) & 0xFF) << 56)
    _gdt[4] = tss >> 32
    _gdt[5] = 0x00CFF2000000FFFF                   # data, ring 3 (sysret's SS: 0x28 | 3)
    _gdt[6] = 0x00AFFA000000FFFF                   # 64-bit code, ring 3 (sysret's CS: 0x30 | 3)
    for v in range(STUBS):
        ist: u64 = 0
        if v == DOUBLE_FAULT:
            ist = 1
        elif v == PAGE_FAULT:
            ist = 2
        _gate(v, load64(table + v * 8), ist)
    _gate(YIELD_VECTOR, load64(yield_stub), 0)
    p: u64 = addr_of(_pointers)
    store16(p, 7 * 8 - 1)
    store64(p + 2, addr_of(_gdt))
    store16(p + 16, 256 * 16 - 1)
    store64(p + 18, addr_of(_idt))
    call_addr(load, p)
    return gates_init(tss + 4)                     # syscall, SMEP, SMAP; rsp0 is at +4


def in_handler() -> bool:
    """True while an interrupt or exception handler runs (no task context)."""
    return _depth > 0


def dispatch(frame: u64) -> u64:
    """Called by interrupts.s with the saved frame; the frame to resume."""
    global _depth
    vector: u64 = load64(frame + FRAME_VECTOR * 8)
    if vector < EXCEPTIONS:
        # An exception: fault.exception ends the task (and returns the next
        # task's frame) or, in the nano_core itself, stops the machine.
        nested: bool = _depth > 0
        _depth += 1
        resume: u64 = exception(frame, nested)
        _left()
        return resume
    _depth += 1
    resume2: u64 = frame
    if vector == TIMER_VECTOR:
        resume2 = tick(pending_stop(frame))
    elif vector == YIELD_VECTOR:
        resume2 = schedule(frame)
    elif vector == CONSOLE_VECTOR or vector == HOST_VECTOR:
        # Input into the rings; a Ctrl-C on either line stops the running command.
        stop: bool = receive(CONSOLE)
        if receive(HOST):
            stop = True
        if stop:
            frame = interrupt_command(frame)
        resume2 = console(frame)
    else:
        spurious(vector)
    _left()
    return resume2


def _left() -> None:
    # A handler returns.  When the switch it made abandoned a failed policy
    # call (switcher.py), the handlers that call ran inside are left too, and
    # the frame resumed is a task's: no handler runs any more.
    global _depth
    if policy_abandoned():
        _depth = 0
    else:
        _depth -= 1

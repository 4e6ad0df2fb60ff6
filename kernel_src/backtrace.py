"""backtrace: the chain of CELL::FN frames that led to a fault, found by walking frame pointers.

Design note.  Every function keeps a frame pointer (theseus_nb/build.py
compiles with "frame-pointer"="all"), so in any frame rbp points at two
words: the caller's saved rbp, and the return address into the caller.
Starting from the faulting instruction (its rip and rbp, from the saved
interrupt frame) or, for a panic, from the panic handler's own rbp, the
walk follows that chain.  Each return address is named by the section
table ("cell::function" of the section holding it).  The chain is not
trusted: it is read only while rbp lies inside the task's own stack, is
8-aligned and climbs strictly upwards, and at most BACKTRACE_MAX frames
are kept, so a corrupt stack ends the walk instead of faulting again.
It ends at the entry function's frame, whose saved rbp is 0 (task.py
builds a task's first frame with rbp 0, stack_switch.s zeroes rbp before
a command): its return address is the start stub, not a caller.

A return address points just after its call instruction, which may be
past the end of the calling function (a call to rt::panic, which never
returns, is often a function's last instruction): the walk keeps the
return address minus one, an address inside the call, so the frame is
named after the function that made the call.  A function that ends in a
tail call (`return f(x)`) has left its frame already, so it is not in the
chain: the frames are the calls still waiting to return.  The cell language knows source lines only where it panics
(rt::panic's line): the fault log gives that line to the panicking frame;
other frames are shown as function + offset.
"""
# cell: unsafe
from theseus_nb.lang.prelude import *
from theseus_nb.lang.unsafe import load64
from kernel_src.params import BACKTRACE_MAX
from kernel_src.section_table import NONE, section_at, all_sections, all_cells
from kernel_src.names import name_text, name_equals, name_len, name_addr, mem_ends_with

_pc: Array[u64, 8] = [0] * 8          # params.BACKTRACE_MAX: the frames found, innermost first
_count: u64 = 0


def _in_nano_fault_path(addr: u64) -> bool:
    # The panic handler's own frames (rt::panic, fault::*) are not the task's,
    # nor a WebAssembly trap's way there (CELL::.wasm_trap, wasm_rt::trap).
    s: u64 = section_at(addr)
    if s == NONE:
        return False
    c: u64 = all_cells[all_sections[s].cell].name
    return name_equals(c, "rt") or name_equals(c, "fault") or name_equals(c, "wasm_rt") \
        or mem_ends_with(name_addr(all_sections[s].name), name_len(all_sections[s].name),
                         "::.wasm_trap")


def walk(pc: u64, rbp: u64, lo: u64, hi: u64, skip_handler: bool) -> u64:
    """Record the frames from pc (0: none) up the rbp chain, which must stay
    in the stack [lo, hi); skip_handler drops the panic handler's own frames
    at the start.  How many frames were kept."""
    global _count
    _count = 0
    skipping: bool = skip_handler
    if pc != 0:
        _pc[0] = pc
        _count = 1
        skipping = False
    fp: u64 = rbp
    while _count < BACKTRACE_MAX and fp >= lo and fp + 16 <= hi and fp % 8 == 0:
        ret: u64 = load64(fp + 8)
        next_fp: u64 = load64(fp)
        if ret == 0 or next_fp == 0:
            break               # the first frame: it returns into the task's (or command's) start
        if not (skipping and _in_nano_fault_path(ret - 1)):
            skipping = False
            _pc[_count] = ret - 1
            _count += 1
        if next_fp <= fp:
            break
        fp = next_fp
    return _count


def frame_count() -> u64:
    """Frames the last walk kept."""
    return _count


def frame_pc(i: u64) -> u64:
    """Address of frame i of the last walk (0 is the innermost): the
    faulting instruction, or an address inside a call instruction."""
    return _pc[i]


def function_at(addr: u64) -> str:
    """"cell::function" of the live section holding addr, or "?"."""
    s: u64 = section_at(addr)
    if s == NONE:
        return "?"
    return name_text(all_sections[s].name)


def offset_in_function(addr: u64) -> u64:
    """How far addr is into its section (0 if no section holds it)."""
    s: u64 = section_at(addr)
    if s == NONE:
        return 0
    return addr - all_sections[s].addr

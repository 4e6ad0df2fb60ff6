"""params: every limit of the nano_core in one place (xv6's param.h).

Tables are fixed-size arrays, so these numbers are the kernel's capacity.
An array's length must be a literal in the cell language, so the tables
repeat these numbers (marked "params.NAME" beside each); change both, and
a mismatch shows up as a bounds-check panic, never as corrupted memory.
"""
from theseus_nb.lang.prelude import *

MAX_CELLS: u64 = 64          # loaded cells, nano_core's included
MAX_SECTIONS: u64 = 4096     # loaded sections (functions and globals)
MAX_SYMBOLS: u64 = 4096      # public symbols in the namespace
MAX_DEPS: u64 = 16384        # distinct (section -> section) dependencies
MAX_RELOCS: u64 = 16384      # relocations applied, kept for hot swap
NAME_POOL: u64 = 262144      # bytes of names (symbols, sections, cells)
LINE_MAX: u64 = 256          # shell input line
MAX_ARGS: u64 = 8            # words on a shell line

COM1: u16 = 0x3F8            # the serial console
DEBUG_EXIT_PORT: u16 = 0xF4  # isa-debug-exit: QEMU exits with (code << 1) | 1
EXIT_PANIC: u32 = 0x31       # nano_core panic: QEMU exits with status 99
EXIT_FAULT: u32 = 0x32       # CPU exception in the nano_core: QEMU exits with status 101

MAX_TASKS: u64 = 1024        # task table slots (the shell and the idle task included)
TASK_STACK: u64 = 16384      # bytes of kernel stack per task, from the heap
KEEP_ENDED: u64 = 32         # ended tasks whose records stay in the table (ps, join)
TIMER_HZ: u64 = 100          # timer interrupts per second: the scheduler's time slice
MAX_CHANNELS: u64 = 32       # channels (kernel_src/sync.py)
CHANNEL_SLOTS: u64 = 16      # values a channel holds before a sender blocks

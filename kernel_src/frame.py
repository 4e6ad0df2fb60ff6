"""frame: the layout of a saved interrupt frame, as interrupts.s pushes it.

A task that is not running is one of these frames on its own stack; the
switcher, the fault handler and the swap walker read it, and spawn builds
the first one by hand.  Offsets are in 8-byte words from the frame pointer
(the full table is at the top of interrupts.s); the selectors are those of
the GDT that boot.s and idt.init() build.
"""
from theseus_nb.lang.prelude import *

FRAME_RBP: u64 = 8           # the frame pointer: where a backtrace starts (backtrace.py)
FRAME_RDI: u64 = 9           # a task's first argument on its first switch
FRAME_VECTOR: u64 = 15       # pushed by the stub
FRAME_ERROR: u64 = 16        # the CPU's error code (0 where it pushes none)
FRAME_RIP: u64 = 17          # from here on pushed by the CPU
FRAME_CS: u64 = 18
FRAME_RFLAGS: u64 = 19
FRAME_RSP: u64 = 20
FRAME_SS: u64 = 21
FRAME_WORDS: u64 = 22

KERNEL_CODE: u64 = 0x08      # GDT selector of the 64-bit code segment
KERNEL_DATA: u64 = 0x10      # GDT selector of the data segment
RFLAGS_IF: u64 = 0x200       # interrupts enabled
RFLAGS_FIXED: u64 = 0x2      # bit 1 of RFLAGS always reads as 1

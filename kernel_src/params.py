"""params: every limit of the nano_core in one place (xv6's param.h).

Tables are fixed-size arrays, so these numbers are the kernel's capacity.
Raise one and rebuild; nothing else needs to change.
"""
from theseus_nb.lang.prelude import *

MAX_CELLS: u64 = 64          # loaded cells, nano_core's included
MAX_SECTIONS: u64 = 1024     # loaded sections (functions and globals)
MAX_SYMBOLS: u64 = 2048      # public symbols in the namespace
MAX_DEPS: u64 = 4096         # distinct (section -> section) dependencies
MAX_RELOCS: u64 = 8192       # relocations applied, kept for hot swap
NAME_POOL: u64 = 65536       # bytes of names (symbols, sections, cells)
LINE_MAX: u64 = 256          # shell input line
MAX_ARGS: u64 = 8            # words on a shell line

COM1: u16 = 0x3F8            # the serial console
DEBUG_EXIT_PORT: u16 = 0xF4  # isa-debug-exit: QEMU exits with (code << 1) | 1
EXIT_PANIC: u32 = 0x31       # nano_core panic: QEMU exits with status 99

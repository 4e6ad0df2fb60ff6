"""params: every limit of the nano_core in one place (xv6's param.h).

Tables are fixed-size arrays, so these numbers are the kernel's capacity.
An array's length must be a literal in the cell language, so the tables
repeat these numbers, with a comment "params.NAME" (or a product of such
names) beside each; tests/kernel_src/test_params.py checks every such
table against this file, so changing a limit here and not there fails CI.
"""
from theseus_nb.lang.prelude import *

# The section graph and the namespace
MAX_CELLS: u64 = 256         # loaded cells, nano_core's included
MAX_SECTIONS: u64 = 4096     # loaded sections (functions and globals)
MAX_SYMBOLS: u64 = 4096      # public symbols in the namespace
MAX_DEPS: u64 = 16384        # distinct (section -> section) dependencies
DEP_SLOTS: u64 = 32768       # dependency index slots: a power of two, >= 2 * MAX_DEPS
MAX_RELOCS: u64 = 16384      # relocations applied, kept for hot swap
NAME_POOL: u64 = 262144      # bytes of names (symbols, sections, cells)
NAME_INDEX: u64 = 16384      # slots of the kept-name index: a power of two, > distinct names
SYMBOL_SLOTS: u64 = 8192     # namespace hash slots: a power of two, >= 2 * MAX_SYMBOLS
SYMBOL_NAME_MAX: u64 = 96    # bytes of a name symbol_address() can look up

# The loader and live evolution
MAX_OBJECT_SECTIONS: u64 = 256   # sections of one cell object
MAX_SECTION_BYTES: u64 = 4194304 # bytes of one section of an object (its bss included)
NAME_MAX: u64 = 1024         # bytes of one symbol or section name in an object
MAX_STAGED: u64 = 8          # cells loaded in one transaction (a boot load, a swap)
MAX_TXN_CELLS: u64 = 16      # cell records one transaction may create (>= MAX_STAGED)
MAX_SWAP: u64 = 8            # cells one `swap` command replaces (<= MAX_STAGED)
MAX_UPLOAD: u64 = 1048576    # bytes of one uploaded object: a cell is a few KiB to a few tens
MAX_BLOBS: u64 = 8           # uploads waiting for a swap or load
MAX_RETIRED: u64 = 4096      # retired sections (old code a task may still run)
MAX_RETIRED_RELOCS: u64 = 4096   # relocations of retired code into other cells, kept for later swaps
MAX_RETIRED_GROUPS: u64 = 256    # retired versions of cells (one per swapped-out cell)
MAX_ARCHIVE: u64 = 1024      # entries in the boot archive
MAX_REGIONS: u64 = 32        # usable memory regions kept from the Multiboot map

# The shell
LINE_MAX: u64 = 256          # shell input line
MAX_ARGS: u64 = 8            # words on a shell line

# Memory
HEAP_FRAMES: u64 = 8192      # 4 KiB frames taken for the kernel heap at boot (32 MiB)
WASM_MEMORIES: u64 = 64      # WebAssembly memories in guard regions (8 GiB of address space each)

# Tasks
MAX_TASKS: u64 = 1024        # task table slots (the shell and the idle task included)
TASK_STACK: u64 = 16384      # bytes of a task's stack unless spawn asks for more (or less)
MIN_STACK: u64 = 4096        # the smallest stack spawn accepts
MAX_STACK: u64 = 16777216    # the largest (16 MiB: half the heap)
COMMAND_STACK: u64 = 65536   # bytes of the stack shell commands run on
IDLE_STACK: u64 = 4096       # bytes of the idle task's stack (it only halts)
FAULT_STACK: u64 = 16384     # bytes of each exception stack (double fault, page fault)
GUARD: u64 = 4096            # the unmapped page under every stack
FX_AREA: u64 = 512          # bytes of a task's saved SSE/x87 registers (FXSAVE's format)
KEEP_ENDED: u64 = 32         # ended tasks whose records stay in the table (ps, join)
SPEC_MAX: u64 = 64           # bytes of a task's "cell::function"
CAUSE_MAX: u64 = 128         # bytes of why a task ended; longer causes are cut
TIMER_HZ: u64 = 100          # timer interrupts per second: the scheduler's time slice
POLICY_TICKS: u64 = 2        # timer ticks a policy's pick_next may run before it is dropped
                             # (the first tick may come at once: 2 is at least one whole tick)
FAULT_LOG: u64 = 64          # faults the fault log keeps (the oldest goes first)
BACKTRACE_MAX: u64 = 8       # frames of a backtrace the fault log keeps
FRAME_TEXT: u64 = 64         # bytes of one frame's "cell::function" in the fault log
MAX_RESTARTS: u64 = 1000     # the most restarts a restartable task may ask for
MAX_VERSIONS: u64 = 256      # cells whose current and previous objects the kernel keeps (= MAX_CELLS)
MAX_CHANNELS: u64 = 32       # channels (kernel_src/sync.py)
CHANNEL_SLOTS: u64 = 16      # values a channel holds before a sender blocks

# The machine
COM1: u16 = 0x3F8            # the console: what people type, what the kernel and tasks print
COM2: u16 = 0x2F8            # the host's channel: framed requests and replies, nothing else
RX_RING: u64 = 1024          # bytes of input kept per serial line until the shell reads them
DEBUG_EXIT_PORT: u16 = 0xF4  # isa-debug-exit: QEMU exits with (code << 1) | 1
EXIT_PANIC: u32 = 0x31       # nano_core panic: QEMU exits with status 99
EXIT_FAULT: u32 = 0x32       # CPU exception in the nano_core: QEMU exits with status 101

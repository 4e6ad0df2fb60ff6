"""wasm_rt: the kernel side of WebAssembly cells (theseus_nb/wasm/kernel_cell.py is the other).

A wasm cell finds its linear memory through a struct in its own data,
{base, bytes, max_pages}; on its first call the cell asks for the bytes
and fills the struct, then writes its globals and segments.  A cell whose
accesses are checked explicitly asks memory_alloc (zeroed, from the heap;
memory_grow moves it); a cell built for guard regions asks
wasm_memory.reserve (its own 8 GiB slot with only the live pages mapped;
memory_grow_guard maps more in place).  Every pointer a module passes here is an offset into
that memory and is checked against its size before use, so a module can
reach only its own memory through these calls too.  A trap ends the running
task faulted with "wasm trap: KIND in CELL::FUNCTION".

The imports a module may name (anything else is refused when it is
compiled): module "theseus" — print(ptr, len) (print_str here), print_u64(v), ticks(), cycles(),
sleep(ticks), yield(), spawn(name ptr, name len, arg) of a "cell::function" task entry,
channel(name), send(channel, value), recv(channel); module "wasi_snapshot_preview1" — fd_write to
stdout/stderr, proc_exit, args_*/environ_* (none), clock_time_get, and
fd_close/fd_fdstat_get/fd_seek, which answer EBADF as a console has no files.
"""
# cell: unsafe
from theseus_nb.lang.prelude import *
from theseus_nb.lang.unsafe import load8, load32, load64, store8, store32, store64, make_str
from kernel_src.serial import put, write_u64
from kernel_src.clock import ticks as clock_ticks
from theseus_nb.lang.unsafe import rdtsc
from kernel_src.heap import alloc, free
from kernel_src.task_table import current, set_cause, add_cause, add_cause_byte
from kernel_src.command import running as in_command, abandon_now
from kernel_src.task import exit_current, yield_now, sleep as task_sleep
from kernel_src.fault import end_current
from kernel_src.irq import irq_off
from kernel_src.task import spawn as task_spawn
from kernel_src.sync import channel as sync_channel, send as sync_send, recv as sync_recv
from kernel_src.wasm_memory import grow

PAGE: u64 = 65536
EBADF: u64 = 8
EFAULT: u64 = 21
ENOSYS: u64 = 52
NS_PER_TICK: u64 = 10000000        # 1e9 / params.TIMER_HZ (100 ticks a second)

# ---- memory -------------------------------------------------------------------


def memory_alloc(nbytes: u64) -> u64:
    """nbytes of zeroed memory for a linear memory (at least 16 bytes); 0 if the heap is full."""
    size: u64 = max(nbytes, 16)
    base: u64 = alloc(size, 16)
    if base == 0:
        return 0
    for i in range(size // 8):
        store64(base + i * 8, 0)
    return base


NO_GROW: u64 = 0xFFFFFFFF       # what memory.grow answers when it cannot (-1 as an i32)


def _grown(mem: u64, delta: u64) -> u64:
    # The memory's size in pages once grown by delta (an i32), or NO_GROW
    # past its maximum.
    pages: u64 = load64(mem + 8) // PAGE + (delta & 0xFFFFFFFF)
    if pages > load64(mem + 16):
        return NO_GROW
    return pages


def memory_grow(mem: u64, delta: u64) -> u64:
    """memory.grow: move the memory into a larger zeroed block; the old size in pages,
    or NO_GROW past the maximum or when the heap is full."""
    old_bytes: u64 = load64(mem + 8)
    pages: u64 = _grown(mem, delta)
    if pages == NO_GROW or pages == old_bytes // PAGE:
        return pages
    base: u64 = memory_alloc(pages * PAGE)
    if base == 0:
        return NO_GROW
    src: u64 = load64(mem)
    for i in range(old_bytes // 8):
        store64(base + i * 8, load64(src + i * 8))
    if src != 0:
        free(src)
    store64(mem, base)
    store64(mem + 8, pages * PAGE)
    return old_bytes // PAGE


def memory_grow_guard(mem: u64, delta: u64) -> u64:
    """memory.grow for a memory in a guard region: map more pages in place; the old
    size in pages, or NO_GROW past the maximum or when no frame is left."""
    old: u64 = load64(mem + 8) // PAGE
    pages: u64 = _grown(mem, delta)
    if pages == NO_GROW or pages == old:
        return pages
    if not grow(load64(mem), pages * PAGE):
        return NO_GROW
    store64(mem + 8, pages * PAGE)
    return old


def _fits(mem: u64, p: u64, n: u64) -> bool:
    return p + n <= load64(mem + 8)


# ---- traps --------------------------------------------------------------------


def kind_name(kind: u64) -> str:
    """The spec's words for trap number kind (theseus_nb.wasm.errors.TRAP_KINDS)."""
    if kind == 0:
        return "unreachable"
    if kind == 1:
        return "integer divide by zero"
    if kind == 2:
        return "integer overflow"
    if kind == 3:
        return "invalid conversion to integer"
    if kind == 4:
        return "out of bounds memory access"
    if kind == 5:
        return "undefined element"
    if kind == 6:
        return "uninitialized element"
    if kind == 7:
        return "indirect call type mismatch"
    if kind == 8:
        return "call stack exhausted"
    if kind == 9:
        return "out of bounds table access"
    if kind == 10:      # the kernel's own (kernel_cell.NO_MEMORY_TRAP): not the spec's
        return "no memory left for the instance"
    return "trap"


def trap(kind: u64, where: str) -> None:
    """End the running task (or shell command) faulted: wasm trap: KIND in CELL::FUNCTION
    (logged and restarted as any fault: fault.end_current)."""
    irq_off()
    set_cause(current(), "wasm trap: ")
    add_cause(current(), kind_name(kind))
    add_cause(current(), " in ")
    add_cause(current(), where)
    end_current(0)


# ---- module "theseus" -----------------------------------------------------------


def print_str(mem: u64, p: u64, n: u64) -> u64:
    """Write n bytes of linear memory at p to the console; 0, or EFAULT outside the memory."""
    if not _fits(mem, p, n):
        return EFAULT
    base: u64 = load64(mem)
    for i in range(n):
        put(load8(base + p + i))
    return 0


def print_u64(mem: u64, v: u64) -> None:
    """Write v in decimal."""
    write_u64(v)


def ticks(mem: u64) -> u64:
    """Timer ticks since boot."""
    return clock_ticks()


def cycles(mem: u64) -> u64:
    """The CPU's time-stamp counter (rdtsc): cycles, for timing code from a module."""
    return rdtsc()


def sleep(mem: u64, n: u64) -> None:
    """Sleep n ticks."""
    task_sleep(n)


def yield_(mem: u64) -> None:
    """Let another task run."""
    yield_now()


def spawn(mem: u64, p: u64, n: u64, arg: u64) -> u64:
    """Start the task entry named by the n bytes at p ("cell::function"); its id, or 0."""
    if not _fits(mem, p, n):
        return 0
    return task_spawn(make_str(load64(mem) + p, n), arg)


def channel(mem: u64, name: u64) -> u64:
    """The channel called name (made on first use); NO_CHANNEL when the table is full."""
    return sync_channel(name)


def send(mem: u64, c: u64, v: u64) -> None:
    """Send v on channel c (blocks while it is full)."""
    sync_send(c, v)


def recv(mem: u64, c: u64) -> u64:
    """The next value of channel c (blocks while it is empty)."""
    return sync_recv(c)


# ---- module "wasi_snapshot_preview1" --------------------------------------------


def fd_write(mem: u64, fd: u64, iovs: u64, n: u64, written: u64) -> u64:
    """Write the n iovecs {ptr: u32, len: u32} at iovs to the console (fd 1 or 2)."""
    if fd != 1 and fd != 2:
        return EBADF
    if not _fits(mem, iovs, n * 8) or not _fits(mem, written, 4):
        return EFAULT
    base: u64 = load64(mem)
    total: u64 = 0
    for i in range(n):
        p: u64 = u64(load32(base + iovs + i * 8))
        k: u64 = u64(load32(base + iovs + i * 8 + 4))
        if not _fits(mem, p, k):
            return EFAULT
        for j in range(k):
            put(load8(base + p + j))
        total += k
    store32(base + written, u32(total & 0xFFFFFFFF))
    return 0


def proc_exit(mem: u64, code: u64) -> None:
    """End the task with code as its value; in a shell command, end just the command
    (the shell's own task must go on), with the code as its cause."""
    if in_command():
        set_cause(current(), "exit ")
        _say_dec(code)
        abandon_now()
    exit_current(code)


def _say_dec(v: u64) -> None:
    if v >= 10:
        _say_dec(v // 10)
    add_cause_byte(current(), u8(v % 10) + 48)


def _two_zeros(mem: u64, a: u64, b: u64) -> u64:
    if not _fits(mem, a, 4) or not _fits(mem, b, 4):
        return EFAULT
    store32(load64(mem) + a, 0)
    store32(load64(mem) + b, 0)
    return 0


def args_sizes_get(mem: u64, argc: u64, size: u64) -> u64:
    """No arguments: argc 0, 0 bytes."""
    return _two_zeros(mem, argc, size)


def args_get(mem: u64, argv: u64, buf: u64) -> u64:
    """No arguments to copy."""
    return 0


def environ_sizes_get(mem: u64, count: u64, size: u64) -> u64:
    """No environment: 0 variables, 0 bytes."""
    return _two_zeros(mem, count, size)


def environ_get(mem: u64, env: u64, buf: u64) -> u64:
    """No environment to copy."""
    return 0


def clock_time_get(mem: u64, id: u64, precision: u64, out: u64) -> u64:
    """Nanoseconds since boot (every clock is the tick counter), as a u64 at out."""
    if not _fits(mem, out, 8):
        return EFAULT
    store64(load64(mem) + out, clock_ticks() * NS_PER_TICK)
    return 0


def fd_close(mem: u64, fd: u64) -> u64:
    """The console's descriptors cannot be closed."""
    return EBADF


def fd_fdstat_get(mem: u64, fd: u64, out: u64) -> u64:
    """No descriptor has a status to report."""
    return EBADF


def fd_seek(mem: u64, fd: u64, offset: u64, whence: u64, out: u64) -> u64:
    """The console cannot seek."""
    return EBADF

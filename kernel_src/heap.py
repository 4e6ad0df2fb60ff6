"""heap: the kernel heap, a first-fit free list over frames taken at boot.

Design note.  Every block starts with its size and (while free) the address
of the next free block; the list is kept in address order so that a freed
block merges with its neighbours and memory does not fragment away across
many hot swaps.  An allocation's user pointer is preceded by two words: the
block's start and a magic number, so free() can check that it is given a
pointer the heap handed out.

An aligned allocation gives the gap in front of it back as a free block of
its own, so page-aligned blocks (alloc_pages) cost only their rounding.

Pages.  alloc_pages() hands out whole pages, for what paging.py maps with
other permissions (a cell's code, a stack's guard page).  The heap writes
only its headers, which lie in the page below such a block, and free
blocks; so while the block is allocated its pages may be read-only or not
mapped at all, and free_pages() makes them read-write again before the
heap can reuse them.

The heap has no lock: alloc() and free() run with interrupts off, so a task
switch can never land in the middle of one (the same invariant task.py
keeps for its own tables).
"""
# cell: unsafe
from theseus_nb.lang.prelude import *
from theseus_nb.lang.unsafe import load64, store64
from kernel_src.params import HEAP_FRAMES
from kernel_src.frames import alloc_contiguous, FRAME
from kernel_src.irq import irq_off, irq_restore
from kernel_src.paging import PAGE, PERM_RW, protect

_MAGIC: u64 = 0x7E5E05A110C
_MIN_SPLIT: u64 = 64

_free: u64 = 0                 # first free block, lowest address first
_start: u64 = 0
_size: u64 = 0
in_use: u64 = 0               # bytes in allocated blocks, headers included
allocations: u64 = 0
requested: u64 = 0            # bytes asked for by live allocations (exact, for leak checks)
page_blocks: u64 = 0          # live alloc_pages() blocks
_page_bytes: u64 = 0           # their bytes, rounded up to whole pages
_page_asked: u64 = 0           # what their owners asked for


def init() -> bool:
    """Take the heap's frames; False if there is not enough memory."""
    global _free, _start, _size
    _start = alloc_contiguous(HEAP_FRAMES)
    if _start == 0:
        return False
    _size = HEAP_FRAMES * FRAME
    _free = _start
    store64(_start, _size)
    store64(_start + 8, 0)
    return True


def _align_up(v: u64, a: u64) -> u64:
    return (v + a - 1) // a * a


def alloc(size: u64, align: u64) -> u64:
    """size bytes aligned to align (a power of two); 0 when the heap is full."""
    flags: u64 = irq_off()
    user: u64 = _alloc(size, align)
    irq_restore(flags)
    return user


def _alloc(size: u64, align: u64) -> u64:
    global _free, in_use, allocations, requested
    if align < 16:
        align = 16
    prev: u64 = 0
    block: u64 = _free
    while block != 0:
        block_size: u64 = load64(block)
        user: u64 = _align_up(block + 32, align)
        need: u64 = _align_up(user + size - block, 16)
        if need <= block_size:
            nxt: u64 = load64(block + 8)
            gap: u64 = user - 32 - block
            if gap >= _MIN_SPLIT:
                # The space in front of an aligned block stays free, as a
                # block of its own that keeps this one's place in the list.
                store64(block, gap)
                store64(block + 8, nxt)
                prev = block
                block += gap
                block_size -= gap
                need -= gap
            if block_size - need >= _MIN_SPLIT:
                rest: u64 = block + need
                store64(rest, block_size - need)
                store64(rest + 8, nxt)
                nxt = rest
                block_size = need
                store64(block, need)
            if prev == 0:
                _free = nxt
            else:
                store64(prev + 8, nxt)
            store64(user - 16, block)
            store64(user - 8, _MAGIC)
            store64(block + 8, size)           # the block's link word is free while in use
            in_use += block_size
            allocations += 1
            requested += size
            return user
        prev = block
        block = load64(block + 8)
    return 0


def free(user: u64) -> None:
    """Give back a pointer that alloc() returned."""
    flags: u64 = irq_off()
    _free_block(user)
    irq_restore(flags)


def _free_block(user: u64) -> None:
    global _free, in_use, allocations, requested
    if user < _start + 32 or user >= _start + _size or load64(user - 8) != _MAGIC:
        panic("heap: free() of a pointer the heap did not hand out")
    block: u64 = load64(user - 16)
    store64(user - 8, 0)
    size: u64 = load64(block)
    in_use -= size
    allocations -= 1
    requested -= load64(block + 8)
    prev: u64 = 0
    nxt: u64 = _free
    while nxt != 0 and nxt < block:
        prev = nxt
        nxt = load64(nxt + 8)
    if nxt != 0 and block + size == nxt:          # merge with the next block
        size += load64(nxt)
        nxt = load64(nxt + 8)
    store64(block, size)
    store64(block + 8, nxt)
    if prev == 0:
        _free = block
    elif prev + load64(prev) == block:             # merge into the previous one
        store64(prev, load64(prev) + size)
        store64(prev + 8, nxt)
    else:
        store64(prev + 8, block)


def alloc_pages(size: u64) -> u64:
    """Whole pages for size bytes, page-aligned; 0 when the heap is full.

    The pages are read-write until their owner maps them otherwise; give
    them back with free_pages(block, size).
    """
    global page_blocks, _page_bytes, _page_asked
    rounded: u64 = _align_up(size, PAGE)
    block: u64 = alloc(rounded, PAGE)
    if block != 0:
        flags: u64 = irq_off()
        page_blocks += 1
        _page_bytes += rounded
        _page_asked += size
        irq_restore(flags)
    return block


def free_pages(block: u64, size: u64) -> None:
    """Map the pages of an alloc_pages(size) block read-write again and free it."""
    if not protect(block, _align_up(size, PAGE), PERM_RW):
        panic("heap: the pages of a block cannot be mapped again")
    release_pages(block, size)


def release_pages(block: u64, size: u64) -> None:
    """Free an alloc_pages(size) block whose pages are all read-write again
    (its owner changed only some, and mapped those back itself)."""
    global page_blocks, _page_bytes, _page_asked
    rounded: u64 = _align_up(size, PAGE)
    flags: u64 = irq_off()
    page_blocks -= 1
    _page_bytes -= rounded
    _page_asked -= size
    irq_restore(flags)
    free(block)


@safe_interface
def page_rounding() -> u64:
    """Bytes those blocks lose to rounding up to whole pages."""
    return _page_bytes - _page_asked


@safe_interface
def size() -> u64:
    """Total heap size in bytes."""
    return _size

"""stacks: kernel stacks, each with an unmapped guard page under it.

A stack grows down; the page below its lowest byte is left unmapped, so a
task that runs off the end of its stack faults there (the page-fault
handler names it a stack overflow) instead of writing over whatever the
heap put below.  Functions with frames larger than a page probe each page
in order (build.py's probe-stack attribute), so no frame can step over
the guard.  A stack is one alloc_pages() block: the guard page, then the
stack.
"""
# cell: unsafe
from theseus_nb.lang.prelude import *
from kernel_src.params import GUARD
from kernel_src.heap import alloc_pages, free_pages, release_pages
from kernel_src.paging import PERM_RW, protect, unmap


def alloc_stack(size: u64) -> u64:
    """A stack of size bytes (a whole number of pages) above an unmapped
    guard page; its lowest address (the top is that plus size), or 0."""
    block: u64 = alloc_pages(GUARD + size)
    if block == 0:
        return 0
    if not unmap(block, GUARD):
        free_pages(block, GUARD + size)
        return 0
    return block + GUARD


def free_stack(lo: u64, size: u64) -> None:
    """Give back a stack alloc_stack(size) returned as lo (its guard too).

    Only the guard page was ever mapped otherwise, so only it is mapped
    back: a large stack costs no more to free than a small one."""
    if not protect(lo - GUARD, GUARD, PERM_RW):
        panic("stacks: a guard page cannot be mapped again")
    release_pages(lo - GUARD, GUARD + size)


def guard_of(lo: u64) -> u64:
    """The guard page of the stack whose lowest address is lo."""
    return lo - GUARD

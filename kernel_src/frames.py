"""frames: the physical frame allocator (4 KiB pages) over the memory map.

The nano_core's image and the boot archive are reserved: frames are handed
out only above both, from the usable region that holds them.  Freed frames
go on a free list threaded through the frames themselves.
"""
# cell: unsafe
from theseus_nb.lang.prelude import *
from theseus_nb.lang.unsafe import load64, store64
from kernel_src.multiboot import region_count, region_base, region_len

FRAME: u64 = 4096

_next: u64 = 0        # bump pointer: first never-used frame
_end: u64 = 0         # end of the region we allocate from
_free_list: u64 = 0   # a freed frame holds the address of the next one
used: u64 = 0
total: u64 = 0


def init(reserved_end: u64) -> bool:
    """Use the usable region that contains reserved_end; False if none does."""
    global _next, _end, total
    start: u64 = (reserved_end + FRAME - 1) // FRAME * FRAME
    for i in range(region_count()):
        base: u64 = region_base(i)
        end: u64 = base + region_len(i)
        if base <= start and start < end:
            _next = start
            _end = end // FRAME * FRAME
            total = (_end - _next) // FRAME
            return True
    return False


def alloc() -> u64:
    """One zero-filled frame, or 0 when memory is exhausted."""
    global _next, _free_list, used
    frame: u64 = 0
    if _free_list != 0:
        frame = _free_list
        _free_list = load64(frame)
    elif _next < _end:
        frame = _next
        _next += FRAME
    else:
        return 0
    for off in range(0, FRAME, 8):
        store64(frame + off, 0)
    used += 1
    return frame


def alloc_contiguous(n: u64) -> u64:
    """n consecutive never-used frames (for the heap), or 0."""
    global _next, used
    if _next + n * FRAME > _end:
        return 0
    start: u64 = _next
    _next += n * FRAME
    used += n
    return start


def free(frame: u64) -> None:
    """Give a frame back."""
    global _free_list, used
    store64(frame, _free_list)
    _free_list = frame
    used -= 1



"""wasm_memory: WebAssembly linear memories in guard regions.

Design note.  A wasm access is `base + index + offset` with a 32-bit index
and a 32-bit offset, so it reaches at most 8 GiB past base.  Give every
memory 8 GiB of address space of its own (a *slot*), map only its live
pages and leave the rest unmapped, and no access needs comparing with the
memory's size: one past the end faults, and fault.py turns a fault inside
the space into the module's trap, `wasm trap: out of bounds memory access
in CELL::FUNCTION`.  At most 4 GiB of a slot is ever live (a 32-bit
memory's limit), so its upper half is always unmapped: an access that
starts there and spills into the next slot faults before it touches that
slot.  That is the guard-region scheme of the big runtimes;
the other (every access compared with the size) needs no slot, and a cell
is compiled for one or the other (theseus_nb.wasm.kernel_cell).

The space is the PML4 entry above the kernel's identity map: 512 GiB,
WASM_MEMORIES slots of 8 GiB.  A slot belongs to a cell by name: the cell's
new versions (a hot swap carries the memory's struct over) and a reload of
the cell (a fresh instance) use the same slot, so swapping or restarting a
cell a thousand times never runs out of slots.  Live pages are 4 KiB frames
from the frame allocator, zeroed as they come, mapped read-write,
not executable and for ring 0 only; memory.grow maps more, in place, so
the base never moves.
"""
# cell: unsafe
from theseus_nb.lang.prelude import *
from kernel_src.params import WASM_MEMORIES
from kernel_src.frames import alloc as frame_alloc, free as frame_free
from kernel_src.names import name_add_str
from kernel_src.paging import map_page, unmap_page, PAGE

SPACE: u64 = 0x8000000000          # 512 GiB: the second PML4 entry, above the identity map
SLOT: u64 = 0x200000000            # 8 GiB: what a 32-bit index plus a 32-bit offset reach

_owner: Array[u64, 64] = [0] * 64  # params.WASM_MEMORIES: the cell's name + 1; 0 = free
_mapped: Array[u64, 64] = [0] * 64  # params.WASM_MEMORIES: bytes mapped from the slot's base
frames_mapped: u64 = 0             # frames holding live pages, all memories together


def in_space(addr: u64) -> bool:
    """Is addr inside a memory's slot (a slot some cell owns, mapped or not)?
    fault.py names a fault there as the module's trap."""
    if addr < SPACE or addr >= SPACE + WASM_MEMORIES * SLOT:
        return False
    return _owner[(addr - SPACE) // SLOT] != 0


@safe_interface
def slots_used() -> u64:
    """How many slots belong to a cell."""
    n: u64 = 0
    for i in range(WASM_MEMORIES):
        if _owner[i] != 0:
            n += 1
    return n


def _unmap_from(slot: u64, keep: u64) -> None:
    # Give back the slot's frames from byte keep on.
    global frames_mapped
    base: u64 = SPACE + slot * SLOT
    at: u64 = keep
    while at < _mapped[slot]:
        frame: u64 = unmap_page(base + at)
        if frame != 0:
            frame_free(frame)
            frames_mapped -= 1
        at += PAGE
    if keep < _mapped[slot]:
        _mapped[slot] = keep


def _map_to(slot: u64, nbytes: u64) -> bool:
    # Map fresh zeroed frames until nbytes of the slot are live; on failure
    # the slot is as it was.
    global frames_mapped
    base: u64 = SPACE + slot * SLOT
    was: u64 = _mapped[slot]
    while _mapped[slot] < nbytes:
        frame: u64 = frame_alloc()
        if frame == 0:
            _unmap_from(slot, was)
            return False
        if not map_page(base + _mapped[slot], frame):
            frame_free(frame)
            _unmap_from(slot, was)
            return False
        frames_mapped += 1
        _mapped[slot] += PAGE
    return True


def reserve(cell: str, nbytes: u64) -> u64:
    """A fresh zeroed memory of nbytes (a multiple of 4 KiB) for cell: the
    base of its slot (the one it had before, or a free one), or 0 when every
    slot is taken or no frame is left."""
    who: u64 = name_add_str(cell)
    if who == 0:
        return 0
    slot: u64 = WASM_MEMORIES
    for i in range(WASM_MEMORIES):
        if _owner[i] == who + 1:
            slot = i
    if slot == WASM_MEMORIES:
        for i in range(WASM_MEMORIES):
            if _owner[i] == 0 and slot == WASM_MEMORIES:
                slot = i
    if slot == WASM_MEMORIES:
        return 0
    _unmap_from(slot, 0)                # a reloaded cell starts from zeroed memory
    if not _map_to(slot, nbytes):
        return 0
    _owner[slot] = who + 1
    return SPACE + slot * SLOT


def grow(base: u64, nbytes: u64) -> bool:
    """Make the memory at base nbytes long (more live pages, same base); False
    (nothing changed) when no frame is left or base is not a slot's."""
    if not in_space(base) or (base - SPACE) % SLOT != 0 or nbytes > SLOT // 2:
        return False
    return _map_to((base - SPACE) // SLOT, nbytes)

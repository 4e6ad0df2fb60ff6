"""versions: the object each swapped cell runs now, and the one it ran before its last swap.

Recovery needs them without the host: reloading a faulty cell means loading
its current object again (fresh globals), rolling it back means loading
the previous one.  Where they live:
- a cell loaded at boot that was never swapped runs its boot-archive entry,
  which stays in memory for the kernel's whole life: nothing to keep;
- an object that came by upload is copied into the heap when its swap (or
  load) commits, since the upload itself is freed then;
- an object that came from the archive (`swap counter=counter@2`) is not
  copied: the archive entry is kept already.
So each swapped cell holds at most two objects of the heap, its current
one and its previous one; the older is freed when a third arrives.  The
host keeps the whole history (theseus_nb/live.py): it has the memory,
the sources and the clock a student reads; the kernel keeps just what it
needs to recover alone.
"""
# cell: unsafe
from theseus_nb.lang.prelude import *
from kernel_src.params import MAX_VERSIONS
from kernel_src.heap import alloc, free
from kernel_src.names import name_addr, name_len, name_equals_mem, mem_copy
from kernel_src.archive import entry_find, entry_data, entry_size

NONE: u64 = 0xFFFFFFFFFFFFFFFF

_name: Array[u64, 256] = [0] * 256         # params.MAX_VERSIONS: kept name of the cell (0: free row)
_cur: Array[u64, 256] = [0] * 256          # params.MAX_VERSIONS: its current object (0: unknown)
_cur_size: Array[u64, 256] = [0] * 256     # params.MAX_VERSIONS
_cur_owned: Array[bool, 256] = [False] * 256   # params.MAX_VERSIONS: a heap copy (ours to free)
_prev: Array[u64, 256] = [0] * 256         # params.MAX_VERSIONS: the object before its last swap (0: none)
_prev_size: Array[u64, 256] = [0] * 256    # params.MAX_VERSIONS
_prev_owned: Array[bool, 256] = [False] * 256  # params.MAX_VERSIONS
_found: u64 = 0
_found_size: u64 = 0


def _row(name: u64) -> u64:
    for i in range(MAX_VERSIONS):
        if _name[i] != 0 and name_equals_mem(_name[i], name_addr(name), name_len(name)):
            return i
    return NONE


def _archive(name: u64) -> bool:
    # The boot archive's entry of this name: a cell's object at boot.
    e: u64 = entry_find(name_addr(name), name_len(name))
    if e == NONE:
        return False
    return _set_found(entry_data(e), entry_size(e))


def _set_found(addr: u64, size: u64) -> bool:
    global _found, _found_size
    _found = addr
    _found_size = size
    return True


def _drop_previous(i: u64) -> None:
    if _prev_owned[i]:
        free(_prev[i])
    _prev[i] = 0
    _prev_size[i] = 0
    _prev_owned[i] = False


def current_object(name: u64) -> bool:
    """Find the object cell `name` runs now (found_addr/found_size): its
    kept copy, or its boot-archive entry; False if the kernel has neither."""
    i: u64 = _row(name)
    if i != NONE:
        if _cur[i] == 0:
            return False        # its last swap's object could not be kept
        return _set_found(_cur[i], _cur_size[i])
    return _archive(name)


def previous_object(name: u64) -> bool:
    """Find the object cell `name` ran before its last swap; False if there is none."""
    i: u64 = _row(name)
    if i == NONE or _prev[i] == 0:
        return False
    return _set_found(_prev[i], _prev_size[i])


def found_addr() -> u64:
    """Address of the object the last lookup found."""
    return _found


def found_size() -> u64:
    """Size of the object the last lookup found."""
    return _found_size


def _row_for(name: u64) -> u64:
    # The row of cell `name`, made if it has none (its previous object is
    # then its boot-archive entry, if it was a boot cell); NONE if full.
    i: u64 = _row(name)
    if i != NONE:
        return i
    for r in range(MAX_VERSIONS):
        if _name[r] == 0 and i == NONE:
            i = r
    if i == NONE:
        return NONE
    _name[i] = name
    _cur[i] = 0
    _cur_size[i] = 0
    _cur_owned[i] = False
    _prev[i] = 0
    _prev_owned[i] = False
    if _archive(name):
        _cur[i] = _found            # what it ran until now: the previous one, below
        _cur_size[i] = _found_size
    return i


def note_swap(name: u64, addr: u64, size: u64, copy: bool) -> bool:
    """Cell `name` now runs the object at addr (copy: an upload, copied into
    the heap now; else an archive entry); its current object becomes its
    previous one.  False if the heap had no room for the copy: the cell's
    current object is then unknown (0), so recovery says it cannot reload
    it instead of loading an older version by mistake."""
    i: u64 = _row_for(name)
    if i == NONE:
        return False            # cannot happen: a row for every cell (MAX_VERSIONS = MAX_CELLS)
    _drop_previous(i)
    _prev[i] = _cur[i]
    _prev_size[i] = _cur_size[i]
    _prev_owned[i] = _cur_owned[i]
    return _keep_current(i, addr, size, copy)


def _keep_current(i: u64, addr: u64, size: u64, copy: bool) -> bool:
    # Row i's current object is the one at addr (a heap copy of it if copy);
    # False, and the current object unknown, if the heap had no room.
    kept: u64 = addr
    if copy:
        kept = alloc(size, 16)
        if kept != 0:
            mem_copy(kept, addr, size)
    _cur[i] = kept
    _cur_size[i] = size
    _cur_owned[i] = copy and kept != 0
    return kept != 0


def note_load(name: u64, addr: u64, size: u64, copy: bool) -> bool:
    """Cell `name` was loaded at run time from the object at addr (it has no
    previous version); False if there was no room to keep it."""
    return note_swap(name, addr, size, copy)


def note_rollback(name: u64) -> None:
    """Cell `name` was rolled back: its previous object is its current one,
    and it has no previous one any more (the rolled-back object is freed)."""
    i: u64 = _row(name)
    if i == NONE or _prev[i] == 0:
        return
    if _cur_owned[i]:
        free(_cur[i])
    _cur[i] = _prev[i]
    _cur_size[i] = _prev_size[i]
    _cur_owned[i] = _prev_owned[i]
    _prev[i] = 0
    _prev_size[i] = 0
    _prev_owned[i] = False


def note_undo(name: u64, addr: u64, size: u64, copy: bool) -> bool:
    """Cell `name` was rolled back by the host to the object at addr (an
    older version the host kept): it is the current object now, the one it
    replaced is freed, and there is no previous one (as after note_rollback:
    the kernel undoes one step; the host keeps the rest of the history).
    False if the heap had no room for the copy (current unknown, as in note_swap)."""
    i: u64 = _row_for(name)
    if i == NONE:
        return False
    _drop_previous(i)
    if _cur_owned[i]:
        free(_cur[i])
    return _keep_current(i, addr, size, copy)

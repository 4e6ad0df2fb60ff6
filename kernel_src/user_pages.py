"""user_pages: which isolated cell's pages are user pages now, and what its pages are.

Design note.  An isolated cell (gates.py) runs in ring 3 and may touch only
its own pages: its code, constants and data, and the user stacks of its
tasks (ring.py).  They are user pages while one of its tasks runs, and
only then: map_cell(), called at each switch to a ring-3 task of another
cell (ring.enter), makes the previous cell's pages supervisor-only again
and the next one's user pages, so no isolated cell ever sees another's
(switches between tasks of one cell change nothing).  Everything else is
always supervisor-only.

A swap (swap_cells.py) retires the old version's regions while a task is
inside them (retire.py).  hand_over() makes such a task a task of the new
version's record, and the retired regions pages of the new record too,
mapped and unmapped with its own: one row a region here, owned by the
cell record whose tasks may use it, until retire.py frees the region
(drop_region).  A retired group is one cell's regions and retire.py keeps
at most MAX_RETIRED_GROUPS groups, so the rows never run out.
"""
# cell: unsafe
from theseus_nb.lang.prelude import *
from kernel_src.params import MAX_RETIRED_GROUPS
from kernel_src.section_table import REGIONS, REGION_TEXT, REGION_RODATA, all_cells
from kernel_src.paging import PERM_RX, PERM_RO, PERM_RW, protect, protect_user
from kernel_src.ring import is_user_task, user_cell, set_user_cell, user_stack_lo, user_stack_size
from kernel_src import task_table

_mapped: u64 = 0               # the isolated cell whose pages are user pages now, + 1 (0: none)
_old_at: Array[u64, 768] = [0] * 768                  # params.MAX_RETIRED_GROUPS * 3: 0, a free row
_old_size: Array[u64, 768] = [0] * 768                # params.MAX_RETIRED_GROUPS * 3
_old_region: Array[u64, 768] = [0] * 768              # params.MAX_RETIRED_GROUPS * 3: REGION_TEXT...
_old_owner: Array[u64, 768] = [0] * 768               # params.MAX_RETIRED_GROUPS * 3: a cell record
_old_high: u64 = 0                                    # no row in use at or above this


def record_made(cell: u64) -> None:
    """The loader made cell record `cell` (a record index is used again): its
    pages are not the user pages, whatever an older cell of that index was."""
    global _mapped
    if _mapped == cell + 1:
        _mapped = 0


def cell_mapped(cell: u64) -> bool:
    """Are cell's pages the user pages now (its tasks' new stacks must be too)?"""
    return _mapped == cell + 1


def _map_region(a: u64, size: u64, r: u64, user: bool) -> None:
    # One region of a cell (r: which), as its kind is mapped, user or not.
    perm: u64 = PERM_RW
    if r == REGION_TEXT:
        perm = PERM_RX
    elif r == REGION_RODATA:
        perm = PERM_RO
    if user:
        protect_user(a, size, perm)
    else:
        protect(a, size, perm)


def _map_cell_pages(cell: u64, user: bool) -> None:
    # Its regions, the retired ones its tasks may still be inside, and its
    # tasks' user stacks, as user pages or supervisor-only.  A swap unmaps
    # a cell before its record dies (hand_over()).
    if all_cells[cell].alive:
        for r in range(REGIONS):
            if all_cells[cell].region_at[r] != 0:
                _map_region(all_cells[cell].region_at[r], all_cells[cell].region_size[r], r, user)
    for k in range(_old_high):
        if _old_at[k] != 0 and _old_owner[k] == cell:
            _map_region(_old_at[k], _old_size[k], _old_region[k], user)
    for slot in range(task_table.high_slot):
        if is_user_task(slot) and user_cell(slot) == cell:
            if user:
                protect_user(user_stack_lo(slot), user_stack_size(slot), PERM_RW)
            else:
                protect(user_stack_lo(slot), user_stack_size(slot), PERM_RW)


def map_cell(slot: u64) -> u64:
    """Ring-3 task slot runs next (ring.enter, interrupts off): its cell's
    pages become the only user pages, so no isolated cell sees another's.
    Nothing changes while tasks of one cell take turns."""
    global _mapped
    c: u64 = user_cell(slot)
    if _mapped == c + 1:
        return 0
    if _mapped != 0:
        _map_cell_pages(_mapped - 1, False)
    _mapped = c + 1
    _map_cell_pages(c, True)
    return 0


def hand_over(old: u64, new: u64) -> None:
    """Isolated cell old is replaced by new (a swap's commit, interrupts off,
    before old's record dies).  A task of old may still be inside the old
    version (retire.py keeps it): from now on it is a task of new, and old's
    regions, with the retired regions old's tasks could use, are pages of
    new besides new's own."""
    global _mapped, _old_high
    if _mapped == old + 1:
        _map_cell_pages(old, False)
        _mapped = 0                     # the next switch to one of them maps new's
    for k in range(_old_high):
        if _old_at[k] != 0 and _old_owner[k] == old:
            _old_owner[k] = new
    for r in range(REGIONS):
        if all_cells[old].region_at[r] != 0:
            k2: u64 = 0
            while _old_at[k2] != 0:
                k2 += 1
                if k2 >= MAX_RETIRED_GROUPS * REGIONS:
                    panic("user_pages: more retired regions than retired groups hold")
            _old_at[k2] = all_cells[old].region_at[r]
            _old_size[k2] = all_cells[old].region_size[r]
            _old_region[k2] = r
            _old_owner[k2] = new
            _old_high = max(_old_high, k2 + 1)
    for slot in range(task_table.high_slot):
        if is_user_task(slot) and user_cell(slot) == old:
            set_user_cell(slot, new)


def drop_region(a: u64) -> None:
    """retire.py frees the retired region that starts at a (if it is a row
    here): no task may use it now.  (Freeing makes its pages supervisor-only.)"""
    for k in range(_old_high):
        if _old_at[k] == a:
            _old_at[k] = 0


def _within(lo: u64, size: u64, p: u64, n: u64) -> bool:
    return size > 0 and p >= lo and n <= size and p - lo <= size - n


def owns(cell: u64, p: u64, n: u64) -> bool:
    """Does [p, p + n) lie wholly in cell's pages: a region of its current
    version or a retired one its tasks may use?  (Not its tasks' stacks.)"""
    if all_cells[cell].alive:
        for r in range(REGIONS):
            if _within(all_cells[cell].region_at[r], all_cells[cell].region_size[r], p, n):
                return True
    for k in range(_old_high):
        if _old_at[k] != 0 and _old_owner[k] == cell and _within(_old_at[k], _old_size[k], p, n):
            return True
    return False


def in_retired(a: u64) -> bool:
    """Does address a lie in a retired region some isolated cell's tasks may use?"""
    for k in range(_old_high):
        if _old_at[k] != 0 and a >= _old_at[k] and a - _old_at[k] < _old_size[k]:
            return True
    return False

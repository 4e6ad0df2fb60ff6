"""isolated_cells: which loaded cells are isolated (ring 3, their own pages),
and which retired regions each one's tasks may still use.

One flag per cell record, set by the loader when it makes the record
(gates.py has the design).  It lives low in the layers because the
kernel's callers by name ask it too: a scheduling policy runs in ring 0,
so a function of an isolated cell may be named only as a task's entry,
which runs in ring 3 (a shell command of an isolated cell is such a task,
shell.py).

A swap of an isolated cell (swap_cells.py) retires the old version's three
regions while a task is inside them (retire.py); that task belongs to the
new version's record from then on, and its pages are the new version's and
these (gates.map_cell makes them user pages together).  One row a region,
owned by the cell record whose tasks may use it, dropped when retire.py
frees it.  A retired group is one cell's three regions and retire.py keeps
at most MAX_RETIRED_GROUPS groups, so the rows never run out.
"""
# cell: unsafe
from theseus_nb.lang.prelude import *
from kernel_src.params import MAX_CELLS, MAX_RETIRED_GROUPS
from kernel_src.section_table import REGIONS, all_cells

_isolated: Array[bool, 128] = [False] * 128           # params.MAX_CELLS
_old_at: Array[u64, 768] = [0] * 768                  # params.MAX_RETIRED_GROUPS * 3: 0, a free row
_old_size: Array[u64, 768] = [0] * 768                # params.MAX_RETIRED_GROUPS * 3
_old_region: Array[u64, 768] = [0] * 768              # params.MAX_RETIRED_GROUPS * 3: REGION_TEXT...
_old_owner: Array[u64, 768] = [0] * 768               # params.MAX_RETIRED_GROUPS * 3: a cell record
_old_high: u64 = 0                                    # no row in use at or above this


def set_isolated(cell: u64, on: bool) -> None:
    """Cell record `cell` (just made by the loader) is isolated or trusted."""
    _isolated[cell] = on


@safe_interface
def is_isolated(cell: u64) -> bool:
    """Is cell record `cell` an isolated cell?"""
    return cell < MAX_CELLS and _isolated[cell]


def pass_on(old: u64, new: u64) -> None:
    """Isolated cell old is replaced by new (a swap's commit, before old's
    record dies): old's regions, and the retired regions old's tasks could
    use, are now what new's tasks may use besides new's own."""
    global _old_high
    for k in range(_old_high):
        if _old_at[k] != 0 and _old_owner[k] == old:
            _old_owner[k] = new
    for r in range(REGIONS):
        if all_cells[old].region_at[r] != 0:
            k2: u64 = 0
            while _old_at[k2] != 0:
                k2 += 1
                if k2 >= MAX_RETIRED_GROUPS * REGIONS:
                    panic("isolated_cells: more retired regions than retired groups hold")
            _old_at[k2] = all_cells[old].region_at[r]
            _old_size[k2] = all_cells[old].region_size[r]
            _old_region[k2] = r
            _old_owner[k2] = new
            _old_high = max(_old_high, k2 + 1)


def drop_region(a: u64) -> None:
    """retire.py frees the retired region that starts at a (if it is a row here)."""
    for k in range(_old_high):
        if _old_at[k] == a:
            _old_at[k] = 0


def old_regions() -> u64:
    """Rows to look at (old_owned, old_at...): every row in use is below this."""
    return _old_high


def old_owned(k: u64, cell: u64) -> bool:
    """Is row k a retired region that cell's tasks may use?"""
    return _old_at[k] != 0 and _old_owner[k] == cell


def old_at(k: u64) -> u64:
    """Where row k's region starts."""
    return _old_at[k]


def old_size(k: u64) -> u64:
    """Bytes of row k's region."""
    return _old_size[k]


def old_region(k: u64) -> u64:
    """Which of a cell's regions row k was (REGION_TEXT, REGION_RODATA, REGION_DATA)."""
    return _old_region[k]


def in_old_region(a: u64) -> bool:
    """Does address a lie in a retired region some isolated cell's tasks may use?"""
    for k in range(_old_high):
        if _old_at[k] != 0 and a >= _old_at[k] and a - _old_at[k] < _old_size[k]:
            return True
    return False

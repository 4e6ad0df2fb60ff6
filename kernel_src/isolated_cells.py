"""isolated_cells: which loaded cells are isolated (ring 3, their own pages).

One flag per cell record, set by the loader when it makes the record
(gates.py has the design).  It lives low in the layers because the
kernel's callers by name ask it too: a command's main or a scheduling
policy runs in ring 0, so a function of an isolated cell may be named
only as a task's entry, which runs in ring 3.
"""
# cell: unsafe
from theseus_nb.lang.prelude import *
from kernel_src.params import MAX_CELLS

_isolated: Array[bool, 128] = [False] * 128           # params.MAX_CELLS


def set_isolated(cell: u64, on: bool) -> None:
    """Cell record `cell` (just made by the loader) is isolated or trusted."""
    _isolated[cell] = on


@safe_interface
def is_isolated(cell: u64) -> bool:
    """Is cell record `cell` an isolated cell?"""
    return cell < MAX_CELLS and _isolated[cell]

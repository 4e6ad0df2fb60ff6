"""retire: old code and data that a task may still be running, kept until it is not.

A hot swap (swap.py) replaces a cell while tasks run.  A task whose resume
address, or any word on its stack, points into the old cell's sections may
still return into them, so they are retired instead of freed: one group per
swapped-out cell.  reclaim() frees every group no task is inside any more
(at each swap, and in the `mem` command).  The stack scan is conservative:
a stale word that happens to point into old code only delays the free.
"""
# cell: unsafe
from theseus_nb.lang.prelude import *
from theseus_nb.lang.unsafe import load64
from kernel_src.params import MAX_RETIRED
from kernel_src.heap import free_pages
from kernel_src.irq import irq_off, irq_restore
from kernel_src.section_table import (REGIONS, section_count, section_alive, section_cell,
                                      section_addr, section_size, cell_region_at, cell_region_size,
                                      kill_cell)
from kernel_src.task_table import (current, task_count, task_state, task_saved_rip, task_saved_rsp,
                                   task_stack_hi, FREE, EXITED, FAULTED)

# Retired memory, one row a section (counted: the swap report says how many
# sections are kept or freed) or a region (the pages that are freed, and
# the ranges a task may still be inside).  One group per swapped-out cell.
_ret_addr: Array[u64, 4096] = [0] * 4096       # params.MAX_RETIRED; 0: an empty row
_ret_size: Array[u64, 4096] = [0] * 4096       # params.MAX_RETIRED
_ret_group: Array[u64, 4096] = [0] * 4096      # params.MAX_RETIRED
_ret_region: Array[bool, 4096] = [False] * 4096   # params.MAX_RETIRED: a region, not a section
_next_group: u64 = 1
_free_row: u64 = 0                              # no empty row below this


def _add(addr: u64, size: u64, region: bool) -> None:
    global _free_row
    while _free_row < MAX_RETIRED and _ret_addr[_free_row] != 0:
        _free_row += 1
    if _free_row == MAX_RETIRED:
        panic("swap: too many retired sections still in use")
    _ret_addr[_free_row] = addr
    _ret_size[_free_row] = size
    _ret_group[_free_row] = _next_group
    _ret_region[_free_row] = region


def retire_cell(c: u64) -> u64:
    """Move cell c's sections and regions to the retired list and kill its
    records; how many sections."""
    global _next_group
    n: u64 = 0
    for s in range(section_count()):
        if section_alive(s) and section_cell(s) == c:
            _add(section_addr(s), section_size(s), False)
            n += 1
    for r in range(REGIONS):
        if cell_region_at(c, r) != 0:
            _add(cell_region_at(c, r), cell_region_size(c, r), True)
    _next_group += 1
    kill_cell(c)
    return n


# The regions of the group being checked, gathered once (see _gather).
_g_lo: Array[u64, 3] = [0] * 3                 # section_table.REGIONS: a group is one cell
_g_hi: Array[u64, 3] = [0] * 3
_g_n: u64 = 0
_g_min: u64 = 0
_g_max: u64 = 0


def _gather(g: u64) -> None:
    global _g_n, _g_min, _g_max
    _g_n = 0
    _g_min = 0xFFFFFFFFFFFFFFFF
    _g_max = 0
    for k in range(MAX_RETIRED):
        if _ret_addr[k] != 0 and _ret_group[k] == g and _ret_region[k] and _g_n < REGIONS:
            _g_lo[_g_n] = _ret_addr[k]
            _g_hi[_g_n] = _ret_addr[k] + _ret_size[k] + 1    # a call's return address may be the end
            _g_min = min(_g_min, _g_lo[_g_n])
            _g_max = max(_g_max, _g_hi[_g_n])
            _g_n += 1


def _points_into(v: u64) -> bool:
    if v < _g_min or v >= _g_max:
        return False
    for k in range(_g_n):
        if _g_lo[k] <= v and v < _g_hi[k]:
            return True
    return False


def _in_use(g: u64) -> bool:
    # Is a task (other than the one running this) inside retired group g?
    # Its resume address, or any word on its stack that points into the
    # group (a conservative scan: a stale word only delays the free).
    _gather(g)
    for i in range(task_count()):
        st: u8 = task_state(i)
        if i == current() or st == FREE or st == EXITED or st == FAULTED:
            continue
        if _points_into(task_saved_rip(i)):
            return True
        p: u64 = task_saved_rsp(i)
        if p != 0:
            while p + 8 <= task_stack_hi(i):
                if _points_into(load64(p)):
                    return True
                p += 8
    return False


def reclaim() -> u64:
    """Free retired cells that no task is inside any more; how many sections."""
    global _free_row
    freed: u64 = 0
    flags: u64 = irq_off()
    for k in range(MAX_RETIRED):
        if _ret_addr[k] != 0 and not _in_use(_ret_group[k]):
            g: u64 = _ret_group[k]
            for m in range(MAX_RETIRED):
                if _ret_addr[m] != 0 and _ret_group[m] == g:
                    if _ret_region[m]:
                        free_pages(_ret_addr[m], _ret_size[m])
                    else:
                        freed += 1
                    _ret_addr[m] = 0
            _free_row = 0
    irq_restore(flags)
    return freed


def retired() -> u64:
    """Sections retired and not yet freed."""
    n: u64 = 0
    for k in range(MAX_RETIRED):
        if _ret_addr[k] != 0 and not _ret_region[k]:
            n += 1
    return n

"""retire: old code and data that a task may still be running, kept until nothing can reach it.

A hot swap (swap_cells.py) replaces a cell while tasks run.  A task whose
resume address, or any word on its stack, points into the old cell's
sections may still return into them, so they are retired instead of freed:
one group per swapped-out cell.  The group's relocations that name another
cell's public symbol (its calls and global uses) are kept too, because
that cell may be swapped later: swap_cells then points them at the new
version (swap_cells._redirect_retired), or, when it cannot (the new version changed or
removed the symbol), the old version is retired in turn and stays alive
while a retired relocation still points into it.  So retired code never
reaches freed code.  reclaim() frees every group that no task is inside and
no reachable retired code points into (at each swap, and in the `mem`
command).  The stack scan is conservative: a stale word that happens to
point into old code only delays the free.  A task of an isolated cell
keeps its return addresses on its user stack, so that is scanned too,
from the stack pointer it left (ring.user_rsp) to the top, never outside
the stack; and a freed region stops being one an isolated cell's tasks
may use (user_pages.drop_region).  The tables are fixed: a swap
that would overflow them is refused before it starts (room_for()).
"""
# cell: unsafe
from theseus_nb.lang.prelude import *
from theseus_nb.lang.unsafe import load64
from kernel_src.params import MAX_RETIRED, MAX_RETIRED_RELOCS, MAX_RETIRED_GROUPS
from kernel_src.heap import free_pages
from kernel_src.irq import irq_off, irq_restore
from kernel_src.section_table import (NONE, REGIONS, kill_cell, reloc_alive, all_cells, all_relocs,
                                      all_sections)
from kernel_src import section_table
from kernel_src.task_table import current, task_saved_rip, FREE, EXITED, FAULTED, RESTARTING, tasks
from kernel_src import task_table
from kernel_src.ring import (is_user_task, user_rip, user_rsp, user_stack_lo, user_stack_size,
                             user_access_on, user_access_off)
from kernel_src.user_pages import drop_region

# Retired memory, one row a section (counted: the swap report says how many
# sections are kept or freed) or a region (the pages that are freed, and
# the ranges a task may still be inside).  One group per swapped-out cell.
_ret_addr: Array[u64, 4096] = [0] * 4096       # params.MAX_RETIRED; 0: an empty row
_ret_size: Array[u64, 4096] = [0] * 4096       # params.MAX_RETIRED
_ret_group: Array[u64, 4096] = [0] * 4096      # params.MAX_RETIRED
_ret_region: Array[bool, 4096] = [False] * 4096   # params.MAX_RETIRED: a region, not a section
_free_row: u64 = 0                              # no empty row below this
_group_used: Array[bool, 256] = [False] * 256  # params.MAX_RETIRED_GROUPS
_reached: Array[bool, 256] = [False] * 256     # params.MAX_RETIRED_GROUPS: reclaim()'s marks
# Retired relocations: a place in retired code, and the address it points at.
retired_place: Array[u64, 4096] = [0] * 4096       # params.MAX_RETIRED_RELOCS; 0: an empty slot
retired_type: Array[u32, 4096] = [0] * 4096        # params.MAX_RETIRED_RELOCS
retired_addend: Array[i64, 4096] = [0] * 4096      # params.MAX_RETIRED_RELOCS
retired_symbol: Array[u64, 4096] = [0] * 4096      # params.MAX_RETIRED_RELOCS: name handle
retired_target: Array[u64, 4096] = [0] * 4096      # params.MAX_RETIRED_RELOCS: the symbol's address
_rr_group: Array[u64, 4096] = [0] * 4096       # params.MAX_RETIRED_RELOCS


def kept_relocation(r: u64, c: u64) -> bool:
    """Is relocation record r one cell c keeps when it retires: it names a
    public symbol of a cell that may be swapped later (not the nano_core)?"""
    return reloc_alive(r) and all_sections[all_relocs[r].section].cell == c and all_relocs[r].symbol != 0 \
        and not all_cells[all_sections[all_relocs[r].target].cell].core


def room_for(rows: u64, relocs: u64, groups: u64) -> bool:
    """Can the tables take this many more rows, relocations and groups?"""
    free_rows: u64 = 0
    for k in range(MAX_RETIRED):
        if _ret_addr[k] == 0:
            free_rows += 1
    free_relocs: u64 = 0
    for k in range(MAX_RETIRED_RELOCS):
        if retired_place[k] == 0:
            free_relocs += 1
    free_groups: u64 = 0
    for g in range(MAX_RETIRED_GROUPS):
        if not _group_used[g]:
            free_groups += 1
    return rows <= free_rows and relocs <= free_relocs and groups <= free_groups


def rows_of(c: u64) -> u64:
    """How many retired rows cell c would take: its sections and regions."""
    n: u64 = 0
    for s in range(section_table.n_sections):
        if all_sections[s].alive and all_sections[s].cell == c:
            n += 1
    for r in range(REGIONS):
        if all_cells[c].region_at[r] != 0:
            n += 1
    return n


def relocations_of(c: u64) -> u64:
    """How many retired relocation slots cell c would take."""
    n: u64 = 0
    for r in range(section_table.n_relocs):
        if kept_relocation(r, c):
            n += 1
    return n


def new_group() -> u64:
    """A free group (room_for() said there is one)."""
    for g in range(MAX_RETIRED_GROUPS):
        if not _group_used[g]:
            _group_used[g] = True
            return g
    return NONE


def retire_relocation(r: u64, g: u64, target: u64) -> None:
    """Keep relocation record r in group g; it points at address target."""
    for k in range(MAX_RETIRED_RELOCS):
        if retired_place[k] == 0:
            retired_place[k] = all_sections[all_relocs[r].section].addr + all_relocs[r].offset
            retired_type[k] = all_relocs[r].rtype
            retired_addend[k] = all_relocs[r].addend
            retired_symbol[k] = all_relocs[r].symbol
            retired_target[k] = target
            _rr_group[k] = g
            return


def _add(addr: u64, size: u64, region: bool, g: u64) -> None:
    # room_for() made sure there is an empty row.
    global _free_row
    while _ret_addr[_free_row] != 0:
        _free_row += 1
    _ret_addr[_free_row] = addr
    _ret_size[_free_row] = size
    _ret_group[_free_row] = g
    _ret_region[_free_row] = region


def retire_cell(c: u64, g: u64) -> u64:
    """Move cell c's sections and regions to group g and kill its records;
    how many sections."""
    n: u64 = 0
    for s in range(section_table.n_sections):
        if all_sections[s].alive and all_sections[s].cell == c:
            _add(all_sections[s].addr, all_sections[s].size, False, g)
            n += 1
    for r in range(REGIONS):
        if all_cells[c].region_at[r] != 0:
            _add(all_cells[c].region_at[r], all_cells[c].region_size[r], True, g)
    kill_cell(c)
    return n


# ---- the retired relocations (swap_cells.py redirects them) ---------------------

def retired_reloc_count() -> u64:
    """Upper bound of retired relocation slots (check retired_reloc_alive)."""
    return MAX_RETIRED_RELOCS


def retired_reloc_alive(k: u64) -> bool:
    """Is slot k a kept relocation?"""
    return retired_place[k] != 0


def retarget_retired(k: u64, target: u64) -> None:
    """Relocation k now points at a new version of its symbol, at target."""
    retired_target[k] = target


# ---- freeing what nothing reaches ------------------------------------------------

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


def _user_inside(i: u64) -> bool:
    # Is ring-3 task i inside the group _gather() took?  Where its own code
    # goes on, or any word of its user stack from where it left the stack
    # pointer to the top: its return addresses are there, not on its kernel
    # stack.  The pointer is the task's to set, so the scan is bounded by the
    # stack's own limits (from its bottom if the pointer lies outside).
    if _points_into(user_rip(i)):
        return True
    lo: u64 = user_stack_lo(i)
    hi: u64 = lo + user_stack_size(i)
    p: u64 = user_rsp(i) & 0xFFFFFFFFFFFFFFF8
    if p < lo or p >= hi:
        p = lo
    found: bool = False
    user_access_on()                   # its user stack may be a user page now (SMAP)
    while p + 8 <= hi and not found:
        found = _points_into(load64(p))
        p += 8
    user_access_off()
    return found


def _task_inside(g: u64) -> bool:
    # Is a task inside group g?  Its resume address or any word on its
    # stack (a conservative scan: a stale word only delays the free), and a
    # ring-3 task's user stack too.  The task running this is in the middle
    # of its stack: only its user stack is read (a ring-3 task is in a gate call).
    _gather(g)
    for i in range(task_table.high_slot):
        st: u8 = tasks[i].state
        if st == FREE or st == EXITED or st == FAULTED or st == RESTARTING:
            continue
        if is_user_task(i) and _user_inside(i):
            return True
        if i == current():
            continue
        if _points_into(task_saved_rip(i)):
            return True
        p: u64 = tasks[i].rsp
        if p != 0:
            while p + 8 <= tasks[i].stack_hi:
                if _points_into(load64(p)):
                    return True
                p += 8
    return False


def _group_at(a: u64) -> u64:
    # The group whose regions hold address a, or NONE.
    for k in range(MAX_RETIRED):
        if _ret_addr[k] != 0 and _ret_region[k] and _ret_addr[k] <= a \
                and a <= _ret_addr[k] + _ret_size[k]:
            return _ret_group[k]
    return NONE


def _free_group(g: u64) -> u64:
    global _free_row
    freed: u64 = 0
    for k in range(MAX_RETIRED):
        if _ret_addr[k] != 0 and _ret_group[k] == g:
            if _ret_region[k]:
                drop_region(_ret_addr[k])        # no isolated cell's task may use it now
                free_pages(_ret_addr[k], _ret_size[k])
            else:
                freed += 1
            _ret_addr[k] = 0
    for k in range(MAX_RETIRED_RELOCS):
        if retired_place[k] != 0 and _rr_group[k] == g:
            retired_place[k] = 0
    _group_used[g] = False
    _free_row = 0
    return freed


@safe_interface
def reclaim() -> u64:
    """Free retired cells that nothing can reach any more; how many sections.

    Reachable: a group a task is inside, and every group a retired
    relocation of a reachable group points into (so groups that only point
    at each other go together)."""
    freed: u64 = 0
    flags: u64 = irq_off()
    for g in range(MAX_RETIRED_GROUPS):
        _reached[g] = _group_used[g] and _task_inside(g)
    progress: bool = True
    while progress:
        progress = False
        for k in range(MAX_RETIRED_RELOCS):
            if retired_place[k] != 0 and _reached[_rr_group[k]]:
                t: u64 = _group_at(retired_target[k])
                if t != NONE and not _reached[t]:
                    _reached[t] = True
                    progress = True
    for g in range(MAX_RETIRED_GROUPS):
        if _group_used[g] and not _reached[g]:
            freed += _free_group(g)
    irq_restore(flags)
    return freed


@safe_interface
def retired() -> u64:
    """Sections retired and not yet freed."""
    n: u64 = 0
    for k in range(MAX_RETIRED):
        if _ret_addr[k] != 0 and not _ret_region[k]:
            n += 1
    return n

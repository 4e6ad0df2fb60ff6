"""section_table: the live section-dependency graph, as the loader records it.

One record per loaded cell, per loaded section (a function or a global),
per dependency between two sections (with how many relocations tie them)
and per applied relocation (kept so that a hot swap can rewrite it).

Records live in fixed tables; a record that dies (a swapped-out cell's, or
a refused load's) is marked dead and its slot is used again, so the kernel
can swap cells forever without running out.  Indices of live records never
change.  Loads are transactions: rec_begin() ... rec_rollback() kills every
record of the cells created since, so a refused cell leaves no trace.
Other cells read the tables directly (all_cells[c].name, section_table.n_relocs),
as xv6's procdump reads p->pid; only the functions here write them.
"""
from theseus_nb.lang.prelude import *
from kernel_src.params import MAX_CELLS, MAX_SECTIONS, MAX_DEPS, DEP_SLOTS, MAX_RELOCS, MAX_TXN_CELLS

KIND_TEXT: u8 = 0
KIND_RODATA: u8 = 1
KIND_DATA: u8 = 2
KIND_BSS: u8 = 3
NONE: u64 = 0xFFFFFFFFFFFFFFFF
# A loaded cell's sections lie in up to three page-aligned regions, one for
# each set of page permissions (placement.py): code, read-only data, and
# data with bss.  The nano_core's cells have none (the host placed them).
REGION_TEXT: u64 = 0
REGION_RODATA: u64 = 1
REGION_DATA: u64 = 2
REGIONS: u64 = 3


@struct
class Cell:
    name: u64        # name handle (kernel_src.names)
    sections: u64
    bytes: u64
    core: bool       # part of the nano_core (linked by the host)
    alive: bool
    region_at: Array[u64, 3]      # REGIONS: where each region starts (0: none)
    region_size: Array[u64, 3]    # REGIONS: its bytes, as asked for (not rounded)


@struct
class Section:
    name: u64        # qualified name handle: "cell::symbol"
    cell: u64        # index into all_cells
    kind: u8
    addr: u64
    size: u64
    alive: bool


@struct
class Dep:
    src: u64         # section that depends...
    dst: u64         # ...on this one
    count: u64       # relocations that tie them; 0: a dead record


@struct
class Reloc:
    section: u64     # section patched; NONE: a dead record
    offset: u64
    rtype: u32
    addend: i64
    target: u64      # section the relocation points into
    symbol: u64      # name handle of the global it was resolved by, or 0


all_cells: Array[Cell, 256] = [Cell() for _ in range(256)]                # params.MAX_CELLS
all_sections: Array[Section, 4096] = [Section() for _ in range(4096)]     # params.MAX_SECTIONS
all_deps: Array[Dep, 16384] = [Dep() for _ in range(16384)]               # params.MAX_DEPS
all_relocs: Array[Reloc, 16384] = [Reloc() for _ in range(16384)]         # params.MAX_RELOCS
# Where the live record of a dependency (src, dst) is: open addressing on
# hash(src, dst), each slot d + 1 (0: empty).  A record that dies leaves its
# slot behind (skipped: it no longer matches); when live and stale slots fill
# three quarters, the index is rebuilt from the live records.  Without it,
# add_dep scanned every dependency for each relocation of a load, which
# made the boot quadratic in the graph (most of it, under an emulating KVM).
_dep_index: Array[u64, 32768] = [0] * 32768                           # params.DEP_SLOTS
_dep_index_used: u64 = 0
# High-water marks (iterate up to these, skipping dead records) and how
# many dead records lie below them (when 0, a new record is appended).
n_cells: u64 = 0
n_sections: u64 = 0
n_deps: u64 = 0
n_relocs: u64 = 0
_dead_sections: u64 = 0
_dead_deps: u64 = 0
_dead_relocs: u64 = 0

# The cells created by the transaction in progress (see rec_begin).
_txn: Array[u64, 16] = [0] * 16                                       # params.MAX_TXN_CELLS
_ntxn: u64 = 0
_in_txn: bool = False


def rec_begin() -> None:
    """Start a transaction: rec_rollback() kills every cell created after this."""
    global _ntxn, _in_txn
    _ntxn = 0
    _in_txn = True


def rec_commit() -> None:
    """End the transaction, keeping its records."""
    global _in_txn
    _in_txn = False


def rec_rollback() -> None:
    """Kill every record of the cells created since rec_begin()."""
    global _ntxn, _in_txn
    for t in range(_ntxn):
        kill_cell(_txn[t])
    _ntxn = 0
    _in_txn = False


def add_cell(name: u64, core: bool) -> u64:
    """Record a cell; its index, or NONE when the table is full."""
    global n_cells, _ntxn
    c: u64 = n_cells
    for k in range(n_cells):
        if not all_cells[k].alive:
            c = k
            break
    if c >= MAX_CELLS or (_in_txn and _ntxn >= MAX_TXN_CELLS):
        return NONE
    if c == n_cells:
        n_cells += 1
    all_cells[c].name = name
    all_cells[c].sections = 0
    all_cells[c].bytes = 0
    all_cells[c].core = core
    all_cells[c].alive = True
    for r in range(REGIONS):
        all_cells[c].region_at[r] = 0
        all_cells[c].region_size[r] = 0
    if _in_txn:
        _txn[_ntxn] = c
        _ntxn += 1
    return c


def add_section(name: u64, cell: u64, kind: u8, addr: u64, size: u64) -> u64:
    """Record a loaded section of a cell; its index, or NONE when full."""
    global n_sections, _dead_sections
    s: u64 = n_sections
    if _dead_sections > 0:
        for k in range(n_sections):
            if not all_sections[k].alive:
                s = k
                _dead_sections -= 1
                break
    if s >= MAX_SECTIONS:
        return NONE
    if s == n_sections:
        n_sections += 1
    all_sections[s].name = name
    all_sections[s].cell = cell
    all_sections[s].kind = kind
    all_sections[s].addr = addr
    all_sections[s].size = size
    all_sections[s].alive = True
    all_cells[cell].sections += 1
    all_cells[cell].bytes += size
    return s


def _dep_slot(src: u64, dst: u64) -> u64:
    # A 64-bit mix of the pair; its high bits pick the first slot.
    h: u64 = wrapping_mul(src ^ wrapping_mul(dst, 0x9E3779B97F4A7C15, u64), 0xBF58476D1CE4E5B9, u64)
    return (h >> 40) & (DEP_SLOTS - 1)


def _dep_find(src: u64, dst: u64) -> u64:
    # The live record of (src, dst), or NONE.
    i: u64 = _dep_slot(src, dst)
    for probe in range(DEP_SLOTS):
        e: u64 = _dep_index[i]
        if e == 0:
            return NONE
        d: u64 = e - 1
        if all_deps[d].count != 0 and all_deps[d].src == src and all_deps[d].dst == dst:
            return d
        i = (i + 1) & (DEP_SLOTS - 1)
    return NONE


def _dep_put(d: u64) -> None:
    # Index record d (its slot: the first empty one from its hash).
    global _dep_index_used
    i: u64 = _dep_slot(all_deps[d].src, all_deps[d].dst)
    while _dep_index[i] != 0:
        i = (i + 1) & (DEP_SLOTS - 1)
    _dep_index[i] = d + 1
    _dep_index_used += 1


def _dep_index_add(d: u64) -> None:
    # Index a new record; rebuild from the live ones first when the stale
    # slots have filled the index (live records are at most half of it).
    global _dep_index_used
    if _dep_index_used >= DEP_SLOTS // 4 * 3:
        for i in range(DEP_SLOTS):
            _dep_index[i] = 0
        _dep_index_used = 0
        for k in range(n_deps):
            if all_deps[k].count != 0 and k != d:
                _dep_put(k)
    _dep_put(d)


def add_dep(src: u64, dst: u64, n: u64) -> bool:
    """Record that section src depends on section dst (n more relocations)."""
    global n_deps, _dead_deps
    if src == dst:
        return True
    found: u64 = _dep_find(src, dst)
    if found != NONE:
        all_deps[found].count += n
        return True
    free: u64 = NONE
    if _dead_deps > 0:
        for k in range(n_deps):      # the last dead record, as the index was not there to say
            if all_deps[n_deps - 1 - k].count == 0:
                free = n_deps - 1 - k
                break
    if free == NONE:
        if n_deps >= MAX_DEPS:
            return False
        free = n_deps
        n_deps += 1
    else:
        _dead_deps -= 1
    all_deps[free].src = src
    all_deps[free].dst = dst
    all_deps[free].count = n
    _dep_index_add(free)
    return True


def add_reloc(section: u64, offset: u64, rtype: u32, addend: i64, target: u64, symbol: u64) -> bool:
    """Keep an applied relocation (for hot swap); False when the table is full."""
    global n_relocs, _dead_relocs
    r: u64 = n_relocs
    if _dead_relocs > 0:
        for k in range(n_relocs):
            if all_relocs[k].section == NONE:
                r = k
                _dead_relocs -= 1
                break
    if r >= MAX_RELOCS:
        return False
    if r == n_relocs:
        n_relocs += 1
    all_relocs[r].section = section
    all_relocs[r].offset = offset
    all_relocs[r].rtype = rtype
    all_relocs[r].addend = addend
    all_relocs[r].target = target
    all_relocs[r].symbol = symbol
    return True


def kill_cell(c: u64) -> None:
    """Kill cell c and every record of its sections: their relocations and
    the dependencies from or to them."""
    global _dead_sections, _dead_deps, _dead_relocs
    for r in range(n_relocs):
        if all_relocs[r].section != NONE and all_sections[all_relocs[r].section].cell == c:
            all_relocs[r].section = NONE
            _dead_relocs += 1
    for d in range(n_deps):
        if all_deps[d].count != 0 and (all_sections[all_deps[d].src].cell == c
                                    or all_sections[all_deps[d].dst].cell == c):
            all_deps[d].count = 0
            _dead_deps += 1
    for s in range(n_sections):
        if all_sections[s].alive and all_sections[s].cell == c:
            all_sections[s].alive = False
            _dead_sections += 1
    all_cells[c].alive = False


def redirect(old: u64, new: u64) -> None:
    """Dependencies and relocations that pointed at section old now point at new."""
    global _dead_deps
    for r in range(n_relocs):
        if all_relocs[r].section != NONE and all_relocs[r].target == old:
            all_relocs[r].target = new
    for d in range(n_deps):
        if all_deps[d].count != 0 and all_deps[d].dst == old:
            n: u64 = all_deps[d].count
            src: u64 = all_deps[d].src
            all_deps[d].count = 0
            _dead_deps += 1
            add_dep(src, new, n)


def move_dep(src: u64, old: u64, new: u64) -> None:
    """One relocation of section src moved from pointing at old to new."""
    global _dead_deps
    d: u64 = _dep_find(src, old)
    if d != NONE:
        all_deps[d].count -= 1
        if all_deps[d].count == 0:
            _dead_deps += 1
    add_dep(src, new, 1)


def reloc_retarget(r: u64, new: u64) -> None:
    """Relocation r now points into section new."""
    all_relocs[r].target = new


def dep_alive(d: u64) -> bool:
    """Is dependency record d in use?"""
    return all_deps[d].count != 0


def reloc_alive(r: u64) -> bool:
    """Is relocation record r in use?"""
    return all_relocs[r].section != NONE


def set_cell_region(c: u64, r: u64, addr: u64, size: u64) -> None:
    """Cell c's region r (REGION_TEXT...) is [addr, addr + size)."""
    all_cells[c].region_at[r] = addr
    all_cells[c].region_size[r] = size


def find_cell(name: u64) -> u64:
    """Index of the live cell with this (kept) name handle, or NONE."""
    for c in range(n_cells):
        if all_cells[c].alive and all_cells[c].name == name:
            return c
    return NONE


def section_at(addr: u64) -> u64:
    """The live section containing addr, or NONE (names a faulting function)."""
    for s in range(n_sections):
        if all_sections[s].alive and all_sections[s].addr <= addr \
                and addr < all_sections[s].addr + all_sections[s].size:
            return s
    return NONE

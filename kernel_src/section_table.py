"""section_table: the live section-dependency graph, as the loader records it.

One record per loaded cell, per loaded section (a function or a global),
per dependency between two sections (with how many relocations tie them)
and per applied relocation (kept so that a hot swap can rewrite it).

Records live in fixed tables; a record that dies (a swapped-out cell's, or
a refused load's) is marked dead and its slot is used again, so the kernel
can swap cells forever without running out.  Indices of live records never
change.  Loads are transactions: rec_begin() ... rec_rollback() kills every
record of the cells created since, so a refused cell leaves no trace.
(Longer than most cells for one reason: the cell language has no public
globals, so every field other cells read has a one-line reader here.)
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
    cell: u64        # index into _cells
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


_cells: Array[Cell, 128] = [Cell() for _ in range(128)]                # params.MAX_CELLS
_sections: Array[Section, 4096] = [Section() for _ in range(4096)]     # params.MAX_SECTIONS
_deps: Array[Dep, 16384] = [Dep() for _ in range(16384)]               # params.MAX_DEPS
_relocs: Array[Reloc, 16384] = [Reloc() for _ in range(16384)]         # params.MAX_RELOCS
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
_ncells: u64 = 0
_nsections: u64 = 0
_ndeps: u64 = 0
_nrelocs: u64 = 0
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
    global _ncells, _ntxn
    c: u64 = _ncells
    for k in range(_ncells):
        if not _cells[k].alive:
            c = k
            break
    if c >= MAX_CELLS or (_in_txn and _ntxn >= MAX_TXN_CELLS):
        return NONE
    if c == _ncells:
        _ncells += 1
    _cells[c].name = name
    _cells[c].sections = 0
    _cells[c].bytes = 0
    _cells[c].core = core
    _cells[c].alive = True
    for r in range(REGIONS):
        _cells[c].region_at[r] = 0
        _cells[c].region_size[r] = 0
    if _in_txn:
        _txn[_ntxn] = c
        _ntxn += 1
    return c


def add_section(name: u64, cell: u64, kind: u8, addr: u64, size: u64) -> u64:
    """Record a loaded section of a cell; its index, or NONE when full."""
    global _nsections, _dead_sections
    s: u64 = _nsections
    if _dead_sections > 0:
        for k in range(_nsections):
            if not _sections[k].alive:
                s = k
                _dead_sections -= 1
                break
    if s >= MAX_SECTIONS:
        return NONE
    if s == _nsections:
        _nsections += 1
    _sections[s].name = name
    _sections[s].cell = cell
    _sections[s].kind = kind
    _sections[s].addr = addr
    _sections[s].size = size
    _sections[s].alive = True
    _cells[cell].sections += 1
    _cells[cell].bytes += size
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
        if _deps[d].count != 0 and _deps[d].src == src and _deps[d].dst == dst:
            return d
        i = (i + 1) & (DEP_SLOTS - 1)
    return NONE


def _dep_put(d: u64) -> None:
    # Index record d (its slot: the first empty one from its hash).
    global _dep_index_used
    i: u64 = _dep_slot(_deps[d].src, _deps[d].dst)
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
        for k in range(_ndeps):
            if _deps[k].count != 0 and k != d:
                _dep_put(k)
    _dep_put(d)


def add_dep(src: u64, dst: u64, n: u64) -> bool:
    """Record that section src depends on section dst (n more relocations)."""
    global _ndeps, _dead_deps
    if src == dst:
        return True
    found: u64 = _dep_find(src, dst)
    if found != NONE:
        _deps[found].count += n
        return True
    free: u64 = NONE
    if _dead_deps > 0:
        for k in range(_ndeps):      # the last dead record, as the index was not there to say
            if _deps[_ndeps - 1 - k].count == 0:
                free = _ndeps - 1 - k
                break
    if free == NONE:
        if _ndeps >= MAX_DEPS:
            return False
        free = _ndeps
        _ndeps += 1
    else:
        _dead_deps -= 1
    _deps[free].src = src
    _deps[free].dst = dst
    _deps[free].count = n
    _dep_index_add(free)
    return True


def add_reloc(section: u64, offset: u64, rtype: u32, addend: i64, target: u64, symbol: u64) -> bool:
    """Keep an applied relocation (for hot swap); False when the table is full."""
    global _nrelocs, _dead_relocs
    r: u64 = _nrelocs
    if _dead_relocs > 0:
        for k in range(_nrelocs):
            if _relocs[k].section == NONE:
                r = k
                _dead_relocs -= 1
                break
    if r >= MAX_RELOCS:
        return False
    if r == _nrelocs:
        _nrelocs += 1
    _relocs[r].section = section
    _relocs[r].offset = offset
    _relocs[r].rtype = rtype
    _relocs[r].addend = addend
    _relocs[r].target = target
    _relocs[r].symbol = symbol
    return True


def kill_cell(c: u64) -> None:
    """Kill cell c and every record of its sections: their relocations and
    the dependencies from or to them."""
    global _dead_sections, _dead_deps, _dead_relocs
    for r in range(_nrelocs):
        if _relocs[r].section != NONE and _sections[_relocs[r].section].cell == c:
            _relocs[r].section = NONE
            _dead_relocs += 1
    for d in range(_ndeps):
        if _deps[d].count != 0 and (_sections[_deps[d].src].cell == c
                                    or _sections[_deps[d].dst].cell == c):
            _deps[d].count = 0
            _dead_deps += 1
    for s in range(_nsections):
        if _sections[s].alive and _sections[s].cell == c:
            _sections[s].alive = False
            _dead_sections += 1
    _cells[c].alive = False


def redirect(old: u64, new: u64) -> None:
    """Dependencies and relocations that pointed at section old now point at new."""
    global _dead_deps
    for r in range(_nrelocs):
        if _relocs[r].section != NONE and _relocs[r].target == old:
            _relocs[r].target = new
    for d in range(_ndeps):
        if _deps[d].count != 0 and _deps[d].dst == old:
            n: u64 = _deps[d].count
            src: u64 = _deps[d].src
            _deps[d].count = 0
            _dead_deps += 1
            add_dep(src, new, n)


def move_dep(src: u64, old: u64, new: u64) -> None:
    """One relocation of section src moved from pointing at old to new."""
    global _dead_deps
    d: u64 = _dep_find(src, old)
    if d != NONE:
        _deps[d].count -= 1
        if _deps[d].count == 0:
            _dead_deps += 1
    add_dep(src, new, 1)


def reloc_retarget(r: u64, new: u64) -> None:
    """Relocation r now points into section new."""
    _relocs[r].target = new


def cell_count() -> u64:
    """Upper bound of cell indices (check cell_alive)."""
    return _ncells


def section_count() -> u64:
    """Upper bound of section indices (check section_alive)."""
    return _nsections


def dep_count() -> u64:
    """Upper bound of dependency indices (check dep_alive)."""
    return _ndeps


def reloc_count() -> u64:
    """Upper bound of relocation indices (check reloc_alive)."""
    return _nrelocs


def cell_alive(c: u64) -> bool:
    """Is cell c loaded?"""
    return _cells[c].alive


def section_alive(s: u64) -> bool:
    """Is section s loaded?"""
    return _sections[s].alive


def dep_alive(d: u64) -> bool:
    """Is dependency record d in use?"""
    return _deps[d].count != 0


def reloc_alive(r: u64) -> bool:
    """Is relocation record r in use?"""
    return _relocs[r].section != NONE


def cell_name(c: u64) -> u64:
    """Name handle of cell c."""
    return _cells[c].name


def cell_sections(c: u64) -> u64:
    """How many sections cell c has."""
    return _cells[c].sections


def cell_bytes(c: u64) -> u64:
    """Bytes of cell c's sections."""
    return _cells[c].bytes


def set_cell_region(c: u64, r: u64, addr: u64, size: u64) -> None:
    """Cell c's region r (REGION_TEXT...) is [addr, addr + size)."""
    _cells[c].region_at[r] = addr
    _cells[c].region_size[r] = size


def cell_region_at(c: u64, r: u64) -> u64:
    """Where cell c's region r starts (0: it has none)."""
    return _cells[c].region_at[r]


def cell_region_size(c: u64, r: u64) -> u64:
    """How many bytes cell c's region r holds."""
    return _cells[c].region_size[r]


def cell_core(c: u64) -> bool:
    """Is cell c part of the nano_core?"""
    return _cells[c].core


def find_cell(name: u64) -> u64:
    """Index of the live cell with this (kept) name handle, or NONE."""
    for c in range(_ncells):
        if _cells[c].alive and _cells[c].name == name:
            return c
    return NONE


def section_name(s: u64) -> u64:
    """Qualified name handle of section s."""
    return _sections[s].name


def section_cell(s: u64) -> u64:
    """Cell index of section s."""
    return _sections[s].cell


def section_kind(s: u64) -> u8:
    """Kind of section s (KIND_TEXT...)."""
    return _sections[s].kind


def section_addr(s: u64) -> u64:
    """Load address of section s."""
    return _sections[s].addr


def section_size(s: u64) -> u64:
    """Size of section s."""
    return _sections[s].size


def dep_src(d: u64) -> u64:
    """The depending section of dependency d."""
    return _deps[d].src


def dep_dst(d: u64) -> u64:
    """The section dependency d points to."""
    return _deps[d].dst


def dep_weight(d: u64) -> u64:
    """How many relocations make dependency d."""
    return _deps[d].count


def reloc_section(r: u64) -> u64:
    """Section patched by relocation r."""
    return _relocs[r].section


def reloc_offset(r: u64) -> u64:
    """Offset of relocation r in its section."""
    return _relocs[r].offset


def reloc_type(r: u64) -> u32:
    """ELF type of relocation r."""
    return _relocs[r].rtype


def reloc_addend(r: u64) -> i64:
    """Addend of relocation r."""
    return _relocs[r].addend


def reloc_target(r: u64) -> u64:
    """Section relocation r points into."""
    return _relocs[r].target


def reloc_symbol(r: u64) -> u64:
    """Name handle of the global relocation r was resolved by (0: local)."""
    return _relocs[r].symbol


def section_at(addr: u64) -> u64:
    """The live section containing addr, or NONE (names a faulting function)."""
    for s in range(_nsections):
        if _sections[s].alive and _sections[s].addr <= addr \
                and addr < _sections[s].addr + _sections[s].size:
            return s
    return NONE

"""placement: where the sections of the cell objects being loaded went.

Design note.  A cell's sections are grouped by the page permissions they
need into up to three regions, each a block of whole pages from the heap:
code (mapped read-execute once relocated), read-only data (read-only, not
executable) and data with bss (read-write, not executable).  So a cell's
code is never writable and its data never executable, and a hot swap
still replaces one cell's memory without touching any other's.  Each
section gets a section record, named by the same rule as the host's graph.
Placements are kept per staged object (slot t of the loader's
transaction, MAX_STAGED of them), so a swap of several cells can go back
and forth between their objects without copying anything; use(t) says
which one the readers below are about.  The ELF object itself must be the
open one (elf.open_object) while they are used.
"""
# cell: unsafe
from theseus_nb.lang.prelude import *
from theseus_nb.lang.unsafe import load8, store8, store64
from kernel_src.params import MAX_OBJECT_SECTIONS
from kernel_src.elf import (SHT_NOBITS, SHF_ALLOC, SHF_WRITE, SHF_EXEC, shnum, sh_type, sh_flags,
                            sh_size, sh_align, section_data, section_name_addr, section_name_len,
                            symbol_count, symbol_section, symbol_value, symbol_size,
                            symbol_is_global, symbol_names_thing, symbol_name_addr,
                            symbol_name_len)
from kernel_src.heap import alloc_pages, free_pages
from kernel_src.paging import PERM_RX, PERM_RO, PERM_RW, protect
from kernel_src.names import (mem_equal, name_addr, name_len, name_begin, name_append_mem,
                              name_append_str, name_end, name_keep)
from kernel_src.section_table import (NONE, KIND_TEXT, KIND_RODATA, KIND_DATA, KIND_BSS,
                                      REGION_TEXT, REGION_RODATA, REGION_DATA, REGIONS,
                                      add_section, set_cell_region, all_cells)

_addr: Array[u64, 2048] = [0] * 2048     # params.MAX_STAGED * params.MAX_OBJECT_SECTIONS; 0: not placed
_rec: Array[u64, 2048] = [0] * 2048      # params.MAX_STAGED * params.MAX_OBJECT_SECTIONS
_region_at: Array[u64, 24] = [0] * 24    # params.MAX_STAGED * 3 (section_table.REGIONS)
_region_size: Array[u64, 24] = [0] * 24  # params.MAX_STAGED * 3
_stub_off: Array[u64, 8] = [0] * 8       # params.MAX_STAGED: where the gate stubs start in the code region
_reserve: u64 = 0                        # bytes of stubs the next place_sections() leaves after the code
_t: u64 = 0                              # the staged object the readers are about
_failed_at: u64 = 0                      # the section place_sections() could not place


def use(t: u64) -> None:
    """The readers below are about staged object t from now on."""
    global _t
    _t = t


def forget(t: u64) -> None:
    """Staged object t has no sections yet (a new stage, or after a commit)."""
    for i in range(MAX_OBJECT_SECTIONS):
        _addr[t * MAX_OBJECT_SECTIONS + i] = 0
    for r in range(REGIONS):
        _region_at[t * REGIONS + r] = 0
        _region_size[t * REGIONS + r] = 0


def placed_addr(i: u64) -> u64:
    """Where section i of the object went (0: not loaded)."""
    return _addr[_t * MAX_OBJECT_SECTIONS + i]


def placed_rec(i: u64) -> u64:
    """The section record of section i of the object."""
    return _rec[_t * MAX_OBJECT_SECTIONS + i]


def kind_of(i: u64) -> u8:
    """KIND_TEXT, KIND_RODATA, KIND_DATA or KIND_BSS for section i, by its flags."""
    if sh_type(i) == SHT_NOBITS:
        return KIND_BSS
    if sh_flags(i) & SHF_EXEC != 0:
        return KIND_TEXT
    if sh_flags(i) & SHF_WRITE != 0:
        return KIND_DATA
    return KIND_RODATA


def _region_of(kind: u8) -> u64:
    if kind == KIND_TEXT:
        return REGION_TEXT
    if kind == KIND_RODATA:
        return REGION_RODATA
    return REGION_DATA


def _loadable(i: u64) -> bool:
    # The host's rule (objects.parse_object): allocatable, and either it has
    # bytes or a named symbol lives in it (an empty string literal does).
    if sh_flags(i) & SHF_ALLOC == 0:
        return False
    if sh_size(i) > 0:
        return True
    for k in range(1, symbol_count()):
        if symbol_section(k) == i and symbol_names_thing(k):
            return True
    return False


def _has_colons(addr: u64, n: u64) -> bool:
    for i in range(1, n):
        if load8(addr + i - 1) == 58 and load8(addr + i) == 58:
            return True
    return False


def _section_title(cell: u64, i: u64) -> u64:
    # The same rule as CellObject.symbol_of on the host: the first function,
    # object or untyped symbol at offset 0, global before local, else the
    # section's own name; qualified with the cell unless it already is.
    best: u64 = NONE
    for want_global in range(2):
        for k in range(1, symbol_count()):
            if best == NONE and symbol_section(k) == i and symbol_value(k) == 0 \
                    and symbol_names_thing(k) and symbol_is_global(k) == (want_global == 0):
                best = k
    name_begin()
    if best == NONE:
        name_append_mem(name_addr(all_cells[cell].name), name_len(all_cells[cell].name))
        name_append_str("::")
        name_append_mem(section_name_addr(i), section_name_len(i))
    else:
        a: u64 = symbol_name_addr(best)
        n: u64 = symbol_name_len(best)
        if not _has_colons(a, n):
            name_append_mem(name_addr(all_cells[cell].name), name_len(all_cells[cell].name))
            name_append_str("::")
        name_append_mem(a, n)
    return name_keep(name_end())


def _align_up(v: u64, a: u64) -> u64:
    return (v + a - 1) // a * a


def place_sections(cell: u64) -> str:
    """Lay the loadable sections of the open object out in cell's regions and
    copy them in, read-write for now (protect_placed() once relocated), and
    record each; "" when done, else why not (failed_at() names the section)."""
    global _failed_at
    base: u64 = _t * MAX_OBJECT_SECTIONS
    n: u64 = shnum()
    _failed_at = 0
    # First the layout: _addr holds each section's offset + 1 in its region.
    for i in range(n):
        if _loadable(i):
            r: u64 = _t * REGIONS + _region_of(kind_of(i))
            at: u64 = _align_up(_region_size[r], sh_align(i))
            _addr[base + i] = at + 1
            _region_size[r] = at + max(sh_size(i), 1)    # an empty section gets an address too
    if _reserve > 0:
        # An isolated cell's gate stubs (gates.py) follow its code, in its own pages.
        rt: u64 = _t * REGIONS + REGION_TEXT
        _stub_off[_t] = _align_up(_region_size[rt], 16)
        _region_size[rt] = _stub_off[_t] + _reserve
    for r in range(REGIONS):
        size: u64 = _region_size[_t * REGIONS + r]
        if size > 0:
            a: u64 = alloc_pages(size)
            if a == 0:
                for i in range(n):
                    if _addr[base + i] != 0 and _region_of(kind_of(i)) == r:
                        _failed_at = i
                return "out of kernel heap"
            _region_at[_t * REGIONS + r] = a
            set_cell_region(cell, r, a, size)
            for w in range(0, _align_up(size, 8), 8):
                store64(a + w, 0)
    for i in range(n):
        if _addr[base + i] != 0:
            a2: u64 = _region_at[_t * REGIONS + _region_of(kind_of(i))] + _addr[base + i] - 1
            _addr[base + i] = a2
            if sh_type(i) != SHT_NOBITS:
                src: u64 = section_data(i)
                for b in range(sh_size(i)):
                    store8(a2 + b, load8(src + b))
            rec: u64 = add_section(_section_title(cell, i), cell, kind_of(i), a2, sh_size(i))
            if rec == NONE:
                return "section table full"
            _rec[base + i] = rec
    return ""


def reserve_stubs(size: u64) -> None:
    """The next place_sections() leaves size bytes after the code for gate stubs."""
    global _reserve
    _reserve = size


def stub_area() -> u64:
    """Where the gate stubs of the staged object go (after reserve_stubs())."""
    return _region_at[_t * REGIONS + REGION_TEXT] + _stub_off[_t]


def failed_at() -> u64:
    """The section the last place_sections() failed on (0: none in particular)."""
    return _failed_at


def protect_placed(data_too: bool) -> bool:
    """Map the code of the object read-execute and its read-only data
    read-only (after its relocations are applied); data_too: its data too,
    read-write, so that all three regions have 4 KiB pages of their own
    now (an isolated cell's, which user_pages.map_cell makes user pages and back
    at task switches); False if paging cannot."""
    r: u64 = _t * REGIONS
    ok: bool = True
    if _region_at[r + REGION_TEXT] != 0:
        ok = protect(_region_at[r + REGION_TEXT], _region_size[r + REGION_TEXT], PERM_RX)
    if ok and _region_at[r + REGION_RODATA] != 0:
        ok = protect(_region_at[r + REGION_RODATA], _region_size[r + REGION_RODATA], PERM_RO)
    if ok and data_too and _region_at[r + REGION_DATA] != 0:
        ok = protect(_region_at[r + REGION_DATA], _region_size[r + REGION_DATA], PERM_RW)
    return ok


def free_placed(t: u64) -> None:
    """Free the regions of staged object t (a refused transaction)."""
    for r in range(REGIONS):
        if _region_at[t * REGIONS + r] != 0:
            free_pages(_region_at[t * REGIONS + r], _region_size[t * REGIONS + r])
            _region_at[t * REGIONS + r] = 0
    for i in range(MAX_OBJECT_SECTIONS):
        _addr[t * MAX_OBJECT_SECTIONS + i] = 0


# ---- the open object's globals, as placed (the queries a hot swap makes) ----

def global_count() -> u64:
    """Number of symbol-table entries of the open object (for walking its globals)."""
    return symbol_count()


def global_at(k: u64) -> bool:
    """Is entry k of the open object a defined global in a loaded section?"""
    shndx: u64 = symbol_section(k)
    return symbol_is_global(k) and shndx != 0 and shndx < shnum() and placed_addr(shndx) != 0


def exports(a: u64, n: u64) -> bool:
    """Does the open object define the global symbol named by the n bytes at a?"""
    return object_global(a, n) != 0


def object_global(a: u64, n: u64) -> u64:
    """Entry of the open object's defined global named by the n bytes at a (0: none)."""
    for k in range(1, symbol_count()):
        if global_at(k) and symbol_name_len(k) == n and mem_equal(symbol_name_addr(k), a, n):
            return k
    return 0


def global_name_addr(k: u64) -> u64:
    """Address of the name of entry k."""
    return symbol_name_addr(k)


def global_name_len(k: u64) -> u64:
    """Length of the name of entry k."""
    return symbol_name_len(k)


def global_addr(k: u64) -> u64:
    """Load address of entry k."""
    return placed_addr(symbol_section(k)) + symbol_value(k)


def global_size(k: u64) -> u64:
    """Size of entry k's symbol."""
    return symbol_size(k)


def global_section(k: u64) -> u64:
    """Section record of entry k."""
    return placed_rec(symbol_section(k))


def global_is_data(k: u64) -> bool:
    """Is entry k a global variable (data or bss, not code or a constant)?"""
    kind: u8 = kind_of(symbol_section(k))
    return kind == KIND_DATA or kind == KIND_BSS

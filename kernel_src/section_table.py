"""section_table: the live section-dependency graph, as the loader records it.

One record per loaded cell, per loaded section (a function or a global),
per dependency between two sections (with how many relocations tie them)
and per applied relocation (kept so that a hot swap can rewrite it).
Records are appended; a failed load truncates back to where it started, so
a refused cell leaves no trace.
"""
from theseus_nb.lang.prelude import *
from kernel_src.params import MAX_CELLS, MAX_SECTIONS, MAX_DEPS, MAX_RELOCS

KIND_TEXT: u8 = 0
KIND_RODATA: u8 = 1
KIND_DATA: u8 = 2
KIND_BSS: u8 = 3
NONE: u64 = 0xFFFFFFFFFFFFFFFF


@struct
class Cell:
    name: u64        # name handle (kernel_src.names)
    sections: u64
    bytes: u64
    core: bool       # part of the nano_core (linked by the host)


@struct
class Section:
    name: u64        # qualified name handle: "cell::symbol"
    cell: u64        # index into _cells
    kind: u8
    addr: u64
    size: u64


@struct
class Dep:
    src: u64         # section that depends...
    dst: u64         # ...on this one
    count: u64       # relocations that tie them


@struct
class Reloc:
    section: u64     # section patched
    offset: u64
    rtype: u32
    addend: i64
    target: u64      # section the relocation points into
    symbol: u64      # name handle of the global it was resolved by, or 0


_cells: Array[Cell, 64] = [Cell() for _ in range(64)]
_sections: Array[Section, 1024] = [Section() for _ in range(1024)]
_deps: Array[Dep, 4096] = [Dep() for _ in range(4096)]
_relocs: Array[Reloc, 8192] = [Reloc() for _ in range(8192)]
_ncells: u64 = 0
_nsections: u64 = 0
_ndeps: u64 = 0
_nrelocs: u64 = 0

# Saved counts of the transaction in progress (see begin/rollback).
_mark_cells: u64 = 0
_mark_sections: u64 = 0
_mark_deps: u64 = 0
_mark_relocs: u64 = 0


def rec_begin() -> None:
    """Start recording a cell's load; rec_rollback() undoes everything since."""
    global _mark_cells, _mark_sections, _mark_deps, _mark_relocs
    _mark_cells = _ncells
    _mark_sections = _nsections
    _mark_deps = _ndeps
    _mark_relocs = _nrelocs


def rec_rollback() -> None:
    """Forget every record made since rec_begin()."""
    global _ncells, _nsections, _ndeps, _nrelocs
    for d in range(_mark_deps, _ndeps):
        _deps[d].count = 0
    _ncells = _mark_cells
    _nsections = _mark_sections
    _ndeps = _mark_deps
    _nrelocs = _mark_relocs


def add_cell(name: u64, core: bool) -> u64:
    """Record a cell; its index, or NONE when the table is full."""
    global _ncells
    if _ncells >= MAX_CELLS:
        return NONE
    c: u64 = _ncells
    _cells[c].name = name
    _cells[c].sections = 0
    _cells[c].bytes = 0
    _cells[c].core = core
    _ncells += 1
    return c


def add_section(name: u64, cell: u64, kind: u8, addr: u64, size: u64) -> u64:
    """Record a loaded section of a cell; its index, or NONE when full."""
    global _nsections
    if _nsections >= MAX_SECTIONS:
        return NONE
    s: u64 = _nsections
    _sections[s].name = name
    _sections[s].cell = cell
    _sections[s].kind = kind
    _sections[s].addr = addr
    _sections[s].size = size
    _cells[cell].sections += 1
    _cells[cell].bytes += size
    _nsections += 1
    return s


def add_dep(src: u64, dst: u64, n: u64) -> bool:
    """Record that section src depends on section dst (n more relocations)."""
    global _ndeps
    if src == dst:
        return True
    for d in range(_ndeps):
        if _deps[d].src == src and _deps[d].dst == dst:
            _deps[d].count += n
            return True
    if _ndeps >= MAX_DEPS:
        return False
    _deps[_ndeps].src = src
    _deps[_ndeps].dst = dst
    _deps[_ndeps].count = n
    _ndeps += 1
    return True


def add_reloc(section: u64, offset: u64, rtype: u32, addend: i64, target: u64, symbol: u64) -> bool:
    """Keep an applied relocation (for hot swap); False when the table is full."""
    global _nrelocs
    if _nrelocs >= MAX_RELOCS:
        return False
    r: u64 = _nrelocs
    _relocs[r].section = section
    _relocs[r].offset = offset
    _relocs[r].rtype = rtype
    _relocs[r].addend = addend
    _relocs[r].target = target
    _relocs[r].symbol = symbol
    _nrelocs += 1
    return True


def cell_count() -> u64:
    """Number of cells recorded."""
    return _ncells


def section_count() -> u64:
    """Number of sections recorded."""
    return _nsections


def dep_count() -> u64:
    """Number of distinct dependencies recorded."""
    return _ndeps


def reloc_count() -> u64:
    """Number of relocations recorded."""
    return _nrelocs


def cell_name(c: u64) -> u64:
    """Name handle of cell c."""
    return _cells[c].name


def cell_sections(c: u64) -> u64:
    """How many sections cell c has."""
    return _cells[c].sections


def cell_bytes(c: u64) -> u64:
    """Bytes of cell c's sections."""
    return _cells[c].bytes


def cell_core(c: u64) -> bool:
    """Is cell c part of the nano_core?"""
    return _cells[c].core


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


def section_at(addr: u64) -> u64:
    """The section containing addr, or NONE (used to name a faulting function)."""
    for s in range(_nsections):
        if _sections[s].addr <= addr and addr < _sections[s].addr + _sections[s].size:
            return s
    return NONE

"""namespace: the kernel's symbol namespace, name -> (address, section).

Holds the nano_core's exported symbols (from the host's symbol file) and
every public symbol of every loaded cell; the loader resolves each
undefined symbol of a new cell here.  Open addressing on an FNV-1a hash of
the name; a removed symbol's slot is emptied and its probe cluster
re-inserted, and its table entry is used again (swaps go on forever).
"""
# cell: unsafe
from theseus_nb.lang.prelude import *
from theseus_nb.lang.unsafe import addr_of
from kernel_src.params import MAX_SYMBOLS, SYMBOL_SLOTS, SYMBOL_NAME_MAX
from kernel_src.names import hash_of, hash_mem, name_equals_mem, name_addr, name_len

NONE: u64 = 0xFFFFFFFFFFFFFFFF


@struct
class Symbol:
    name: u64      # name handle
    addr: u64
    section: u64   # index in kernel_src.section_table
    cell: u64
    sig: u64       # signature hash from the compiler (0: none recorded)
    alive: bool


_symbols: Array[Symbol, 4096] = [Symbol() for _ in range(4096)]   # params.MAX_SYMBOLS
_slots: Array[u64, 8192] = [0] * 8192     # params.SYMBOL_SLOTS: symbol index + 1; 0 = empty
_count: u64 = 0                           # high-water mark of _symbols
_live: u64 = 0
_name: Array[u8, 96] = [0] * 96           # params.SYMBOL_NAME_MAX: symbol_address()'s copy


def sym_find_mem(addr: u64, n: u64) -> u64:
    """Index of the symbol named by the n bytes at addr, or NONE."""
    h: u64 = hash_mem(addr, n) & (SYMBOL_SLOTS - 1)
    while _slots[h] != 0:
        s: u64 = _slots[h] - 1
        if name_equals_mem(_symbols[s].name, addr, n):
            return s
        h = (h + 1) & (SYMBOL_SLOTS - 1)
    return NONE


def symbol_address(s: str) -> u64:
    """Address of the namespace symbol named s (an assembly label too), or 0.

    Reads the namespace only, so it is safe inside an interrupt handler.
    """
    n: u64 = u64(len(s))
    if n > SYMBOL_NAME_MAX:
        return 0
    for i in range(n):
        _name[i] = u8(ord(s[i]))
    sym: u64 = sym_find_mem(addr_of(_name), n)
    if sym == NONE:
        return 0
    return _symbols[sym].addr


def sym_find(name: u64) -> u64:
    """Index of the symbol with this name handle, or NONE."""
    return sym_find_mem(name_addr(name), name_len(name))


def _insert(s: u64) -> None:
    h: u64 = hash_of(_symbols[s].name) & (SYMBOL_SLOTS - 1)
    while _slots[h] != 0:
        h = (h + 1) & (SYMBOL_SLOTS - 1)
    _slots[h] = s + 1


def sym_add(name: u64, addr: u64, section: u64, cell: u64, sig: u64) -> bool:
    """Define a symbol with the compiler's signature hash (0: none); False if
    the name is taken or the table is full."""
    global _count, _live
    if sym_find(name) != NONE:
        return False
    s: u64 = _count
    if _live < _count:
        for k in range(_count):
            if not _symbols[k].alive:
                s = k
                break
    if s >= MAX_SYMBOLS:
        return False
    if s == _count:
        _count += 1
    _symbols[s].name = name
    _symbols[s].addr = addr
    _symbols[s].section = section
    _symbols[s].cell = cell
    _symbols[s].sig = sig
    _symbols[s].alive = True
    _live += 1
    _insert(s)
    return True


def sym_remove(s: u64) -> None:
    """Remove symbol s from the namespace."""
    global _live
    h: u64 = hash_of(_symbols[s].name) & (SYMBOL_SLOTS - 1)
    while _slots[h] != s + 1:
        h = (h + 1) & (SYMBOL_SLOTS - 1)
    _slots[h] = 0
    # Linear probing: entries after the hole may now be unreachable, so the
    # rest of the cluster is inserted again.
    k: u64 = (h + 1) & (SYMBOL_SLOTS - 1)
    while _slots[k] != 0:
        moved: u64 = _slots[k] - 1
        _slots[k] = 0
        _insert(moved)
        k = (k + 1) & (SYMBOL_SLOTS - 1)
    _symbols[s].alive = False
    _live -= 1


def sym_remove_cell(cell: u64) -> None:
    """Remove every symbol of a cell (a refused load, or a swapped-out cell)."""
    for s in range(_count):
        if _symbols[s].alive and _symbols[s].cell == cell:
            sym_remove(s)


def sym_sig(s: u64) -> u64:
    """The signature hash of symbol s (0 if none was recorded)."""
    return _symbols[s].sig


def sym_alive(s: u64) -> bool:
    """Is table entry s a live symbol?"""
    return _symbols[s].alive


def sym_name(s: u64) -> u64:
    """Name handle of symbol s."""
    return _symbols[s].name


def sym_addr(s: u64) -> u64:
    """Address of symbol s."""
    return _symbols[s].addr


def sym_section(s: u64) -> u64:
    """Section index of symbol s."""
    return _symbols[s].section


def sym_cell(s: u64) -> u64:
    """Cell index of symbol s."""
    return _symbols[s].cell


def sym_count() -> u64:
    """Upper bound of symbol indices (check sym_alive)."""
    return _count

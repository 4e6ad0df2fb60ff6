"""namespace: the kernel's symbol namespace, name -> (address, section).

Holds the nano_core's exported symbols (from the host's symbol file) and
every public symbol of every loaded cell; the loader resolves each
undefined symbol of a new cell here.  Open addressing on an FNV-1a hash.
"""
# cell: unsafe
from theseus_nb.lang.prelude import *
from kernel_src.params import MAX_SYMBOLS
from kernel_src.names import hash_of, hash_mem, name_equals_mem, name_addr, name_len

NONE: u64 = 0xFFFFFFFFFFFFFFFF
_SLOTS: u64 = 4096              # power of two, at least 2 * MAX_SYMBOLS


@struct
class Symbol:
    name: u64      # name handle
    addr: u64
    section: u64   # index in kernel_src.sections
    cell: u64


_symbols: Array[Symbol, 2048] = [Symbol() for _ in range(2048)]
_slots: Array[u64, 4096] = [0] * 4096     # symbol index + 1; 0 = empty
_count: u64 = 0
_mark: u64 = 0


def sym_find_mem(addr: u64, n: u64) -> u64:
    """Index of the symbol named by the n bytes at addr, or NONE."""
    h: u64 = hash_mem(addr, n) & (_SLOTS - 1)
    while _slots[h] != 0:
        s: u64 = _slots[h] - 1
        if name_equals_mem(_symbols[s].name, addr, n):
            return s
        h = (h + 1) & (_SLOTS - 1)
    return NONE


def sym_find(name: u64) -> u64:
    """Index of the symbol with this name handle, or NONE."""
    return sym_find_mem(name_addr(name), name_len(name))


def sym_add(name: u64, addr: u64, section: u64, cell: u64) -> bool:
    """Define a symbol; False if the name is taken or the table is full."""
    global _count
    if _count >= MAX_SYMBOLS or sym_find(name) != NONE:
        return False
    s: u64 = _count
    _symbols[s].name = name
    _symbols[s].addr = addr
    _symbols[s].section = section
    _symbols[s].cell = cell
    h: u64 = hash_of(name) & (_SLOTS - 1)
    while _slots[h] != 0:
        h = (h + 1) & (_SLOTS - 1)
    _slots[h] = s + 1
    _count += 1
    return True


def sym_begin() -> None:
    """Start a transaction: sym_rollback() removes symbols added after this."""
    global _mark
    _mark = _count


def sym_rollback() -> None:
    """Remove every symbol added since sym_begin()."""
    global _count
    while _count > _mark:
        _count -= 1
        h: u64 = hash_of(_symbols[_count].name) & (_SLOTS - 1)
        while _slots[h] != _count + 1:
            h = (h + 1) & (_SLOTS - 1)
        _slots[h] = 0
        _rehash_after(h)


def _rehash_after(hole: u64) -> None:
    # Linear probing: entries after a hole may now be unreachable; re-insert
    # the rest of the cluster.
    h: u64 = (hole + 1) & (_SLOTS - 1)
    while _slots[h] != 0:
        s: u64 = _slots[h] - 1
        _slots[h] = 0
        k: u64 = hash_of(_symbols[s].name) & (_SLOTS - 1)
        while _slots[k] != 0:
            k = (k + 1) & (_SLOTS - 1)
        _slots[k] = s + 1
        h = (h + 1) & (_SLOTS - 1)


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
    """Number of symbols."""
    return _count


def sym_name(s: u64) -> u64:
    """Name handle of symbol s."""
    return _symbols[s].name

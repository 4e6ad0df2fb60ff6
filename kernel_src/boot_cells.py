"""boot_cells: load every cell of the boot archive at boot.

The first entry, "@nano_core", is the host linker's record of the nano_core
itself (see symfile); the others are cell objects, except "cell@version"
entries, which are kept for the `swap` command and not loaded at boot.  A cell whose symbols
are not all defined yet waits for a later pass, so the archive's order
does not matter; a refused cell is reported and the others still load.
"""
# cell: unsafe
from theseus_nb.lang.prelude import *
from theseus_nb.lang.unsafe import load8
from kernel_src.archive import (open_archive, entry_count, entry_name_addr, entry_name_len,
                                entry_data, entry_size, entry_check)
from kernel_src.serial import write, writeln, write_mem, write_u64, newline
from kernel_src.symfile import load_symfile
from kernel_src.loader import (load_object, reason, detail, missing_symbol, needed_by,
                               object_defines, detail_addr, detail_len)
from kernel_src.names import name_write
from kernel_src.section_table import NONE
from kernel_src.clock import cycles, to_us

_pending: Array[bool, 1024] = [False] * 1024     # params.MAX_ARCHIVE
load_cycles: Array[u64, 1024] = [0] * 1024      # params.MAX_ARCHIVE
total_load_cycles: u64 = 0
_size: u64 = 0                                   # of the archive load_core() opened


def _refuse(i: u64, why: str, what: str) -> None:
    write("loader: refused cell ")
    write_mem(entry_name_addr(i), entry_name_len(i))
    write(": ")
    write(why)
    if len(what) > 0:
        write(" '")
        write(what)
        write("'")
    newline()


def _is_symfile(i: u64) -> bool:
    return entry_name_len(i) > 0 and load8(entry_name_addr(i)) == 64     # "@"


def _is_version(i: u64) -> bool:
    for k in range(entry_name_len(i)):
        if load8(entry_name_addr(i) + k) == 64:
            return True
    return False


def load_core(base: u64, size: u64) -> bool:
    """Open the boot archive and record the nano_core itself from its first
    entry (the namespace then knows the nano_core's symbols); False if
    there is no usable archive."""
    global _size
    why: str = open_archive(base, size)
    if len(why) > 0:
        writeln(why)
        return False
    _size = size
    for i in range(entry_count()):
        if _is_symfile(i) and len(entry_check(i, size)) == 0:
            load_symfile(entry_data(i), entry_size(i))
            return True
    return False


def load_all() -> u64:
    """Load every cell of the archive load_core() opened; how many cells loaded."""
    global total_load_cycles
    size: u64 = _size
    n: u64 = entry_count()
    for i in range(n):
        bad: str = entry_check(i, size)
        if len(bad) > 0:
            _refuse(i, bad, "")
            _pending[i] = False
        elif _is_symfile(i):
            _pending[i] = False          # load_core() read it
        elif _is_version(i):
            _pending[i] = False          # "cell@2": kept for `swap cell=cell@2`
        else:
            _pending[i] = True
    loaded: u64 = 0
    progress: bool = True
    while progress:
        progress = False
        for i in range(n):
            if _pending[i]:
                start: u64 = cycles()
                cell: u64 = load_object(entry_name_addr(i), entry_name_len(i),
                                        entry_data(i), entry_size(i))
                if cell != NONE:
                    load_cycles[i] = cycles() - start
                    total_load_cycles += load_cycles[i]
                    _pending[i] = False
                    loaded += 1
                    progress = True
                elif not missing_symbol():
                    _refuse(i, reason(), detail())
                    _pending[i] = False
    for i in range(n):
        if _pending[i]:                  # still waiting: nothing will define it
            load_object(entry_name_addr(i), entry_name_len(i), entry_data(i), entry_size(i))
            _refuse_waiting(i, n)
    return loaded


def _refuse_waiting(i: u64, n: u64) -> None:
    # Say who needed the symbol, and whether another waiting cell defines
    # it: then the two wait for each other, a dependency cycle.
    what: str = detail()
    needer: u64 = needed_by()
    # Taken before the search: object_defines() opens other objects, and a
    # refusal there would replace the loader's detail.
    a: u64 = detail_addr()
    m: u64 = detail_len()
    cycle: u64 = NONE
    for k in range(n):
        if k != i and _pending[k] and cycle == NONE and \
                object_defines(entry_data(k), entry_size(k), a, m):
            cycle = k
    write("loader: refused cell ")
    write_mem(entry_name_addr(i), entry_name_len(i))
    if cycle == NONE:
        write(": unresolved symbol '")
    else:
        write(": dependency cycle: needs '")
    write(what)
    write("' for '")
    name_write(needer)
    write("'")
    if cycle != NONE:
        write(" from cell ")
        write_mem(entry_name_addr(cycle), entry_name_len(cycle))
        write(", which waits too")
    newline()



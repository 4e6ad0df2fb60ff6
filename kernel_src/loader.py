"""loader: load a cell's ELF object into the running kernel, section by section.

Design note.  Each allocatable section gets its own heap block (so a later
hot swap can replace one cell's sections without touching any other).
Every relocation is resolved either inside the object (local symbols) or
in the namespace (another cell's public symbol), applied, and recorded with
the dependency it creates.  Only when everything succeeded are the cell's
public symbols added to the namespace: a refused object leaves the kernel
exactly as it was (sections freed, records rolled back).
"""
# cell: unsafe
from theseus_nb.lang.prelude import *
from theseus_nb.lang.unsafe import load8, load16, load32, load64, store8, store32, store64, make_str
from kernel_src.elf import (SHT_SYMTAB, SHT_RELA, SHT_NOBITS, SHF_ALLOC, SHF_WRITE, SHF_EXEC,
                            open_object, check_sections, elf_reason, shnum, sh_type, sh_flags,
                            sh_size, sh_link, sh_info, sh_align, string_at, string_len,
                            section_name_addr, section_name_len, section_data, table_entry,
                            table_entries)
from kernel_src.heap import alloc, free
from kernel_src.names import (mem_equal, name_add, name_addr, name_len, name_begin, name_append_mem,
                              name_append_str, name_end, name_keep)
from kernel_src.section_table import (NONE, KIND_TEXT, KIND_RODATA, KIND_DATA, KIND_BSS, add_cell,
                                      add_section, add_dep, add_reloc, cell_name, section_name,
                                      rec_begin,
                                      rec_commit, rec_rollback)
from kernel_src.namespace import (sym_find_mem, sym_find, sym_add, sym_addr, sym_section, sym_name,
                                  sym_remove_cell, sym_cell)

MAX_OBJECT_SECTIONS: u64 = 256

# Per-object scratch: where each of its sections went.
_addr: Array[u64, 256] = [0] * 256       # load address (0: not loaded)
_rec: Array[u64, 256] = [0] * 256        # section record index
_symtab: u64 = 0
_strtab: u64 = 0
_reason: str = ""
# The name (symbol or section) a failure is about: bytes inside the object,
# which outlives the refusal, unlike anything the load had put in the pool.
_detail_addr: u64 = 0
_detail_len: u64 = 0


_unresolved: bool = False
_needer: u64 = 0                          # name handle of the section being relocated


def missing_symbol() -> bool:
    """Did the last load fail only because a symbol is not defined (yet)?"""
    return _unresolved


def needed_by() -> u64:
    """For an unresolved symbol: the name handle of the section that needs it."""
    return _needer


def object_defines(base: u64, size: u64, a: u64, n: u64) -> bool:
    """Does the object at base define the global named by the n bytes at a?
    (Used to tell a dependency cycle from a symbol nobody defines.)"""
    if not _open(base, size):
        return False
    for k in range(1, table_entries(_symtab, 24)):
        if _sym_global(k) and _sym_shndx(k) != 0 and _sym_name_len(k) == n \
                and mem_equal(_sym_name_addr(k), a, n):
            return True
    return False


def reason() -> str:
    """Why the last load failed."""
    return _reason


def detail() -> str:
    """The symbol or section the last failure is about ("" if none)."""
    return make_str(_detail_addr, _detail_len)


def detail_addr() -> u64:
    """Where the bytes of detail() are."""
    return _detail_addr


def detail_len() -> u64:
    """How many bytes detail() has."""
    return _detail_len


def _fail(why: str, addr: u64, n: u64) -> bool:
    global _reason, _detail_addr, _detail_len
    _reason = why
    _detail_addr = addr
    _detail_len = n
    return False


def _kind_of(i: u64) -> u8:
    if sh_type(i) == SHT_NOBITS:
        return KIND_BSS
    if sh_flags(i) & SHF_EXEC != 0:
        return KIND_TEXT
    if sh_flags(i) & SHF_WRITE != 0:
        return KIND_DATA
    return KIND_RODATA


def _loadable(i: u64) -> bool:
    # The host's rule (objects.parse_object): allocatable, and either it has
    # bytes or a named symbol lives in it (an empty string literal does).
    if sh_flags(i) & SHF_ALLOC == 0:
        return False
    if sh_size(i) > 0:
        return True
    for k in range(1, table_entries(_symtab, 24)):
        if _sym_shndx(k) == i and _sym_type(k) <= 2 and _sym_name_len(k) > 0:
            return True
    return False


def _find_symtab() -> bool:
    global _symtab, _strtab
    _symtab = 0
    for i in range(shnum()):
        if sh_type(i) == SHT_SYMTAB:
            _symtab = i
    if _symtab == 0:
        return _fail("no symbol table", 0, 0)
    if sh_size(_symtab) % 24 != 0:
        return _fail("symbol table size is not a whole number of entries", 0, 0)
    _strtab = sh_link(_symtab)
    if _strtab >= shnum():
        return _fail("symbol table's string table index out of range", 0, 0)
    return True


def _sym(k: u64) -> u64:
    return table_entry(_symtab, k, 24)


def _sym_name_addr(k: u64) -> u64:
    return string_at(_strtab, u64(load32(_sym(k))))


def _sym_name_len(k: u64) -> u64:
    return string_len(_strtab, u64(load32(_sym(k))))


def _sym_shndx(k: u64) -> u64:
    return u64(load16(_sym(k) + 6))


def _sym_global(k: u64) -> bool:
    bind: u8 = load8(_sym(k) + 4) >> 4
    return bind == 1 or bind == 2


def _sym_type(k: u64) -> u8:
    return load8(_sym(k) + 4) & 0xF


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
        for k in range(1, table_entries(_symtab, 24)):
            if best == NONE and _sym_shndx(k) == i and load64(_sym(k) + 8) == 0 \
                    and _sym_type(k) <= 2 and _sym_name_len(k) > 0 \
                    and _sym_global(k) == (want_global == 0):
                best = k
    name_begin()
    if best == NONE:
        name_append_mem(name_addr(cell_name(cell)), name_len(cell_name(cell)))
        name_append_str("::")
        name_append_mem(section_name_addr(i), section_name_len(i))
    else:
        a: u64 = _sym_name_addr(best)
        n: u64 = _sym_name_len(best)
        if not _has_colons(a, n):
            name_append_mem(name_addr(cell_name(cell)), name_len(cell_name(cell)))
            name_append_str("::")
        name_append_mem(a, n)
    return name_keep(name_end())


def _signed(raw: u64) -> i64:
    # Reinterpret the bits of an ELF addend as a signed number.
    if raw < 0x8000000000000000:
        return i64(raw)
    return -i64(0xFFFFFFFFFFFFFFFF - raw) - 1


def patch(place: u64, rtype: u32, s: u64, a: i64) -> bool:
    """Write relocation type rtype at place for symbol value s and addend a
    (a hot swap uses it to point a dependent at the new code)."""
    return _patch(place, rtype, s, a)


def _patch(place: u64, rtype: u32, s: u64, a: i64) -> bool:
    # S + A (absolute) or S + A - P (PC-relative), range-checked like the
    # host linker: a truncated address would send a call somewhere else.
    v: i64 = i64(s) + a
    if rtype == 1:                                   # R_X86_64_64
        if v < 0:
            return _fail("relocation result is negative", 0, 0)
        store64(place, u64(v))
        return True
    if rtype == 2 or rtype == 4:                     # PC32, PLT32
        v -= i64(place)
        if v < -0x80000000 or v > 0x7FFFFFFF:
            return _fail("PC-relative relocation out of range", 0, 0)
    elif rtype == 10:                                # R_X86_64_32
        if v < 0 or v > 0xFFFFFFFF:
            return _fail("32-bit relocation out of range", 0, 0)
    elif rtype == 11:                                # R_X86_64_32S
        if v < -0x80000000 or v > 0x7FFFFFFF:
            return _fail("32-bit signed relocation out of range", 0, 0)
    else:
        return _fail("unknown relocation type", 0, 0)
    store32(place, u32(v & 0xFFFFFFFF))
    return True


def _width(rtype: u32) -> u64:
    if rtype == 1:
        return 8
    return 4


def _place_sections(cell: u64) -> bool:
    n: u64 = shnum()
    for i in range(n):
        _addr[i] = 0
    for i in range(n):
        if _loadable(i):
            a: u64 = alloc(sh_size(i) + 1, sh_align(i))   # +1: empty sections get an address too
            if a == 0:
                return _fail("out of kernel heap", section_name_addr(i), section_name_len(i))
            _addr[i] = a
            size: u64 = sh_size(i)
            if sh_type(i) == SHT_NOBITS:
                for b in range(size):
                    store8(a + b, 0)
            else:
                src: u64 = section_data(i)
                for b in range(size):
                    store8(a + b, load8(src + b))
    for i in range(n):
        if _addr[i] != 0:
            rec: u64 = add_section(_section_title(cell, i), cell, _kind_of(i), _addr[i], sh_size(i))
            if rec == NONE:
                return _fail("section table full", 0, 0)
            _rec[i] = rec
    return True


def _resolve(k: u64) -> bool:
    # Sets _target_addr/_target_rec/_target_name for symbol k of the object.
    global _target_addr, _target_rec, _target_name, _unresolved, _needer
    shndx: u64 = _sym_shndx(k)
    if shndx == 0:
        a: u64 = _sym_name_addr(k)
        n: u64 = _sym_name_len(k)
        s: u64 = sym_find_mem(a, n)
        if s == NONE:
            _unresolved = True
            _needer = section_name(_rec[_relocating])
            return _fail("unresolved symbol", a, n)
        _target_addr = sym_addr(s)
        _target_rec = sym_section(s)
        _target_name = sym_name(s)
        return True
    if shndx < shnum() and _addr[shndx] != 0:
        _target_addr = _addr[shndx] + load64(_sym(k) + 8)
        _target_rec = _rec[shndx]
        _target_name = 0
        if _sym_global(k):
            # Named even inside the cell: a hot swap redirects old code that
            # is still running to the new version of this symbol.
            _target_name = name_add(_sym_name_addr(k), _sym_name_len(k))
        return True
    return _fail("symbol defined in a section that is not loaded", _sym_name_addr(k), _sym_name_len(k))


_relocating: u64 = 0                      # object section whose relocations are being applied
_target_addr: u64 = 0
_target_rec: u64 = 0
_target_name: u64 = 0


def _relocate() -> bool:
    global _relocating
    nsyms: u64 = table_entries(_symtab, 24)
    for r in range(shnum()):
        if sh_type(r) != SHT_RELA:
            continue
        t: u64 = sh_info(r)
        if t >= shnum() or _addr[t] == 0:
            continue                      # relocations of sections we do not load
        if sh_link(r) != _symtab or sh_size(r) % 24 != 0:
            return _fail("relocation table does not use the symbol table", 0, 0)
        for e in range(table_entries(r, 24)):
            ent: u64 = table_entry(r, e, 24)
            offset: u64 = load64(ent)
            info: u64 = load64(ent + 8)
            addend: i64 = _signed(load64(ent + 16))
            k: u64 = info >> 32
            rtype: u32 = u32(info & 0xFFFFFFFF)
            if k >= nsyms:
                return _fail("relocation names a symbol past the symbol table", 0, 0)
            if rtype != 1 and rtype != 2 and rtype != 4 and rtype != 10 and rtype != 11:
                return _fail("unknown relocation type", section_name_addr(t), section_name_len(t))
            if offset > sh_size(t) or _width(rtype) > sh_size(t) - offset:
                return _fail("relocation offset past the end of its section", section_name_addr(t), section_name_len(t))
            _relocating = t
            if not _resolve(k):
                return False
            if not _patch(_addr[t] + offset, rtype, _target_addr, addend):
                return False
            if not add_dep(_rec[t], _target_rec, 1) or \
                    not add_reloc(_rec[t], offset, rtype, addend, _target_rec, _target_name):
                return _fail("dependency table full", 0, 0)
    return True


def _name_is(addr: u64, n: u64, s: str) -> bool:
    if n != u64(len(s)):
        return False
    for i in range(n):
        if load8(addr + i) != u8(ord(s[i])):
            return False
    return True


def _find_sigs() -> u64:
    # The compiler's signature table: a section that is not loaded, one
    # "NAME HEX16" line per public function and global.
    for i in range(shnum()):
        if _name_is(section_name_addr(i), section_name_len(i), ".theseus.sigs"):
            return i
    return 0


def _hex(addr: u64, n: u64) -> u64:
    v: u64 = 0
    for i in range(n):
        c: u8 = load8(addr + i)
        if c >= 97:
            v = (v << 4) | u64(c - 87)
        else:
            v = (v << 4) | u64(c - 48)
    return v


def sig_in_object(a: u64, n: u64) -> u64:
    """The signature hash the open object records for the name at a (0: none)."""
    t: u64 = _find_sigs()
    if t == 0:
        return 0
    p: u64 = section_data(t)
    end: u64 = p + sh_size(t)
    while p + n + 17 < end + 1:
        if load8(p + n) == 32 and mem_equal(p, a, n):
            return _hex(p + n + 1, 16)
        while p < end and load8(p) != 10:
            p += 1
        p += 1
    return 0


def _export(cell: u64, swapping: bool) -> bool:
    # Add the open object's globals to the namespace.  Names the cell has
    # already exported are skipped; a name another cell holds is an error,
    # except in a swap, where the old cell may still hold it (swap.py checks
    # that whoever else holds it is being replaced).
    for k in range(1, table_entries(_symtab, 24)):
        shndx: u64 = _sym_shndx(k)
        if _sym_global(k) and shndx != 0 and shndx < shnum() and _addr[shndx] != 0:
            a: u64 = _sym_name_addr(k)
            n: u64 = _sym_name_len(k)
            taken: u64 = sym_find_mem(a, n)
            if taken != NONE and (sym_cell(taken) == cell or swapping):
                continue
            if taken != NONE:
                return _fail("symbol already defined by another cell", a, n)
            h: u64 = name_add(a, n)
            if h == 0 or not sym_add(h, _addr[shndx] + load64(_sym(k) + 8), _rec[shndx], cell,
                                     sig_in_object(a, n)):
                return _fail("symbol table full", a, n)
    return True


def _open(base: u64, size: u64) -> bool:
    if not open_object(base, size) or not check_sections():
        return _fail(elf_reason(), 0, 0)
    if shnum() > MAX_OBJECT_SECTIONS:
        return _fail("too many sections", 0, 0)
    return _find_symtab()


def _load(name: u64, base: u64, size: u64) -> u64:
    if not _open(base, size):
        return NONE
    cell: u64 = add_cell(name, False)
    if cell == NONE:
        _fail("cell table full", 0, 0)
        return NONE
    if not _place_sections(cell):
        return NONE
    return cell


# Staging: cells loaded in one transaction (a boot-time load, or a hot swap
# of several cells).  stage() places a cell's sections; stage_link() adds
# its new public names to the namespace (so cells of one transaction can
# use each other's new functions) and applies its relocations;
# stage_export() adds the names an old version still held, once it is
# gone; stage_rollback() undoes everything.
MAX_STAGED: u64 = 8
_st_addr: Array[u64, 2048] = [0] * 2048     # MAX_STAGED * MAX_OBJECT_SECTIONS
_st_rec: Array[u64, 2048] = [0] * 2048
_st_cell: Array[u64, 8] = [0] * 8
_st_base: Array[u64, 8] = [0] * 8
_st_size: Array[u64, 8] = [0] * 8
_nstaged: u64 = 0


def stage_begin() -> None:
    """Start a transaction of cell loads."""
    global _nstaged, _unresolved
    _nstaged = 0
    _unresolved = False
    rec_begin()


def stage(name_at: u64, name_n: u64, base: u64, size: u64) -> u64:
    """Place the sections of the cell object at base; its cell index or NONE
    (then reason() says why; call stage_rollback())."""
    global _nstaged
    if _nstaged >= MAX_STAGED:
        _fail("too many cells in one transaction", 0, 0)
        return NONE
    for i in range(MAX_OBJECT_SECTIONS):
        _addr[i] = 0
    cell: u64 = _load(name_add(name_at, name_n), base, size)
    t: u64 = _nstaged
    for i in range(MAX_OBJECT_SECTIONS):        # kept even on failure: rollback frees them
        _st_addr[t * MAX_OBJECT_SECTIONS + i] = _addr[i]
        _st_rec[t * MAX_OBJECT_SECTIONS + i] = _rec[i]
    _st_cell[t] = cell
    _st_base[t] = base
    _st_size[t] = size
    _nstaged += 1
    return cell


def stage_open(t: u64) -> bool:
    """Make staged cell t's object the open one again (for the queries below)."""
    if not _open(_st_base[t], _st_size[t]):
        return False
    for i in range(MAX_OBJECT_SECTIONS):
        _addr[i] = _st_addr[t * MAX_OBJECT_SECTIONS + i]
        _rec[i] = _st_rec[t * MAX_OBJECT_SECTIONS + i]
    return True


def stage_link(t: u64, swapping: bool) -> bool:
    """Export staged cell t's public names that are free, then apply its
    relocations; False (with a reason) if something does not resolve."""
    return stage_open(t) and _export(_st_cell[t], swapping) and _relocate()


def stage_export(t: u64) -> bool:
    """Add the rest of staged cell t's public names (after its old version left)."""
    return stage_open(t) and _export(_st_cell[t], False)


def staged_cell(t: u64) -> u64:
    """Cell index of staged cell t."""
    return _st_cell[t]


def staged_count() -> u64:
    """How many cells the transaction has staged."""
    return _nstaged


def exports(a: u64, n: u64) -> bool:
    """Does the open object define the global symbol named by the n bytes at a?"""
    for k in range(1, table_entries(_symtab, 24)):
        shndx: u64 = _sym_shndx(k)
        if _sym_global(k) and shndx != 0 and shndx < shnum() and _addr[shndx] != 0 \
                and _sym_name_len(k) == n and mem_equal(_sym_name_addr(k), a, n):
            return True
    return False


def object_global(a: u64, n: u64) -> u64:
    """Entry of the open object's defined global named by the n bytes at a (0: none)."""
    for k in range(1, table_entries(_symtab, 24)):
        if global_at(k) and _sym_name_len(k) == n and mem_equal(_sym_name_addr(k), a, n):
            return k
    return 0


def global_count() -> u64:
    """Number of symbol-table entries of the open object (for walking its globals)."""
    return table_entries(_symtab, 24)


def global_at(k: u64) -> bool:
    """Is entry k of the open object a defined global in a loaded section?"""
    shndx: u64 = _sym_shndx(k)
    return _sym_global(k) and shndx != 0 and shndx < shnum() and _addr[shndx] != 0


def global_name_addr(k: u64) -> u64:
    """Address of the name of entry k."""
    return _sym_name_addr(k)


def global_name_len(k: u64) -> u64:
    """Length of the name of entry k."""
    return _sym_name_len(k)


def global_addr(k: u64) -> u64:
    """Load address of entry k."""
    return _addr[_sym_shndx(k)] + load64(_sym(k) + 8)


def global_size(k: u64) -> u64:
    """Size of entry k's symbol."""
    return load64(_sym(k) + 16)


def global_section(k: u64) -> u64:
    """Section record of entry k."""
    return _rec[_sym_shndx(k)]


def global_is_data(k: u64) -> bool:
    """Is entry k a global variable (data or bss, not code or a constant)?"""
    kind: u8 = _kind_of(_sym_shndx(k))
    return kind == KIND_DATA or kind == KIND_BSS


def stage_rollback() -> None:
    """Undo the transaction: free every staged section, drop its symbols and records."""
    for t in range(_nstaged):
        for i in range(MAX_OBJECT_SECTIONS):
            a: u64 = _st_addr[t * MAX_OBJECT_SECTIONS + i]
            if a != 0:
                free(a)
                _st_addr[t * MAX_OBJECT_SECTIONS + i] = 0
        if _st_cell[t] != NONE:
            sym_remove_cell(_st_cell[t])
    rec_rollback()


def stage_commit() -> None:
    """Keep everything the transaction loaded."""
    rec_commit()


def load_object(name_at: u64, name_n: u64, base: u64, size: u64) -> u64:
    """Load the cell object at [base, base+size), named by the name_n bytes
    at name_at; its cell index, or NONE.

    On NONE, reason() and detail() say why, and nothing of the object
    remains in the kernel.
    """
    stage_begin()
    cell: u64 = stage(name_at, name_n, base, size)
    if cell != NONE and stage_link(0, False):
        stage_commit()
        return cell
    stage_rollback()
    return NONE

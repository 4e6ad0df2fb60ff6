"""loader: load a cell's ELF object into the running kernel, as one transaction.

Design note.  Loading is staged: stage() places a cell's sections
(placement.py), stage_link() adds its new public names to the namespace
and applies its relocations, each resolved either inside the object (local
symbols) or in the namespace (another cell's public symbol), patched
(reloc.py) and recorded with the dependency it creates; then, and only
then, the cell's code becomes read-execute and its constants read-only.  Several cells can
be staged in one transaction (a hot swap of several cells can then use
each other's new functions); stage_rollback() undoes everything, so a
refused object leaves the kernel exactly as it was (sections freed,
records and names rolled back).
An isolated cell (gates.py) is loaded the same way, except that each of
its references to another cell's function resolves to a gate stub in its
own code (also to a new definition of a cell swapped in the same
transaction), its references to other cells' data are refused, and so is
any other cell's reference into it (a new version's too); its regions
become user pages.
"""
# cell: unsafe
from theseus_nb.lang.prelude import *
from theseus_nb.lang.unsafe import addr_of, load8, make_str, call_addr
from kernel_src.params import MAX_STAGED, SYMBOL_NAME_MAX
from kernel_src.elf import (SHT_RELA, SHN_UNDEF, open_object, check_sections, find_section,
                            section_data, sh_size,
                            open_symbols, elf_reason, shnum, sh_type, sh_info,
                            section_name_addr, section_name_len, symbol_count,
                            symbol_name_addr, symbol_name_len, symbol_section, symbol_value,
                            symbol_is_global, rela_count, rela_offset, rela_symbol, rela_type,
                            rela_addend)
from kernel_src.reloc import patch
from kernel_src.object_check import target_fits, check_object, check_reason
from kernel_src.signatures import sig_in_object
from kernel_src.placement import (use, forget, placed_addr, placed_rec, place_sections, failed_at,
                                  protect_placed, free_placed, reserve_stubs, stub_area)
from kernel_src.names import mem_ends_with, mem_equal, name_add, name_equals_mem, name_addr, name_len
from kernel_src.section_table import (NONE, KIND_TEXT, add_cell, add_dep, add_reloc, find_cell,
                                      rec_begin, rec_commit, rec_rollback, all_sections)
from kernel_src.isolated_cells import set_isolated, is_isolated
from kernel_src.gates import (STUB_BYTES, section_isolated, begin_cell,
                              forget_cell, add_import, find_import, reason as gate_reason)
from kernel_src.user_pages import record_made
from kernel_src.namespace import (sym_find_mem, sym_add, sym_addr, sym_section, sym_name, sym_sig,
                                  sym_remove_cell, sym_cell)

_reason: str = ""
# The name (symbol or section) a failure is about: bytes inside the object,
# which outlives the refusal, unlike anything the load had put in the pool.
_detail_addr: u64 = 0
_detail_len: u64 = 0
_shown: Array[u8, 96] = [0] * 96       # params.SYMBOL_NAME_MAX: detail() as printed
_unresolved: bool = False
_needer: u64 = 0                          # name handle of the section being relocated

# The transaction: the cells staged so far, and where their objects are.
_st_cell: Array[u64, 8] = [0] * 8         # params.MAX_STAGED
_st_base: Array[u64, 8] = [0] * 8         # params.MAX_STAGED
_st_size: Array[u64, 8] = [0] * 8         # params.MAX_STAGED
_nstaged: u64 = 0
_cell: u64 = 0                            # the cell being relocated (stage_link sets it)
ISOLATED_SECTION: str = ".theseus.isolated"   # its presence marks an isolated cell

# The names a swap's new cells define while their old versions still hold them
# in the namespace: a staged cell that uses one links to the new definition
# (so a reader swapped with a grown struct is checked against the new layout),
# as the commit would make it anyway.
_pend_name: Array[u64, 512] = [0] * 512
_pend_addr: Array[u64, 512] = [0] * 512
_pend_rec: Array[u64, 512] = [0] * 512
_pend_sig: Array[u64, 512] = [0] * 512
_npend: u64 = 0


def missing_symbol() -> bool:
    """Did the last load fail only because a symbol is not defined (yet)?"""
    return _unresolved


def needed_by() -> u64:
    """For an unresolved symbol: the name handle of the section that needs it."""
    return _needer


@safe_interface
def reason() -> str:
    """Why the last load failed."""
    return _reason


@safe_interface
def detail() -> str:
    """The symbol or section the last failure is about ("" if none), as it
    may be printed: bytes that are not printable ASCII become "?" (the
    console protocol is text) and a long name is cut."""
    n: u64 = min(_detail_len, SYMBOL_NAME_MAX)
    for i in range(n):
        c: u8 = load8(_detail_addr + i)
        if c < 32 or c > 126:
            c = 63
        _shown[i] = c
    return make_str(addr_of(_shown), n)


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


def _fail_section(why: str, i: u64) -> bool:
    return _fail(why, section_name_addr(i), section_name_len(i))


def _open(base: u64, size: u64) -> bool:
    # Everything is checked before anything is computed (object_check.py).
    if not _reopen(base, size):
        return False
    if not check_object():
        return _fail(check_reason(), 0, 0)
    return True


def _reopen(base: u64, size: u64) -> bool:
    # Open an object again that _open() has accepted (a swap goes back and
    # forth between its staged objects).
    if not open_object(base, size) or not check_sections() or not open_symbols():
        return _fail(elf_reason(), 0, 0)
    return True


def object_defines(base: u64, size: u64, a: u64, n: u64) -> bool:
    """Does the object at base define the global named by the n bytes at a?
    (Used to tell a dependency cycle from a symbol nobody defines.)"""
    if not _open(base, size):
        return False
    for k in range(1, symbol_count()):
        if symbol_is_global(k) and symbol_section(k) != SHN_UNDEF and symbol_name_len(k) == n \
                and mem_equal(symbol_name_addr(k), a, n):
            return True
    return False


# The symbol a relocation resolved to (set by _resolve).
_target_addr: u64 = 0
_target_rec: u64 = 0
_target_name: u64 = 0
_gated: bool = False                      # the target is a gate stub; _gate_dst the callee's section
_gate_dst: u64 = 0


def _signature_line(a: u64, n: u64) -> u64:
    # The .theseus.isolated line "NAME TEXT" for the n bytes at a: where its
    # TEXT starts (its length in _line_len), or 0.
    global _line_len
    t: u64 = find_section(ISOLATED_SECTION)
    if t == 0:
        return 0
    p: u64 = section_data(t)
    end: u64 = p + sh_size(t)
    while p + n + 1 < end:
        e: u64 = p
        while e < end and load8(e) != 10:
            e += 1
        if load8(p + n) == 32 and mem_equal(p, a, n):
            _line_len = e - (p + n + 1)
            return p + n + 1
        p = e + 1
    return 0


_line_len: u64 = 0


def _gate(s: u64, sec: u64, sig: u64, a: u64, n: u64) -> bool:
    # An isolated cell refers to the symbol named by the n bytes at a, in
    # section sec with signature hash sig: namespace entry s, or NONE for a
    # swap's new definition.  A function of a trusted cell becomes a gate
    # stub; anything else is refused.
    global _target_addr, _target_rec, _target_name, _gated, _gate_dst
    if sec == NONE or all_sections[sec].kind != KIND_TEXT:
        return _fail("an isolated cell may not use another cell's data", a, n)
    if section_isolated(sec):
        return _fail("an isolated cell may not call another isolated cell", a, n)
    name: u64 = name_add(a, n)
    if name == 0:
        return _fail("name pool full", a, n)
    stub: u64 = find_import(_cell, name)
    if stub == 0:
        text: u64 = _signature_line(a, n)
        if text == 0:
            return _fail("an isolated cell's import has no signature line", a, n)
        fn: u64 = a
        for i in range(1, n):
            if load8(a + i - 1) == 58 and load8(a + i) == 58 and fn == a:
                fn = a + i + 1
        stub = add_import(_cell, name, sig, s, fn, n - (fn - a), text, _line_len)
        if stub == 0:
            return _fail(gate_reason(), a, n)
    _target_addr = stub
    _target_rec = NONE
    _target_name = 0
    _gated = True
    _gate_dst = sec
    return True


def _refuse_upcall(needer: u64) -> bool:
    # No upcall gate: the kernel would have to run the callee in ring 3.
    h: u64 = all_sections[needer].name
    return _fail("calls into an isolated cell are refused (no upcall gate); the caller is",
                 name_addr(h), name_len(h))


def _resolve(k: u64, needer: u64) -> bool:
    global _target_addr, _target_rec, _target_name, _unresolved, _needer, _gated
    shndx: u64 = symbol_section(k)
    _gated = False
    if shndx == SHN_UNDEF:
        a: u64 = symbol_name_addr(k)
        n: u64 = symbol_name_len(k)
        for p in range(_npend):
            if name_equals_mem(_pend_name[p], a, n):
                # Another cell of this swap defines it anew (its old version
                # still holds the name): the same rules as for a loaded cell.
                if is_isolated(_cell):
                    return _gate(NONE, _pend_rec[p], _pend_sig[p], a, n)
                if section_isolated(_pend_rec[p]):
                    return _refuse_upcall(needer)
                _target_addr = _pend_addr[p]
                _target_rec = _pend_rec[p]
                _target_name = _pend_name[p]
                return True
        s: u64 = sym_find_mem(a, n)
        if s == NONE:
            _unresolved = True
            _needer = all_sections[needer].name
            return _fail("unresolved symbol", a, n)
        if is_isolated(_cell):
            return _gate(s, sym_section(s), sym_sig(s), a, n)
        if section_isolated(sym_section(s)):
            return _refuse_upcall(needer)
        _target_addr = sym_addr(s)
        _target_rec = sym_section(s)
        _target_name = sym_name(s)
        return True
    if shndx < shnum() and placed_addr(shndx) != 0:
        _target_addr = placed_addr(shndx) + symbol_value(k)
        _target_rec = placed_rec(shndx)
        _target_name = 0
        if symbol_is_global(k):
            # Named even inside the cell: a hot swap redirects old code that
            # is still running to the new version of this symbol.
            _target_name = name_add(symbol_name_addr(k), symbol_name_len(k))
        return True
    return _fail("symbol defined in a section that is not loaded", symbol_name_addr(k),
                 symbol_name_len(k))


def _target_fits(addend: i64) -> bool:
    # Does the resolved symbol plus addend point into (or just around) the
    # symbol's section?  For symbols of this object object_check has made
    # sure; for another cell's, this is the first time we see its section.
    if _target_rec == NONE:
        return True
    start: u64 = all_sections[_target_rec].addr
    if _target_addr < start or _target_addr - start > all_sections[_target_rec].size:
        return False
    return target_fits(i64(_target_addr - start) + addend, all_sections[_target_rec].size)


def _relocate() -> bool:
    # object_check has bounded every field: offsets lie inside their
    # sections, symbols inside the table, addends are small.
    for r in range(shnum()):
        if sh_type(r) != SHT_RELA:
            continue
        t: u64 = sh_info(r)
        if t >= shnum() or placed_addr(t) == 0:
            continue                      # relocations of sections we do not load
        for e in range(rela_count(r)):
            offset: u64 = rela_offset(r, e)
            k: u64 = rela_symbol(r, e)
            rtype: u32 = rela_type(r, e)
            addend: i64 = rela_addend(r, e)
            if not _resolve(k, placed_rec(t)):
                return False
            if not _target_fits(addend):
                return _fail("relocation points outside the section of its symbol",
                             symbol_name_addr(k), symbol_name_len(k))
            why: str = patch(placed_addr(t) + offset, rtype, _target_addr, addend)
            if len(why) > 0:
                return _fail(why, 0, 0)
            if _gated:
                # The edge is the graph's; no relocation is kept: the call goes
                # through the gate, which finds the callee again after a swap,
                # and no other cell's swap ever patches an isolated cell's pages.
                # (Its references inside itself are kept, as any cell's: a swap
                # of the cell points its retired code at the new version.)
                if not add_dep(placed_rec(t), _gate_dst, 1):
                    return _fail("dependency table full", 0, 0)
            elif not add_dep(placed_rec(t), _target_rec, 1) or \
                    not add_reloc(placed_rec(t), offset, rtype, addend, _target_rec, _target_name):
                return _fail("dependency table full", 0, 0)
    return True


def _export(cell: u64, swapping: bool) -> bool:
    # Add the open object's globals to the namespace.  Names the cell has
    # already exported are skipped; a name another cell holds is an error,
    # except in a swap, where the old cell may still hold it (swap_cells.py
    # checks that whoever else holds it is being replaced).
    for k in range(1, symbol_count()):
        shndx: u64 = symbol_section(k)
        if symbol_is_global(k) and shndx != SHN_UNDEF and shndx < shnum() \
                and placed_addr(shndx) != 0:
            a: u64 = symbol_name_addr(k)
            n: u64 = symbol_name_len(k)
            taken: u64 = sym_find_mem(a, n)
            if taken != NONE and sym_cell(taken) != cell and swapping:
                if not _pend(a, n, placed_addr(shndx) + symbol_value(k), placed_rec(shndx),
                             sig_in_object(a, n)):
                    return _fail("symbol table full", a, n)
                continue
            if taken != NONE and sym_cell(taken) == cell:
                continue
            if taken != NONE:
                return _fail("symbol already defined by another cell", a, n)
            h: u64 = name_add(a, n)
            if h == 0 or not sym_add(h, placed_addr(shndx) + symbol_value(k), placed_rec(shndx),
                                     cell, sig_in_object(a, n)):
                return _fail("symbol table full", a, n)
    return True


def _pend(a: u64, n: u64, addr: u64, rec: u64, sig: u64) -> bool:
    # Note a staged definition of a name an old cell still holds (once),
    # with its signature hash (a gate checks an isolated caller's against it).
    global _npend
    for p in range(_npend):
        if name_equals_mem(_pend_name[p], a, n):
            return True
    if _npend >= 512:
        return False
    h: u64 = name_add(a, n)
    if h == 0:
        return False
    _pend_name[_npend] = h
    _pend_addr[_npend] = addr
    _pend_rec[_npend] = rec
    _pend_sig[_npend] = sig
    _npend += 1
    return True


# ---- the transaction ------------------------------------------------------

def stage_begin() -> None:
    """Start a transaction of cell loads."""
    global _nstaged, _unresolved, _npend
    _nstaged = 0
    _unresolved = False
    _npend = 0
    rec_begin()


def stage(name_at: u64, name_n: u64, base: u64, size: u64) -> u64:
    """Place the sections of the cell object at base; its cell index or NONE
    (then reason() says why; call stage_rollback())."""
    global _nstaged
    if _nstaged >= MAX_STAGED:
        _fail("too many cells in one transaction", 0, 0)
        return NONE
    t: u64 = _nstaged
    forget(t)
    use(t)
    _st_cell[t] = NONE
    _st_base[t] = base
    _st_size[t] = size
    _nstaged += 1                         # even on failure: rollback frees what it placed
    name: u64 = name_add(name_at, name_n)
    if not _open(base, size):
        return NONE
    # Isolated if the object says so, or if it replaces an isolated cell.
    old: u64 = find_cell(name)
    isolated: bool = find_section(ISOLATED_SECTION) != 0 or (old != NONE and is_isolated(old))
    cell: u64 = add_cell(name, False)
    if cell == NONE:
        _fail("cell table full", 0, 0)
        return NONE
    _st_cell[t] = cell
    set_isolated(cell, isolated)
    record_made(cell)
    stubs: u64 = 0
    if isolated:
        stubs = 1                             # the exit stub, then one per undefined symbol
        for k in range(1, symbol_count()):
            if symbol_section(k) == SHN_UNDEF and symbol_name_len(k) > 0:
                stubs += 1
    reserve_stubs(stubs * STUB_BYTES)
    why: str = place_sections(cell)
    reserve_stubs(0)
    if len(why) > 0:
        if failed_at() != 0:
            _fail_section(why, failed_at())
        else:
            _fail(why, 0, 0)
        return NONE
    if isolated and not begin_cell(cell, stub_area(), stubs):
        _fail(gate_reason(), 0, 0)
        return NONE
    return cell


def stage_open(t: u64) -> bool:
    """Make staged cell t's object the open one again (for placement's queries)."""
    use(t)
    return _reopen(_st_base[t], _st_size[t])


def stage_names(t: u64) -> bool:
    """In a swap, before any staged cell is linked: export staged cell t's
    public names that are free, and note those its old version still holds,
    so that each staged cell links to the others' new definitions."""
    return stage_open(t) and _export(_st_cell[t], True)


def stage_link(t: u64, swapping: bool) -> bool:
    """Export staged cell t's public names that are free (a swap has done so
    with stage_names), apply its relocations, then map its code read-execute
    and its read-only data read-only; False (with a reason) if something does
    not resolve."""
    global _cell
    _cell = _st_cell[t]
    if not (stage_open(t) and (swapping or _export(_st_cell[t], False)) and _relocate()):
        return False
    if not protect_placed(is_isolated(_st_cell[t])):
        return _fail("no memory for the page tables that protect the cell", 0, 0)
    return True


def stage_export(t: u64) -> bool:
    """Add the rest of staged cell t's public names (after its old version left)."""
    return stage_open(t) and _export(_st_cell[t], False)


def staged_cell(t: u64) -> u64:
    """Cell index of staged cell t."""
    return _st_cell[t]


def staged_count() -> u64:
    """How many cells the transaction has staged."""
    return _nstaged


def stage_rollback() -> None:
    """Undo the transaction: free every staged section, drop its symbols and records."""
    for t in range(_nstaged):
        free_placed(t)
        if _st_cell[t] != NONE:
            sym_remove_cell(_st_cell[t])
            forget_cell(_st_cell[t])
            set_isolated(_st_cell[t], False)
    rec_rollback()


def stage_commit() -> None:
    """Keep everything the transaction loaded."""
    rec_commit()


INSTANTIATE: str = ".wasm_instantiate"   # theseus_nb.wasm.kernel_cell.INSTANTIATE
NO_MEMORY: u64 = 3                      # kernel_cell.NO_MEMORY: its answer when no memory is left


def _instantiate() -> bool:
    # A WebAssembly cell sets its instance up now (its memory, globals and
    # segments: kernel_cell.py), so a module that cannot have its memory is
    # refused when it is loaded rather than trapping at its first call.  Its
    # code is linked and mapped; the transaction is still open.
    n: u64 = len(INSTANTIATE)
    for k in range(1, symbol_count()):
        shndx: u64 = symbol_section(k)
        at: u64 = symbol_name_addr(k)
        length: u64 = symbol_name_len(k)
        if symbol_is_global(k) and shndx != SHN_UNDEF and shndx < shnum() \
                and placed_addr(shndx) != 0 and mem_ends_with(at, length, INSTANTIATE):
            code: u64 = call_addr(placed_addr(shndx) + symbol_value(k), 0)
            if code == NO_MEMORY:
                return _fail("no memory for the WebAssembly instance (every guard-region slot "
                             "or frame is taken)", at, length - n - 2)
            if code != 0:
                return _fail("a data or element segment of the WebAssembly module does not "
                             "fit its memory or table", at, length - n - 2)
    return True


def load_object(name_at: u64, name_n: u64, base: u64, size: u64) -> u64:
    """Load the cell object at [base, base+size), named by the name_n bytes
    at name_at; its cell index, or NONE.

    On NONE, reason() and detail() say why, and nothing of the object
    remains in the kernel.
    """
    stage_begin()
    cell: u64 = stage(name_at, name_n, base, size)
    if cell != NONE and stage_link(0, False) and _instantiate():
        stage_commit()
        return cell
    stage_rollback()
    return NONE

"""swap: replace cells of the running kernel (live evolution), and load new ones.

    swap CELL[=SOURCE] [CELL2[=SOURCE2] ...]     replace, as one transaction
    load NAME[=SOURCE]                           add a new cell (see cells/load.py)

SOURCE names an upload (see upload) or a boot-archive entry ("counter@2");
it defaults to an upload named like the cell.

Design note.  This is what the section graph is for.  The new cells are
staged (placed and relocated against the live namespace) while the old ones
keep running.  Then every check is made before anything changes: each
public symbol of an old cell that another cell still uses must exist in the
new cell with the same signature hash; no new symbol may clash with another
cell's.  Globals with an unchanged name and type carry their value over.
Only then, with nothing left that can fail, the commit, with interrupts
off so that no task runs half-way through it: the old symbols leave the
namespace, the new ones enter, every recorded relocation that pointed into
an old section is rewritten to the new section (this is the
relocation-rewriting step of Theseus's live evolution), and the dependency
records follow.  A refusal at any step rolls the staging back and leaves
the kernel exactly as it was.

Old code that a task is still running (its saved instruction pointer, or a
return address on its stack, points into it) is not freed at once: it is
retired (retire.py), and freed when no task is inside it any more.  Its own
calls to public functions and its uses of globals of the swapped cells are
rewritten too (when the signature is unchanged), so a task looping in old
code reaches the new functions and the carried-over state at its next call.
"""
# cell: unsafe
from theseus_nb.lang.prelude import *
from theseus_nb.lang.unsafe import load8, store8
from kernel_src.serial import write, writeln, write_u64, newline, put
from kernel_src.shell import arg, argc
from kernel_src.clock import cycles, to_us
from kernel_src.heap import in_use
from kernel_src.names import (name_addr, name_len, name_write, name_begin, name_append_byte,
                              name_end, name_keep)
from kernel_src.section_table import (NONE, find_cell, cell_core, cell_name, section_count,
                                      section_alive, section_cell, section_addr, section_size,
                                      section_name, reloc_count, reloc_alive, reloc_section,
                                      reloc_target, reloc_symbol, reloc_offset, reloc_type,
                                      reloc_addend, reloc_retarget, move_dep, kill_cell)
from kernel_src.namespace import (sym_find, sym_find_mem, sym_cell, sym_sig, sym_addr,
                                  sym_section, sym_name, sym_remove_cell)
from kernel_src.loader import (stage_begin, stage, stage_open, stage_link, stage_export,
                               stage_rollback,
                               stage_commit, staged_cell, reason, detail, exports,
                               sig_in_object, global_count, global_at, global_name_addr,
                               global_name_len, global_addr, global_section, global_is_data,
                               patch, object_global)
from kernel_src.upload import find, blob_addr, blob_size, discard, MAX_BLOBS
from kernel_src.irq import irq_off, irq_restore
from kernel_src.retire import retire_cell, reclaim, retired
from kernel_src.archive import entry_find, entry_data, entry_size

MAX_SWAP: u64 = 8

_old: Array[u64, 8] = [0] * 8         # cells being replaced
_blob: Array[u64, 8] = [0] * 8        # upload slot of each source (MAX_BLOBS: from the archive)
_count: u64 = 0
_src_addr: u64 = 0
_src_size: u64 = 0
_src_blob: u64 = 0


def split_at_equals(word: str) -> u64:
    """Where "=" is in word (its length if there is none)."""
    for i in range(len(word)):
        if ord(word[i]) == 61:
            return u64(i)
    return u64(len(word))


def part_name(word: str, lo: u64, hi: u64) -> u64:
    """The kept name made of word's bytes lo..hi."""
    name_begin()
    for i in range(lo, hi):
        name_append_byte(u8(ord(word[i])))
    return name_keep(name_end())


def find_source(name: u64) -> bool:
    """Find the object called name: an upload first, then an archive entry."""
    global _src_addr, _src_size, _src_blob
    b: u64 = find(name)
    if b != MAX_BLOBS:
        _src_addr = blob_addr(b)
        _src_size = blob_size(b)
        _src_blob = b
        return True
    e: u64 = entry_find(name_addr(name), name_len(name))
    if e != NONE:
        _src_addr = entry_data(e)
        _src_size = entry_size(e)
        _src_blob = MAX_BLOBS
        return True
    return False


def source_addr() -> u64:
    """Address of the object find_source() found."""
    return _src_addr


def source_size() -> u64:
    """Size of the object find_source() found."""
    return _src_size


def source_blob() -> u64:
    """Upload slot of the object find_source() found (MAX_BLOBS: the archive)."""
    return _src_blob


def _refuse(why: str, what: u64) -> u64:
    stage_rollback()
    write("refused: ")
    write(why)
    if what != 0:
        write(" '")
        name_write(what)
        write("'")
    newline()
    return 1


def _refuse_loader() -> u64:
    stage_rollback()
    write("refused: ")
    write(reason())
    if len(detail()) > 0:
        write(" '")
        write(detail())
        write("'")
    newline()
    return 1


def _is_old(c: u64) -> bool:
    for j in range(_count):
        if _old[j] == c:
            return True
    return False


def _old_index(c: u64) -> u64:
    for j in range(_count):
        if _old[j] == c:
            return j
    return NONE


def _check_users() -> u64:
    # Every relocation into an old cell from a cell that stays must find
    # its symbol, with the same signature, in the new version.
    for r in range(reloc_count()):
        if not reloc_alive(r):
            continue
        j: u64 = _old_index(section_cell(reloc_target(r)))
        if j == NONE or _is_old(section_cell(reloc_section(r))):
            continue
        sym: u64 = reloc_symbol(r)
        if not stage_open(j):
            return _refuse_loader()
        if sym == 0 or not exports(name_addr(sym), name_len(sym)):
            write("refused: the new version removes '")
            name_write(sym)
            write("', which '")
            name_write(section_name(reloc_section(r)))
            writeln("' still uses")
            stage_rollback()
            return 1
        old_sig: u64 = sym_sig(sym_find(sym))
        if old_sig != 0 and sig_in_object(name_addr(sym), name_len(sym)) != old_sig:
            write("refused: the new version changes the signature of '")
            name_write(sym)
            write("', which '")
            name_write(section_name(reloc_section(r)))
            writeln("' still calls with the old one")
            stage_rollback()
            return 1
    return 0


def _check_clashes() -> u64:
    for j in range(_count):
        if not stage_open(j):
            return _refuse_loader()
        for k in range(1, global_count()):
            if global_at(k):
                s: u64 = sym_find_mem(global_name_addr(k), global_name_len(k))
                if s != NONE and not _is_old(sym_cell(s)) and sym_cell(s) != staged_cell(j):
                    write("refused: the new version defines '")
                    name_write(sym_name(s))
                    writeln("', which another cell already defines")
                    stage_rollback()
                    return 1
    return 0


def _carry_state() -> None:
    # A global keeps its value when its name and type (signature) are
    # unchanged; anything else starts from its initializer.
    for j in range(_count):
        stage_open(j)
        for k in range(1, global_count()):
            if global_at(k) and global_is_data(k):
                a: u64 = global_name_addr(k)
                n: u64 = global_name_len(k)
                s: u64 = sym_find_mem(a, n)
                size: u64 = section_size(global_section(k))
                if s != NONE and sym_cell(s) == _old[j] and sym_sig(s) == sig_in_object(a, n) \
                        and section_size(sym_section(s)) == size:
                    src: u64 = sym_addr(s)
                    dst: u64 = global_addr(k)
                    for i in range(size):
                        store8(dst + i, load8(src + i))
                    write("carried ")
                else:
                    write("reset ")
                for i in range(n):
                    put(load8(a + i))
                newline()


def _rewrite() -> u64:
    # Point every relocation into an old section at the new one, by symbol.
    rewritten: u64 = 0
    for r in range(reloc_count()):
        if not reloc_alive(r):
            continue
        if not _is_old(section_cell(reloc_target(r))) or _is_old(section_cell(reloc_section(r))):
            continue
        s: u64 = sym_find(reloc_symbol(r))
        place: u64 = section_addr(reloc_section(r)) + reloc_offset(r)
        patch(place, reloc_type(r), sym_addr(s), reloc_addend(r))
        move_dep(reloc_section(r), reloc_target(r), sym_section(s))
        reloc_retarget(r, sym_section(s))
        rewritten += 1
    return rewritten


def _rewrite_retired() -> u64:
    # Before the old names go: relocations inside old cells that use a
    # public function or global of a swapped cell, unchanged in signature,
    # now reach the new one (a task may still be running that old code).
    n: u64 = 0
    for r in range(reloc_count()):
        if not reloc_alive(r) or not _is_old(section_cell(reloc_section(r))):
            continue
        j: u64 = _old_index(section_cell(reloc_target(r)))
        sym: u64 = reloc_symbol(r)
        if j == NONE or sym == 0:
            continue
        old: u64 = sym_find(sym)
        if old == NONE or sym_sig(old) == 0 or not stage_open(j):
            continue
        k: u64 = object_global(name_addr(sym), name_len(sym))
        if k != 0 and sig_in_object(name_addr(sym), name_len(sym)) == sym_sig(old):
            patch(section_addr(reloc_section(r)) + reloc_offset(r), reloc_type(r),
                  global_addr(k), reloc_addend(r))
            n += 1
    return n


def main(arg_: u64) -> u64:
    """Swap the cells named on the line (see the header)."""
    global _count
    start: u64 = cycles()
    _count = argc() - 1
    if _count == 0 or _count > MAX_SWAP:
        writeln("usage: swap CELL[=SOURCE] [CELL2[=SOURCE2] ...]")
        return 2
    stage_begin()
    for j in range(_count):
        word: str = arg(j + 1)
        cut: u64 = split_at_equals(word)
        name: u64 = part_name(word, 0, cut)
        source: u64 = name
        if cut < u64(len(word)):
            source = part_name(word, cut + 1, u64(len(word)))
        _old[j] = find_cell(name)
        if _old[j] == NONE:
            return _refuse("no loaded cell is called", name)
        if cell_core(_old[j]):
            return _refuse("the nano_core is linked by the host and cannot be swapped:", name)
        if not find_source(source):
            return _refuse("no upload or archive entry is called", source)
        _blob[j] = _src_blob
        if stage(name_addr(name), name_len(name), _src_addr, _src_size) == NONE:
            return _refuse_loader()
    for j in range(_count):
        if not stage_link(j, True):
            return _refuse_loader()
    if _check_users() != 0 or _check_clashes() != 0:
        return 1
    # The commit: nothing below can fail, and no task runs until it is done.
    flags: u64 = irq_off()
    _carry_state()
    in_old_code: u64 = _rewrite_retired()
    for j in range(_count):
        sym_remove_cell(_old[j])
    for j in range(_count):
        stage_export(j)
    rewritten: u64 = _rewrite()
    for j in range(_count):
        retire_cell(_old[j])
    stage_commit()
    irq_restore(flags)
    freed: u64 = reclaim()
    for j in range(_count):
        if _blob[j] != MAX_BLOBS:
            discard(_blob[j])
    took: u64 = cycles() - start
    for j in range(_count):
        write("swapped ")
        name_write(cell_name(staged_cell(j)))
        newline()
    write("rewritten ")
    write_u64(rewritten)
    newline()
    write("retired_rewritten ")
    write_u64(in_old_code)
    newline()
    write("freed ")
    write_u64(freed)
    newline()
    write("retired ")
    write_u64(retired())
    newline()
    write("cycles ")
    write_u64(took)
    newline()
    write("us ")
    write_u64(to_us(took))
    newline()
    write("heap ")
    write_u64(in_use())
    newline()
    return 0

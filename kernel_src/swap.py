"""swap: the shell commands' side of live evolution: `swap` itself, and finding objects.

    swap CELL[=SOURCE] [CELL2[=SOURCE2] ...]     replace, as one transaction
    load NAME[=SOURCE]                           add a new cell (see cells/load.py)

SOURCE names an upload (see upload) or a boot-archive entry ("counter@2");
it defaults to an upload named like the cell.  The mechanism is
swap_cells.py; this cell reads the command line, finds the objects, and
prints the report the host parses (qemu_bridge/evolution.py).
"""
# cell: unsafe
from theseus_nb.lang.prelude import *
from kernel_src.params import MAX_SWAP, MAX_BLOBS
from kernel_src.serial import write, writeln, write_u64, newline
from kernel_src.shell import arg, argc
from kernel_src.clock import cycles, to_us
from kernel_src import heap
from kernel_src.names import name_valid, name_addr, name_len, name_write, name_begin, name_append_byte, name_end, name_keep
from kernel_src.section_table import NONE, find_cell, all_cells
from kernel_src.loader import staged_cell, load_object
from kernel_src.swap_cells import (swap_begin, swap_stage, swap_commit, refuse, refuse_loader,
                                   rewritten, retired_rewritten, freed)
from kernel_src.upload import find, blob_addr, blob_size, discard
from kernel_src.command import hold, release
from kernel_src.retire import retired
from kernel_src.archive import entry_find, entry_data, entry_size
from kernel_src.versions import note_swap, note_load

_src_addr: u64 = 0
_src_size: u64 = 0
_src_blob: u64 = 0
_staged_from: Array[u64, 8] = [0] * 8      # params.MAX_SWAP: each staged cell's object, kept
_staged_size: Array[u64, 8] = [0] * 8      # params.MAX_SWAP: by versions.py once the swap commits
_staged_copy: Array[bool, 8] = [False] * 8     # params.MAX_SWAP: an upload (copied), not the archive
_staged_name: Array[u64, 8] = [0] * 8      # params.MAX_SWAP


@safe_interface
def split_at_equals(word: str) -> u64:
    """Where "=" is in word (its length if there is none)."""
    for i in range(len(word)):
        if ord(word[i]) == 61:
            return u64(i)
    return u64(len(word))


@safe_interface
def part_name(word: str, lo: u64, hi: u64) -> u64:
    """The kept name made of word's bytes lo..hi."""
    name_begin()
    for i in range(lo, hi):
        name_append_byte(u8(ord(word[i])))
    return name_keep(name_end())


@safe_interface
def find_source(name: u64) -> bool:
    """Find the object called name: an upload first, then an archive entry."""
    global _src_addr, _src_size, _src_blob
    _src_addr = 0
    _src_size = 0
    _src_blob = MAX_BLOBS
    if not name_valid(name):
        return False
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


@safe_interface
def load_found(name: u64) -> u64:
    """Load the object find_source() found as the new cell called name; the
    cell, or NONE (loader.reason() says why).  The object is used up: a
    second call loads nothing until find_source() finds one again."""
    global _src_addr, _src_size
    if _src_addr == 0 or not name_valid(name):
        return NONE
    base: u64 = _src_addr
    _src_addr = 0
    cell: u64 = load_object(name_addr(name), name_len(name), base, _src_size)
    if cell != NONE:
        note_load(name, base, _src_size, _src_blob != MAX_BLOBS)   # for recovery: versions.py
    return cell


def source_addr() -> u64:
    """Address of the object find_source() found."""
    return _src_addr


@safe_interface
def source_size() -> u64:
    """Size of the object find_source() found."""
    return _src_size


@safe_interface
def source_blob() -> u64:
    """Upload slot of the object find_source() found (MAX_BLOBS: the archive)."""
    return _src_blob


def print_figures(took: u64) -> None:
    """The figures of a swap (or rollback) that took `took` cycles, one
    WORD VALUE line each, as the host reads them (qemu_bridge.evolution)."""
    _kv("rewritten", rewritten())
    _kv("retired_rewritten", retired_rewritten())
    _kv("freed", freed())
    _kv("retired", retired())
    _kv("cycles", took)
    _kv("us", to_us(took))
    _kv("heap", heap.in_use)


def _kv(key: str, v: u64) -> None:
    write(key)
    write(" ")
    write_u64(v)
    newline()


def _source_of(j: u64) -> u64:
    # The source name of word j of the line: after "=", else the cell's name.
    word: str = arg(j + 1)
    cut: u64 = split_at_equals(word)
    if cut < u64(len(word)):
        return part_name(word, cut + 1, u64(len(word)))
    return part_name(word, 0, cut)


def _stage_all(count: u64) -> u64:
    # Stage every cell named on the line and commit; 0, or 1 with the refusal printed.
    swap_begin()
    for j in range(count):
        word: str = arg(j + 1)
        name: u64 = part_name(word, 0, split_at_equals(word))
        source: u64 = _source_of(j)
        old: u64 = find_cell(name)
        if old == NONE:
            return refuse("no loaded cell is called", name)
        if all_cells[old].core:
            return refuse("the nano_core is linked by the host and cannot be swapped:", name)
        if not find_source(source):
            return refuse("no upload or archive entry is called", source)
        _staged_from[j] = _src_addr
        _staged_size[j] = _src_size
        _staged_copy[j] = _src_blob != MAX_BLOBS
        _staged_name[j] = name
        if not swap_stage(old, name_addr(name), name_len(name), _src_addr, _src_size):
            return refuse_loader()
    status: u64 = swap_commit()
    if status == 0:
        # Recovery may reload or roll back these cells without the host.
        for j in range(count):
            note_swap(_staged_name[j], _staged_from[j], _staged_size[j], _staged_copy[j])
    return status


def main(arg_: u64) -> u64:
    """Swap the cells named on the line (see the header)."""
    start: u64 = cycles()
    count: u64 = argc() - 1
    if count == 0 or count > MAX_SWAP:
        writeln("usage: swap CELL[=SOURCE] [CELL2[=SOURCE2] ...]")
        return 2
    hold()                      # a Ctrl-C now would leave the tables half-changed
    status: u64 = _stage_all(count)
    # Every upload the line names is used up, swapped in or refused: a
    # refused one would otherwise keep its slot and its heap block.
    for j in range(count):
        b: u64 = find(_source_of(j))
        if b != MAX_BLOBS:
            discard(b)
    release()
    if status != 0:
        return status
    took: u64 = cycles() - start
    for j in range(count):
        write("swapped ")
        name_write(all_cells[staged_cell(j)].name)
        newline()
    print_figures(took)
    return 0

"""rollback: the shell command that undoes a cell's last swap.

    rollback CELL             back to the object CELL ran before its last swap
    rollback CELL=SOURCE      back to an older version the host kept, uploaded as SOURCE

The first form uses the previous object the kernel keeps (versions.py).
The second is how theseus_nb's LiveKernel.rollback undoes a swap: the host
keeps every version, uploads the one to go back to, and the kernel swaps to
it as it would for `swap CELL=SOURCE` but records an undo (so recovery never
"rolls back" to the broken version the host just left).  Either way it is an
ordinary swap, refused like one when a cell swapped in later uses what the
old version lacks, and it prints "rolled back CELL" and the swap's figures
as `swap` does (qemu_bridge/evolution.py reads them).
"""
# cell: unsafe
from theseus_nb.lang.prelude import *
from kernel_src.params import MAX_BLOBS
from kernel_src.serial import write, writeln, newline
from kernel_src.shell import arg, argc
from kernel_src.clock import cycles
from kernel_src.names import name_write
from kernel_src.section_table import NONE, find_cell
from kernel_src.swap import (split_at_equals, part_name, find_source, source_addr, source_size, source_blob,
                             print_figures)
from kernel_src.upload import discard
from kernel_src.command import hold, release
from kernel_src.versions import previous_object, note_undo
from kernel_src.restart import roll_back, swap_to


def _to_upload(cell: u64, source: u64) -> u64:
    # Swap cell to the uploaded older version; 0 when done.
    if not find_source(source):
        write("refused: no upload or archive entry is called '")
        name_write(source)
        writeln("'")
        return 1
    blob: u64 = source_blob()
    status: u64 = 1
    if swap_to(cell, source_addr(), source_size(), False):
        note_undo(cell, source_addr(), source_size(), blob != MAX_BLOBS)
        status = 0
    if blob != MAX_BLOBS:
        discard(blob)           # used up, rolled back to or refused
    return status


def main(arg_: u64) -> u64:
    """Roll back the cell named on the line (see the header)."""
    if argc() != 2:
        writeln("usage: rollback CELL[=SOURCE]")
        return 2
    word: str = arg(1)
    cut: u64 = split_at_equals(word)
    cell: u64 = part_name(word, 0, cut)
    if find_cell(cell) == NONE:
        write("refused: no loaded cell is called '")
        name_write(cell)
        writeln("'")
        return 1
    start: u64 = cycles()
    status: u64 = 1
    hold()                      # a Ctrl-C now would leave the tables half-changed
    if cut < u64(len(word)):
        status = _to_upload(cell, part_name(word, cut + 1, u64(len(word))))
    elif not previous_object(cell):
        write("refused: nothing to roll back: cell '")
        name_write(cell)
        writeln("' has not been swapped since it was loaded")
    elif roll_back(cell):
        status = 0
    release()
    if status != 0:
        return status
    took: u64 = cycles() - start
    write("rolled back ")
    name_write(cell)
    newline()
    print_figures(took)
    return 0

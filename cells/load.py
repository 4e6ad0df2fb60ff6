"""load: add a new cell to the running kernel, from an upload or the archive.

    load NAME[=SOURCE]
"""
from theseus_nb.lang.prelude import *
from kernel_src.shell import arg
from kernel_src.swap import split_at_equals, part_name, find_source, load_found, source_blob
from kernel_src.loader import reason, detail
from kernel_src.section_table import NONE, find_cell
from kernel_src.upload import discard
from kernel_src.params import MAX_BLOBS
from cells.fmt import line
from kernel_src.serial import write
from kernel_src.command import hold, release


def main(arg_: u64) -> u64:
    """Load the cell named on the line."""
    word: str = arg(1)
    cut: u64 = split_at_equals(word)
    if cut == 0:
        line("usage: load NAME[=SOURCE]")
        return 2
    name: u64 = part_name(word, 0, cut)
    source: u64 = name
    if cut < u64(len(word)):
        source = part_name(word, cut + 1, u64(len(word)))
    if not find_source(source):
        line("refused: no upload or archive entry of that name")
        return 1
    cell: u64 = NONE
    hold()                      # a Ctrl-C now would leave the tables half-changed
    if find_cell(name) == NONE:
        cell = load_found(name)
    # The upload is used up either way: a refused one would otherwise keep
    # its slot and its heap block until an upload of the same name.
    if source_blob() != MAX_BLOBS:
        discard(source_blob())
    release()
    if find_cell(name) != NONE and cell == NONE:
        line("refused: a cell of that name is loaded already (use swap)")
        return 1
    if cell == NONE:
        write("refused: ")
        write(reason())
        write(" '")
        write(detail())
        line("'")
        return 1
    write("loaded ")
    line(word)
    return 0

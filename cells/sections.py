"""sections: the sections of one cell, with kind, address and size."""
from theseus_nb.lang.prelude import *
from kernel_src.shell import arg
from kernel_src.section_table import (cell_count, cell_name, cell_alive, section_count,
                                      section_name, section_cell, section_kind, section_addr,
                                      section_size, section_alive)
from kernel_src.names import name_text, name_equals
from kernel_src.serial import write_hex
from cells.fmt import left, right_u64, line


def kind_name(kind: u8) -> str:
    """The word for a section kind."""
    if kind == 0:
        return "text"
    if kind == 1:
        return "rodata"
    if kind == 2:
        return "data"
    return "bss"


def find_cell(name: str) -> u64:
    """Index of the cell called name, or cell_count() if there is none."""
    for c in range(cell_count()):
        if cell_alive(c) and name_equals(cell_name(c), name):
            return c
    return cell_count()


def main(arg_: u64) -> u64:
    """Print the sections of the cell named on the line."""
    c: u64 = find_cell(arg(1))
    if c == cell_count():
        line("usage: sections CELL (see `cells` for the names)")
        return 1
    for s in range(section_count()):
        if section_alive(s) and section_cell(s) == c:
            left(kind_name(section_kind(s)), 8)
            write_hex(section_addr(s))
            right_u64(section_size(s), 8)
            left("", 2)
            line(name_text(section_name(s)))
    return 0

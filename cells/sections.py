"""sections: the sections of one cell, with kind, address and size."""
from theseus_nb.lang.prelude import *
from kernel_src.shell import arg
from kernel_src.section_table import all_cells, all_sections
from kernel_src import section_table
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
    for c in range(section_table.n_cells):
        if all_cells[c].alive and name_equals(all_cells[c].name, name):
            return c
    return section_table.n_cells


def main(arg_: u64) -> u64:
    """Print the sections of the cell named on the line."""
    c: u64 = find_cell(arg(1))
    if c == section_table.n_cells:
        line("usage: sections CELL (see `cells` for the names)")
        return 1
    for s in range(section_table.n_sections):
        if all_sections[s].alive and all_sections[s].cell == c:
            left(kind_name(all_sections[s].kind), 8)
            write_hex(all_sections[s].addr)
            right_u64(all_sections[s].size, 8)
            left("", 2)
            line(name_text(all_sections[s].name))
    return 0

"""graph: the whole live section graph, one record a line, for the host.

The format is the one theseus_nb.graph.SectionGraph.from_dump reads:
    cell NAME core|loaded|isolated
    sec CELL::NAME CELL KIND SIZE ADDRESS
    dep FROM TO COUNT
"""
from theseus_nb.lang.prelude import *
from kernel_src.section_table import (cell_count, cell_name, cell_core, section_count,
                                      section_name, section_cell, section_kind, section_addr,
                                      section_size, dep_count, dep_src, dep_dst, dep_weight,
                                      cell_alive, section_alive, dep_alive)
from kernel_src.names import name_text
from kernel_src.isolated_cells import is_isolated
from kernel_src.serial import write, write_u64, write_hex, newline
from cells.sections import kind_name


def main(arg: u64) -> u64:
    """Print the dump."""
    for c in range(cell_count()):
        if not cell_alive(c):
            continue
        write("cell ")
        write(name_text(cell_name(c)))
        if cell_core(c):
            write(" core")
        elif is_isolated(c):
            write(" isolated")
        else:
            write(" loaded")
        newline()
    for s in range(section_count()):
        if not section_alive(s):
            continue
        write("sec ")
        write(name_text(section_name(s)))
        write(" ")
        write(name_text(cell_name(section_cell(s))))
        write(" ")
        write(kind_name(section_kind(s)))
        write(" ")
        write_u64(section_size(s))
        write(" ")
        write_hex(section_addr(s))
        newline()
    for d in range(dep_count()):
        if not dep_alive(d):
            continue
        write("dep ")
        write(name_text(section_name(dep_src(d))))
        write(" ")
        write(name_text(section_name(dep_dst(d))))
        write(" ")
        write_u64(dep_weight(d))
        newline()
    return 0

"""graph: the whole live section graph, one record a line, for the host.

The format is the one theseus_nb.graph.SectionGraph.from_dump reads:
    cell NAME core|loaded|isolated
    sec CELL::NAME CELL KIND SIZE ADDRESS
    dep FROM TO COUNT
"""
from theseus_nb.lang.prelude import *
from kernel_src.section_table import dep_alive, all_cells, all_deps, all_sections
from kernel_src import section_table
from kernel_src.names import name_text
from kernel_src.isolated_cells import is_isolated
from kernel_src.serial import write, write_u64, write_hex, newline
from cells.sections import kind_name


def main(arg: u64) -> u64:
    """Print the dump."""
    for c in range(section_table.n_cells):
        if not all_cells[c].alive:
            continue
        write("cell ")
        write(name_text(all_cells[c].name))
        if all_cells[c].core:
            write(" core")
        elif is_isolated(c):
            write(" isolated")
        else:
            write(" loaded")
        newline()
    for s in range(section_table.n_sections):
        if not all_sections[s].alive:
            continue
        write("sec ")
        write(name_text(all_sections[s].name))
        write(" ")
        write(name_text(all_cells[all_sections[s].cell].name))
        write(" ")
        write(kind_name(all_sections[s].kind))
        write(" ")
        write_u64(all_sections[s].size)
        write(" ")
        write_hex(all_sections[s].addr)
        newline()
    for d in range(section_table.n_deps):
        if not dep_alive(d):
            continue
        write("dep ")
        write(name_text(all_sections[all_deps[d].src].name))
        write(" ")
        write(name_text(all_sections[all_deps[d].dst].name))
        write(" ")
        write_u64(all_deps[d].count)
        newline()
    return 0

"""boottime: how long the nano_core took to load and link each cell at boot.

One line per cell ("load NAME CYCLES RELOCATIONS"), then the total and the
TSC rate, so the host can turn cycles into time (bench/bench_loader.py).
"""
from theseus_nb.lang.prelude import *
from kernel_src.archive import entry_count, entry_name
from kernel_src.boot_cells import load_cycles
from kernel_src import boot_cells
from kernel_src.section_table import NONE, find_cell, reloc_alive, all_relocs, all_sections
from kernel_src import section_table
from kernel_src.names import name_add_str
from kernel_src.clock import cycles_per_ms
from kernel_src.serial import write, write_u64, newline


def relocations_of(c: u64) -> u64:
    """How many relocations the loader applied in cell c's sections."""
    n: u64 = 0
    for r in range(section_table.n_relocs):
        if reloc_alive(r) and all_sections[all_relocs[r].section].cell == c:
            n += 1
    return n


def main(arg: u64) -> u64:
    """Print the load times."""
    for i in range(entry_count()):
        if load_cycles[i] == 0:
            continue
        c: u64 = find_cell(name_add_str(entry_name(i)))
        write("load ")
        write(entry_name(i))
        write(" ")
        write_u64(load_cycles[i])
        write(" ")
        if c == NONE:
            write_u64(0)
        else:
            write_u64(relocations_of(c))
        newline()
    write("total ")
    write_u64(boot_cells.total_load_cycles)
    newline()
    write("cycles_per_ms ")
    write_u64(cycles_per_ms())
    newline()
    return 0

"""deps: what one section depends on, and which sections depend on it."""
from theseus_nb.lang.prelude import *
from kernel_src.shell import arg
from kernel_src.section_table import dep_alive, all_deps, all_sections
from kernel_src import section_table
from kernel_src.names import name_text, name_equals
from kernel_src.serial import write, write_u64
from cells.fmt import line


def find_section(name: str) -> u64:
    """Index of the section called name ("cell::symbol"), or section_count()."""
    for s in range(section_table.n_sections):
        if all_sections[s].alive and name_equals(all_sections[s].name, name):
            return s
    return section_table.n_sections


def _show(s: u64, count: u64) -> None:
    write("  ")
    write(name_text(all_sections[s].name))
    write(" (")
    write_u64(count)
    line(" relocations)")


def main(arg_: u64) -> u64:
    """Print the dependencies and dependents of the section named on the line."""
    s: u64 = find_section(arg(1))
    if s == section_table.n_sections:
        line("usage: deps CELL::NAME (see `sections CELL` for the names)")
        return 1
    line("depends on:")
    for d in range(section_table.n_deps):
        if dep_alive(d) and all_deps[d].src == s:
            _show(all_deps[d].dst, all_deps[d].count)
    line("used by:")
    for d in range(section_table.n_deps):
        if dep_alive(d) and all_deps[d].dst == s:
            _show(all_deps[d].src, all_deps[d].count)
    return 0

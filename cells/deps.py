"""deps: what one section depends on, and which sections depend on it."""
from theseus_nb.lang.prelude import *
from kernel_src.shell import arg
from kernel_src.section_table import (section_count, section_name, section_alive, dep_count,
                                      dep_src, dep_dst, dep_weight, dep_alive)
from kernel_src.names import name_text, name_equals
from kernel_src.serial import write, write_u64
from cells.fmt import line


def find_section(name: str) -> u64:
    """Index of the section called name ("cell::symbol"), or section_count()."""
    for s in range(section_count()):
        if section_alive(s) and name_equals(section_name(s), name):
            return s
    return section_count()


def _show(s: u64, count: u64) -> None:
    write("  ")
    write(name_text(section_name(s)))
    write(" (")
    write_u64(count)
    line(" relocations)")


def main(arg_: u64) -> u64:
    """Print the dependencies and dependents of the section named on the line."""
    s: u64 = find_section(arg(1))
    if s == section_count():
        line("usage: deps CELL::NAME (see `sections CELL` for the names)")
        return 1
    line("depends on:")
    for d in range(dep_count()):
        if dep_alive(d) and dep_src(d) == s:
            _show(dep_dst(d), dep_weight(d))
    line("used by:")
    for d in range(dep_count()):
        if dep_alive(d) and dep_dst(d) == s:
            _show(dep_src(d), dep_weight(d))
    return 0

"""cells: the loaded cells, with their kind (nano_core, loaded, isolated), section counts and sizes."""
from theseus_nb.lang.prelude import *
from kernel_src.section_table import cell_count, cell_name, cell_sections, cell_bytes, cell_core, cell_alive
from kernel_src.names import name_text
from kernel_src.isolated_cells import is_isolated
from cells.fmt import left, right_u64, line, size


def main(arg: u64) -> u64:
    """Print one row per loaded cell."""
    left("cell", 18)
    left("kind", 10)
    line("sections     bytes")
    for c in range(cell_count()):
        if not cell_alive(c):
            continue
        left(name_text(cell_name(c)), 18)
        if cell_core(c):
            left("nano_core", 10)
        elif is_isolated(c):
            left("isolated", 10)          # ring 3, its own pages, calls out through gates
        else:
            left("loaded", 10)
        right_u64(cell_sections(c), 8)
        right_u64(cell_bytes(c), 10)
        line("")
    return 0

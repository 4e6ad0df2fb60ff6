"""cells: the loaded cells, with their kind (nano_core, loaded, isolated), section counts and sizes."""
from theseus_nb.lang.prelude import *
from kernel_src.section_table import all_cells
from kernel_src import section_table
from kernel_src.names import name_text
from kernel_src.isolated_cells import is_isolated
from cells.fmt import left, right_u64, line, size


def main(arg: u64) -> u64:
    """Print one row per loaded cell."""
    left("cell", 18)
    left("kind", 10)
    line("sections     bytes")
    for c in range(section_table.n_cells):
        if not all_cells[c].alive:
            continue
        left(name_text(all_cells[c].name), 18)
        if all_cells[c].core:
            left("nano_core", 10)
        elif is_isolated(c):
            left("isolated", 10)          # ring 3, its own pages, calls out through gates
        else:
            left("loaded", 10)
        right_u64(all_cells[c].sections, 8)
        right_u64(all_cells[c].bytes, 10)
        line("")
    return 0

"""mem: physical frames, kernel heap, page tables and WebAssembly memories in use."""
from theseus_nb.lang.prelude import *
from kernel_src import frames, heap, paging, wasm_memory
from kernel_src.heap import size, page_rounding
from kernel_src.names import names_used
from kernel_src.retire import reclaim, retired
from cells.fmt import kv


def main(arg: u64) -> u64:
    """Print the memory counters, one "key value" line each."""
    reclaim()                       # old code no task runs any more is freed first
    kv("retired", retired())
    kv("frames_used", frames.used)
    kv("frames_total", frames.total)
    kv("heap_used", heap.in_use)
    kv("heap_allocs", heap.allocations)
    kv("heap_requested", heap.requested)
    kv("heap_size", size())
    kv("names_used", names_used())
    kv("page_blocks", heap.page_blocks)         # whole-page blocks: cells' regions, stacks
    kv("page_rounding", page_rounding())        # bytes they lose to rounding up to pages
    kv("page_tables", paging.table_frames)      # frames holding page tables
    kv("pages_split", paging.split_pages)       # 2 MiB pages split where permissions differ
    kv("wasm_slots", wasm_memory.slots_used())  # guard-region memories (one per wasm cell)
    kv("wasm_frames", wasm_memory.frames_mapped)   # frames of their live pages
    return 0

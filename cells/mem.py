"""mem: physical frames and kernel heap in use."""
from theseus_nb.lang.prelude import *
from kernel_src.frames import used, total
from kernel_src.heap import in_use, allocations, size, requested
from kernel_src.names import names_used
from kernel_src.retire import reclaim, retired
from cells.fmt import kv


def main(arg: u64) -> u64:
    """Print the memory counters, one "key value" line each."""
    reclaim()                       # old code no task runs any more is freed first
    kv("retired", retired())
    kv("frames_used", used())
    kv("frames_total", total())
    kv("heap_used", in_use())
    kv("heap_allocs", allocations())
    kv("heap_requested", requested())
    kv("heap_size", size())
    kv("names_used", names_used())
    return 0

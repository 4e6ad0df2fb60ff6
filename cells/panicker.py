"""panicker: a demo task that panics on purpose (spawn panicker::run N)."""
from theseus_nb.lang.prelude import *
from kernel_src.task import sleep


def run(n: u64) -> u64:
    """Sleep n ticks, then panic: the task ends faulted, the kernel goes on."""
    sleep(n)
    print(f"panicker: slept {n} ticks; goodbye, I panic now")
    panic("panicker: on purpose")
    return 0

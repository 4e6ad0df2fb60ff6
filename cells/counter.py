"""counter: a demo task that counts, one step a timer tick (spawn counter::run N).

Every REPORT_EVERY steps it says on the console how far it has counted.
"""
from theseus_nb.lang.prelude import *
from kernel_src.task import sleep
from cells.fmt import kv

_count: u64 = 0
REPORT_EVERY: u64 = 100       # steps between two lines on the console (a second at 100 Hz)


def step(count: u64) -> u64:
    """One step of counting: the part a hot swap can change while run() goes on."""
    return count + 1


def run(n: u64) -> u64:
    """Count n steps (forever if n is 0), sleeping one tick each; returns n."""
    global _count
    i: u64 = 0
    while n == 0 or i < n:
        _count = step(_count)
        i += 1
        if i % REPORT_EVERY == 0:
            print(f"counter: counted {i} ticks, the count is {_count}")
        sleep(1)
    return n


def main(arg: u64) -> u64:
    """Print the count so far."""
    kv("count", _count)
    return 0

"""worker: a task that adds step(1) to total every tick; its command prints total.

A test cell (tests/kernel_src/test_restart.py, tests/theseus_nb/test_history.py
read it): swapping step() changes what the running task adds, and a version
of step() that panics is a broken swap to recover from or roll back.
"""
from theseus_nb.lang.prelude import *
from kernel_src.task import sleep
from kernel_src.serial import write_u64, newline

total: u64 = 0
calls: u64 = 0


def step(n: u64) -> u64:
    """What one tick adds."""
    # A side effect keeps the call: a pure function of this cell could be
    # folded into its caller, and a swap would never reach the new one.
    global calls
    calls += 1
    return n


def run(arg: u64) -> u64:
    """Add step(1) to total every tick, for ever."""
    global total
    while True:
        total += step(1)
        sleep(1)
    return 0


def main(arg: u64) -> u64:
    """Print total."""
    write_u64(total)
    newline()
    return 0

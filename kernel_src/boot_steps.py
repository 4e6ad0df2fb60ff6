"""boot_steps: the TSC at each step of the boot, for `bootsteps` and bench_boot.

boot.s stores the TSC when the boot loader enters it and again in long mode
(boot_tsc, in .data: bss is zeroed after the first read); nano_core.main
marks each line of its checklist.  The TSC counts from the machine's reset,
so the first number is the firmware's and the loader's time.
"""
# cell: unsafe
from theseus_nb.lang.prelude import *
from theseus_nb.lang.unsafe import rdtsc

STEPS: u64 = 12                   # marks nano_core.main makes, after boot.s's two

_at: Array[u64, 12] = [0] * 12    # boot_steps.STEPS


def mark(step: u64) -> None:
    """Step number `step` of nano_core.main is done."""
    if step < STEPS:
        _at[step] = rdtsc()


def at(step: u64) -> u64:
    """The TSC when step `step` was done (0 if it was not)."""
    if step < STEPS:
        return _at[step]
    return 0


def name(step: u64) -> str:
    """What step `step` of nano_core.main does."""
    if step == 0:
        return "serial"
    if step == 1:
        return "clock"
    if step == 2:
        return "multiboot+frames"
    if step == 3:
        return "load_core"
    if step == 4:
        return "paging"
    if step == 5:
        return "heap"
    if step == 6:
        return "load_all"
    if step == 7:
        return "idt+tasks"
    if step == 8:
        return "timer"
    return "?"

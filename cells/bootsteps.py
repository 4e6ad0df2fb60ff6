"""bootsteps: where the boot's time went, one line a step: "NAME CYCLES" (TSC cycles
since the step before), then "per_ms N" to turn them into time.

The first line, "entry_tsc", is the TSC when boot.s began (from the machine's
reset under TCG; a KVM host may pass its own TSC through); "boot.s" is zeroing
bss, the first page tables and the switch to long mode; the rest are the
lines of nano_core.main.
"""
# cell: unsafe
from theseus_nb.lang.prelude import *
from theseus_nb.lang.unsafe import load64
from kernel_src.boot_steps import STEPS, at, name
from kernel_src.namespace import symbol_address
from kernel_src.clock import cycles_per_ms
from kernel_src.serial import write, write_u64, newline


def _line(what: str, cycles: u64) -> None:
    write(what)
    write(" ")
    write_u64(cycles)
    newline()


def main(arg: u64) -> u64:
    """Print the steps."""
    tsc: u64 = symbol_address("boot_tsc")
    if tsc == 0:
        return 1
    entry: u64 = load64(tsc)
    long_mode: u64 = load64(tsc + 8)
    _line("entry_tsc", entry)
    _line("boot.s", long_mode - entry)
    before: u64 = long_mode
    for i in range(STEPS):
        t: u64 = at(i)
        if t != 0:
            _line(name(i), t - before)
            before = t
    write("per_ms ")
    write_u64(cycles_per_ms())
    newline()
    return 0

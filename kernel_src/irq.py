"""irq: turn interrupts off around a critical section, and back on as they were.

Used by whatever must not be interrupted by a task switch half-way (the
heap, a hot swap's commit).  Early in boot, before the nano_core's symbols
are in the namespace, interrupts are off anyway and these do nothing.
"""
# cell: unsafe
from theseus_nb.lang.prelude import *
from theseus_nb.lang.unsafe import call_addr, cli, sti
from kernel_src.frame import RFLAGS_IF
from kernel_src.namespace import symbol_address

_flags_fn: u64 = 0              # interrupts::read_flags (pushf), once found


def irq_off() -> u64:
    """Interrupts off; returns the flags that irq_restore() needs."""
    global _flags_fn
    if _flags_fn == 0:
        _flags_fn = symbol_address("interrupts::read_flags")
        if _flags_fn == 0:
            return 0
    flags: u64 = call_addr(_flags_fn, 0)
    cli()
    return flags


def irq_restore(flags: u64) -> None:
    """Interrupts back on if they were on when irq_off() returned flags."""
    if flags & RFLAGS_IF != 0:
        sti()

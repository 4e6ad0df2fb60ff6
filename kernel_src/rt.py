"""rt: the panic handler every cell's checks call (rt::panic).

A panic inside the nano_core cannot be contained: print a crash report and
stop QEMU with a distinct status, so a test or a notebook sees it at once.
"""
# cell: unsafe
from theseus_nb.lang.prelude import *
from theseus_nb.lang.unsafe import outl, cli, hlt
from kernel_src.params import DEBUG_EXIT_PORT, EXIT_PANIC
from kernel_src.serial import write, write_u64, newline


def panic(msg: str, where: str, line: u64) -> None:
    """Report a panic at where:line and halt the machine."""
    newline()
    write("!! kernel panic in ")
    write(where)
    write(" line ")
    write_u64(line)
    write(": ")
    write(msg)
    newline()
    outl(DEBUG_EXIT_PORT, EXIT_PANIC)
    while True:
        cli()
        hlt()

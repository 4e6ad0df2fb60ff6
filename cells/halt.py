"""halt: power off through QEMU's isa-debug-exit device.

QEMU exits with status (N << 1) | 1, so `halt 3` gives 7: tests read it.
"""
# cell: unsafe
from theseus_nb.lang.prelude import *
from theseus_nb.lang.unsafe import outl, cli, hlt
from kernel_src.params import DEBUG_EXIT_PORT
from kernel_src.shell import arg_u64


def main(arg: u64) -> u64:
    """Leave QEMU with the status given on the line (default 0)."""
    code: u64 = arg_u64(1)
    outl(DEBUG_EXIT_PORT, u32(code & 0xFFFF))
    while True:            # without the device, stop the CPU instead
        cli()
        hlt()
    return 0

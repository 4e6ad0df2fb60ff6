"""uptime: time since boot, from the nano_core's clock."""
from theseus_nb.lang.prelude import *
from kernel_src.clock import uptime_ms
from kernel_src.serial import write, write_u64, newline


def main(arg: u64) -> u64:
    """Print "up N.MMM s"."""
    ms: u64 = uptime_ms()
    write("up ")
    write_u64(ms // 1000)
    write(".")
    frac: u64 = ms % 1000
    if frac < 100:
        write("0")
    if frac < 10:
        write("0")
    write_u64(frac)
    write(" s")
    newline()
    return 0

"""clock: time since boot, from the TSC calibrated against the PIT, and in timer ticks.

The PIT ticks at a known 1.193182 MHz; counting TSC cycles while channel 2
counts down 10 ms tells us the TSC's rate without trusting anything else.
The tick count lives here, not in the timer, so that the task cells below
the timer (sleep, the switcher) can read it.
"""
# cell: unsafe
from theseus_nb.lang.prelude import *
from theseus_nb.lang.unsafe import inb, outb, rdtsc

_boot_tsc: u64 = 0
_per_ms: u64 = 1
_ticks: u64 = 0


def init() -> None:
    """Remember the boot time and measure TSC cycles per millisecond."""
    global _boot_tsc, _per_ms
    _boot_tsc = rdtsc()
    gate: u8 = inb(0x61) & 0xFC        # channel 2 gate low, speaker off
    outb(0x61, gate)
    outb(0x43, 0xB0)                   # channel 2, lo/hi byte, mode 0
    outb(0x42, 0x9C)                   # 11932 = 10 ms of PIT ticks
    outb(0x42, 0x2E)
    outb(0x61, gate | 1)               # gate high: the count starts
    t0: u64 = rdtsc()
    while inb(0x61) & 0x20 == 0:       # output goes high at zero
        pass
    cycles: u64 = rdtsc() - t0
    _per_ms = cycles // 10
    if _per_ms == 0:
        _per_ms = 1


def cycles() -> u64:
    """The TSC now."""
    return rdtsc()


@safe_interface
def cycles_per_ms() -> u64:
    """TSC cycles in one millisecond (measured at boot)."""
    return _per_ms


@safe_interface
def uptime_ms() -> u64:
    """Milliseconds since boot."""
    return (rdtsc() - _boot_tsc) // _per_ms


def to_us(cycles: u64) -> u64:
    """Convert TSC cycles to microseconds."""
    return cycles * 1000 // _per_ms


def count_tick() -> u64:
    """The timer interrupt's count (timer.tick() calls it); the new count."""
    global _ticks
    _ticks += 1
    return _ticks


@safe_interface
def ticks() -> u64:
    """Timer interrupts since the timer started."""
    return _ticks

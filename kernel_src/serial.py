"""serial: the COM1 console, polled (no interrupts needed to boot).

Everything the kernel prints goes through put(); everything the shell reads
comes from get().  Output lines end in CR LF, as a terminal expects.
"""
# cell: unsafe
from theseus_nb.lang.prelude import *
from theseus_nb.lang.unsafe import inb, outb, load8
from kernel_src.params import COM1


def init() -> None:
    """Program the UART: 115200 baud, 8N1, FIFOs on."""
    outb(COM1 + 1, 0x00)   # no UART interrupts
    outb(COM1 + 3, 0x80)   # DLAB: the next two bytes are the divisor
    outb(COM1 + 0, 0x01)   # 115200 / 1
    outb(COM1 + 1, 0x00)
    outb(COM1 + 3, 0x03)   # 8 bits, no parity, one stop bit
    outb(COM1 + 2, 0x87)   # FIFOs on and cleared, interrupt at 8 bytes (measured best for uploads)
    outb(COM1 + 4, 0x0B)   # DTR, RTS, OUT2


# Framing (the bridge's machine mode): count and checksum what a command
# prints, so the host can check it got every byte.  CR is left out because
# the host's pty adds its own.
_framing: bool = False
_count: u64 = 0
_sum_a: u64 = 1
_sum_b: u64 = 0


@safe_interface
def put(c: u8) -> None:
    """Send one byte, waiting until the transmitter can take it."""
    global _count, _sum_a, _sum_b
    if _framing and c != 13:
        _count += 1
        _sum_a = (_sum_a + u64(c)) % 65521
        _sum_b = (_sum_b + _sum_a) % 65521
    while inb(COM1 + 5) & 0x20 == 0:
        pass
    outb(COM1, c)


def frame_begin() -> None:
    """Start counting output for a framed reply."""
    global _framing, _count, _sum_a, _sum_b
    _framing = True
    _count = 0
    _sum_a = 1
    _sum_b = 0


def frame_end() -> None:
    """Stop counting; frame_count() and frame_checksum() hold the result."""
    global _framing
    _framing = False


def frame_count() -> u64:
    """Bytes printed (CR excluded) since frame_begin()."""
    return _count


def frame_checksum() -> u64:
    """Adler-32 of those bytes."""
    return (_sum_b << 16) | _sum_a


def ready() -> bool:
    """True when a received byte is waiting."""
    return inb(COM1 + 5) & 0x01 != 0


def get() -> u8:
    """Wait for and return one received byte."""
    while not ready():
        pass
    return inb(COM1)


@safe_interface
def write(s: str) -> None:
    """Print a string as it is."""
    for i in range(len(s)):
        put(u8(ord(s[i])))


def writeln(s: str) -> None:
    """Print a string and end the line."""
    write(s)
    put(13)
    put(10)


@safe_interface
def newline() -> None:
    """End the line."""
    put(13)
    put(10)


def write_mem(addr: u64, n: u64) -> None:
    """Print n bytes of memory at addr (names kept in the kernel's tables)."""
    for i in range(n):
        put(load8(addr + i))


@safe_interface
def write_u64(v: u64) -> None:
    """Print v in decimal."""
    digits: Array[u8, 20] = [0] * 20
    n: u64 = 0
    while True:
        digits[n] = u8(v % 10) + 48
        n += 1
        v = v // 10
        if v == 0:
            break
    while n > 0:
        n -= 1
        put(digits[n])


@safe_interface
def write_hex(v: u64) -> None:
    """Print v in hexadecimal with a 0x prefix."""
    write("0x")
    started: bool = False
    shift: u64 = 64
    while shift > 0:
        shift -= 4
        nibble: u8 = u8((v >> shift) & 0xF)
        if nibble != 0 or started or shift == 0:
            started = True
            if nibble < 10:
                put(nibble + 48)
            else:
                put(nibble + 87)

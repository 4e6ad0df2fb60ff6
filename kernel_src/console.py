"""console: what print() in a cell writes, one print at a time.

The compiler turns `print(a, b, sep=", ")` into: evaluate a and b (they may
panic), then begin(), one write for each piece, end().  begin() turns
interrupts off, so no task switch and no other task's print can come
between the pieces: lines from different tasks never interleave within a
print.  Calls nest (a print from an interrupt handler inside a print), and
only the outermost end() turns interrupts back on as they were.  The
bytes go to the console through serial's writers; "\\n" becomes CR LF, as
a terminal expects.
"""
# cell: unsafe
from theseus_nb.lang.prelude import *
from kernel_src.serial import put, write_u64 as serial_u64
from kernel_src.irq import irq_off, irq_restore

_depth: u64 = 0         # begin() calls not yet ended
_flags: u64 = 0         # the flags the outermost begin() found


@safe_interface
def begin() -> None:
    """Start a print: no task switch until the matching end()."""
    global _depth, _flags
    flags: u64 = irq_off()
    if _depth == 0:
        _flags = flags
    _depth += 1


@safe_interface
def end() -> None:
    """End a print; the outermost end() turns interrupts back on if they were."""
    global _depth
    if _depth == 0:
        return      # an end() without begin() changes nothing
    _depth -= 1
    if _depth == 0:
        irq_restore(_flags)


@safe_interface
def write(s: str) -> None:
    """Print s as it is, each "\\n" as CR LF."""
    for i in range(len(s)):
        c: u8 = u8(ord(s[i]))
        if c == 10:
            put(13)
        put(c)


@safe_interface
def write_u64(v: u64) -> None:
    """Print v in decimal."""
    serial_u64(v)


@safe_interface
def write_i64(v: i64) -> None:
    """Print v in decimal, with a minus sign if it is negative."""
    if v < 0:
        put(45)
        serial_u64(u64(-(v + 1)) + 1)     # -(v + 1) cannot overflow, even for the smallest i64
    else:
        serial_u64(u64(v))


@safe_interface
def write_bool(b: bool) -> None:
    """Print True or False, as Python does."""
    if b:
        write("True")
    else:
        write("False")

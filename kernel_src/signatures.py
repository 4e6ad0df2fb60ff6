"""signatures: the compiler's signature table of the open cell object.

A cell-language object carries `.theseus.sigs` (theseus_nb/signatures.py
writes it), a section that is never loaded: one "NAME HEX16" line per
public function (a hash of its signature) and per global (a hash of its
type).  The loader records each exported symbol's hash in the namespace;
a hot swap compares the old hash with the new object's before it lets a
remaining cell keep calling a replaced function, or carries a global over.
"""
# cell: unsafe
from theseus_nb.lang.prelude import *
from theseus_nb.lang.unsafe import load8
from kernel_src.elf import find_section, section_data, sh_size
from kernel_src.names import mem_equal

SIG_DIGITS: u64 = 16         # hex digits of one hash


def _hex(addr: u64, n: u64) -> u64:
    v: u64 = 0
    for i in range(n):
        c: u8 = load8(addr + i)
        if c >= 97:
            v = (v << 4) | u64(c - 87)
        else:
            v = (v << 4) | u64(c - 48)
    return v


def sig_in_object(a: u64, n: u64) -> u64:
    """The signature hash the open object records for the name at a (0: none)."""
    t: u64 = find_section(".theseus.sigs")
    if t == 0:
        return 0
    p: u64 = section_data(t)
    end: u64 = p + sh_size(t)
    while p + n + SIG_DIGITS + 1 <= end:
        if load8(p + n) == 32 and mem_equal(p, a, n):
            return _hex(p + n + 1, SIG_DIGITS)
        while p < end and load8(p) != 10:
            p += 1
        p += 1
    return 0

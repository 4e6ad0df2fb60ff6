"""reloc: the x86-64 relocation types the kernel applies, and the patch arithmetic.

The loader applies a relocation when it links a new cell; a hot swap
(swap_cells.py) and retire apply the same record again later, to point old
code at a new section.  Both come here, so a type means one thing.  These
are exactly the types the host accepts (theseus_nb/objects.py
SUPPORTED_RELOCATIONS; tests/kernel_src/test_relocation_types.py compares
the two lists).  Results are range-checked like the host linker's: a
truncated address would send a call somewhere else.
"""
# cell: unsafe
from theseus_nb.lang.prelude import *
from theseus_nb.lang.unsafe import store32, store64

R_X86_64_64: u32 = 1         # S + A, 64 bits
R_X86_64_PC32: u32 = 2       # S + A - P, 32 bits signed
R_X86_64_PLT32: u32 = 4      # a call: no PLT here, so PC32
R_X86_64_32: u32 = 10        # S + A, 32 bits zero-extended
R_X86_64_32S: u32 = 11       # S + A, 32 bits sign-extended
R_X86_64_PC64: u32 = 24      # S + A - P, 64 bits


def accepted(rtype: u32) -> bool:
    """Is rtype one of the types above?"""
    return rtype == R_X86_64_64 or rtype == R_X86_64_PC32 or rtype == R_X86_64_PLT32 \
        or rtype == R_X86_64_32 or rtype == R_X86_64_32S or rtype == R_X86_64_PC64


def width(rtype: u32) -> u64:
    """Bytes a relocation of type rtype writes."""
    if rtype == R_X86_64_64 or rtype == R_X86_64_PC64:
        return 8
    return 4


def patch(place: u64, rtype: u32, s: u64, a: i64) -> str:
    """Write relocation type rtype at place for symbol value s and addend a;
    "" when done, else why not (and nothing is written)."""
    v: i64 = i64(s) + a
    if rtype == R_X86_64_64:
        if v < 0:
            return "relocation result is negative"
        store64(place, u64(v))
        return ""
    if rtype == R_X86_64_PC64:
        v -= i64(place)
        if v < 0:
            store64(place, 0xFFFFFFFFFFFFFFFF - u64(-1 - v))     # two's complement
        else:
            store64(place, u64(v))
        return ""
    if rtype == R_X86_64_PC32 or rtype == R_X86_64_PLT32:
        v -= i64(place)
        if v < -0x80000000 or v > 0x7FFFFFFF:
            return "PC-relative relocation out of range"
    elif rtype == R_X86_64_32:
        if v < 0 or v > 0xFFFFFFFF:
            return "32-bit relocation out of range"
    elif rtype == R_X86_64_32S:
        if v < -0x80000000 or v > 0x7FFFFFFF:
            return "32-bit signed relocation out of range"
    else:
        return "unknown relocation type"
    store32(place, u32(v & 0xFFFFFFFF))
    return ""

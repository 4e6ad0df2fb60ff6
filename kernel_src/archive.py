"""archive: read the boot archive (theseus_nb/archive.py documents the format).

The archive is checked before anything in it is used: header, entry table
checksum, and each object's bounds and Adler-32.  A bad entry is skipped
with a message; the others still load.
"""
# cell: unsafe
from theseus_nb.lang.prelude import *
from theseus_nb.lang.unsafe import load8, load32, load64, make_str
from kernel_src.params import MAX_ARCHIVE
from kernel_src.names import mem_equal

HEADER: u64 = 32
ENTRY: u64 = 48

_base: u64 = 0
_count: u64 = 0


ADLER_BLOCK: u64 = 1048576     # bytes summed between two reductions mod 65521


def adler32(addr: u64, n: u64) -> u32:
    """Adler-32 of n bytes at addr (zlib's checksum, easy to check by hand)."""
    # The sums are reduced once a block, not once a byte (as zlib does, with
    # wider sums): in 64 bits, b stays below 65521 * 2^20 + 255 * 2^39 after
    # a block of 2^20 bytes, far from overflowing.  Two divisions a byte were
    # most of the boot's checksum time, which matters where every instruction
    # costs (a KVM host that emulates the guest).
    a: u64 = 1
    b: u64 = 0
    done: u64 = 0
    while done < n:
        end: u64 = min(n, done + ADLER_BLOCK)
        for i in range(done, end):
            a += u64(load8(addr + i))
            b += a
        a %= 65521
        b %= 65521
        done = end
    return u32((b << 16) | a)


def open_archive(base: u64, size: u64) -> str:
    """Check the archive at base; "" if it is usable, else the reason."""
    global _base, _count
    _count = 0
    if base == 0:
        return "no boot archive (QEMU was started without -initrd)"
    if size < HEADER:
        return "boot archive shorter than its header"
    if load64(base) != 0x534C4C4543424E54:      # "TNBCELLS"
        return "boot archive has a bad magic number"
    if load32(base + 8) != 1:
        return "boot archive has an unknown version"
    n: u64 = u64(load32(base + 12))
    if load64(base + 16) != size or n > MAX_ARCHIVE or HEADER + n * ENTRY > size:
        return "boot archive is truncated"
    if adler32(base + HEADER, n * ENTRY) != load32(base + 24):
        return "boot archive's entry table is corrupt"
    _base = base
    _count = n
    return ""


@safe_interface
def entry_count() -> u64:
    """Number of entries."""
    return _count


def _entry(i: u64) -> u64:
    return _base + HEADER + i * ENTRY


def entry_name_addr(i: u64) -> u64:
    """Address of entry i's name."""
    return _entry(i)


def entry_name_len(i: u64) -> u64:
    """Length of entry i's name (at most 31)."""
    n: u64 = 0
    while n < 32 and load8(_entry(i) + n) != 0:
        n += 1
    return n


@safe_interface
def entry_name(i: u64) -> str:
    """Entry i's name ("" if there is no entry i)."""
    if i >= _count:
        return ""
    return make_str(entry_name_addr(i), entry_name_len(i))


def entry_data(i: u64) -> u64:
    """Address of entry i's object."""
    return _base + u64(load32(_entry(i) + 32))


def entry_size(i: u64) -> u64:
    """Size of entry i's object."""
    return u64(load32(_entry(i) + 36))


def entry_check(i: u64, archive_size: u64) -> str:
    """"" if entry i lies inside the archive and matches its checksum."""
    off: u64 = u64(load32(_entry(i) + 32))
    n: u64 = entry_size(i)
    if off > archive_size or n > archive_size - off:
        return "object extends past the end of the archive"
    if adler32(_base + off, n) != load32(_entry(i) + 40):
        return "object checksum mismatch (corrupt)"
    return ""


def entry_find(addr: u64, n: u64) -> u64:
    """Index of the entry whose name is the n bytes at addr, or NONE."""
    for i in range(_count):
        if entry_name_len(i) == n and mem_equal(entry_name_addr(i), addr, n):
            return i
    return 0xFFFFFFFFFFFFFFFF

"""elf: read an ELF64 relocatable object in memory, checking every read.

An object comes from outside the kernel (the boot archive, an upload), so
nothing in it is trusted: each header field is checked against the object's
size before it is used, and a failed check sets a plain reason instead of
reading out of bounds.
"""
# cell: unsafe
from theseus_nb.lang.prelude import *
from theseus_nb.lang.unsafe import load8, load16, load32, load64

SHT_SYMTAB: u32 = 2
SHT_RELA: u32 = 4
SHT_NOBITS: u32 = 8
SHF_WRITE: u64 = 1
SHF_ALLOC: u64 = 2
SHF_EXEC: u64 = 4
SHN_UNDEF: u64 = 0
SHN_LORESERVE: u64 = 0xFF00
SYM_SIZE: u64 = 24
RELA_SIZE: u64 = 24

# The object being read: set by open_object(), used by every reader below.
_base: u64 = 0
_size: u64 = 0
_shoff: u64 = 0
_shnum: u64 = 0
_reason: str = ""


def elf_reason() -> str:
    """Why the last check failed."""
    return _reason


def _fail(why: str) -> bool:
    """Record why the object is refused; always False, for `return _fail(...)`."""
    global _reason
    _reason = why
    return False


def _within(offset: u64, length: u64) -> bool:
    """Is [offset, offset + length) inside the object?"""
    return offset <= _size and length <= _size - offset


def open_object(base: u64, size: u64) -> bool:
    """Check the ELF header of the object at base; False (with a reason) if unusable."""
    global _base, _size, _shoff, _shnum
    _base = base
    _size = size
    if size < 64:
        return _fail("truncated: smaller than an ELF header")
    if load32(base) != 0x464C457F:
        return _fail("bad magic: not an ELF object")
    if load8(base + 4) != 2 or load8(base + 5) != 1:
        return _fail("not a 64-bit little-endian ELF object")
    if load16(base + 16) != 1:
        return _fail("not a relocatable object (ET_REL)")
    if load16(base + 18) != 62:
        return _fail("not an x86-64 object")
    if load16(base + 58) != 64:
        return _fail("unexpected section header size")
    _shoff = load64(base + 40)
    _shnum = u64(load16(base + 60))
    if _shnum == 0 or _shnum > 4096 or not _within(_shoff, _shnum * 64):
        return _fail("truncated: section headers past the end of the object")
    if u64(load16(base + 62)) >= _shnum:
        return _fail("section name table index out of range")
    return True


def shnum() -> u64:
    """Number of sections."""
    return _shnum


def _sh(i: u64) -> u64:
    return _base + _shoff + i * 64


def sh_name(i: u64) -> u64:
    """Offset of section i's name in the section name table."""
    return u64(load32(_sh(i)))


def sh_type(i: u64) -> u32:
    """Type of section i."""
    return load32(_sh(i) + 4)


def sh_flags(i: u64) -> u64:
    """Flags of section i."""
    return load64(_sh(i) + 8)


def sh_offset(i: u64) -> u64:
    """Where section i's bytes start in the object."""
    return load64(_sh(i) + 24)


def sh_size(i: u64) -> u64:
    """Size of section i."""
    return load64(_sh(i) + 32)


def sh_link(i: u64) -> u64:
    """The section section i refers to (a symbol table's string table...)."""
    return u64(load32(_sh(i) + 40))


def sh_info(i: u64) -> u64:
    """For a RELA section: the section its relocations patch."""
    return u64(load32(_sh(i) + 44))


def sh_align(i: u64) -> u64:
    """Alignment of section i (at least 1)."""
    a: u64 = load64(_sh(i) + 48)
    if a == 0:
        return 1
    return a


def check_sections() -> bool:
    """Every section's bytes lie inside the object."""
    for i in range(_shnum):
        if sh_type(i) != SHT_NOBITS and not _within(sh_offset(i), sh_size(i)):
            return _fail("section offset past the end of the object")
        a: u64 = sh_align(i)
        if a & (a - 1) != 0 or a > 4096:
            return _fail("section alignment is not a power of two up to 4096")
    return True


def string_at(table: u64, offset: u64) -> u64:
    """Address of a NUL-terminated name in string table section `table`, or 0."""
    if table >= _shnum or offset >= sh_size(table):
        return 0
    return _base + sh_offset(table) + offset


def string_len(table: u64, offset: u64) -> u64:
    """Length of that name (it must end inside the table, or length is 0)."""
    start: u64 = sh_offset(table) + offset
    end: u64 = sh_offset(table) + sh_size(table)
    n: u64 = 0
    while start + n < end:
        if load8(_base + start + n) == 0:
            return n
        n += 1
    return 0


def section_name_addr(i: u64) -> u64:
    """Address of section i's name."""
    return string_at(u64(load16(_base + 62)), sh_name(i))


def section_name_len(i: u64) -> u64:
    """Length of section i's name."""
    return string_len(u64(load16(_base + 62)), sh_name(i))


def section_data(i: u64) -> u64:
    """Address of section i's bytes inside the object."""
    return _base + sh_offset(i)


def table_entry(i: u64, k: u64, entsize: u64) -> u64:
    """Address of entry k of table section i."""
    return _base + sh_offset(i) + k * entsize


def table_entries(i: u64, entsize: u64) -> u64:
    """Number of whole entries in table section i."""
    return sh_size(i) // entsize

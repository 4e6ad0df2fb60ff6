"""elf: read an ELF64 relocatable object in memory, checking every read.

An object comes from outside the kernel (the boot archive, an upload), so
nothing in it is trusted: each header field is checked against the object's
size before it is used, and a failed check sets a plain reason instead of
reading out of bounds.  One object is open at a time: its header, its
sections, its symbol table (open_symbols()) and its relocation tables.
"""
# cell: unsafe
from theseus_nb.lang.prelude import *
from theseus_nb.lang.unsafe import load8, load16, load32, load64
from kernel_src.params import MAX_OBJECT_SECTIONS

EHDR_SIZE: u64 = 64          # the ELF header
SHDR_SIZE: u64 = 64          # one section header
SYM_SIZE: u64 = 24           # one Elf64_Sym
RELA_SIZE: u64 = 24          # one Elf64_Rela
SHT_SYMTAB: u32 = 2
SHT_RELA: u32 = 4
SHT_NOBITS: u32 = 8
SHF_WRITE: u64 = 1
SHF_ALLOC: u64 = 2
SHF_EXEC: u64 = 4
SHN_UNDEF: u64 = 0
SHN_LORESERVE: u64 = 0xFF00
STB_GLOBAL: u8 = 1
STB_WEAK: u8 = 2
STT_NOTYPE: u8 = 0
STT_OBJECT: u8 = 1
STT_FUNC: u8 = 2
MAX_ALIGN: u64 = 4096        # a section may ask for at most a page

# The object being read: set by open_object(), used by every reader below.
_base: u64 = 0
_size: u64 = 0
_shoff: u64 = 0
_shnum: u64 = 0
_reason: str = ""
_symtab: u64 = 0             # its symbol table section (open_symbols())
_strtab: u64 = 0             # and that table's string table


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
    if size < EHDR_SIZE:
        return _fail("truncated: smaller than an ELF header")
    if load32(base) != 0x464C457F:
        return _fail("bad magic: not an ELF object")
    if load8(base + 4) != 2 or load8(base + 5) != 1:
        return _fail("not a 64-bit little-endian ELF object")
    if load16(base + 16) != 1:
        return _fail("not a relocatable object (ET_REL)")
    if load16(base + 18) != 62:
        return _fail("not an x86-64 object")
    if u64(load16(base + 58)) != SHDR_SIZE:
        return _fail("unexpected section header size")
    _shoff = load64(base + 40)
    _shnum = u64(load16(base + 60))
    if _shnum == 0 or not _within(_shoff, _shnum * SHDR_SIZE):
        return _fail("truncated: section headers past the end of the object")
    if _shnum > MAX_OBJECT_SECTIONS:
        return _fail("too many sections")
    if u64(load16(base + 62)) >= _shnum:
        return _fail("section name table index out of range")
    return True


def shnum() -> u64:
    """Number of sections."""
    return _shnum


def _sh(i: u64) -> u64:
    return _base + _shoff + i * SHDR_SIZE


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
        if a & (a - 1) != 0 or a > MAX_ALIGN:
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


def find_section(name: str) -> u64:
    """Index of the section called name, or 0 (section 0 is never a real one)."""
    n: u64 = u64(len(name))
    for i in range(1, _shnum):
        if section_name_len(i) == n:
            a: u64 = section_name_addr(i)
            same: bool = True
            for k in range(n):
                if load8(a + k) != u8(ord(name[k])):
                    same = False
            if same:
                return i
    return 0


# ---- the symbol table ------------------------------------------------------

def open_symbols() -> bool:
    """Find the object's symbol table and its string table; False (with a reason)."""
    global _symtab, _strtab
    _symtab = 0
    for i in range(_shnum):
        if sh_type(i) == SHT_SYMTAB:
            _symtab = i
    if _symtab == 0:
        return _fail("no symbol table")
    if sh_size(_symtab) % SYM_SIZE != 0:
        return _fail("symbol table size is not a whole number of entries")
    _strtab = sh_link(_symtab)
    if _strtab >= _shnum:
        return _fail("symbol table's string table index out of range")
    return True


def symbol_table() -> u64:
    """The section index of the symbol table open_symbols() found."""
    return _symtab


def symbol_count() -> u64:
    """Entries in the symbol table (entry 0 is the null symbol)."""
    return table_entries(_symtab, SYM_SIZE)


def _sym(k: u64) -> u64:
    return table_entry(_symtab, k, SYM_SIZE)


def symbol_name_addr(k: u64) -> u64:
    """Address of symbol k's name (0 if its offset is out of range)."""
    return string_at(_strtab, u64(load32(_sym(k))))


def symbol_name_len(k: u64) -> u64:
    """Length of symbol k's name."""
    return string_len(_strtab, u64(load32(_sym(k))))


def symbol_section(k: u64) -> u64:
    """Section index symbol k is defined in (SHN_UNDEF: another cell's)."""
    return u64(load16(_sym(k) + 6))


def symbol_value(k: u64) -> u64:
    """Symbol k's offset in its section."""
    return load64(_sym(k) + 8)


def symbol_size(k: u64) -> u64:
    """Symbol k's size in bytes."""
    return load64(_sym(k) + 16)


def symbol_is_global(k: u64) -> bool:
    """Is symbol k global or weak (visible to other cells)?"""
    bind: u8 = load8(_sym(k) + 4) >> 4
    return bind == STB_GLOBAL or bind == STB_WEAK


def symbol_type(k: u64) -> u8:
    """Symbol k's type (STT_NOTYPE, STT_OBJECT, STT_FUNC, ...)."""
    return load8(_sym(k) + 4) & 0xF


def symbol_names_thing(k: u64) -> bool:
    """Does symbol k name a function, an object or a label (not a section or file)?"""
    return symbol_type(k) <= STT_FUNC and symbol_name_len(k) > 0


# ---- relocation tables -----------------------------------------------------

def rela_count(r: u64) -> u64:
    """Entries of relocation section r."""
    return table_entries(r, RELA_SIZE)


def rela_offset(r: u64, e: u64) -> u64:
    """Where in its target section relocation e of section r patches."""
    return load64(table_entry(r, e, RELA_SIZE))


def rela_symbol(r: u64, e: u64) -> u64:
    """The symbol-table entry relocation e of section r refers to."""
    return load64(table_entry(r, e, RELA_SIZE) + 8) >> 32


def rela_type(r: u64, e: u64) -> u32:
    """The relocation type (kernel_src/reloc.py names the ones we apply)."""
    return u32(load64(table_entry(r, e, RELA_SIZE) + 8) & 0xFFFFFFFF)


def rela_addend(r: u64, e: u64) -> i64:
    """The addend of relocation e of section r, as the signed number it is."""
    raw: u64 = load64(table_entry(r, e, RELA_SIZE) + 16)
    if raw < 0x8000000000000000:
        return i64(raw)
    return -i64(0xFFFFFFFFFFFFFFFF - raw) - 1

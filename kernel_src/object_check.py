"""object_check: is the open ELF object well-formed enough to load?  Checked before anything is computed.

The loader adds, multiplies and follows the numbers of an object that came
from outside (an upload, the boot archive).  It runs in the shell's task, so
a checked panic or a fault there would stop the whole machine: every number
it will compute with is checked here first, once, against the object and
the kernel's limits, and a failure is a refusal with a reason (elf_reason()).
What passes is consistent: every table the loader reads has its bytes in
the object, names are terminated and short, symbols lie inside their
sections, relocations patch inside their sections with small addends, and
the signature table is lines of "NAME HEX16".
elf.open_object, check_sections and open_symbols must have passed; a
failure's reason is check_reason().
"""
# cell: unsafe
from theseus_nb.lang.prelude import *
from theseus_nb.lang.unsafe import load8
from kernel_src.params import MAX_SECTION_BYTES, NAME_MAX
from kernel_src.elf import (SHT_RELA, SHT_NOBITS, SHF_ALLOC, SHN_UNDEF, SHN_LORESERVE, SYM_SIZE,
                            RELA_SIZE, shnum, sh_type, sh_flags, sh_size, sh_link, sh_info,
                            sh_entsize, shstrndx, section_name_addr, section_name_len, section_data,
                            find_section, symbol_table, string_table, symbol_count,
                            symbol_name_addr, symbol_name_len, symbol_section, symbol_value,
                            symbol_size, symbol_is_global, symbol_type, STT_FUNC, SHF_EXEC,
                            rela_count, rela_offset, rela_symbol,
                            rela_type, rela_addend)
from kernel_src.reloc import accepted, width

SIG_DIGITS: u64 = 16         # hex digits of one signature hash
# How far outside its symbol's section a relocation may point: an x86
# instruction's displacement is followed by at most an 8-byte immediate, so
# a PC-relative addend is the offset minus up to 12; 16 leaves room.
RELOC_SLACK: i64 = 16
MAX_ADDEND: i64 = 0x80000000  # |addend| below this: the patch arithmetic cannot overflow

_reason: str = ""


def check_reason() -> str:
    """Why the last check_object() failed."""
    return _reason


def _fail(why: str) -> bool:
    """Record why the object is refused; always False, for `return _fail(...)`."""
    global _reason
    _reason = why
    return False


def _has_bytes(i: u64) -> bool:
    # check_sections bounded the contents of every section except bss-type
    # ones, whose offset means nothing: a table must not be one.
    return sh_type(i) != SHT_NOBITS


def _sections_ok() -> bool:
    # The tables first: the names below are read through them.
    if not _has_bytes(shstrndx()) or not _has_bytes(symbol_table()) \
            or not _has_bytes(string_table()):
        return _fail("a string or symbol table has no contents in the object")
    if sh_entsize(symbol_table()) != SYM_SIZE:
        return _fail("symbol table entries are not 24 bytes")
    for i in range(1, shnum()):
        if sh_size(i) > MAX_SECTION_BYTES:
            return _fail("a section is larger than params.MAX_SECTION_BYTES")
        if section_name_len(i) > NAME_MAX:
            return _fail("a section name is longer than params.NAME_MAX")
    return True


def _symbols_ok() -> bool:
    # Every symbol defined in a section lies inside it; names are short,
    # every global one has a name, and functions are in code.
    for k in range(1, symbol_count()):
        if symbol_name_len(k) > NAME_MAX:
            return _fail("a symbol name is longer than params.NAME_MAX")
        s: u64 = symbol_section(k)
        if s != SHN_UNDEF and s < SHN_LORESERVE:
            if s >= shnum():
                return _fail("a symbol's section index is out of range")
            if symbol_value(k) > sh_size(s) or symbol_size(k) > sh_size(s) - symbol_value(k):
                return _fail("a symbol lies outside its section")
            if symbol_is_global(k) and symbol_name_len(k) == 0:
                return _fail("a global symbol has no name")
            if symbol_type(k) == STT_FUNC and (sh_flags(s) & SHF_EXEC == 0
                                               or sh_type(s) == SHT_NOBITS):
                # It would be called, and run whatever the section holds.
                return _fail("a function symbol lies in a section that is not code")
    return True


def _relocation_ok(r: u64, t: u64, e: u64) -> bool:
    offset: u64 = rela_offset(r, e)
    k: u64 = rela_symbol(r, e)
    if k >= symbol_count():
        return _fail("relocation names a symbol past the symbol table")
    if not accepted(rela_type(r, e)):
        return _fail("unknown relocation type")
    if offset > sh_size(t) or width(rela_type(r, e)) > sh_size(t) - offset:
        return _fail("relocation offset past the end of its section")
    a: i64 = rela_addend(r, e)
    if a <= -MAX_ADDEND or a >= MAX_ADDEND:
        return _fail("relocation addend out of range")
    s: u64 = symbol_section(k)
    if s != SHN_UNDEF and s < SHN_LORESERVE:
        # Defined here: its target lies in (or just around) the symbol's
        # section.  One defined in another cell is checked when it resolves.
        if not target_fits(i64(symbol_value(k)) + a, sh_size(s)):
            return _fail("relocation points outside the section of its symbol")
    return True


def target_fits(at: i64, size: u64) -> bool:
    """Does a relocation's target, at bytes from the start of its symbol's section of
    size bytes, lie in or around that section?  Up to one section's length past either
    end: an optimised loop addresses an array from its end (the address of
    xs + sizeof(xs) + k, indexed back with a negative register), which another cell
    reading a shared array does too."""
    return at >= -(i64(size) + RELOC_SLACK) and at <= 2 * i64(size) + RELOC_SLACK


def _relocations_ok() -> bool:
    for r in range(shnum()):
        if sh_type(r) != SHT_RELA:
            continue
        t: u64 = sh_info(r)
        if t >= shnum() or sh_flags(t) & SHF_ALLOC == 0:
            continue                      # relocations of sections never loaded
        if not _has_bytes(r) or sh_link(r) != symbol_table() or sh_entsize(r) != RELA_SIZE \
                or sh_size(r) % RELA_SIZE != 0:
            return _fail("relocation table does not use the symbol table")
        for e in range(rela_count(r)):
            if not _relocation_ok(r, t, e):
                return False
    return True


def _hex_digit(c: u8) -> bool:
    return (c >= 48 and c <= 57) or (c >= 97 and c <= 102)


def _signatures_ok() -> bool:
    # .theseus.sigs (kernel_src/signatures.py reads it): "NAME HEX16\n" lines.
    t: u64 = find_section(".theseus.sigs")
    if t == 0:
        return True
    if not _has_bytes(t):
        return _fail("malformed signature table (.theseus.sigs): it has no contents")
    p: u64 = section_data(t)
    end: u64 = p + sh_size(t)
    while p < end:
        n: u64 = 0
        while p + n < end and load8(p + n) != 32 and load8(p + n) != 10:
            n += 1
        if n == 0 or n > NAME_MAX or p + n + SIG_DIGITS + 2 > end or load8(p + n) != 32 \
                or load8(p + n + SIG_DIGITS + 1) != 10:
            return _fail("malformed signature table (.theseus.sigs): a line is not NAME HEX16")
        for i in range(SIG_DIGITS):
            if not _hex_digit(load8(p + n + 1 + i)):
                return _fail("malformed signature table (.theseus.sigs): a hash is not hex")
        p += n + SIG_DIGITS + 2
    return True


def check_object() -> bool:
    """Is the open object consistent enough for the loader (see the header)?
    False with elf_reason() set if not."""
    return _sections_ok() and _symbols_ok() and _relocations_ok() and _signatures_ok()

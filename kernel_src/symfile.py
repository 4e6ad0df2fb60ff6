"""symfile: read the nano_core's own symbol table, written by the host linker.

The host links the nano_core statically, so the kernel has no relocation
records for it; the host passes what it knows as the first entry of the
boot archive ("@nano_core"), one record a line:

    cell NAME                      cells, numbered from 0 in order
    sec CELL KIND SIZE ADDR NAME   sections (KIND 0 text, 1 rodata, 2 data,
                                   3 bss; ADDR hexadecimal), numbered from 0
    dep FROM TO COUNT              dependencies between those sections
    sym SECTION ADDR NAME [SIG]    the exported symbols (ADDR hexadecimal; SIG,
                                   16 hex digits, the compiler's signature hash
                                   of a cell-language function or global)
"""
# cell: unsafe
from theseus_nb.lang.prelude import *
from theseus_nb.lang.unsafe import load8
from kernel_src.names import name_add
from kernel_src.section_table import NONE, add_cell, add_section, add_dep
from kernel_src.namespace import sym_add

_pos: u64 = 0
_end: u64 = 0


def _skip_spaces() -> None:
    global _pos
    while _pos < _end and load8(_pos) == 32:
        _pos += 1


def _word_start() -> u64:
    _skip_spaces()
    return _pos


def _word_end() -> u64:
    global _pos
    while _pos < _end and load8(_pos) != 32 and load8(_pos) != 10:
        _pos += 1
    return _pos


def _number(base: u64) -> u64:
    _skip_spaces()
    global _pos
    v: u64 = 0
    while _pos < _end:
        c: u8 = load8(_pos)
        d: u64 = 0
        if c >= 48 and c <= 57:
            d = u64(c - 48)
        elif c >= 97 and c <= 102:
            d = u64(c - 87)
        else:
            return v
        v = v * base + d
        _pos += 1
    return v


def _name() -> u64:
    start: u64 = _word_start()
    end: u64 = _word_end()
    return name_add(start, end - start)


def _next_line() -> None:
    global _pos
    while _pos < _end and load8(_pos) != 10:
        _pos += 1
    _pos += 1


def load_symfile(base: u64, size: u64) -> u64:
    """Record the nano_core's cells, sections, dependencies and symbols; how many symbols."""
    global _pos, _end
    _pos = base
    _end = base + size
    symbols: u64 = 0
    while _pos < _end:
        kind: u8 = load8(_pos)
        _pos += 4                                   # "cell", "sec ", "dep ", "sym "
        if kind == 99:                              # c: cell NAME (1 more letter)
            _pos += 1
            add_cell(_name(), True)
        elif kind == 115 and load8(_pos - 3) == 101:    # sec
            cell: u64 = _number(10)
            k: u64 = _number(10)
            size_: u64 = _number(10)
            addr: u64 = _number(16)
            add_section(_name(), cell, u8(k), addr, size_)
        elif kind == 100:                           # dep
            src: u64 = _number(10)
            dst: u64 = _number(10)
            add_dep(src, dst, _number(10))
        elif kind == 115:                           # sym
            sec: u64 = _number(10)
            a: u64 = _number(16)
            name: u64 = _name()
            if sym_add(name, a, sec, 0, _number(16)):   # no SIG: 0, none recorded
                symbols += 1
        _next_line()
    return symbols

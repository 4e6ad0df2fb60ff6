"""shell: the nano_core's line shell on COM1.

It only reads lines and finds commands: every command is a cell, and typing
`NAME ARGS` runs `NAME::main` from the namespace, so loading a cell adds a
command.  Arguments are read by the command through arg() and rest().
"""
# cell: unsafe
from theseus_nb.lang.prelude import *
from theseus_nb.lang.unsafe import addr_of, call_addr, make_str, outl
from kernel_src.params import LINE_MAX, MAX_ARGS, DEBUG_EXIT_PORT
from kernel_src.serial import get, put, write, newline, write_u64
from kernel_src.namespace import sym_find_mem, sym_addr
from kernel_src.names import name_begin, name_append_mem, name_append_str, name_end, name_addr, name_len, names_mark, names_rewind
from kernel_src.section_table import NONE

PROMPT: str = "theseus> "

_line: Array[u8, 256] = [0] * 256
_len: u64 = 0
_arg_start: Array[u64, 8] = [0] * 8
_arg_len: Array[u64, 8] = [0] * 8
_argc: u64 = 0


def _read_line() -> None:
    # Echo what is typed, as a terminal user expects; backspace erases.
    global _len
    _len = 0
    while True:
        c: u8 = get()
        if c == 13 or c == 10:
            newline()
            return
        if c == 8 or c == 127:
            if _len > 0:
                _len -= 1
                put(8)
                put(32)
                put(8)
        elif c >= 32 and _len < LINE_MAX:
            _line[_len] = c
            _len += 1
            put(c)


def _split() -> None:
    global _argc
    _argc = 0
    i: u64 = 0
    while i < _len and _argc < MAX_ARGS:
        while i < _len and _line[i] == 32:
            i += 1
        if i == _len:
            return
        _arg_start[_argc] = i
        while i < _len and _line[i] != 32:
            i += 1
        _arg_len[_argc] = i - _arg_start[_argc]
        _argc += 1


def argc() -> u64:
    """Number of words on the current line, the command included."""
    return _argc


def arg(i: u64) -> str:
    """Word i of the current line ("" past the end)."""
    if i >= _argc:
        return ""
    return make_str(addr_of(_line) + _arg_start[i], _arg_len[i])


def rest(i: u64) -> str:
    """The line from word i to its end, spaces kept ("" past the end)."""
    if i >= _argc:
        return ""
    return make_str(addr_of(_line) + _arg_start[i], _len - _arg_start[i])


def arg_u64(i: u64) -> u64:
    """Word i as a decimal or 0x-hex number (0 if it is not one)."""
    s: str = arg(i)
    v: u64 = 0
    base: u64 = 10
    start: u64 = 0
    if len(s) > 2 and ord(s[0]) == 48 and ord(s[1]) == 120:
        base = 16
        start = 2
    for k in range(start, len(s)):
        c: u64 = u64(ord(s[k]))
        d: u64 = 99
        if c >= 48 and c <= 57:
            d = c - 48
        elif c >= 97 and c <= 102:
            d = c - 87
        if d >= base or v > 0xFFFFFFFFFFFFFFF:
            return 0
        v = v * base + d
    return v


def find_command(word: str) -> u64:
    """Address of WORD::main, or 0 if no loaded cell provides it."""
    names_mark()
    name_begin()
    name_append_str(word)
    name_append_str("::main")
    h: u64 = name_end()
    s: u64 = sym_find_mem(name_addr(h), name_len(h))
    names_rewind()
    if s == NONE:
        return 0
    return sym_addr(s)


def _is_halt() -> bool:
    w: str = arg(0)
    return len(w) == 4 and ord(w[0]) == 104 and ord(w[1]) == 97 and ord(w[2]) == 108 \
        and ord(w[3]) == 116


def execute() -> u64:
    """Run the command on the current line; its status."""
    entry: u64 = find_command(arg(0))
    if entry == 0 and _is_halt():
        # Power-off must work even when no cell could be loaded: the host
        # relies on it to stop the machine cleanly.
        outl(DEBUG_EXIT_PORT, u32(arg_u64(1) & 0xFFFF))
    if entry == 0:
        write("unknown command: ")
        write(arg(0))
        write(" (try help)")
        newline()
        return 127
    return call_addr(entry, 0)


def run() -> None:
    """Read and run commands forever."""
    while True:
        write(PROMPT)
        _read_line()
        _split()
        if _argc > 0:
            status: u64 = execute()
            if status != 0 and status != 127:
                write("(status ")
                write_u64(status)
                write(")")
                newline()

"""shell: the nano_core's line shell on COM1, for people and for the host.

It only reads lines and finds commands: every command is a cell, and typing
`NAME ARGS` runs `NAME::main` from the namespace, so loading a cell adds a
command.  Arguments are read by the command through arg() and rest().
A command runs on a guarded stack of its own (command.py): if it faults or
panics, the shell prints "faulted: CAUSE", the status is 255, and the next
command is answered as usual.

Machine mode (the console protocol).  A line that starts with "!" is a
request from the host: "!ID COMMAND ARGS".  It is not echoed, and after the
command the shell prints a trailer
    RS "!" ID " " STATUS " " BYTES " " ADLER32 CR LF
(RS is byte 0x1E) counting the output without CRs, then the prompt as
usual.  The host checks the count and checksum, so it never has to guess
where an answer ends.
"""
# cell: unsafe
from theseus_nb.lang.prelude import *
from theseus_nb.lang.unsafe import addr_of, make_str, outl
from kernel_src.params import LINE_MAX, MAX_ARGS, DEBUG_EXIT_PORT
from kernel_src.serial import (get, ready, put, write, newline, write_u64, frame_begin, frame_end,
                               frame_count, frame_checksum)
from kernel_src.namespace import sym_addr
from kernel_src.call_by_name import find_function, lookup_error, lookup_found
from kernel_src.names import name_begin, name_append_mem, name_append_str, name_end, name_addr, name_len, names_mark, names_rewind
from kernel_src.section_table import NONE
from kernel_src.task import wait_input, reap
from kernel_src.task_table import SHELL, task_cause, set_cause
from kernel_src.command import run as run_command, FAULTED

PROMPT: str = "theseus> "

_line: Array[u8, 256] = [0] * 256          # params.LINE_MAX
_len: u64 = 0
_arg_start: Array[u64, 8] = [0] * 8        # params.MAX_ARGS
_arg_len: Array[u64, 8] = [0] * 8          # params.MAX_ARGS
_argc: u64 = 0
_machine: bool = False       # this line is a framed request from the host
_base: u64 = 0               # words before the command (1 in machine mode: the id)


def _next_byte() -> u8:
    # The shell is task 0: while no input waits it sleeps and the other
    # tasks run (input wakes it at once); it also gives the stacks of ended
    # tasks back to the heap, from task context.
    while not ready():
        reap()
        wait_input()
    return get()


def _read_line() -> None:
    # Echo what is typed, as a terminal user expects; backspace erases.
    global _len, _machine
    _len = 0
    _machine = False
    while True:
        c: u8 = _next_byte()
        if _len == 0 and c == 33:                   # "!": a request, no echo
            _machine = True
        if c == 13 or c == 10:
            if not _machine:
                newline()
            return
        if c == 8 or c == 127:
            if _len > 0:
                _len -= 1
                if not _machine:
                    put(8)
                    put(32)
                    put(8)
        elif c >= 32 and _len < LINE_MAX:
            _line[_len] = c
            _len += 1
            if not _machine:
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


@safe_interface
def argc() -> u64:
    """Number of words of the command, the command's own name included."""
    return _argc - _base


@safe_interface
def arg(i: u64) -> str:
    """Word i of the command (0 is its name; "" past the end)."""
    k: u64 = i + _base
    if k >= _argc:
        return ""
    return make_str(addr_of(_line) + _arg_start[k], _arg_len[k])


@safe_interface
def rest(i: u64) -> str:
    """The command from word i to the end of the line, spaces kept."""
    k: u64 = i + _base
    if k >= _argc:
        return ""
    return make_str(addr_of(_line) + _arg_start[k], _len - _arg_start[k])


@safe_interface
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
    """Address of WORD::main, or 0 if no loaded cell provides it as a
    main(u64) -> u64 (lookup_found() then tells a refusal from no such cell)."""
    names_mark()
    name_begin()
    name_append_str(word)
    name_append_str("::main")
    h: u64 = name_end()
    s: u64 = find_function(name_addr(h), name_len(h), "u64", "u64", "a command", True)
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
    if entry == 0 and lookup_found():
        write("refused: ")
        write(lookup_error())
        newline()
        return 126
    if entry == 0:
        write("unknown command: ")
        write(arg(0))
        write(" (try help)")
        newline()
        return 127
    status: u64 = run_command(entry)
    if status == FAULTED and len(task_cause(SHELL)) > 0:
        write("faulted: ")
        write(task_cause(SHELL))
        newline()
        set_cause(SHELL, "")
    return status


def _serve_request() -> None:
    # "!ID COMMAND ...": run COMMAND with its output framed (see the header).
    global _base
    _base = 1
    frame_begin()
    status: u64 = 0
    if _argc > 1:
        status = execute()
    frame_end()
    _base = 0
    put(30)
    write(arg(0))
    put(32)
    write_u64(status)
    put(32)
    write_u64(frame_count())
    put(32)
    write_u64(frame_checksum())
    newline()


def run() -> None:
    """Read and run commands forever."""
    while True:
        write(PROMPT)
        _read_line()
        _split()
        if _machine:
            _serve_request()
        elif _argc > 0:
            status: u64 = execute()
            if status != 0 and status != 127:
                write("(status ")
                write_u64(status)
                write(")")
                newline()

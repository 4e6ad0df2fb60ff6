"""shell: the nano_core's line shell, for people on the console and for the host.

It only reads lines and finds commands: every command is a cell, and typing
`NAME ARGS` runs `NAME::main` from the namespace, so loading a cell adds a
command.  Arguments are read by the command through arg() and rest().
A command runs on a guarded stack of its own (command.py): if it faults or
panics, the shell prints "faulted: CAUSE", the status is 255, and the next
command is answered as usual; Ctrl-C stops it ("interrupted", status 130).
An isolated cell's command runs in ring 3 instead, as a task of its cell
that the shell waits for (_run_ring3), with the same statuses.

Two lines, two line buffers.  What people type on the console (COM1) is
echoed and run with its output on the console.  The host's requests come
on COM2 as "!ID COMMAND ARGS", are not echoed, and the command's output
goes back on COM2, followed by a trailer
    RS "!" ID " " STATUS " " BYTES " " ADLER32 CR LF
(RS is byte 0x1E) counting the output without CRs.  The host checks the
count and checksum, so it never has to guess where an answer ends; no
task but the shell (and the ring-3 task of an isolated command while the
shell waits for it) can print on COM2 (serial.py), so nothing another task
prints can land inside a reply.
"""
# cell: unsafe
from theseus_nb.lang.prelude import *
from theseus_nb.lang.unsafe import addr_of, make_str, outl, call_addr
from kernel_src.params import LINE_MAX, MAX_ARGS, DEBUG_EXIT_PORT, COMMAND_STACK, SPEC_MAX
from kernel_src.serial import (get_from, ready_on, ready, put, write, newline, write_u64, frame_begin,
                               frame_end, reply_done, frame_count, frame_checksum, CONSOLE, HOST)
from kernel_src.namespace import sym_addr
from kernel_src.call_by_name import find_function, lookup_error, lookup_found
from kernel_src.isolated_cells import is_isolated
from kernel_src.names import name_begin, name_append_mem, name_append_str, name_end, name_addr, name_len, names_mark, names_rewind
from kernel_src.section_table import NONE, section_at, all_sections
from kernel_src.task import wait_input, reap, spawn_trusted, spawn_error, join, kill
from kernel_src.task_table import SHELL, NO_TASK, task_cause, set_cause, slot_of, speak_for_shell
from kernel_src.irq import irq_off, irq_restore
from kernel_src.restart_table import pending_count
from kernel_src.command import run as run_command, forget_stop, FAULTED, INTERRUPTED

PROMPT: str = "theseus> "

_line: Array[u8, 256] = [0] * 256          # params.LINE_MAX: the line being run
_len: u64 = 0
_typed: Array[u8, 256] = [0] * 256         # params.LINE_MAX: the console's line, as typed so far
_typed_len: u64 = 0
_asked: Array[u8, 256] = [0] * 256         # params.LINE_MAX: the host's request, as received so far
_asked_len: u64 = 0
_arg_start: Array[u64, 8] = [0] * 8        # params.MAX_ARGS
_arg_len: Array[u64, 8] = [0] * 8          # params.MAX_ARGS
_argc: u64 = 0
_base: u64 = 0               # words before the command (1 for the host: the request's id)
_recover_fn: u64 = 0         # restart::run_pending, given by the nano_core (a higher layer)
_spec: Array[u8, 64] = [0] * 64            # params.SPEC_MAX: "WORD::main" of an isolated command
_ring3_task: u64 = 0         # the task an isolated cell's command runs in (0: none)


def _typed_byte(c: u8) -> bool:
    # A console byte: echo it, as a terminal user expects; backspace erases.
    # True when the line is complete (it is then in _line).
    global _typed_len, _len
    if c == 13 or c == 10:
        newline()
        for i in range(_typed_len):
            _line[i] = _typed[i]
        _len = _typed_len
        _typed_len = 0
        return True
    if c == 8 or c == 127:
        if _typed_len > 0:
            _typed_len -= 1
            put(8)
            put(32)
            put(8)
    elif c >= 32 and _typed_len < LINE_MAX:
        _typed[_typed_len] = c
        _typed_len += 1
        put(c)
    return False


def _asked_byte(c: u8) -> bool:
    # A byte of the host's request; True when a whole "!..." line is in _line.
    global _asked_len, _len
    if c == 13 or c == 10:
        whole: bool = _asked_len > 0 and _asked[0] == 33     # "!"
        if whole:
            for i in range(_asked_len):
                _line[i] = _asked[i]
            _len = _asked_len
        _asked_len = 0
        return whole
    if c >= 32 and _asked_len < LINE_MAX:
        _asked[_asked_len] = c
        _asked_len += 1
    return False


def set_recovery(fn: u64) -> None:
    """The function the shell calls between lines when restartable tasks
    wait for recovery (restart::run_pending)."""
    global _recover_fn
    _recover_fn = fn


def _next_line() -> bool:
    # Wait for a whole line from either side; True if it is the host's.
    # The shell is task 0: while no input waits it sleeps and the other
    # tasks run (input wakes it at once); it also gives the stacks of ended
    # tasks back to the heap, from task context, and runs the recovery of
    # faulted restartable tasks (a fault wakes it as input does).
    forget_stop()
    while True:
        while ready_on(HOST):
            if _asked_byte(get_from(HOST)):
                return True
        while ready_on(CONSOLE):
            if _typed_byte(get_from(CONSOLE)):
                return False
        if pending_count() > 0 and _recover_fn != 0:
            call_addr(_recover_fn, 0)
        if not ready():
            reap()
            wait_input()


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


def _wait_ring3(a: u64) -> u64:
    # On the command stack, as any command's main (so Ctrl-C stops it):
    # wait for the command's ring-3 task; its value, or FAULTED with its
    # cause (it faulted, or another task killed it).
    v: u64 = join(_ring3_task)
    slot: u64 = slot_of(_ring3_task)
    if slot != NO_TASK and len(task_cause(slot)) > 0:
        set_cause(SHELL, task_cause(slot))
        return FAULTED
    return v


def _run_ring3() -> u64:
    # An isolated cell's command: the kernel may not run its code in ring 0
    # (the shell's task), so WORD::main(0) runs as a ring-3 task of its cell
    # (its own pages, a user stack, calls out through gates) that answers
    # for the shell while the shell waits for it.  A fault ends that task,
    # so the command ends FAULTED; Ctrl-C ends the wait and kills the task.
    global _ring3_task
    w: str = arg(0)
    n: u64 = u64(len(w))
    if n + 6 > SPEC_MAX:
        write("refused: the command's name is too long to run as a task")
        newline()
        return 126
    for i in range(n):
        _spec[i] = u8(ord(w[i]))
    suffix: str = "::main"
    for k in range(6):
        _spec[n + k] = u8(ord(suffix[k]))
    flags: u64 = irq_off()               # it prints as the shell from its first byte
    id: u64 = spawn_trusted(make_str(addr_of(_spec), n + 6), 0, COMMAND_STACK)
    speak_for_shell(id)
    irq_restore(flags)
    if id == 0:
        write("refused: ")
        write(spawn_error())
        newline()
        return 126
    _ring3_task = id
    status: u64 = run_command(addr_of(_wait_ring3))
    speak_for_shell(0)
    if status == INTERRUPTED:
        kill(id)
    _ring3_task = 0
    return status


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
    status: u64 = 0
    if is_isolated(all_sections[section_at(entry)].cell):
        status = _run_ring3()
    else:
        status = run_command(entry)
    if status == INTERRUPTED:
        write("interrupted")
        newline()
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
    reply_done()


def run() -> None:
    """Read and run commands forever."""
    write(PROMPT)
    while True:
        if _next_line():
            _split()
            _serve_request()
            continue
        _split()
        if _argc > 0:
            status: u64 = execute()
            if status != 0 and status != 127:
                write("(status ")
                write_u64(status)
                write(")")
                newline()
        write(PROMPT)

"""fault_log: every fault of a task or a shell command, with its backtrace and what was done.

A record is written by the fault handler (fault.py) at the moment of the
fault, with interrupts off: the time (milliseconds since boot and the TSC),
the task, its "cell::function", the cause, the frames of the backtrace
(backtrace.py) as text (copied, since a later swap may free the sections
they name), the source line where the compiler knew it (a panic's), and an
action.  The action of a restartable task's fault is "pending" until the
recovery (restart.py) decides and calls set_action; every other fault is
"ended" at once.  The log keeps the last FAULT_LOG records in a ring; a
record's sequence number (from 1) never repeats, so a reader can tell a
record it has seen from a new one.  No fault allocates: the log is fixed
tables, so faults cannot leak memory through it.

The `faults` command (cells/faults.py) prints every kept record as

    fault SEQ ms=MS tsc=TSC task=ID action=ACTION spec=CELL::FN
      cause CAUSE
      at CELL::FN+0xOFFSET [line N]        (one line a frame, innermost first)

which qemu_bridge/faults.py parses.
"""
# cell: unsafe
from theseus_nb.lang.prelude import *
from theseus_nb.lang.unsafe import addr_of, make_str
from kernel_src.params import FAULT_LOG, BACKTRACE_MAX, FRAME_TEXT, SPEC_MAX, CAUSE_MAX
from kernel_src.serial import write, write_u64, write_hex, newline
from kernel_src.clock import cycles, uptime_ms
from kernel_src.task_table import task_name, task_cause, tasks
from kernel_src.backtrace import frame_count, frame_pc, function_at, offset_in_function

PENDING: u8 = 0          # a restartable task's fault: recovery has not acted yet
ENDED: u8 = 1            # the task (or command) ended faulted, as any fault does
RESTARTED: u8 = 2        # the task was started again
RELOADED: u8 = 3         # its cell was reloaded from its object, then the task restarted
ROLLED_BACK: u8 = 4      # its cell went back to the version before its last swap, then restarted
GAVE_UP: u8 = 5          # no restart left: the task ended faulted
KILLED: u8 = 6           # killed while it waited to be restarted
FAILED: u8 = 7           # a recovery step itself failed (the console says why): the task ended

NO_RECORD: u64 = 0

_seq: Array[u64, 64] = [0] * 64                  # params.FAULT_LOG
_ms: Array[u64, 64] = [0] * 64                   # params.FAULT_LOG
_tsc: Array[u64, 64] = [0] * 64                  # params.FAULT_LOG
_task: Array[u64, 64] = [0] * 64                 # params.FAULT_LOG
_action: Array[u8, 64] = [0] * 64                # params.FAULT_LOG
_line: Array[u64, 64] = [0] * 64                 # params.FAULT_LOG
_spec: Array[u8, 4096] = [0] * 4096              # params.FAULT_LOG * params.SPEC_MAX
_spec_len: Array[u64, 64] = [0] * 64             # params.FAULT_LOG
_cause: Array[u8, 8192] = [0] * 8192             # params.FAULT_LOG * params.CAUSE_MAX
_cause_len: Array[u64, 64] = [0] * 64            # params.FAULT_LOG
_frames: Array[u64, 64] = [0] * 64               # params.FAULT_LOG
_pc: Array[u64, 512] = [0] * 512                 # params.FAULT_LOG * params.BACKTRACE_MAX
_off: Array[u64, 512] = [0] * 512                # params.FAULT_LOG * params.BACKTRACE_MAX
_fname: Array[u8, 32768] = [0] * 32768           # params.FAULT_LOG * params.BACKTRACE_MAX * params.FRAME_TEXT
_fname_len: Array[u64, 512] = [0] * 512          # params.FAULT_LOG * params.BACKTRACE_MAX
_total: u64 = 0


def record(slot: u64, line: u64, action: u8) -> u64:
    """Log the fault the task in slot just had (its cause already written,
    the backtrace just walked), with the panic's source line (0: unknown);
    its sequence number.  Interrupts must be off."""
    global _total
    _total += 1
    r: u64 = _total % FAULT_LOG
    _seq[r] = _total
    _ms[r] = uptime_ms()
    _tsc[r] = cycles()
    _task[r] = tasks[slot].id
    _action[r] = action
    _line[r] = line
    spec: str = task_name(slot)
    n: u64 = min(u64(len(spec)), SPEC_MAX)
    for i in range(n):
        _spec[r * SPEC_MAX + i] = u8(ord(spec[i]))
    _spec_len[r] = n
    cause: str = task_cause(slot)
    n = min(u64(len(cause)), CAUSE_MAX)
    for i in range(n):
        _cause[r * CAUSE_MAX + i] = u8(ord(cause[i]))
    _cause_len[r] = n
    _frames[r] = frame_count()
    for f in range(frame_count()):
        k: u64 = r * BACKTRACE_MAX + f
        pc: u64 = frame_pc(f)
        _pc[k] = pc
        _off[k] = offset_in_function(pc)
        name: str = function_at(pc)
        n = min(u64(len(name)), FRAME_TEXT)
        for i in range(n):
            _fname[k * FRAME_TEXT + i] = u8(ord(name[i]))
        _fname_len[k] = n
    return _total


def _slot_of(seq: u64) -> u64:
    # Ring position of record seq, or FAULT_LOG if it is no longer kept.
    if seq == 0 or seq > _total or seq + FAULT_LOG <= _total:
        return FAULT_LOG
    return seq % FAULT_LOG


def set_action(seq: u64, action: u8) -> None:
    """What recovery did about fault seq (a record no longer kept is left alone)."""
    r: u64 = _slot_of(seq)
    if r != FAULT_LOG:
        _action[r] = action


@safe_interface
def action_name(a: u8) -> str:
    """The word for an action, as the `faults` command prints it."""
    if a == PENDING:
        return "pending"
    if a == ENDED:
        return "ended"
    if a == RESTARTED:
        return "restarted"
    if a == RELOADED:
        return "reloaded"
    if a == ROLLED_BACK:
        return "rolled_back"
    if a == GAVE_UP:
        return "gave_up"
    if a == KILLED:
        return "killed"
    return "failed"


@safe_interface
def fault_total() -> u64:
    """Faults logged since boot (the newest record's sequence number)."""
    return _total


@safe_interface
def oldest_kept() -> u64:
    """Sequence number of the oldest record still kept (1 until the ring wraps)."""
    if _total < FAULT_LOG:
        return 1
    return _total - FAULT_LOG + 1


def fault_tsc(seq: u64) -> u64:
    """The TSC when fault seq happened (0 if it is not kept)."""
    r: u64 = _slot_of(seq)
    if r == FAULT_LOG:
        return 0
    return _tsc[r]


def write_frame(name: str, offset: u64, line: u64) -> None:
    """One backtrace line: "  at CELL::FN+0xOFFSET [line N]"."""
    write("  at ")
    write(name)
    write("+")
    write_hex(offset)
    if line != 0:
        write(" line ")
        write_u64(line)
    newline()


def write_walk(line: u64) -> None:
    """The frames of the last backtrace walk, as write_frame lines (a kernel
    panic prints them; line goes to the innermost)."""
    for f in range(frame_count()):
        pc: u64 = frame_pc(f)
        ln: u64 = 0
        if f == 0:
            ln = line
        write_frame(function_at(pc), offset_in_function(pc), ln)


def _text(table: u64, at: u64, n: u64) -> str:
    return make_str(table + at, n)


@safe_interface
def write_record(seq: u64) -> bool:
    """Print record seq in the `faults` format (see the header); False if it is not kept."""
    r: u64 = _slot_of(seq)
    if r == FAULT_LOG:
        return False
    write("fault ")
    write_u64(seq)
    write(" ms=")
    write_u64(_ms[r])
    write(" tsc=")
    write_u64(_tsc[r])
    write(" task=")
    write_u64(_task[r])
    write(" action=")
    write(action_name(_action[r]))
    write(" spec=")
    write(_text(addr_of(_spec), r * SPEC_MAX, _spec_len[r]))
    newline()
    write("  cause ")
    write(_text(addr_of(_cause), r * CAUSE_MAX, _cause_len[r]))
    newline()
    for f in range(_frames[r]):
        k: u64 = r * BACKTRACE_MAX + f
        ln: u64 = 0
        if f == 0:
            ln = _line[r]
        write_frame(_text(addr_of(_fname), k * FRAME_TEXT, _fname_len[k]), _off[k], ln)
    return True

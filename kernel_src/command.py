"""command: run a shell command's main() so that its fault ends the command, not the shell.

A command runs in the shell's own task (slot 0), but on a stack of its
own with a guard page under it (stack_switch.s switches to it).  If the
command faults or panics, the fault handler writes the cause into the
shell's record and abandons the command's stack: the shell goes on as if
main() had returned FAULTED, prints the cause, and answers the next
command.  While a command runs, the shell's record names the command's
stack, so the stack-overflow check and the hot-swap walker see the stack
that is really in use.

Ctrl-C (a byte 3 on either serial line; the host sends one when a
command outlives its timeout) ends the running command the same way, with
status INTERRUPTED, wherever it is: running, preempted, asleep or blocked.
A command that changes the kernel's own tables (load, swap, upload) holds
interrupts off for the command with hold()/release() around that part,
and a Ctrl-C that comes meanwhile takes effect at release().
"""
# cell: unsafe
from theseus_nb.lang.prelude import *
from theseus_nb.lang.unsafe import addr_of, call_addr, load64, store64
from kernel_src.params import COMMAND_STACK
from kernel_src.frame import FRAME_RIP, FRAME_RSP, FRAME_RDI, FRAME_RFLAGS, RFLAGS_IF, RFLAGS_FIXED
from kernel_src.namespace import symbol_address
from kernel_src.stacks import alloc_stack
from kernel_src.switcher import policy_running
from kernel_src.task_table import SHELL, RUNNABLE, current, set_stack, set_state, tasks

FAULTED: u64 = 255                     # the status of a command that faulted
INTERRUPTED: u64 = 130                 # ... that was stopped with Ctrl-C (as a shell's 128 + SIGINT)

_block: Array[u64, 10] = [0] * 10      # see stack_switch.s
_run_fn: u64 = 0
_abandon_fn: u64 = 0
_stack: u64 = 0
_running: bool = False
_held: u64 = 0                          # hold() depth: the command may not be stopped now
_stop_pending: bool = False             # a Ctrl-C came while held, or before the command started


def run(entry: u64) -> u64:
    """Call entry(0), the main() of a command, on the command stack; its status
    (FAULTED if it faulted).  Runs it on the caller's stack if the command
    stack cannot be had, or when called from inside a command."""
    global _run_fn, _abandon_fn, _stack, _running, _held, _stop_pending
    if _stack == 0:
        _run_fn = symbol_address("stack_switch::run")
        _abandon_fn = symbol_address("stack_switch::abandon")
        if _run_fn != 0 and _abandon_fn != 0:
            _stack = alloc_stack(COMMAND_STACK)
    if _stack == 0 or _running or current() != SHELL:
        return call_addr(entry, 0)
    lo: u64 = tasks[SHELL].stack_lo
    hi: u64 = tasks[SHELL].stack_hi
    _block[0] = entry
    _block[1] = _stack + COMMAND_STACK
    _block[9] = FAULTED
    _held = 0
    if _stop_pending:
        # Ctrl-C came after the line was read but before the command started.
        _stop_pending = False
        return INTERRUPTED
    set_stack(SHELL, _stack, _stack + COMMAND_STACK)
    _running = True
    status: u64 = call_addr(_run_fn, addr_of(_block))
    _running = False
    set_stack(SHELL, lo, hi)
    return status


def running() -> bool:
    """Is the shell inside a command right now (so a fault can end just the command)?"""
    return _running and current() == SHELL


def abandon_frame(frame: u64) -> u64:
    """From an exception in the command: make frame resume the shell where
    run() returns FAULTED; the frame to resume."""
    store64(frame + FRAME_RIP * 8, _abandon_fn)
    store64(frame + FRAME_RDI * 8, addr_of(_block))
    store64(frame + FRAME_RSP * 8, _block[8])
    store64(frame + FRAME_RFLAGS * 8, RFLAGS_IF | RFLAGS_FIXED)
    return frame


def abandon_now() -> None:
    """From a panic in the command: leave it at once; run() returns FAULTED."""
    call_addr(_abandon_fn, addr_of(_block))


def interrupt(frame: u64) -> u64:
    """Ctrl-C, from the serial interrupt: end the running command as if it had
    returned INTERRUPTED (or later, see pending_stop); the frame to resume."""
    global _stop_pending
    _stop_pending = True
    return pending_stop(frame)


def pending_stop(frame: u64) -> u64:
    """From an interrupt (the timer's too): if a Ctrl-C waits and the command
    can be left now, leave it; the frame to resume."""
    global _stop_pending
    if not _stop_pending or not _running or _held > 0 or _abandon_fn == 0 or policy_running():
        # Not running yet (run() stops it as it starts), changing the
        # kernel's tables (release() stops it), or in a policy's pick_next.
        return frame
    shell_frame: u64 = frame
    if current() != SHELL:
        shell_frame = tasks[SHELL].rsp   # preempted, asleep or blocked inside the command
    rsp: u64 = load64(shell_frame + FRAME_RSP * 8)
    if rsp < _stack or rsp >= _stack + COMMAND_STACK:
        # Still on the shell's own stack, going into or out of the command:
        # the block does not hold its way back yet; the next tick tries again.
        return frame
    _stop_pending = False
    _block[9] = INTERRUPTED
    abandon_frame(shell_frame)
    if current() != SHELL:
        set_state(SHELL, RUNNABLE)
    return frame


def forget_stop() -> None:
    """The shell waits for a new line: a Ctrl-C typed before it is forgotten."""
    global _stop_pending
    _stop_pending = False


@safe_interface
def hold() -> None:
    """The command is changing the kernel's tables: a Ctrl-C waits until release()."""
    global _held
    if running():
        _held += 1


@safe_interface
def release() -> None:
    """End of hold(): a Ctrl-C that came meanwhile stops the command now."""
    global _held, _stop_pending
    if not running() or _held == 0:
        return
    _held -= 1
    if _held == 0 and _stop_pending:
        _stop_pending = False
        _block[9] = INTERRUPTED
        abandon_now()

"""command: run a shell command's main() so that its fault ends the command, not the shell.

A command runs in the shell's own task (slot 0), but on a stack of its
own with a guard page under it (stack_switch.s switches to it).  If the
command faults or panics, the fault handler writes the cause into the
shell's record and abandons the command's stack: the shell goes on as if
main() had returned FAULTED, prints the cause, and answers the next
command.  While a command runs, the shell's record names the command's
stack, so the stack-overflow check and the hot-swap walker see the stack
that is really in use.
"""
# cell: unsafe
from theseus_nb.lang.prelude import *
from theseus_nb.lang.unsafe import addr_of, call_addr, store64
from kernel_src.params import COMMAND_STACK
from kernel_src.frame import FRAME_RIP, FRAME_RSP, FRAME_RDI, FRAME_RFLAGS, RFLAGS_IF, RFLAGS_FIXED
from kernel_src.namespace import symbol_address
from kernel_src.stacks import alloc_stack
from kernel_src.task_table import SHELL, current, task_stack_lo, task_stack_hi, set_stack

FAULTED: u64 = 255                     # the status of a command that faulted

_block: Array[u64, 10] = [0] * 10      # see stack_switch.s
_run_fn: u64 = 0
_abandon_fn: u64 = 0
_stack: u64 = 0
_running: bool = False


def run(entry: u64) -> u64:
    """Call entry(0), the main() of a command, on the command stack; its status
    (FAULTED if it faulted).  Runs it on the caller's stack if the command
    stack cannot be had, or when called from inside a command."""
    global _run_fn, _abandon_fn, _stack, _running
    if _stack == 0:
        _run_fn = symbol_address("stack_switch::run")
        _abandon_fn = symbol_address("stack_switch::abandon")
        if _run_fn != 0 and _abandon_fn != 0:
            _stack = alloc_stack(COMMAND_STACK)
    if _stack == 0 or _running or current() != SHELL:
        return call_addr(entry, 0)
    lo: u64 = task_stack_lo(SHELL)
    hi: u64 = task_stack_hi(SHELL)
    _block[0] = entry
    _block[1] = _stack + COMMAND_STACK
    _block[9] = FAULTED
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

"""rt: the panic handler every cell's checks call (rt::panic).

A panic inside a task ends that task, faulted with the message as its cause,
a panic inside a shell command ends that command, and one inside a
scheduling policy's pick_next ends the policy (kernel_src/fault.py).
A panic in the nano_core itself (the shell's own loop, the idle task, an
interrupt handler, or before tasks start) cannot be contained: print a
crash report (with the backtrace of the code that panicked) and stop QEMU
with a distinct status, so a test or a notebook sees it at once.
"""
# cell: unsafe
from theseus_nb.lang.prelude import *
from theseus_nb.lang.unsafe import outl, cli, hlt
from kernel_src.params import DEBUG_EXIT_PORT, EXIT_PANIC
from kernel_src.serial import write, write_u64, newline, to_console
from kernel_src.idt import in_handler
from kernel_src.fault import can_end_current, panic_in_task, panic_in_policy, crash_backtrace
from kernel_src.switcher import policy_running


@safe_interface
def panic(msg: str, where: str, line: u64) -> None:
    """End the current task (or command, or scheduling policy) with this
    panic, or report it and halt the machine."""
    if policy_running():
        panic_in_policy(msg, where, line)
    if can_end_current() and not in_handler():
        panic_in_task(msg, where, line)
    cli()
    to_console()
    newline()
    write("!! kernel panic in ")
    write(where)
    write(" line ")
    write_u64(line)
    write(": ")
    write(msg)
    newline()
    crash_backtrace(line)           # the frames that led here, as the fault log shows them
    outl(DEBUG_EXIT_PORT, EXIT_PANIC)
    while True:
        cli()
        hlt()

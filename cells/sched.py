"""sched: show or change the scheduling policy (sched [CELL]).

A policy is any cell with a public pick_next(current_slot: u64) -> u64; the
switcher looks it up by name on every pick, so the change is immediate.  A
policy that panics, faults or does not return in time is dropped for the
kernel's built-in round robin; the fault is shown here until the next change.
"""
from theseus_nb.lang.prelude import *
from kernel_src.shell import arg, argc
from kernel_src.switcher import set_policy, policy, policy_error, policy_fault
from kernel_src.serial import write
from cells.fmt import line


def main(a: u64) -> u64:
    """Print the policy function in use (and the last policy fault, if any),
    after switching to CELL if one is given."""
    if argc() > 1 and not set_policy(arg(1)):
        write("sched: ")
        line(policy_error())
        return 1
    line(policy())
    if len(policy_fault()) > 0:
        write("dropped after a fault: ")
        line(policy_fault())
    return 0

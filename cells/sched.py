"""sched: show or change the scheduling policy (sched [CELL]).

A policy is any cell with a public pick_next(current_slot) -> slot; the
switcher looks it up by name on every pick, so the change is immediate.
"""
from theseus_nb.lang.prelude import *
from kernel_src.shell import arg, argc
from kernel_src.switcher import set_policy, policy
from cells.fmt import line


def main(a: u64) -> u64:
    """Print the policy function in use, after switching to CELL if one is given."""
    if argc() > 1 and not set_policy(arg(1)):
        line("sched: cell name too long")
        return 1
    line(policy())
    return 0

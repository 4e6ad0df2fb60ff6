"""faults: the kernel's fault log, oldest first (kernel_src/fault_log.py has the format).

    faults [SINCE]

SINCE (default 0) leaves out the records numbered SINCE or lower, so a
reader that has seen them asks only for the new ones.
"""
from theseus_nb.lang.prelude import *
from kernel_src.shell import arg_u64
from kernel_src.fault_log import fault_total, oldest_kept, write_record


def main(a: u64) -> u64:
    """Print every kept fault record after SINCE."""
    since: u64 = arg_u64(1)
    first: u64 = max(oldest_kept(), since + 1)
    for seq in range(first, fault_total() + 1):
        write_record(seq)
    return 0

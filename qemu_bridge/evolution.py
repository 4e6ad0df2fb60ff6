"""Evolution, the kernel's side: the upload format and what ``swap`` reports.

A swap is an upload per object (the object written into the kernel's
upload buffer through shared memory, then ``upload NAME SIZE ADLER32``),
then one ``swap A B...`` (or ``load A``): kernel_src's
upload and swap cells do the work and print one ``WORD VALUE`` line per
figure. The bridge moves the bytes and reads the figures; compiling, and
comparing old and new objects, is the host's business (theseus_nb.live).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .errors import BridgeError

__all__ = ["KernelSwap", "SwapError", "parse_swap_output"]


class SwapError(BridgeError):
    """An upload or swap was refused; the guest is as it was."""


@dataclass
class KernelSwap:
    """What the kernel said it did in one swap (or load)."""

    relocations_rewritten: int = 0
    #: relocations inside the old code rewritten too (for tasks still running it)
    old_code_rewritten: int = 0
    sections_freed: int = 0
    #: old sections kept because a task is still inside them (freed later)
    sections_retired: int = 0
    state_carried: list[str] = field(default_factory=list)
    state_reset: list[str] = field(default_factory=list)
    kernel_cycles: int = 0
    kernel_us: int = 0
    heap_in_use: int = 0


_NUMBERS = {"rewritten": "relocations_rewritten", "retired_rewritten": "old_code_rewritten",
            "freed": "sections_freed", "retired": "sections_retired",
            "cycles": "kernel_cycles", "us": "kernel_us", "heap": "heap_in_use"}


def parse_swap_output(output: str) -> KernelSwap:
    """The figures of the kernel's swap output (unknown lines are ignored)."""
    result = KernelSwap()
    for line in output.splitlines():
        word, _, rest = line.partition(" ")
        if word in _NUMBERS:
            setattr(result, _NUMBERS[word], int(rest))
        elif word == "carried":
            result.state_carried.append(rest)
        elif word == "reset":
            result.state_reset.append(rest)
    return result

"""Evolution: hot-swapping cells of a running guest, from the host's side.

A swap is three steps: compile the new source (theseus_nb), upload the
object over the console (``upload NAME SIZE ADLER32`` then hex digits then
"."), and ask the kernel to ``swap`` it in (kernel_src/swap.py does the
work and prints its report).  The host adds what it can see better than the
kernel: which sections were added, removed or changed, by comparing the old
and new objects, and how long each step took.
"""

from __future__ import annotations

import html
import zlib
from dataclasses import dataclass, field

from .errors import BridgeError

__all__ = ["SwapError", "SwapReport", "upload_payload", "parse_swap_output", "section_changes"]

#: Hex digits per line of an upload; the kernel ignores the line breaks,
#: which only keep the pty from seeing one enormous line.
_LINE = 128


class SwapError(BridgeError):
    """A compile, upload or swap was refused; the guest is as it was."""


@dataclass
class SwapReport:
    """What one swap (or load) did, and what it cost."""

    cells: list[str]
    sections_added: list[str] = field(default_factory=list)
    sections_removed: list[str] = field(default_factory=list)
    sections_changed: list[str] = field(default_factory=list)
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
    compile_s: float = 0.0
    upload_s: float = 0.0
    swap_s: float = 0.0
    total_s: float = 0.0

    def _repr_html_(self) -> str:
        def names(items: list[str]) -> str:
            return html.escape(", ".join(items)) if items else "&ndash;"

        rows = [
            ("cells", names(self.cells)),
            ("sections added", names(self.sections_added)),
            ("sections removed", names(self.sections_removed)),
            ("sections changed", names(self.sections_changed)),
            ("relocations rewritten", f"{self.relocations_rewritten} in dependents, "
                                      f"{self.old_code_rewritten} in old code still running"),
            ("old sections", f"{self.sections_freed} freed, {self.sections_retired} "
                             "kept until no task is inside them"),
            ("state carried over", names(self.state_carried)),
            ("state reset", names(self.state_reset)),
            ("in the kernel", f"{self.kernel_us} µs ({self.kernel_cycles} cycles)"),
            ("compile / upload / swap / total",
             f"{self.compile_s * 1e3:.1f} / {self.upload_s * 1e3:.1f} / "
             f"{self.swap_s * 1e3:.1f} / {self.total_s * 1e3:.1f} ms"),
        ]
        body = "".join(f"<tr><th style='text-align:left'>{k}</th><td>{v}</td></tr>" for k, v in rows)
        return f"<table><caption>swap report</caption>{body}</table>"


def upload_payload(data: bytes) -> tuple[str, str]:
    """The ``upload`` arguments (size and checksum) and the hex payload for ``data``."""
    hexed = data.hex()
    lines = "\r".join(hexed[i:i + _LINE] for i in range(0, len(hexed), _LINE))
    return f"{len(data)} {zlib.adler32(data)}", lines + "."


def parse_swap_output(output: str, report: SwapReport) -> SwapReport:
    """Fill ``report`` from the kernel's swap output lines."""
    numbers = {"rewritten": "relocations_rewritten", "retired_rewritten": "old_code_rewritten",
               "freed": "sections_freed", "retired": "sections_retired",
               "cycles": "kernel_cycles", "us": "kernel_us", "heap": "heap_in_use"}
    for line in output.splitlines():
        word, _, rest = line.partition(" ")
        if word in numbers:
            setattr(report, numbers[word], int(rest))
        elif word == "carried":
            report.state_carried.append(rest)
        elif word == "reset":
            report.state_reset.append(rest)
    return report


def section_changes(old: object | None, new: object) -> tuple[list[str], list[str], list[str]]:
    """Sections added, removed and changed between two ``CellObject``s
    (changed: same name, different bytes or size)."""
    def contents(obj: object | None) -> dict[str, tuple[int, bytes]]:
        if obj is None:
            return {}
        return {obj.symbol_of(sec): (sec.size, sec.data)  # type: ignore[attr-defined]
                for sec in obj.sections.values()}  # type: ignore[attr-defined]

    before, after = contents(old), contents(new)
    added = sorted(set(after) - set(before))
    removed = sorted(set(before) - set(after))
    changed = sorted(n for n in set(before) & set(after) if before[n] != after[n])
    return added, removed, changed

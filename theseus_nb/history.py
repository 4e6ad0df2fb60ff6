"""Cell history: every version of a cell the running kernel has run, for undo.

The host keeps it, not the kernel: the host already holds each cell's
source and object (``LiveKernel.sources``/``objects``), it has the memory
for every version, the clock a student reads, and the section comparison
(``swap_report.section_changes``); the kernel keeps only the one previous
object it needs to recover alone (kernel_src/versions.py). A rollback is
an ordinary swap to an older version's object, so the kernel checks it as
it checks any swap, and refuses one that a later cell's use of the
interface would break.

A ``CellHistory`` is the versions of one cell, oldest first. Each version
remembers which version it replaced (``previous``), so rolling back twice
goes two versions back, and a rollback is itself a version (its
``previous`` is the replaced version's, not the broken one).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from .display import html_table
from .objects import CellObject
from .swap_report import section_changes

__all__ = ["CellVersion", "CellHistory"]


@dataclass(frozen=True)
class CellVersion:
    """One version of a cell: when it went in, how, what it was, what changed."""

    number: int                 # 0 for the version the kernel booted (or loaded) with
    verb: str                   # "boot", "load", "swap" or "rollback"
    when: float                 # time.time() when it went in
    object: CellObject = field(repr=False)
    #: its CellSource (None when the cell was swapped in as an object alone)
    source: Any = field(default=None, repr=False)
    previous: int | None = None     # the version it replaced; None: nothing to go back to
    sections_added: tuple[str, ...] = ()
    sections_removed: tuple[str, ...] = ()
    sections_changed: tuple[str, ...] = ()

    def row(self) -> list[Any]:
        """This version as a table row (see CellHistory)."""
        return [self.number, self.verb, time.strftime("%H:%M:%S", time.localtime(self.when)),
                "" if self.previous is None else self.previous,
                ", ".join(self.sections_added) or "–", ", ".join(self.sections_removed) or "–",
                ", ".join(self.sections_changed) or "–"]


class CellHistory(list):
    """The versions of one cell, oldest first; the last is the one running."""

    def __init__(self, cell: str, versions: list[CellVersion] | None = None) -> None:
        super().__init__(versions or [])
        #: The cell's name.
        self.cell = cell

    @property
    def current(self) -> CellVersion:
        """The version running now."""
        return self[-1]

    def add(self, verb: str, obj: CellObject, source: Any, previous: int | None) -> CellVersion:
        """Record a new version (its section changes against the current one) and return it."""
        before = self[-1].object if self else None
        added, removed, changed = section_changes(before, obj)
        version = CellVersion(len(self), verb, time.time(), obj, source, previous,
                              tuple(added), tuple(removed), tuple(changed))
        self.append(version)
        return version

    def rollback_target(self) -> CellVersion | None:
        """The version a rollback would go back to (None: nothing to roll back to)."""
        if not self or self[-1].previous is None:
            return None
        return self[self[-1].previous]

    def _repr_html_(self) -> str:
        return html_table(("version", "how", "at", "replaced", "sections added",
                           "sections removed", "sections changed"),
                          [v.row() for v in self], caption=f"history of {self.cell}")

"""SwapReport: what one hot swap (or load) did, and what it cost.

The kernel reports what it did inside (``qemu_bridge.KernelSwap``); the host
adds what it sees better: which sections were added, removed or changed
(by comparing the old and new objects) and how long each step took.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

from qemu_bridge import KernelSwap

from .display import key_value_html
from .objects import CellObject

__all__ = ["SwapReport", "section_changes"]


@dataclass
class SwapReport(KernelSwap):
    """What one swap (or load) did, and what it cost: the kernel's figures
    (``KernelSwap``) and what the host saw."""

    cells: list[str] = field(default_factory=list)
    sections_added: list[str] = field(default_factory=list)
    sections_removed: list[str] = field(default_factory=list)
    sections_changed: list[str] = field(default_factory=list)
    compile_s: float = 0.0
    upload_s: float = 0.0
    swap_s: float = 0.0
    total_s: float = 0.0
    #: "swap" or "load"
    verb: str = "swap"
    #: the objects that went in, by cell
    objects: dict[str, CellObject] = field(default_factory=dict, repr=False)

    def take_kernel_figures(self, kernel: KernelSwap) -> None:
        """Copy what the kernel reported into this report."""
        for f in fields(kernel):
            setattr(self, f.name, getattr(kernel, f.name))

    @property
    def changed(self) -> set[str]:
        """Sections new or different after the swap (removed ones are gone)."""
        return set(self.sections_added) | set(self.sections_changed)

    def _repr_html_(self) -> str:
        def names(items: list[str]) -> str:
            return ", ".join(items) if items else "–"

        return key_value_html([
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
        ], caption=f"{self.verb} report")


def section_changes(old: CellObject | None,
                    new: CellObject) -> tuple[list[str], list[str], list[str]]:
    """Sections added, removed and changed between two objects of one cell
    (changed: same name, different bytes or size)."""
    def contents(obj: CellObject | None) -> dict[str, tuple[int, bytes]]:
        if obj is None:
            return {}
        return {obj.symbol_of(sec): (sec.size, sec.data) for sec in obj.sections.values()}

    before, after = contents(old), contents(new)
    added = sorted(set(after) - set(before))
    removed = sorted(set(before) - set(after))
    changed = sorted(n for n in set(before) & set(after) if before[n] != after[n])
    return added, removed, changed

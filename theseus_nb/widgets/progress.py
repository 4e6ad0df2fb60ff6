"""BuildProgress: a progress bar for ``Kernel.build`` (cells compiled / total).

Pass the widget itself as the ``progress=`` callback:

    bar = BuildProgress(); display(bar)
    image = kernel.build(progress=bar)
"""

from __future__ import annotations

import ipywidgets as w
import traitlets as t

from .summary import Summarised

__all__ = ["BuildProgress"]


class BuildProgress(Summarised, w.VBox):
    """A bar that fills as ``Kernel.build`` compiles each cell."""

    done = t.Int(0, help="cells compiled so far").tag(sync=True)
    total = t.Int(0, help="cells to compile in this build").tag(sync=True)
    cell = t.Unicode("", help="the cell compiled last").tag(sync=True)

    def __init__(self, description: str = "build", **kwargs: object) -> None:
        self._bar = w.IntProgress(value=0, min=0, max=1, description=description,
                                  bar_style="info")
        self._label = w.HTML("<code>waiting for the first cell</code>")
        super().__init__([w.HBox([self._bar, self._label])], **kwargs)

    @t.validate("done")
    def _check_done(self, proposal: dict) -> int:
        value = proposal["value"]
        if value < 0 or (self.total and value > self.total):
            raise t.TraitError(f"done must be between 0 and total ({self.total}), got {value}")
        return value

    def summary(self) -> str:
        """One line: how far the build got."""
        if not self.total:
            return "build progress bar (it fills while Kernel.build compiles the cells)"
        end = "all compiled" if self.done == self.total else f"last: {self.cell}"
        return f"build progress: {self.done}/{self.total} cells compiled ({end})"

    def __call__(self, done: int, total: int, cell: str) -> None:
        """The ``progress(done, total, cell)`` callback of ``Kernel.build``."""
        if total < 1:
            raise t.TraitError(f"total must be at least 1, got {total}")
        self.total = total
        self.done = done
        self.cell = cell
        self._bar.max = total
        self._bar.value = done
        finished = done == total
        self._bar.bar_style = "success" if finished else "info"
        what = "all cells compiled, linking" if finished else f"compiled {cell}"
        self._label.value = f"<code>{done}/{total} {what}</code>"

    def fail(self, message: str) -> None:
        """Show that the build stopped (red bar, the reason beside it)."""
        import html

        self._bar.bar_style = "danger"
        self._label.value = f"<code>{html.escape(message.splitlines()[0])}</code>"

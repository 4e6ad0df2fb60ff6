"""Dashboard: the live graph, the task table and the console of one machine, together.

One refresh thread drives all three (the task table's): after each task
refresh it redraws the console and, when the machine has swapped since the
graph was last fetched, fetches the live graph so the change is highlighted.
Everything stops by itself when the machine shuts down.
"""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as w
import traitlets as t

from ..live import LiveKernel
from .console import ConsoleView
from .graph_view import GraphView
from .summary import Summarised
from .task_table import TaskTable

__all__ = ["Dashboard"]


class Dashboard(Summarised, w.VBox):
    """``Dashboard(vm)``: graph view, task table and console of a running kernel, refreshed live."""

    interval = t.Float(1.0, help="seconds between refreshes of the tasks and console "
                                 "(at least 0.2)").tag(sync=True)

    def __init__(self, machine: LiveKernel, *, interval: float = 1.0, start: bool = True,
                 **kwargs: Any) -> None:
        """Watch ``machine``; refresh every ``interval`` s if ``start``."""
        self.machine = machine
        self.graph = GraphView(machine)
        self.graph.hide_nano_core = True  # the loadable cells are what people change
        self.tasks = TaskTable(machine, interval=interval, start=False)
        self.console = ConsoleView(machine, lines=18)
        self._header = w.HTML()
        self._live = w.ToggleButton(value=False, description="live", icon="refresh",
                                    tooltip="refresh the tasks, console and graph every interval",
                                    layout=w.Layout(width="80px"))
        self._live.observe(self._live_clicked, "value")
        self.tasks.observe(lambda ch: setattr(self._live, "value", ch["new"]), "running")
        self.tasks.after_refresh += [self.console.refresh, self._follow_swaps, self._show_header]
        left = w.VBox([w.HTML("<b>section graph</b>"), self.graph],
                      layout=w.Layout(width="55%"))
        right = w.VBox([w.HTML("<b>tasks</b>"), self.tasks,
                        w.HTML("<b>console</b>"), self.console],
                       layout=w.Layout(width="45%"))
        super().__init__([w.HBox([self._live, self._header]), w.HBox([left, right])], **kwargs)
        w.link((self, "interval"), (self.tasks, "interval"))
        self.interval = interval
        self._show_header()
        if start:
            self.start()

    def summary(self) -> str:
        """The three views' summaries under one heading."""
        state = "running" if self.machine.alive else f"stopped (exit status {self.machine.exit_status})"
        return "\n".join([f"theseus-nb dashboard: the kernel is {state}; run the notebook "
                          "to see it live", self.graph.summary(), self.tasks.summary(),
                          self.console.summary()])

    @t.validate("interval")
    def _check_interval(self, proposal: dict) -> float:
        if proposal["value"] < 0.2:
            raise t.TraitError(f"interval must be at least 0.2 s, got {proposal['value']}")
        return proposal["value"]

    @property
    def running(self) -> bool:
        """True while the refresh thread is alive."""
        return self.tasks.running

    def start(self) -> None:
        """Begin (or resume) live refreshing."""
        self.tasks.start()

    def stop(self) -> None:
        """Stop refreshing; the widgets keep showing what they last saw."""
        self.tasks.stop()

    def refresh(self) -> None:
        """Refresh everything once, now, in this thread (tests and notebooks use it)."""
        self.tasks.refresh()
        self.console.refresh()
        self.graph.refresh()
        self._show_header()

    def close(self) -> None:
        """Stop refreshing, then close every part."""
        self.stop()
        for part in (self.graph, self.tasks, self.console):
            part.close()
        super().close()

    def _live_clicked(self, change: dict) -> None:
        if change["new"] and not self.running and self.machine.alive:
            self.start()
        elif not change["new"] and self.running:
            self.stop()

    def _follow_swaps(self) -> None:
        if self.machine.alive and not self.graph.swap_seen():
            self.graph.refresh()

    def _show_header(self) -> None:
        m = self.machine
        state = (f"running, QEMU pid {m.pid}" if m.alive
                 else f"stopped (exit status {m.exit_status})")
        swap = m.last_swap
        last = (f"; last swap: {html.escape(', '.join(swap.cells))} in "
                f"{swap.total_s * 1e3:.0f} ms" if swap is not None else "")
        self._header.value = f"<b>theseus-nb</b> machine {state}{last}"

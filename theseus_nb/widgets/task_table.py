"""TaskTable: the kernel's task table, refreshed on a timer from ``LiveKernel.tasks()``.

Design note. A daemon thread asks the machine for its tasks every
``interval`` seconds. It goes through ``LiveKernel.tasks()``, which holds the
machine's one serial-line lock for the exchange, so a refresh and a command
typed in the notebook take turns and never interleave on the line. The
thread ends when ``stop()`` is called, when the machine shuts down, or when
the widget is closed; a failed refresh is shown in the widget, never raised.
"""

from __future__ import annotations

import html
import threading
import time
from typing import Any

import ipywidgets as w
import traitlets as t

from ..live import LiveKernel
from ..tasks import FIELDS, task_rows_html
from .summary import Summarised

__all__ = ["TaskTable"]


class TaskTable(Summarised, w.VBox):
    """A live task table: ``start()`` begins refreshing, ``stop()`` ends it."""

    interval = t.Float(1.0, help="seconds between refreshes (at least 0.2)").tag(sync=True)
    running = t.Bool(False, help="True while the refresh thread is alive").tag(sync=True)
    rows = t.List(t.Dict(), help="the tasks at the last refresh, one dict per task "
                                 f"with keys {', '.join(FIELDS)}").tag(sync=True)
    refreshes = t.Int(0, help="how many refreshes have completed").tag(sync=True)
    error = t.Unicode("", help="why the last refresh failed ('' if it did not)").tag(sync=True)

    def __init__(self, machine: LiveKernel, *, interval: float = 1.0, start: bool = True,
                 **kwargs: Any) -> None:
        """Show ``machine``'s tasks (a running kernel); refresh every ``interval`` s if ``start``."""
        self.machine = machine
        self._table = w.HTML(layout=w.Layout(overflow="auto", max_height="360px"))
        self._status = w.HTML()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        #: Called with no arguments after every timed refresh (the dashboard hooks in here).
        self.after_refresh: list[Any] = []
        super().__init__([self._status, self._table], **kwargs)
        self.interval = interval
        if start:
            self.start()

    def summary(self) -> str:
        """The tasks at the last refresh, one line each."""
        if not self.rows:
            return "task table: not refreshed yet (run the notebook to see the tasks live)"
        faulted = sum(1 for r in self.rows if r["state"] == "faulted")
        restarted = sum(1 for r in self.rows if r.get("restarts"))
        lines = [f"task table: {len(self.rows)} tasks at the last refresh, {faulted} faulted, "
                 f"{restarted} restarted"]
        for r in self.rows:
            end = r["cause"] or ("" if r["value"] is None else f"value {r['value']}")
            again = f"restarted {r['restarts']}x " if r.get("restarts") else ""
            lines.append(f"  {r['id']:>3} {r['name']:<24} {r['state']:<9} {again}{end}".rstrip())
        return "\n".join(lines)

    @t.validate("interval")
    def _check_interval(self, proposal: dict) -> float:
        if proposal["value"] < 0.2:
            raise t.TraitError(f"interval must be at least 0.2 s (each refresh is a serial "
                               f"round trip), got {proposal['value']}")
        return proposal["value"]

    # -- the refresh thread ------------------------------------------------

    def start(self) -> None:
        """Begin refreshing in a background thread (no-op if already running)."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="task-table", daemon=True)
        self.running = True
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop refreshing and wait up to ``timeout`` s for the thread to end."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)
        self.running = False

    def close(self) -> None:
        """Stop the refresh thread, then close the widget."""
        self.stop()
        super().close()

    def _loop(self) -> None:
        try:
            while not self._stop.is_set():
                if not self.machine.alive:
                    self._show_stopped()
                    self._run_hooks()  # so the other views show the stop too
                    break
                self.refresh()
                self._run_hooks()
                self._wake.wait(self.interval)
                self._wake.clear()
        finally:
            self.running = False

    def _run_hooks(self) -> None:
        for hook in list(self.after_refresh):
            try:
                hook()
            except Exception as exc:  # a hook must not end the refreshing
                self.error = f"{type(exc).__name__}: {exc}".splitlines()[0]

    def _show_stopped(self) -> None:
        self._status.value = (f"<i>the machine has stopped (exit status "
                              f"{self.machine.exit_status}): refreshing ended</i>")

    # -- one refresh -------------------------------------------------------

    def refresh(self) -> list[dict[str, Any]]:
        """Ask the machine for its tasks once, now, and redraw; returns the rows."""
        if not self.machine.alive:
            self._show_stopped()
            return self.rows
        try:
            rows = [task.row() for task in self.machine.tasks()]
        except Exception as exc:  # shown in the widget: a refresh must never raise into a thread
            if not self.machine.alive:
                self._show_stopped()
            else:
                self.error = f"{type(exc).__name__}: {exc}".splitlines()[0]
                self._status.value = f"<span style='color:#c92a2a'>{html.escape(self.error)}</span>"
            return self.rows
        self.error = ""
        self.rows = rows
        self.refreshes += 1
        faulted = sum(1 for r in rows if r["state"] == "faulted")
        self._table.value = task_rows_html(rows)
        self._status.value = (f"<small>{len(rows)} tasks, {faulted} faulted; "
                              f"refreshed {time.strftime('%H:%M:%S')}"
                              f"{' every %g s' % self.interval if self.running else ''}</small>")
        return rows

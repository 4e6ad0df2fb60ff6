"""ConsoleView: the guest's serial transcript, with an input line that sends shell commands.

A command typed here goes through ``Machine.request`` on a worker thread,
so the notebook never waits on the guest, and the machine's lock keeps it
from interleaving with the task table's refreshes on the same line.
"""

from __future__ import annotations

import html
import threading
from typing import Any

import ipywidgets as w
import traitlets as t

from ..guest_errors import GuestExited
from ..live import LiveKernel
from .summary import Summarised

__all__ = ["ConsoleView"]


class ConsoleView(Summarised, w.VBox):
    """The last ``lines`` lines of the serial transcript and a command line."""

    lines = t.Int(40, help="how many transcript lines to show (10-2000)").tag(sync=True)
    last_command = t.Unicode("", help="the command sent last").tag(sync=True)
    last_output = t.Unicode("", help="what the last command printed").tag(sync=True)
    last_status = t.Int(0, help="the last command's status (0 = success)").tag(sync=True)
    error = t.Unicode("", help="why the last command failed ('' if it did not)").tag(sync=True)
    hide = t.List(t.Unicode(), ["tasks", "graph"],
                  help="commands whose exchanges are left out of the view (the other widgets "
                       "poll with them); the machine's transcript keeps everything").tag(sync=True)

    def __init__(self, machine: LiveKernel, *, lines: int = 40, **kwargs: Any) -> None:
        """A console for ``machine`` (a running kernel) showing the last ``lines`` transcript lines."""
        self.machine = machine
        self._screen = w.HTML(layout=w.Layout(max_height="320px", overflow="auto"))
        self._input = w.Text(placeholder="a shell command, e.g. help, then Enter",
                             continuous_update=False, layout=w.Layout(width="70%"))
        self._send_button = w.Button(description="send", icon="terminal")
        self._input.observe(lambda ch: self._submit(ch["new"]), "value")
        self._send_button.on_click(lambda _: self._submit(self._input.value, force=True))
        self._worker: threading.Thread | None = None
        super().__init__([self._screen, w.HBox([self._input, self._send_button])], **kwargs)
        self.lines = lines
        self.refresh()

    def summary(self) -> str:
        """The console's last few lines."""
        tail = self.visible_lines()[-6:]
        return "\n".join(["serial console, last lines:"] + [f"  {line}" for line in tail])

    @t.validate("lines")
    def _check_lines(self, proposal: dict) -> int:
        if not 10 <= proposal["value"] <= 2000:
            raise t.TraitError(f"lines must be between 10 and 2000, got {proposal['value']}")
        return proposal["value"]

    @t.observe("lines")
    def _lines_changed(self, _: dict) -> None:
        self.refresh()

    def refresh(self) -> None:
        """Redraw the transcript (reads what the bridge recorded; no guest round trip)."""
        tail = "\n".join(self.visible_lines()[-self.lines:])
        state = "" if self.machine.alive else (
            f"\n[QEMU exited with status {self.machine.exit_status}]")
        if self.error:
            state += f"\n[{self.last_command!r} failed: {self.error}]"
        self._screen.value = (
            "<pre style='background:#212529;color:#e9ecef;padding:6px;margin:0;"
            f"font-size:12px;white-space:pre-wrap'>{html.escape(tail + state)}</pre>")

    def visible_lines(self) -> list[str]:
        """The transcript's lines without the exchanges of the commands in ``hide``."""
        prompt = self.machine.machine.prompt
        shown, skipping = [], False
        for line in self.machine.transcript.splitlines():
            if line.startswith(prompt):
                skipping = line[len(prompt):].strip() in self.hide
            if not skipping:
                shown.append(line)
        return shown

    def _submit(self, text: str, force: bool = False) -> None:
        if not text.strip() or (self._worker is not None and self._worker.is_alive()):
            return
        self._worker = self.run(text, background=True)  # type: ignore[assignment]
        self._input.value = ""

    def run(self, text: str, background: bool = False) -> threading.Thread | str:
        """Run ``text`` in the guest's shell; returns its output (or the worker thread)."""
        if background:
            thread = threading.Thread(target=self.run, args=(text,), name="console-send",
                                      daemon=True)
            thread.start()
            return thread
        self.last_command = text
        try:
            reply = self.machine.request(text)
            self.last_status, self.last_output, self.error = reply.status, reply.output, ""
        except GuestExited as exc:
            # ``halt`` ends QEMU on purpose: say how it ended, not that it failed.
            self.last_output = ""
            self.error = "" if text.split()[:1] == ["halt"] else f"GuestExited: {exc}".splitlines()[0]
        except Exception as exc:  # shown in the widget
            self.error = f"{type(exc).__name__}: {exc}".splitlines()[0]
            self.last_output = ""
        self.refresh()
        return self.last_output

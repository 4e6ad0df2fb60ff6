"""Faults, the kernel's side: the records of its fault log as the ``faults`` command prints them.

kernel_src/fault_log.py writes each record as

    fault SEQ ms=MS tsc=TSC task=ID action=ACTION spec=CELL::FN
      cause CAUSE
      at CELL::FN+0xOFFSET [line N]      (one line a frame, innermost first)

``parse_faults`` turns that into ``FaultRecord``s; a ``FaultLog`` is a list
of them that shows itself as a table in a notebook.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

from .errors import BridgeError

__all__ = ["ACTIONS", "FaultFrame", "FaultRecord", "FaultLog", "parse_faults"]

#: What the kernel did about a fault, as the log spells it.
ACTIONS = ("pending", "ended", "restarted", "reloaded", "rolled_back", "gave_up", "killed",
           "failed")

#: Background of a record's row, by action.
ACTION_COLOURS = {"pending": "#fff3bf", "ended": "#ffc9c9", "restarted": "#ffe8cc",
                  "reloaded": "#ffd8a8", "rolled_back": "#d0ebff", "gave_up": "#ffa8a8",
                  "killed": "#e9ecef", "failed": "#ffa8a8"}

_HEAD = re.compile(r"fault (\d+) ms=(\d+) tsc=(\d+) task=(\d+) action=(\w+) spec=(\S+)$")
_FRAME = re.compile(r"  at (\S+)\+0x([0-9a-f]+)(?: line (\d+))?$")


@dataclass(frozen=True)
class FaultFrame:
    """One frame of a backtrace: the function, how far into it, and the source line if known."""

    function: str        # "cell::function"
    offset: int          # bytes into the function
    line: int | None = None

    def __str__(self) -> str:
        where = f" line {self.line}" if self.line else ""
        return f"{self.function}+{self.offset:#x}{where}"


@dataclass(frozen=True)
class FaultRecord:
    """One fault of a task (or shell command), what led to it, and what was done."""

    seq: int             # the log's number for it, from 1, never reused
    ms: int              # milliseconds since boot
    tsc: int             # the TSC when it happened (cycles)
    task: int            # the task's id
    action: str          # one of ACTIONS
    spec: str            # "cell::function" the task was spawned as
    cause: str
    frames: tuple[FaultFrame, ...] = field(default=())

    @property
    def cell(self) -> str:
        """The cell the task was spawned from."""
        return self.spec.split("::", 1)[0]

    @property
    def backtrace(self) -> list[str]:
        """The frames' functions, innermost first."""
        return [f.function for f in self.frames]

    def _repr_html_(self) -> str:
        return FaultLog([self])._repr_html_()


class FaultLog(list):
    """A list of FaultRecords that shows itself as an HTML table, coloured by action."""

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{h}</th>" for h in ("#", "ms", "task", "spec", "cause", "backtrace",
                                                   "action"))
        rows = []
        for r in self:
            trace = "<br>".join(html.escape(str(f)) for f in r.frames) or "–"
            colour = ACTION_COLOURS.get(r.action, "")
            rows.append(f'<tr style="background:{colour}"><td>{r.seq}</td><td>{r.ms}</td>'
                        f"<td>{r.task}</td><td>{html.escape(r.spec)}</td>"
                        f"<td>{html.escape(r.cause)}</td><td><code>{trace}</code></td>"
                        f"<td>{html.escape(r.action.replace('_', ' '))}</td></tr>")
        return (f"<table><caption>{len(self)} faults</caption><tr>{head}</tr>"
                + "".join(rows) + "</table>")


def parse_faults(text: str) -> FaultLog:
    """Every record of a ``faults`` dump; BridgeError naming the line if one is not a record's."""
    records: list[FaultRecord] = []
    head: re.Match[str] | None = None
    cause = ""
    frames: list[FaultFrame] = []

    def flush() -> None:
        if head is not None:
            seq, ms, tsc, task, action, spec = head.groups()
            records.append(FaultRecord(int(seq), int(ms), int(tsc), int(task), action, spec,
                                       cause, tuple(frames)))

    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        if m := _HEAD.match(line):
            flush()
            head, cause, frames = m, "", []
        elif head is not None and line.startswith("  cause "):
            cause = line[len("  cause "):]
        elif head is not None and (f := _FRAME.match(line)):
            frames.append(FaultFrame(f.group(1), int(f.group(2), 16),
                                     int(f.group(3)) if f.group(3) else None))
        else:
            raise BridgeError(f"line {number} of the faults dump is not part of a record: {line!r}")
    flush()
    return FaultLog(records)

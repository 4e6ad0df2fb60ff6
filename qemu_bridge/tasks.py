"""Tasks: the guest's task table as Python records.

The guest's ``tasks`` command (cells/tasks.py) prints one line a task,

    ID STATE TICKS SWITCHES VALUE CELL FUNCTION CAUSE

fields separated by single spaces, VALUE and CAUSE "-" when absent, CAUSE
running to the end of the line.  ``parse_tasks`` turns that into
``TaskRecord``s; ``TaskList`` is a list of them that renders as a table.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

__all__ = ["STATES", "TaskRecord", "TaskList", "parse_tasks"]

#: Every state a task can be in, as the guest spells it.
STATES = ("runnable", "running", "blocked", "sleeping", "exited", "faulted")

_COLOURS = {"running": "#2e7d32", "runnable": "#1565c0", "blocked": "#6a1b9a",
            "sleeping": "#616161", "exited": "#795548", "faulted": "#c62828"}
_CELL = "padding:2px 8px;text-align:left;font-family:monospace"


@dataclass(frozen=True)
class TaskRecord:
    """One task of the running kernel, as its task table saw it."""

    id: int
    name: str            # "cell::function", what was spawned
    cell: str
    function: str
    state: str           # one of STATES
    cause: str           # why it faulted or was killed ("" otherwise)
    ticks: int           # timer ticks of run time
    switches: int        # times it was switched to
    value: int | None = None   # exit value, once exited normally

    @property
    def alive(self) -> bool:
        """True until the task has exited or faulted."""
        return self.state not in ("exited", "faulted")


def parse_task_line(line: str) -> TaskRecord:
    """One line of the ``tasks`` dump; ValueError if it is not one."""
    parts = line.split(" ", 7)
    if len(parts) != 8:
        raise ValueError(f"task line has {len(parts)} fields, expected 8: {line!r}")
    tid, state, ticks, switches, value, cell, function, cause = parts
    if state not in STATES:
        raise ValueError(f"unknown task state {state!r} in {line!r}")
    return TaskRecord(id=int(tid), name=f"{cell}::{function}", cell=cell, function=function,
                      state=state, cause="" if cause == "-" else cause, ticks=int(ticks),
                      switches=int(switches), value=None if value == "-" else int(value))


def parse_tasks(text: str) -> "TaskList":
    """Every record of a ``tasks`` dump (blank lines ignored)."""
    return TaskList(parse_task_line(line) for line in text.splitlines() if line.strip())


class TaskList(list):
    """A list of TaskRecords that shows itself as an HTML table in a notebook."""

    def by_id(self, tid: int) -> TaskRecord:
        """The record of task ``tid``; KeyError if there is none."""
        for t in self:
            if t.id == tid:
                return t
        raise KeyError(f"no task {tid} in the table")

    def _repr_html_(self) -> str:
        head = "".join(f"<th style='{_CELL}'>{h}</th>"
                       for h in ("id", "task", "state", "ticks", "switches", "value / cause"))
        rows = []
        for t in self:
            colour = _COLOURS.get(t.state, "inherit")
            outcome = t.cause or ("" if t.value is None else str(t.value))
            cells = [str(t.id), t.name, f"<span style='color:{colour}'>{t.state}</span>",
                     str(t.ticks), str(t.switches), outcome]
            escaped = [html.escape(c) if i != 2 else c for i, c in enumerate(cells)]
            rows.append("<tr>" + "".join(f"<td style='{_CELL}'>{c}</td>" for c in escaped) + "</tr>")
        return (f"<table><caption style='text-align:left'>{len(self)} tasks</caption>"
                f"<tr>{head}</tr>{''.join(rows)}</table>")

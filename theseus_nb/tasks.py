"""Tasks: the guest's task table as Python records, and how a task table looks.

The guest's ``tasks`` command (cells/tasks.py) prints one line a task,

    ID STATE TICKS SWITCHES VALUE CELL FUNCTION CAUSE

fields separated by single spaces, VALUE and CAUSE "-" when absent, CAUSE
running to the end of the line. ``parse_tasks`` turns that into
``TaskRecord``s; ``TaskList`` is a list of them that renders as a table.
The states and their colours are defined here once, for every view.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .display import html_table

__all__ = ["STATES", "STATE_COLOURS", "COLUMNS", "FIELDS", "TaskRecord", "TaskList",
           "parse_tasks", "parse_task_line", "task_rows_html"]

#: Every state a task can be in, as the guest spells it.
STATES = ("runnable", "running", "blocked", "sleeping", "exited", "faulted")

#: Background colour of a task row, by state (the task table, %tasks, TaskList).
STATE_COLOURS = {
    "running": "#d3f9d8",
    "runnable": "#e7f5ff",
    "blocked": "#fff3bf",
    "sleeping": "#f1f3f5",
    "exited": "#e9ecef",
    "faulted": "#ffc9c9",
}

#: The columns a task table shows, in order: TaskRecord attributes.
COLUMNS = ("id", "name", "state", "value", "ticks", "switches", "cause")

#: What a row of a table keeps: the columns, and the cell and function apart.
FIELDS = COLUMNS + ("cell", "function")


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

    def row(self) -> dict[str, Any]:
        """This record as a table row: a dict with the keys in FIELDS."""
        return {c: getattr(self, c) for c in FIELDS}


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


def task_rows_html(rows: list[dict[str, Any]], caption: str | None = None) -> str:
    """An HTML table of task rows (dicts with the COLUMNS keys), coloured by state."""
    return html_table(COLUMNS, [["" if r.get(c) is None else r.get(c, "") for c in COLUMNS]
                                for r in rows],
                      caption=caption,
                      row_colours=[STATE_COLOURS.get(str(r.get("state"))) for r in rows])


class TaskList(list):
    """A list of TaskRecords that shows itself as an HTML table in a notebook."""

    def by_id(self, tid: int) -> TaskRecord:
        """The record of task ``tid``; KeyError if there is none."""
        for t in self:
            if t.id == tid:
                return t
        raise KeyError(f"no task {tid} in the table")

    def _repr_html_(self) -> str:
        return task_rows_html([t.row() for t in self], caption=f"{len(self)} tasks")

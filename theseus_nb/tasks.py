"""Tasks: the guest's task table as Python records, and how a task table looks.

The guest's ``tasks`` command (cells/tasks.py) prints one line a task,

    ID STATE TICKS SWITCHES VALUE RESTARTS CELL FUNCTION CAUSE

fields separated by single spaces, VALUE and CAUSE "-" when absent, CAUSE
running to the end of the line (for a restarted task, its last fault's). ``parse_tasks`` turns that into
``TaskRecord``s; ``TaskList`` is a list of them that renders as a table.
The states and their colours are defined here once, for every view.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .display import html_table

__all__ = ["STATES", "STATE_COLOURS", "RESTARTED_COLOUR", "COLUMNS", "FIELDS", "TaskRecord",
           "TaskList", "parse_tasks", "parse_task_line", "task_rows_html", "row_colour"]

#: Every state a task can be in, as the guest spells it.
STATES = ("runnable", "running", "blocked", "sleeping", "exited", "faulted", "restarting")

#: Background colour of a task row, by state (the task table, %tasks, TaskList).
STATE_COLOURS = {
    "running": "#d3f9d8",
    "runnable": "#e7f5ff",
    "blocked": "#fff3bf",
    "sleeping": "#f1f3f5",
    "exited": "#e9ecef",
    "faulted": "#ffc9c9",
    "restarting": "#ffd8a8",
}

#: Background of a live task that has been restarted after a fault: it runs,
#: but it is not the task it was (its row says how often, and why).
RESTARTED_COLOUR = "#ffe8cc"

#: The columns a task table shows, in order: TaskRecord attributes.
COLUMNS = ("id", "name", "state", "value", "ticks", "switches", "restarts", "cause")

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
    restarts: int = 0    # restarts after faults (a restartable task); its cause is the last fault's

    @property
    def alive(self) -> bool:
        """True until the task has exited or faulted (a restarting task is alive)."""
        return self.state not in ("exited", "faulted")

    def row(self) -> dict[str, Any]:
        """This record as a table row: a dict with the keys in FIELDS."""
        return {c: getattr(self, c) for c in FIELDS}


def parse_task_line(line: str) -> TaskRecord:
    """One line of the ``tasks`` dump; ValueError if it is not one."""
    parts = line.split(" ", 8)
    if len(parts) != 9:
        raise ValueError(f"task line has {len(parts)} fields, expected 9: {line!r}")
    tid, state, ticks, switches, value, restarts, cell, function, cause = parts
    if state not in STATES:
        raise ValueError(f"unknown task state {state!r} in {line!r}")
    return TaskRecord(id=int(tid), name=f"{cell}::{function}", cell=cell, function=function,
                      state=state, cause="" if cause == "-" else cause, ticks=int(ticks),
                      switches=int(switches), value=None if value == "-" else int(value),
                      restarts=int(restarts))


def parse_tasks(text: str) -> "TaskList":
    """Every record of a ``tasks`` dump (blank lines ignored)."""
    return TaskList(parse_task_line(line) for line in text.splitlines() if line.strip())


def task_rows_html(rows: list[dict[str, Any]], caption: str | None = None) -> str:
    """An HTML table of task rows (dicts with the COLUMNS keys), coloured by state."""
    return html_table(COLUMNS, [["" if r.get(c) is None else r.get(c, "") for c in COLUMNS]
                                for r in rows],
                      caption=caption,
                      row_colours=[row_colour(r) for r in rows])


def row_colour(row: dict[str, Any]) -> str | None:
    """A task row's background: by state, and RESTARTED_COLOUR for a live
    task that has been restarted."""
    state = str(row.get("state"))
    if state in ("running", "runnable", "blocked", "sleeping") and int(row.get("restarts") or 0):
        return RESTARTED_COLOUR
    return STATE_COLOURS.get(state)


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

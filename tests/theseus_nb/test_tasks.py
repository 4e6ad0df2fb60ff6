"""theseus_nb.tasks: parsing the guest's task dump, and the LiveKernel methods over it."""

from __future__ import annotations

import pytest

from qemu_bridge import Machine
from theseus_nb import Image, MachineError, TaskList, TaskRecord
from theseus_nb.tasks import (RESTARTED_COLOUR, STATE_COLOURS, STATES, parse_task_line,
                              parse_tasks)

DUMP = """\
0 running 12 40 - 0 shell run -
1 runnable 0 0 - 0 task idle -
7 exited 3 5 500 0 pipeline consumer -
9 faulted 0 1 - 0 divider run divide error at 0x3b659e in divider::run
11 exited 0 2 - 0 looper run killed
13 sleeping 0 9 - 2 recov once panic: recov: once in recov::once line 25
"""


def test_parse_every_field() -> None:
    table = parse_tasks(DUMP)
    assert [t.id for t in table] == [0, 1, 7, 9, 11, 13]
    shell = table.by_id(0)
    assert shell == TaskRecord(id=0, name="shell::run", cell="shell", function="run",
                               state="running", cause="", ticks=12, switches=40, value=None)
    assert table.by_id(7).value == 500 and table.by_id(7).cause == ""
    assert table.by_id(9).cause == "divide error at 0x3b659e in divider::run"
    assert table.by_id(11).cause == "killed"
    assert table.by_id(13).restarts == 2 and table.by_id(13).cause.startswith("panic: recov: once")
    assert [t.alive for t in table] == [True, True, False, False, False, True]


def test_states_are_the_issues_words() -> None:
    assert STATES == ("runnable", "running", "blocked", "sleeping", "exited", "faulted",
                      "restarting")


@pytest.mark.parametrize("line", ["", "1 running 0 0 - 0 a b", "1 dancing 0 0 - 0 a b -",
                                  "x running 0 0 - 0 a b -", "1 running 0 0 - x a b -",
                                  "1 running 0 0 - a b -"])
def test_malformed_lines_are_refused(line: str) -> None:
    with pytest.raises(ValueError):
        parse_task_line(line)


def test_html_table_escapes_and_colours() -> None:
    table = parse_tasks(DUMP + "12 faulted 0 1 - 0 evil run panic: <script> in evil::run line 1\n")
    html = table._repr_html_()
    assert "&lt;script&gt;" in html and "<script>" not in html
    assert "7 tasks" in html
    assert html.count(STATE_COLOURS["faulted"]) == 2     # the two faulted rows, and only they
    assert html.count(RESTARTED_COLOUR) == 1             # the restarted task that runs again
    assert set(STATE_COLOURS) == set(STATES)
    assert isinstance(table, list) and isinstance(table, TaskList)
    with pytest.raises(KeyError):
        table.by_id(99)


def test_spawn_refuses_a_bad_name_before_asking_the_guest() -> None:
    # Machine.spawn checks the name before it touches the (here absent) guest.
    with pytest.raises(ValueError, match="cell::function"):
        Machine.spawn(None, "no colons")  # type: ignore[arg-type]


@pytest.mark.parametrize("kwargs, message", [
    ({"restart": "always"}, "restart must be None or 'on-fault'"),
    ({"max_restarts": 5}, "pass restart='on-fault' too"),
    ({"restart": "on-fault", "max_restarts": -1}, "max_restarts must be 0 to 1000"),
    ({"restart": "on-fault", "max_restarts": 1001}, "max_restarts must be 0 to 1000"),
])
def test_spawn_refuses_a_bad_restart_policy_before_asking_the_guest(kwargs, message) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Machine.spawn(None, "recov::always", **kwargs)  # type: ignore[arg-type]


@pytest.mark.qemu
def test_machine_methods(kernel_image: Image) -> None:
    with kernel_image.boot() as m:
        tid = m.spawn("counter::run", 3)
        assert tid >= 2
        table = m.tasks()
        assert table.by_id(tid).name == "counter::run"
        looper = m.spawn("looper::run")
        m.kill(looper)
        assert m.tasks().by_id(looper).cause == "killed"
        with pytest.raises(MachineError, match="no such function"):
            m.spawn("counter::nothing")
        with pytest.raises(MachineError, match="no live task"):
            m.kill(12345)

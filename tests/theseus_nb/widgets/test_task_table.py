"""TaskTable: refreshes from LiveKernel.tasks() in a thread, colours states, stops at shutdown."""

from __future__ import annotations

import time

import pytest
import traitlets

from theseus_nb.widgets import TaskTable
from theseus_nb.tasks import RESTARTED_COLOUR, STATE_COLOURS, task_rows_html

pytestmark = pytest.mark.qemu


def test_rows_are_coloured_by_state_and_faults_show_their_cause():
    rows = [{"id": 1, "name": "shell", "state": "running"},
            {"id": 2, "name": "divider", "state": "faulted", "cause": "divide error in divider::run"}]
    table = task_rows_html(rows)
    assert STATE_COLOURS["faulted"] in table and "divide error in divider::run" in table
    assert STATE_COLOURS["running"] in table


def test_a_restarted_task_has_a_row_colour_of_its_own():
    rows = [{"id": 3, "name": "recov::once", "state": "sleeping", "restarts": 1,
             "cause": "panic: recov: once in recov::once line 22"},
            {"id": 4, "name": "recov::always", "state": "restarting", "restarts": 2},
            {"id": 5, "name": "counter::run", "state": "sleeping", "restarts": 0}]
    table = task_rows_html(rows)
    assert table.count(RESTARTED_COLOUR) == 1 and STATE_COLOURS["restarting"] in table
    assert table.count(STATE_COLOURS["sleeping"]) == 1
    assert "<th>restarts</th>" in table


def test_interval_is_validated(kernel_image):
    m = kernel_image.boot()
    try:
        with pytest.raises(traitlets.TraitError, match="at least 0.2 s"):
            TaskTable(m, interval=0.05, start=False)
    finally:
        m.shutdown()


def test_refreshes_in_the_background_and_stops_at_shutdown(wait_until, kernel_image):
    m = kernel_image.boot()
    table = TaskTable(m, interval=0.2)
    try:
        assert table.running
        assert wait_until(lambda: table.refreshes >= 2), table.error
        assert table.error == ""
        assert any(r["name"] for r in table.rows)
        assert "<table" in table._table.value
        # the notebook's own commands still get through while the table refreshes
        for i in range(5):
            assert m.command(f"echo {i}") == str(i)
    finally:
        m.shutdown()
    assert wait_until(lambda: not table.running)
    assert "stopped" in table._status.value
    count = table.refreshes
    time.sleep(0.5)
    assert table.refreshes == count


def test_faulted_task_shows_its_cause(wait_until, kernel_image):
    m = kernel_image.boot()
    try:
        m.spawn("divider::main", 0)
        table = TaskTable(m, interval=0.2, start=False)
        assert wait_until(lambda: any(r["state"] == "faulted" for r in table.refresh()))
        faulted = [r for r in table.rows if r["state"] == "faulted"]
        assert faulted[0]["cause"] and faulted[0]["cause"] in table._table.value
    finally:
        m.shutdown()


def test_a_restarted_task_is_coloured_and_counted(wait_until, kernel_image):
    m = kernel_image.boot()
    try:
        tid = m.spawn("panicker::run", 1, restart="on-fault", max_restarts=50)
        table = TaskTable(m, interval=0.2, start=False)
        assert wait_until(lambda: any(r["id"] == tid and r["restarts"] >= 1 for r in table.refresh()))
        assert "<th>restarts</th>" in table._table.value
        assert "1 restarted" in table.summary() and "restarted " in table.summary()
    finally:
        m.shutdown()


def test_stop_ends_the_thread(kernel_image):
    m = kernel_image.boot()
    try:
        table = TaskTable(m, interval=0.2)
        table.stop()
        assert not table.running and not table._thread.is_alive()
        table.start()
        assert table.running
        table.close()
        assert not table.running
    finally:
        m.shutdown()

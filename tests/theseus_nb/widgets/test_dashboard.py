"""Dashboard: one refresh thread drives graph, tasks and console; it follows swaps; it stops."""

from __future__ import annotations

import threading

import pytest
import traitlets

from theseus_nb.kernel import repo_root
from theseus_nb.widgets import Dashboard

pytestmark = pytest.mark.qemu



def test_dashboard_follows_a_swap_and_stops_at_shutdown(wait_until, kernel_image):
    m = kernel_image.boot()
    board = Dashboard(m, interval=0.2)
    try:
        board.graph.pending.join(30)
        assert board.running and board._live.value and "running" in board._header.value
        assert board.console.run("fib 10") == "55"
        assert wait_until(lambda: "fib 10" in board.console._screen.value, 15.0)
        source = (repo_root() / "cells/fib.py").read_text()
        m.swap("fib", source.replace("write_u64(fib(arg_u64(1)))",
                                     "write_u64(fib(arg_u64(1)) + 1000)"))
        assert m.command("fib 10") == "1055"
        # the refresh thread notices the swap and fetches the live graph itself
        assert wait_until(board.graph.swap_seen, 15.0)
        assert "fib::main" in board.graph.graph.changed
        assert wait_until(lambda: "last swap: fib" in board._header.value, 15.0)
        with pytest.raises(traitlets.TraitError):
            board.interval = 0.01
    finally:
        m.shutdown()
    assert wait_until(lambda: not board.running, 15.0)
    assert wait_until(lambda: "stopped" in board._header.value, 15.0)
    assert "QEMU exited" in board.console._screen.value
    board.close()


def test_refresh_once_without_the_thread(kernel_image):
    m = kernel_image.boot()
    try:
        board = Dashboard(m, start=False)
        assert not board.running
        board.refresh()
        assert board.graph.error == "" and len(board.graph.graph.sections) > 100
        board._live.value = True  # the "live" button starts and stops the refreshing
        assert board.running
        board._live.value = False
        assert not board.running
    finally:
        m.shutdown()


def test_building_and_refreshing_never_wait_for_the_serial_line(wait_until, kernel_image):
    m = kernel_image.boot()
    try:
        counter = m.spawn("counter::run", 0)  # a task the table must show once it refreshes
        boards: list[Dashboard] = []

        def build_and_refresh() -> None:
            board = Dashboard(m, interval=0.2)
            board.graph.refresh(background=True)
            board.console.refresh()
            boards.append(board)

        with m.machine._session.lock:  # as if a long command held the line
            worker = threading.Thread(target=build_and_refresh, daemon=True)
            worker.start()
            # A part that waited for the line would wait until this block lets go of it:
            # 30 s only bounds that wait, it measures nothing.
            worker.join(30.0)
            # It finished while the line was still taken, so nothing in it waited for the
            # line: it shows the build-time graph and the transcript, and the line's work
            # (the live graph, the task table) waits in the background.
            assert boards, "building or refreshing the dashboard waited for the serial line"
            board = boards[0]
            assert board.graph.graph is m.image.graph
            assert board.graph.pending is not None and board.graph.pending.is_alive()
            assert board.tasks.refreshes == 0 and board.tasks.rows == []
            assert "spawn counter::run 0" in board.console._screen.value
        # Once the line is free, the background refreshes get their turn and show the new
        # state: the live task table with the counter, the graph the kernel recorded.
        assert wait_until(lambda: board.tasks.refreshes >= 1, 15.0)
        assert counter in [row["id"] for row in board.tasks.rows]
        board.graph.pending.join(30.0)
        assert board.graph.error == "" and board.graph.graph is not m.image.graph
        assert board.graph.graph == m.image.graph  # what the loader recorded, as predicted
        board.close()
        assert not board.running
    finally:
        m.shutdown()

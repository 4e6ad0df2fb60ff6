"""Restartable tasks and the recovery ladder (kernel_src/restart.py), in a real kernel in real QEMU.

A task spawned restartable that panics every time is restarted up to its
limit, then its cell is reloaded with its globals reset, then it is given
up, each step logged in order; one that panics once runs on after one
restart; a broken swap under a restartable task is rolled back by the
escalation with the state carried; 200 fault-restart cycles leak nothing.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from theseus_nb import Image, Kernel, LiveKernel, MachineError

pytestmark = pytest.mark.qemu

#: Tasks that fault on purpose; `recov` (its main) prints its globals.
RECOV = """
from theseus_nb.lang.prelude import *
from kernel_src.task import sleep
from kernel_src.serial import write_u64, newline

starts: u64 = 0
flag: u64 = 0
laps: u64 = 0


def always(arg: u64) -> u64:
    global starts
    starts += 1
    panic("recov: always")
    return 0


def once(arg: u64) -> u64:
    global flag, laps
    if flag == 0:
        flag = 1
        panic("recov: once")
    while True:
        laps += 1
        sleep(1)
    return 0


def main(arg: u64) -> u64:
    write_u64(starts)
    newline()
    write_u64(flag)
    newline()
    write_u64(laps)
    newline()
    return 0
"""

#: A worker whose step() a swap breaks; `worker` prints its total.
WORKER = (Path(__file__).resolve().parents[1] / "cells" / "worker.py").read_text()

BROKEN_WORKER = WORKER.replace("    calls += 1\n", "    calls += 1\n    panic(\"worker: broken step\")\n")


#: A task that sleeps, then panics; VANISHED is the version without it.
VANISH = """
from theseus_nb.lang.prelude import *
from kernel_src.task import sleep


def run(arg: u64) -> u64:
    sleep(30)
    panic("vanish: on purpose")
    return 0


def main(arg: u64) -> u64:
    return 0
"""

VANISHED = """
from theseus_nb.lang.prelude import *


def main(arg: u64) -> u64:
    return 0
"""


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> Image:
    kernel = Kernel.default().with_cell("recov", RECOV).with_cell("worker", WORKER)
    kernel = kernel.with_cell("vanish", VANISH)
    return kernel.build(tmp_path_factory.mktemp("restart-kernel"))


@pytest.fixture()
def vm(image: Image):
    with image.boot() as m:
        yield m


def _line(source: str, text: str) -> int:
    """The 1-based line of source holding text (what the compiler calls its line)."""
    return next(n for n, line in enumerate(source.splitlines(), 1) if text in line)


def _wait_for_action(m: LiveKernel, action: str, timeout: float = 10.0) -> list:
    deadline = time.monotonic() + timeout
    while True:
        log = m.faults()
        if any(r.action == action for r in log) or time.monotonic() > deadline:
            return log
        time.sleep(0.05)


def _globals(m: LiveKernel) -> list[int]:
    return [int(v) for v in m.command("recov").split()]


def _mem(m: LiveKernel) -> dict[str, int]:
    return {k: int(v) for k, v in (line.split() for line in m.command("mem").splitlines())}


def test_a_task_that_always_panics_climbs_the_ladder_in_order(vm: LiveKernel) -> None:
    mark = vm.machine.console.mark()
    tid = vm.spawn("recov::always", 0, restart="on-fault", max_restarts=3)
    log = _wait_for_action(vm, "gave_up")
    mine = [r for r in log if r.task == tid]
    assert [r.action for r in mine] == ["restarted"] * 3 + ["reloaded", "gave_up"]
    assert [r.seq for r in mine] == sorted(r.seq for r in mine)
    assert all(r.cause == f"panic: recov: always in recov::always line {_line(RECOV, 'recov: always')}" for r in mine)
    # The reload reset every global: one start since, not five.
    assert _globals(vm)[0] == 1
    record = vm.tasks().by_id(tid)
    assert (record.state, record.restarts) == ("faulted", 4)
    assert record.cause.startswith("panic: recov: always")
    said = vm.machine.console.wait_for(r"gave up on task \d+ \(recov::always\) after 4 restarts",
                                       since=mark)
    assert said
    console = vm.machine.console.since(mark)
    # Its first fault is reported with its frames; the restarts are quiet.
    assert console.count(f"task {tid} (recov::always) faulted: panic: recov: always") == 1
    assert "reset recov::starts" in console and "recov::always) reloaded" in console


def test_a_task_that_panics_once_runs_on_after_one_restart(vm: LiveKernel, wait_until) -> None:
    tid = vm.spawn("recov::once", 0, restart="on-fault", max_restarts=2)
    assert wait_until(lambda: _globals(vm)[2] > 5)        # it counts laps again
    record = vm.tasks().by_id(tid)
    assert record.alive and record.restarts == 1
    assert record.cause == f"panic: recov: once in recov::once line {_line(RECOV, 'recov: once')}"   # the last fault's
    assert [r.action for r in vm.faults() if r.task == tid] == ["restarted"]
    assert _globals(vm)[1] == 1                            # the flag stayed: no reload


def test_a_broken_swap_is_rolled_back_by_the_ladder_with_state_carried(vm: LiveKernel,
                                                                       wait_until) -> None:
    before = _mem(vm)
    tid = vm.spawn("worker::run", 0, restart="on-fault", max_restarts=1)
    assert wait_until(lambda: int(vm.command("worker")) >= 10)
    mark = vm.machine.console.mark()
    vm.swap("worker", BROKEN_WORKER)
    log = _wait_for_action(vm, "rolled_back")
    assert [r.action for r in log if r.task == tid] == ["restarted", "reloaded", "rolled_back"]
    assert log[-1].backtrace[:2] == ["worker::step", "worker::run"]
    # The reload reset the state (that is its point); the rollback, an
    # ordinary swap, carried it: the console shows both, in that order.
    console = vm.machine.console.since(mark)
    reset = console.index("reset worker::total")
    assert console.index("carried worker::total", reset) > reset
    total = int(vm.command("worker"))
    assert wait_until(lambda: int(vm.command("worker")) > total)    # the task works again
    # The host's view follows the kernel's rollback: what runs is version 0 again.
    history = vm.history("worker")
    assert [v.verb for v in history] == ["boot", "swap", "recovery rollback"]
    assert vm.objects["worker"] is history[0].object and vm.sources["worker"].text == WORKER
    record = vm.tasks().by_id(tid)
    assert record.alive and record.restarts == 3
    # Every step was a whole transaction: once the task ends, the heap is as
    # it was before it started (the kept copy of BROKEN went with the rollback).
    vm.kill(tid)
    after = _mem(vm)
    for key in ("heap_used", "heap_allocs", "page_blocks", "retired"):
        assert after[key] == before[key], (key, before[key], after[key])


def test_killing_a_restartable_task_ends_it_for_good(vm: LiveKernel) -> None:
    tid = vm.spawn("recov::once", 0, restart="on-fault", max_restarts=2)
    time.sleep(0.2)
    vm.kill(tid)
    time.sleep(0.2)
    record = vm.tasks().by_id(tid)
    assert (record.state, record.cause) == ("exited", "killed")


@pytest.mark.parametrize("line, answer", [
    ("spawn recov::always 0 --restart 1001", "spawn: too many restarts asked for (the most is 1000)"),
    ("spawn recov::always 0 --restart lots", "spawn: --restart needs a number of restarts, got lots"),
    ("spawn recov::always --restart 2 0", "spawn: --restart N must come last"),
    ("spawn recov::nothing 0 --restart 2", "spawn: no such function"),
])
def test_the_shell_form_refuses_bad_restart_requests(vm: LiveKernel, line: str, answer: str) -> None:
    reply = vm.request(line)
    assert reply.status != 0 and reply.output.startswith(answer), reply.output
    assert vm.tasks().by_id(1).name == "task::idle" and len(vm.tasks()) == 2   # nothing started


def test_two_hundred_fault_restart_cycles_leak_nothing(vm: LiveKernel) -> None:
    before = _mem(vm)
    tid = vm.spawn("recov::always", 0, restart="on-fault", max_restarts=200)
    log = _wait_for_action(vm, "gave_up", timeout=30)
    assert [r.action for r in log if r.task == tid][-2:] == ["reloaded", "gave_up"]
    assert vm.tasks().by_id(tid).restarts == 201
    assert sum(1 for r in log if r.task == tid) == min(64, 202)   # the log keeps its last 64
    after = _mem(vm)
    for key in ("heap_used", "heap_allocs", "heap_requested", "page_blocks", "names_used",
                "retired"):
        assert after[key] == before[key], (key, before[key], after[key])


def test_a_spawn_error_comes_back_as_machine_error(vm: LiveKernel) -> None:
    with pytest.raises(MachineError, match="stack too large"):
        vm.spawn("recov::always", 0, restart="on-fault", max_restarts=1000, stack=1 << 30)


def test_a_restart_that_cannot_be_done_fails_and_says_why(vm: LiveKernel) -> None:
    # The entry is gone by the time the task faults: the swap allowed it
    # (no cell calls vanish::run), the task ran on in the old code.
    mark = vm.machine.console.mark()
    tid = vm.spawn("vanish::run", 0, restart="on-fault", max_restarts=2)
    vm.swap("vanish", VANISHED)
    log = _wait_for_action(vm, "failed")
    assert [r.action for r in log if r.task == tid] == ["failed"]
    said = vm.machine.console.wait_for(r"gave up on task \d+ \(vanish::run\) after 0 restarts",
                                       since=mark)
    assert said
    assert "recovery: cannot start task again: no such function" in vm.machine.console.since(mark)
    record = vm.tasks().by_id(tid)
    assert (record.state, record.restarts) == ("faulted", 0)

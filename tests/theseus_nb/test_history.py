"""Undo for live evolution: LiveKernel.history() and rollback(), Machine.rollback, %rollback; real QEMU.

A broken swap (the new version panics) is rolled back and the task works
again with its state carried; rollback with nothing to roll back says so;
a rollback that would take away what a later swapped cell uses is refused
with the reason, and changes nothing.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

import qemu_bridge
from theseus_nb import Image, Kernel, LiveKernel, SwapError
from theseus_nb.history import CellHistory

pytestmark = pytest.mark.qemu

#: A task that adds step(1) to total each tick; `worker` prints total.
WORKER = (Path(__file__).resolve().parents[1] / "cells" / "worker.py").read_text()

BROKEN = WORKER.replace("    calls += 1\n", "    panic(\"worker: broken\")\n    calls += 1\n")

#: An interface cell and the version that adds a function.
API = """
from theseus_nb.lang.prelude import *


def value(n: u64) -> u64:
    return n + 1
"""

API_2 = API + """

def extra(n: u64) -> u64:
    return n + 2
"""

#: A cell that uses what only API_2 has.
USER = """
from theseus_nb.lang.prelude import *
from cells.api import extra


def main(arg: u64) -> u64:
    return extra(arg)
"""


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> Image:
    kernel = Kernel.default().with_cell("worker", WORKER).with_cell("api", API)
    return kernel.build(tmp_path_factory.mktemp("history-kernel"))


@pytest.fixture()
def vm(image: Image):
    with image.boot() as m:
        yield m


def _total(m: LiveKernel) -> int:
    return int(m.command("worker"))


def test_a_broken_swap_is_rolled_back_and_the_task_works_again_with_its_state(
        vm: LiveKernel, wait_until) -> None:
    tid = vm.spawn("worker::run", 0)
    assert wait_until(lambda: _total(vm) >= 10)
    vm.swap("worker", BROKEN)
    assert wait_until(lambda: not vm.tasks().by_id(tid).alive)
    assert vm.faults()[-1].cause.startswith("panic: worker: broken in worker::step")
    reached = _total(vm)
    report = vm.rollback("worker")
    assert report.verb == "rollback" and report.cells == ["worker"]
    assert "worker::total" in report.state_carried          # the state came back with it
    assert "worker::step" in report.sections_changed
    assert _total(vm) == reached
    with pytest.raises(qemu_bridge.SwapError, match="nothing to roll back"):
        vm.machine.rollback("worker")       # the kernel saw an undo: it never goes back to BROKEN
    vm.spawn("worker::run", 0)
    assert wait_until(lambda: _total(vm) > reached + 5)     # and it counts on from there
    history = vm.history("worker")
    assert [(v.number, v.verb, v.previous) for v in history] == [
        (0, "boot", None), (1, "swap", 0), (2, "rollback", None)]
    assert "worker::step" in history[1].sections_changed and len(history[1].sections_added) == 1
    assert history[2].object.data == history[0].object.data
    assert vm.sources["worker"].text == WORKER and vm.objects["worker"] is history[0].object
    html = history._repr_html_()
    assert "history of worker" in html and "rollback" in html


def test_rollback_with_nothing_to_roll_back_says_so(vm: LiveKernel) -> None:
    with pytest.raises(SwapError, match="nothing to roll back: cell 'worker' runs version 0"):
        vm.rollback("worker")
    with pytest.raises(qemu_bridge.SwapError,
                       match="nothing to roll back: cell 'worker' has not been swapped"):
        vm.machine.rollback("worker")
    with pytest.raises(SwapError, match="no cell 'nosuch' in the running kernel has a history"):
        vm.rollback("nosuch")
    with pytest.raises(qemu_bridge.SwapError, match="no loaded cell is called 'nosuch'"):
        vm.machine.rollback("nosuch")
    # The shell form's own refusals.
    reply = vm.request("rollback worker=nothing")
    assert (reply.status, reply.output) == (1, "refused: no upload or archive entry is called "
                                               "'nothing'")
    assert vm.request("rollback").output == "usage: rollback CELL[=SOURCE]"
    with pytest.raises(ValueError, match="without spaces"):
        vm.machine.rollback("a=b")


def test_a_rollback_that_would_break_a_later_cell_is_refused_with_the_reason(vm: LiveKernel) -> None:
    vm.swap("api", API_2)
    vm.load("user", USER)
    assert vm.request("user").status == 2                   # extra(0): the status is its value
    with pytest.raises(SwapError, match="removes 'api::extra', which 'user::main' still uses"):
        vm.rollback("api")
    assert vm.request("user").status == 2                   # nothing changed
    assert [v.verb for v in vm.history("api")] == ["boot", "swap"]
    with pytest.raises(qemu_bridge.SwapError, match="removes 'api::extra'"):
        vm.machine.rollback("api")


def test_machine_rollback_uses_the_kernels_previous_object(vm: LiveKernel, wait_until) -> None:
    vm.spawn("worker::run", 0)
    vm.swap("worker", WORKER.replace("return n\n", "return n + 1\n"))
    assert wait_until(lambda: _total(vm) >= 20)
    figures = vm.machine.rollback("worker")
    assert "worker::total" in figures.state_carried and figures.kernel_cycles > 0
    at = _total(vm)
    time.sleep(0.3)
    grew = _total(vm) - at
    assert 0 < grew < 60                                     # one a tick again, not two
    with pytest.raises(qemu_bridge.SwapError, match="nothing to roll back"):
        vm.machine.rollback("worker")                       # the kernel keeps one step


def test_history_of_a_cell_loaded_at_run_time(vm: LiveKernel) -> None:
    vm.load("user2", USER.replace("extra", "value"))
    history = vm.history("user2")
    assert isinstance(history, CellHistory)
    assert [(v.verb, v.previous) for v in history] == [("load", None)]
    with pytest.raises(SwapError, match="nothing to roll back"):
        vm.rollback("user2")


def _heap(m: LiveKernel) -> tuple[int, int]:
    mem = {k: int(v) for k, v in (line.split() for line in m.command("mem").splitlines())}
    return mem["heap_used"], mem["heap_allocs"]


def test_the_kernel_keeps_two_objects_a_cell_however_often_it_is_swapped(vm: LiveKernel) -> None:
    # Each swap copies its upload into the heap (the current object) and
    # frees the object before the previous one: the heap stops growing.
    versions = [WORKER.replace("return n\n", f"return n + {k}\n") for k in range(1, 7)]
    vm.swap("worker", versions[0])
    vm.swap("worker", versions[1])
    settled = _heap(vm)
    for source in versions[2:]:
        vm.swap("worker", source)
        assert _heap(vm) == settled
    vm.rollback("worker")                  # an undo frees the object it leaves
    used, allocs = _heap(vm)
    assert allocs == settled[1] - 1 and used < settled[0]

"""Swapping an isolated cell while its task runs the old version, in real QEMU.

A task of an isolated cell that is inside the old version when its cell is
swapped goes on as a trusted cell's task does (kernel_src/retire.py,
swap_cells.py): its next call through a swapped function reaches the new
version, it returns into the old code it came from, and it ends normally,
although another isolated cell's task ran in between (so the pages of both
versions became supervisor-only and had to come back, gates.py) and the
kernel reclaimed retired code meanwhile (the only pointer into the old
version is a return address on the task's *user* stack, which the scan must
read).  The other cell never sees either version's pages.  And a restartable
task of an isolated cell is started again in ring 3, after a plain restart
and after its cell is reloaded.
"""
from __future__ import annotations

import time

import pytest

from tests.guest_tasks import ended
from theseus_nb import Image, LiveKernel, SwapError

pytestmark = pytest.mark.qemu

#: A trusted, safe cell the host raises a flag in; the isolated cell reads it through a gate.
FLAG = """
from theseus_nb.lang.prelude import *

go: u64 = 0


def up(a: u64) -> u64:
    \"\"\"Raise the flag to a.\"\"\"
    global go
    go = a
    return a


def get(a: u64) -> u64:
    \"\"\"The flag.\"\"\"
    return go
"""

#: The old version: run() calls step() every tick until step says more than 1500.
OLD = """
# cell: unsafe
# cell: isolated
from theseus_nb.lang.prelude import *
from kernel_src.task import sleep
from kernel_src.serial import write
from cells.flag import get

calls: u64 = 0


def step(n: u64) -> u64:
    return n + 1000


def run(n: u64) -> u64:
    global calls
    write("old run\\n")
    while True:
        calls += 1
        v: u64 = step(n)
        if v > 1500:
            return v
        sleep(1)
    return 0
"""

#: The new version: step() waits for the flag, then says n + 2000; run() differs too.
NEW = """
# cell: unsafe
# cell: isolated
from theseus_nb.lang.prelude import *
from kernel_src.task import sleep
from kernel_src.serial import write
from cells.flag import get

calls: u64 = 0


def step(n: u64) -> u64:
    write("new step\\n")
    while get(0) == 0:
        sleep(1)
    return n + 2000


def run(n: u64) -> u64:
    return step(n) + 1
"""

#: Another isolated cell: it runs between, and reaches for the first one's pages.
SNOOP = """
# cell: unsafe
# cell: isolated
from theseus_nb.lang.prelude import *
from theseus_nb.lang.unsafe import load64


def peek(addr: u64) -> u64:
    return load64(addr)


def hello(a: u64) -> u64:
    return a + 1
"""

#: A trusted cell whose whole-page blocks reuse freed heap pages (as test_retire's churn).
FILLER = """
from theseus_nb.lang.prelude import *

fill: Array[u64, 1024] = [7] * 1024


def f(n: u64) -> u64:
    return fill[n & 1023] + n
"""

#: An isolated cell that executes a privileged instruction: ring 3 faults on it, every time.
CLI = """
# cell: unsafe
# cell: isolated
from theseus_nb.lang.prelude import *
from theseus_nb.lang.unsafe import cli, sti


def nointr(a: u64) -> u64:
    cli()
    sti()
    return 5
"""


def _regions(vm: LiveKernel, cell: str) -> dict[str, int]:
    """An address in each of cell's regions (text, rodata, data: its first
    section of that kind, as `sections` shows them; bss is in the data region)."""
    found: dict[str, int] = {}
    for line in vm.command(f"sections {cell}").splitlines():
        kind, addr = line.split()[:2]
        found.setdefault("data" if kind == "bss" else kind, int(addr, 16))
    return found


def _mem(vm: LiveKernel) -> dict[str, int]:
    return {k: int(v) for k, v in (line.split() for line in vm.command("mem").splitlines())}


@pytest.fixture()
def vm(kernel_image: Image):
    with kernel_image.boot() as m:
        m.load("flag", FLAG)
        m.load("snoop", SNOOP)
        yield m


def test_a_task_in_the_old_version_of_an_isolated_cell_reaches_the_new_one_and_ends(
        vm: LiveKernel) -> None:
    vm.load("ver", OLD)
    mark = vm.console.mark()
    task = vm.spawn("ver::run", 5)
    vm.console.wait_for("old run", timeout=10, since=mark)
    old = _regions(vm, "ver")
    report = vm.swap("ver", NEW)
    assert report.sections_retired > 0                # the task is inside the old run()
    assert report.old_code_rewritten >= 2             # old run()'s call of step and use of calls
    # The old run() calls step() again: the new one, which waits for the flag.
    vm.console.wait_for("new step", timeout=10, since=mark)
    # Now another isolated cell's task runs: both versions' pages become
    # supervisor-only, and the other cell cannot touch the old version.
    assert ended(vm, vm.spawn("snoop::hello", 1)).value == 2
    for kind in ("text", "rodata", "data"):
        record = ended(vm, vm.spawn("snoop::peek", old[kind]))
        assert (record.state, record.cause) == \
            ("faulted", f"access outside the cell's pages at {old[kind]:#x} in snoop::peek")
    new = _regions(vm, "ver")
    record = ended(vm, vm.spawn("snoop::peek", new["text"]))
    assert record.cause == f"access outside the cell's pages at {new['text']:#x} in snoop::peek"
    # Reclaim retired code, and churn the heap: the old run() is still
    # reachable (its return address is on the task's user stack only).
    assert _mem(vm)["retired"] > 0
    for i in range(3):
        vm.load(f"filler{i}", FILLER)
    assert vm.tasks().by_id(task).state in ("sleeping", "runnable", "running")
    # The flag goes up: the new step() returns 2005 into the old run(),
    # which returns it through the old version's exit stub.
    assert ended(vm, vm.spawn("flag::up", 1)).state == "exited"
    record = ended(vm, task)
    assert (record.state, record.cause, record.value) == ("exited", "", 2005)
    assert _mem(vm)["retired"] == 0                   # nothing runs the old version now
    # The new version's own tasks run in its own pages, as before.
    assert ended(vm, vm.spawn("ver::run", 5)).value == 2006
    assert ended(vm, vm.spawn("snoop::hello", 1)).value == 2


def test_a_task_in_the_old_version_keeps_its_gates_when_the_old_record_is_reused(
        vm: LiveKernel) -> None:
    # The swap kills the old version's cell record; the next load reuses it.
    # The task in the old code still gates out through the old version's
    # stubs (flag::get, task::sleep) and exits through its exit stub.
    vm.load("ver", OLD.replace("if v > 1500:", "if get(0) != 0:"))
    mark = vm.console.mark()
    task = vm.spawn("ver::run", 5)
    vm.console.wait_for("old run", timeout=10, since=mark)
    vm.swap("ver", OLD.replace("n + 1000", "n + 3000").replace("if v > 1500:", "if get(0) != 0:"))
    vm.load("filler0", FILLER)                        # the old record, made again
    vm.load("other", SNOOP.replace("a + 1", "a + 2"))  # an isolated cell, another reuse
    assert ended(vm, vm.spawn("other::hello", 1)).value == 3
    assert vm.tasks().by_id(task).state in ("sleeping", "runnable", "running")
    assert ended(vm, vm.spawn("flag::up", 1)).state == "exited"
    record = ended(vm, task)
    assert (record.state, record.cause, record.value) == ("exited", "", 3005)


def test_a_restarted_isolated_task_runs_in_ring_3_again(vm: LiveKernel, wait_until) -> None:
    vm.load("cli", CLI)
    task = vm.spawn("cli::nointr", 0, restart="on-fault", max_restarts=1)
    # A plain restart, then a reload of the cell, then (no earlier version) gave up.
    assert wait_until(lambda: vm.tasks().by_id(task).state == "faulted")
    faults = [f for f in vm.faults() if f.task == task]
    assert [f.action for f in faults] == ["restarted", "reloaded", "gave_up"]
    assert {f.cause for f in faults} == {"privileged instruction in cli::nointr"}
    assert vm.tasks().by_id(task).value != 5


#: A trusted cell that, in its new version, calls the isolated cell swapped with it.
TRUSTED = """
# cell: unsafe
from theseus_nb.lang.prelude import *


def main(a: u64) -> u64:
    return a
"""
TRUSTED_CALLER = """
# cell: unsafe
from theseus_nb.lang.prelude import *
from cells.cli import nointr


def main(a: u64) -> u64:
    return nointr(a)
"""


def test_a_swap_of_several_cells_keeps_calls_into_an_isolated_one_refused(vm: LiveKernel) -> None:
    # In one transaction the new cli still holds its names through the old
    # version (the loader's pending names): the rule is the same as at load.
    vm.load("cli", CLI)
    vm.load("plain", TRUSTED, trusted=True)
    with pytest.raises(SwapError, match="calls into an isolated cell are refused.*plain::main"):
        vm.swap_many({"cli": CLI.replace("return 5", "return 6"), "plain": TRUSTED_CALLER})
    assert vm.request("plain").status == 0
    # And an isolated cell swapped with the trusted one it calls goes through
    # a gate (plain is safe now: a gate leads only into safe interfaces).
    vm.swap_many({"cli": CLI.replace("cli()\n    sti()\n", "twice(a)\n")
                  .replace("import cli, sti", "import cli, sti\nfrom cells.plain import main as twice"),
                  "plain": TRUSTED.replace("# cell: unsafe\n", "").replace("return a", "return a + a")})
    record = ended(vm, vm.spawn("cli::nointr", 4))
    assert (record.state, record.value) == ("exited", 5)
    assert vm.graph().is_gate("cli::nointr", "plain::main")


def test_a_gate_into_a_cell_swapped_for_an_isolated_version_is_refused(vm: LiveKernel) -> None:
    # flag is trusted when snoop's task first calls it; then flag is swapped
    # for an isolated version: its code would run in ring 0 on snoop's behalf.
    vm.load("asker", SNOOP.replace("from theseus_nb.lang.unsafe import load64",
                                   "from theseus_nb.lang.unsafe import load64\nfrom cells.flag import get")
            .replace("return a + 1", "return get(a) + 1"))
    assert ended(vm, vm.spawn("asker::hello", 0)).value == 1
    # (@safe_interface: the same signature hash as the safe version's.)
    vm.swap("flag", "# cell: unsafe\n# cell: isolated\n" + FLAG.replace("def ", "@safe_interface\ndef "))
    record = ended(vm, vm.spawn("asker::hello", 0))
    assert (record.state, record.cause) == \
        ("faulted", "gate refused: the imported function's cell is isolated now")

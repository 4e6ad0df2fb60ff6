"""The scheduling policy (kernel_src/switcher.py), from the attacker's side: a
policy cell whose pick_next panics, faults, never returns or sleeps is
dropped for the built-in round robin, its fault is shown by `sched`, and the
kernel and its tasks go on. Real QEMU."""

from __future__ import annotations

import pytest

from theseus_nb import Image, LiveKernel

pytestmark = pytest.mark.qemu

HEADER = "from theseus_nb.lang.prelude import *\n"
POLICIES = {
    "panics": (HEADER + '''

def pick_next(current: u64) -> u64:
    """Panic on the first pick."""
    panic("on purpose")
    return 0
''', "sp_panics::pick_next: panic: on purpose in sp_panics::pick_next line 6"),
    # It runs in the timer interrupt: without a bound, the machine stopped.
    "loops": (HEADER + '''
_spins: u64 = 0


def pick_next(current: u64) -> u64:
    """Never return."""
    global _spins
    while True:
        _spins = wrapping_add(_spins, 1, u64)
    return 0
''', "sp_loops::pick_next: did not return within params.POLICY_TICKS timer ticks"),
    "faults": ("# cell: unsafe\n" + HEADER + '''from theseus_nb.lang.unsafe import load64


def pick_next(current: u64) -> u64:
    """Read where nothing is mapped."""
    return load64(0x10000000000)
''', "sp_faults::pick_next: page fault at 0x"),
    "sleeps": (HEADER + '''from kernel_src.task import sleep


def pick_next(current: u64) -> u64:
    """Sleep, which a function running in the timer interrupt must not."""
    sleep(1)
    return current
''', "sp_sleeps::pick_next: yielded, slept or blocked, which pick_next must not"),
}
GOOD = HEADER + '''from kernel_src.task_table import tasks, RUNNABLE, IDLE, NO_TASK
from kernel_src import task_table


def pick_next(current: u64) -> u64:
    """Round robin, as sched_rr."""
    n: u64 = task_table.high_slot
    for k in range(1, n + 1):
        i: u64 = (current + k) % n
        if i != IDLE and tasks[i].state == RUNNABLE:
            return i
    return NO_TASK
'''


def _heap(vm: LiveKernel) -> tuple[int, int]:
    mem = dict(line.split() for line in vm.command("mem").splitlines())
    return int(mem["heap_allocs"]), int(mem["heap_requested"])


@pytest.fixture()
def vm(kernel_image: Image):
    with kernel_image.boot() as m:
        yield m


def _still_scheduling(vm: LiveKernel, wait_until, task: int) -> bool:
    """Does task go on being switched to?"""
    before = vm.tasks().by_id(task).switches
    return wait_until(lambda: vm.tasks().by_id(task).switches > before + 3)


@pytest.mark.parametrize("kind", sorted(POLICIES))
def test_a_failing_policy_is_dropped_and_the_kernel_goes_on(vm: LiveKernel, wait_until,
                                                            kind: str) -> None:
    source, fault = POLICIES[kind]
    # a policy runs in ring 0, so an unsafe one must be loaded trusted
    vm.load(f"sp_{kind}", source, unsafe=source.startswith("# cell: unsafe"), trusted=True)
    counter = vm.spawn("counter::run", 0)
    before = _heap(vm)
    assert vm.command(f"sched sp_{kind}").splitlines()[0] == f"sp_{kind}::pick_next"  # it may fail at once
    assert wait_until(lambda: vm.command("sched").startswith("built-in round robin"))
    shown = vm.command("sched").splitlines()
    assert shown[1].startswith("dropped after a fault: " + fault), shown
    assert vm.command("echo alive") == "alive"
    assert _still_scheduling(vm, wait_until, counter)
    assert vm.tasks().by_id(counter).state in ("sleeping", "runnable", "running")
    assert _heap(vm) == before
    # A policy can be chosen again, and the fault is then forgotten.
    assert vm.command("sched sched_rr") == "sched_rr::pick_next"
    assert _still_scheduling(vm, wait_until, counter)


def test_a_policy_swapped_to_the_wrong_signature_is_dropped(vm: LiveKernel, wait_until) -> None:
    vm.load("sp_good", GOOD)
    assert vm.command("sched sp_good") == "sp_good::pick_next"
    counter = vm.spawn("counter::run", 0)
    # Nothing calls pick_next through a relocation, so the swap's own checks
    # let it change; the switcher, which calls it by name, must not.
    vm.swap("sp_good", GOOD.replace("def pick_next(current: u64) -> u64:",
                                    "def pick_next(current: u64, more: u64) -> u64:"))
    assert wait_until(lambda: vm.command("sched").startswith("built-in round robin"))
    assert vm.command("sched").splitlines()[1] == (
        "dropped after a fault: sp_good::pick_next: is no longer a pick_next(u64) -> u64")
    assert _still_scheduling(vm, wait_until, counter)
    assert vm.command("echo alive") == "alive"

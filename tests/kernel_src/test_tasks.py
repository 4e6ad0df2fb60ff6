"""Tasks, interrupts and faults, seen from outside: a real kernel in real QEMU.

A runaway task must not stop the shell; panics and CPU exceptions end the
task they happen in (cause, cell and function recorded) while the others go
on; a fault in a scheduling policy ends the policy, not the kernel.
"""

from __future__ import annotations

import time

import pytest

from theseus_nb import CellSource, Image, Kernel, LiveKernel, MachineError, TaskRecord, build
from theseus_nb.signatures import function_hash

pytestmark = pytest.mark.qemu

#: Extra demo cell: CPU exceptions, and join.
FAULTS = """
# cell: unsafe
from theseus_nb.lang.prelude import *
from theseus_nb.lang.unsafe import load64
from kernel_src.task import spawn, join


def page_fault(arg: u64) -> u64:
    return load64(0x10000000000)          # 1 TiB: only the first 4 GiB are mapped


def general_protection(arg: u64) -> u64:
    return load64(0x8000000000000000)     # not canonical


def joiner(n: u64) -> u64:
    return join(spawn("counter::run", n)) + 1000


def main(arg: u64) -> u64:
    return load64(0x10000000000)          # a command that faults: only the command ends
"""

#: Code the cell language cannot write: an invalid opcode, and stack
#: pointers that go where nothing is mapped.  The page fault has a stack of
#: its own, so pushing onto an unmapped stack is a plain page fault; a
#: non-canonical stack pointer makes the CPU fault again while it delivers
#: the first fault, which is a double fault (on its own stack too).
STACKBOMB_IR = """
define i64 @"stackbomb::unmapped"(i64 %n) nounwind noredzone {
entry:
  call void asm sideeffect "movabsq $$0x10000000000, %rsp; pushq $$0", "~{memory}"()
  ret i64 0
}
define i64 @"stackbomb::noncanonical"(i64 %n) nounwind noredzone {
entry:
  call void asm sideeffect "movabsq $$0x8000000000000000, %rsp; pushq $$0", "~{memory}"()
  ret i64 0
}
define i64 @"stackbomb::invalid_opcode"(i64 %n) nounwind noredzone {
entry:
  call void asm sideeffect "ud2", ""()
  ret i64 0
}
""" + build.module_asm(  # spawn checks a task's signature: IR lists it itself
    '.section .theseus.sigs,"",@progbits\n' + "".join(
        f'.ascii "stackbomb::{name} {function_hash(name, ["u64"], "u64")}\\n"\n'
        for name in ("unmapped", "noncanonical", "invalid_opcode")) + ".text")

#: A policy that faults: the switcher calls it from the timer interrupt,
#: where a fault used to be the nano_core's own.
FAULTY_POLICY = """
# cell: unsafe
from theseus_nb.lang.prelude import *
from theseus_nb.lang.unsafe import load64


def pick_next(current: u64) -> u64:
    return load64(0x10000000000)
"""

#: A policy that runs the shell every other turn and otherwise always the
#: newest runnable task (the highest slot): older tasks starve.
NEWEST_FIRST = """
from theseus_nb.lang.prelude import *
from kernel_src.task_table import tasks, RUNNABLE, IDLE, NO_TASK, SHELL
from kernel_src import task_table


def pick_next(current: u64) -> u64:
    if current != SHELL and tasks[SHELL].state == RUNNABLE:
        return SHELL
    n: u64 = task_table.high_slot
    for k in range(n):
        i: u64 = n - 1 - k
        if i != IDLE and tasks[i].state == RUNNABLE:
            return i
    return NO_TASK
"""


@pytest.fixture(scope="module")
def task_image(tmp_path_factory: pytest.TempPathFactory) -> Image:
    kernel = Kernel.default().with_cell("faults", FAULTS, unsafe=True)
    kernel = kernel.with_cell("sched_newest", NEWEST_FIRST)
    kernel = kernel.with_cell("sched_faulty", FAULTY_POLICY, unsafe=True)
    kernel = Kernel(kernel.nano_core, kernel.cells + [CellSource("stackbomb", STACKBOMB_IR, "ir")])
    return kernel.build(tmp_path_factory.mktemp("task-kernel"))


@pytest.fixture()
def vm(task_image: Image):
    with task_image.boot() as m:
        yield m


def _wait_for(m: LiveKernel, tid: int, states: tuple[str, ...], timeout: float = 5.0) -> TaskRecord:
    deadline = time.monotonic() + timeout
    while True:
        record = m.tasks().by_id(tid)
        if record.state in states or time.monotonic() > deadline:
            return record
        time.sleep(0.05)


def _mem(m: LiveKernel) -> dict[str, int]:
    return {k: int(v) for k, v in (line.split() for line in m.command("mem").splitlines())}


def test_boot_tasks_are_the_shell_and_idle(vm: LiveKernel) -> None:
    table = vm.tasks()
    assert [(t.id, t.name, t.state) for t in table] == [
        (0, "shell::run", "running"), (1, "task::idle", "runnable")]


def test_runaway_task_does_not_stop_the_shell(vm: LiveKernel) -> None:
    looper = vm.spawn("looper::run")
    counter = vm.spawn("counter::run", 0)
    # Without preemption the looper would keep the CPU and the shell would never answer.
    for i in range(10):
        assert vm.command(f"echo {i}") == str(i)
    time.sleep(0.3)
    table = vm.tasks()
    assert table.by_id(looper).state == "runnable"
    assert table.by_id(looper).ticks > 10            # it really runs, preempted
    assert table.by_id(counter).switches > 10        # and so does the counter
    vm.kill(looper)
    vm.kill(counter)


def test_panic_and_divide_error_end_only_their_task(vm: LiveKernel) -> None:
    looper = vm.spawn("looper::run")
    counter = vm.spawn("counter::run", 0)
    panicker = vm.spawn("panicker::run", 2)
    divider = vm.spawn("divider::run", 7)
    p = _wait_for(vm, panicker, ("faulted",))
    d = _wait_for(vm, divider, ("faulted",))
    assert (p.state, p.cell, p.function) == ("faulted", "panicker", "run")
    assert p.cause == "panic: panicker: on purpose in panicker::run line 10"
    assert (d.state, d.cell, d.function) == ("faulted", "divider", "run")
    assert d.cause.startswith("divide error at 0x") and d.cause.endswith(" in divider::run")
    before = vm.tasks().by_id(counter).switches
    time.sleep(0.2)
    table = vm.tasks()
    assert table.by_id(counter).switches > before     # the others go on
    assert table.by_id(looper).state == "runnable"
    assert vm.command("echo still here") == "still here"


def test_the_demo_tasks_say_what_they_do_on_the_console(vm: LiveKernel) -> None:
    mark = vm.machine.console.mark()
    counter = vm.spawn("counter::run", 0)
    vm.spawn("panicker::run", 3)
    vm.machine.console.wait_for(r"panicker: slept 3 ticks; goodbye, I panic now\n", 5.0, since=mark)
    vm.machine.console.wait_for(r"counter: counted 100 ticks, the count is \d+\n", 10.0, since=mark)
    vm.kill(counter)


@pytest.mark.parametrize("function, cause", [
    ("faults::page_fault", "page fault at 0x10000000000 (not mapped)"),
    ("faults::general_protection", "general protection fault at 0x"),
    ("stackbomb::invalid_opcode", "invalid opcode at 0x"),
    ("stackbomb::unmapped", "page fault at 0xfffffffff8 (not mapped)"),
    ("stackbomb::noncanonical", "double fault at 0x"),
])
def test_cpu_exceptions_fault_the_task(vm: LiveKernel, function: str, cause: str) -> None:
    tid = vm.spawn(function)
    record = _wait_for(vm, tid, ("faulted",))
    assert record.state == "faulted"
    assert record.cause.startswith(cause)
    assert record.cause.endswith(" in " + function)
    assert vm.command("echo ok") == "ok"


def test_producer_consumer_delivers_every_message_in_order(vm: LiveKernel) -> None:
    consumer = vm.spawn("pipeline::consumer", 500)
    producer = vm.spawn("pipeline::producer", 500)
    c = _wait_for(vm, consumer, ("exited", "faulted"), timeout=10)
    p = _wait_for(vm, producer, ("exited", "faulted"), timeout=10)
    assert (c.state, c.value, c.cause) == ("exited", 500, "")   # it panics on a gap
    assert (p.state, p.value) == ("exited", 500)
    assert c.switches > 500 // 16                      # the channel filled: both blocked


def test_sleep_and_join(vm: LiveKernel) -> None:
    tid = vm.spawn("faults::joiner", 20)
    record = _wait_for(vm, tid, ("exited",))
    assert record.value == 1020
    assert record.ticks < 5                            # it slept while joined


def test_kill_frees_the_task(vm: LiveKernel) -> None:
    vm.command("tasks")
    before = _mem(vm)
    ids = [vm.spawn("looper::run"), vm.spawn("counter::run", 0), vm.spawn("pipeline::consumer", 9)]
    assert _mem(vm)["heap_used"] > before["heap_used"]
    for tid in ids:
        vm.kill(tid)
    table = vm.tasks()
    for tid in ids:
        assert (table.by_id(tid).state, table.by_id(tid).cause) == ("exited", "killed")
    after = _mem(vm)
    assert after["heap_used"] == before["heap_used"]
    assert after["frames_used"] == before["frames_used"]
    with pytest.raises(MachineError, match="no live task"):
        vm.kill(ids[0])
    with pytest.raises(MachineError, match="no live task"):
        vm.kill(0)                                     # the shell is the nano_core's


def test_ended_tasks_give_their_stacks_back(vm: LiveKernel) -> None:
    before = _mem(vm)["heap_used"]
    ids = [vm.spawn("counter::run", 3) for _ in range(5)] + [vm.spawn("panicker::run", 0)]
    for tid in ids:
        _wait_for(vm, tid, ("exited", "faulted"))
    assert _mem(vm)["heap_used"] == before


def test_ended_records_are_reused(vm: LiveKernel) -> None:
    ids = [vm.spawn("divider::run", 1) for _ in range(50)]   # each ends at once
    _wait_for(vm, ids[-1], ("faulted",))
    time.sleep(0.1)
    table = vm.tasks()
    assert ids[0] not in [t.id for t in table]         # the oldest records went first
    assert len(table) <= 2 + 32 + 2                    # shell, idle, KEEP_ENDED (+ new ones)
    assert table.by_id(ids[-1]).cause.startswith("divide error")


def test_spawn_errors(vm: LiveKernel) -> None:
    with pytest.raises(MachineError, match="no such function"):
        vm.spawn("nowhere::run")
    with pytest.raises(MachineError, match="no such function"):
        vm.spawn("pipeline::PIPE")                     # a constant is not a function


def test_a_command_that_faults_ends_only_the_command(vm: LiveKernel) -> None:
    reply = vm.request("faults")
    assert reply.status == 255
    assert reply.output.strip() == ("faulted: page fault at 0x10000000000 (not mapped) "
                                    "in faults::main")
    assert vm.command("echo still here") == "still here"
    assert [(t.id, t.state, t.cause) for t in vm.tasks()][:1] == [(0, "running", "")]


def test_a_fault_in_the_policy_ends_the_policy_not_the_kernel(vm: LiveKernel, wait_until) -> None:
    # It used to stop QEMU (status 101): the next timer tick faulted in the
    # switcher, in the interrupt handler (more cases: test_switcher.py).
    assert vm.command("sched sched_faulty") == "sched_faulty::pick_next"
    assert wait_until(lambda: vm.command("sched").startswith("built-in round robin"))
    assert "sched_faulty::pick_next: page fault at 0x10000000000 (not mapped) in " \
           "sched_faulty::pick_next" in vm.command("sched")
    assert vm.command("echo still here") == "still here"


def test_the_policy_cell_can_be_changed_at_run_time(vm: LiveKernel) -> None:
    assert vm.command("sched") == "sched_rr::pick_next"
    assert vm.command("sched sched_newest") == "sched_newest::pick_next"
    old = vm.spawn("counter::run", 0)
    new = vm.spawn("looper::run")                      # newest first: it starves the counter
    time.sleep(0.3)
    starved = vm.tasks().by_id(old).switches
    time.sleep(0.3)
    assert vm.tasks().by_id(old).switches == starved
    assert vm.command("sched sched_rr") == "sched_rr::pick_next"
    time.sleep(0.3)
    assert vm.tasks().by_id(old).switches > starved   # round robin again
    vm.kill(new)
    vm.kill(old)


def test_without_a_policy_cell_the_builtin_round_robin_runs(vm: LiveKernel) -> None:
    # A name that is no policy is refused; a policy that fails is dropped
    # for the built-in round robin (tests/kernel_src/test_switcher.py).
    assert vm.request("sched nowhere").status == 1
    vm.command("sched sched_faulty")
    looper = vm.spawn("looper::run")
    counter = vm.spawn("counter::run", 0)
    time.sleep(0.3)
    assert vm.command("sched").startswith("built-in round robin")
    assert vm.tasks().by_id(counter).switches > 5
    assert vm.command("echo alive", timeout=1.0) == "alive"
    vm.kill(looper)
    vm.kill(counter)


def test_the_shell_sleeps_until_input(vm: LiveKernel) -> None:
    before = {t.id: t.ticks for t in vm.tasks()}
    time.sleep(0.5)                                    # about 50 ticks
    after = {t.id: t.ticks for t in vm.tasks()}
    assert after[0] - before[0] <= 3                   # the shell did not spin
    assert after[1] - before[1] >= 20                  # the idle task halted the CPU

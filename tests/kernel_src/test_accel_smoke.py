"""One boot that uses everything, under the accelerator THESEUS_NB_ACCEL names.

Boot, a shell command, tasks that yield, block and are preempted, a CPU
fault ending one task, SSE registers kept per task, an unmasked SSE
exception (#XM, which only a real CPU raises), and a hot swap.  (On a KVM
host that emulates the guest, as this project's PVM host does, the SSE
tests are skipped: KVM's emulator has no SSE arithmetic.)  Under TCG the other
test files cover all of this, boot by boot; this file is what runs under
KVM (`THESEUS_NB_ACCEL=kvm`, and `.ci/run` when /dev/kvm works), where a
boot is slow on a host that emulates the guest (see docs/architecture.md),
so it boots once.
"""

from __future__ import annotations

import functools
import time

import pytest

import qemu_bridge
from tests.guest_tasks import ended
from theseus_nb import CellSource, Image, Kernel, LiveKernel

from .test_fpu import NO_SSE_HERE, PVM_HOST, SSEWORK_IR, series
from .test_swap import MATHUTIL_NO_TWO

pytestmark = pytest.mark.qemu

ACCEL = qemu_bridge.resolve_accel(qemu_bridge.accel_from_env())
#: Seconds a command may take: a KVM host that emulates the guest (as this
#: project's does) runs it at about a microsecond an instruction.
T = 5.0 if ACCEL == "tcg" else 300.0


_ended = functools.partial(ended, timeout=600.0, poll=0.2 if ACCEL == "tcg" else 3.0,
                           ask_timeout=T)   # each look costs the guest port I/O


@pytest.fixture(scope="module")
def vm(tmp_path_factory: pytest.TempPathFactory):
    kernel = Kernel.default()
    kernel = Kernel(kernel.nano_core, kernel.cells + [CellSource("ssework", SSEWORK_IR, "ir")])
    image: Image = kernel.build(tmp_path_factory.mktemp("smoke-kernel"))
    with image.boot(accel=ACCEL) as m:
        yield m


def test_boot_and_a_command(vm: LiveKernel) -> None:
    assert vm.machine.config.accelerator == ACCEL
    assert vm.command("echo smoke", T) == "smoke"
    assert vm.command("bootsteps", T).splitlines()[-1].startswith("per_ms ")


def test_tasks_yield_block_and_are_preempted(vm: LiveKernel) -> None:
    consumer = vm.spawn("pipeline::consumer", 100, timeout=T)
    producer = vm.spawn("pipeline::producer", 100, timeout=T)
    looper = vm.spawn("looper::run", timeout=T)         # never yields: only the timer stops it
    assert (_ended(vm, consumer).state, _ended(vm, consumer).value) == ("exited", 100)
    assert _ended(vm, producer).value == 100
    # The looper is charged a tick only when the timer finds it running: on
    # a busy host the others may finish first, so give it a moment (not a bound).
    deadline = time.monotonic() + T
    while vm.tasks(timeout=T).by_id(looper).ticks == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert vm.tasks(timeout=T).by_id(looper).ticks > 0
    assert vm.command("echo still answering", T) == "still answering"
    vm.kill(looper, timeout=T)


@pytest.mark.skipif(ACCEL == "kvm" and PVM_HOST, reason=NO_SSE_HERE)
def test_tasks_keep_their_sse_registers(vm: LiveKernel) -> None:
    keepers = [vm.spawn("ssework::keep", seed | 2 << 32, timeout=T) for seed in (5, 6)]
    summer = vm.spawn("ssework::series", 200_000, timeout=T)
    for tid in keepers:
        record = _ended(vm, tid)
        assert (record.state, record.value) == ("exited", 0)
    assert _ended(vm, summer).value == series(200_000)


def test_a_fault_ends_only_its_task(vm: LiveKernel) -> None:
    record = _ended(vm, vm.spawn("divider::run", 7, timeout=T))
    assert record.state == "faulted" and record.cause.startswith("divide error at 0x")
    assert vm.command("echo still here", T) == "still here"


@pytest.mark.skipif(ACCEL == "tcg", reason="QEMU's TCG never raises #XM (its SSE ignores "
                                          "MXCSR's exception masks)")
@pytest.mark.skipif(ACCEL == "kvm" and PVM_HOST, reason=NO_SSE_HERE)
def test_an_unmasked_sse_exception_ends_its_task(vm: LiveKernel) -> None:
    record = _ended(vm, vm.spawn("ssework::divide_by_zero", timeout=T))
    assert record.state == "faulted"
    assert record.cause.startswith("SIMD floating-point error (divide by zero) at 0x")


def test_a_hot_swap(vm: LiveKernel) -> None:
    assert vm.command("primes 12", T) == "2 3 5 7 11"
    vm.swap("mathutil", MATHUTIL_NO_TWO, timeout=T)
    assert vm.command("primes 12", T) == "3 5 7 11"

"""A shell command that panics or never returns ends, and the shell answers the next one."""

from __future__ import annotations

import pytest

from qemu_bridge import CommandInterrupted
from theseus_nb import GuestTimeout, Image, LiveKernel

pytestmark = pytest.mark.qemu

SPIN = """
from kernel_src.serial import write

def main(arg: u64) -> u64:
    n: u64 = 0
    while True:
        n = (n + 1) & 0xFFFF
    return n
"""


@pytest.fixture()
def vm(kernel_image: Image):
    live = kernel_image.boot()
    yield live
    live.shutdown()


def test_a_command_that_panics_ends_with_its_cause(vm: LiveKernel) -> None:
    reply = vm.request("fib 93")           # u64 overflow: a panic in mathutil::fib
    assert reply.status == 255
    assert "faulted: " in reply.output and "integer overflow" in reply.output
    assert vm.command("echo still here") == "still here"


def test_a_runaway_command_is_stopped_by_the_timeout_and_the_shell_answers(vm: LiveKernel) -> None:
    vm.load("spin", SPIN)
    heap = vm.command("mem")
    with pytest.raises(GuestTimeout, match="Ctrl-C was sent"):
        vm.command("spin", timeout=1.0)
    with pytest.warns(CommandInterrupted, match="'spin'"):
        assert vm.command("echo back") == "back"
    assert "interrupted (Ctrl-C)" in vm.transcript
    # stopping it again and again costs nothing: the command stack is reused
    for _ in range(3):
        with pytest.raises(GuestTimeout):
            vm.command("spin", timeout=0.5)
        with pytest.warns(CommandInterrupted):
            vm.command("echo")
    assert _used(vm.command("mem")) == _used(heap)


def _used(mem: str) -> list[str]:
    return [line for line in mem.splitlines() if line.split()[0] in ("heap_used", "heap_allocs")]

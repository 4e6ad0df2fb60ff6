"""A shell command that panics ends with its cause, one that runs away is stopped with
Ctrl-C (typed, or sent by the host at its timeout), and the shell answers the next one."""

from __future__ import annotations

import pytest

from theseus_nb import CommandStopped, Image, LiveKernel

pytestmark = pytest.mark.qemu



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


SPIN = '''
def main(arg: u64) -> u64:
    """Never return: a runaway command."""
    n: u64 = 0
    while True:
        n = wrapping_add(n, 1, u64)
    return n
'''

NAP = '''# cell: unsafe
from kernel_src.task import sleep


def main(arg: u64) -> u64:
    """Sleep for a very long time: a command stuck waiting."""
    sleep(100000000)
    return 0
'''


def test_ctrl_c_on_the_console_stops_a_runaway_command(vm: LiveKernel) -> None:
    vm.load("spin", SPIN)
    mark = vm.machine.console.mark()
    vm.machine.type("spin\r")
    vm.machine.console.wait_for(r"spin\n", since=mark)
    vm.machine.type("\x03")
    vm.machine.console.wait_for(r"interrupted\n\(status 130\)\ntheseus> ", since=mark)
    assert vm.command("echo still here") == "still here"


def test_a_command_past_its_timeout_is_stopped_and_the_shell_answers(vm: LiveKernel) -> None:
    vm.load("spin", SPIN)
    with pytest.raises(CommandStopped, match="'spin' did not finish within 0.5 s, so it was stopped"):
        vm.command("spin", timeout=0.5)
    assert vm.command("echo next") == "next"
    tasks = vm.command("ps")
    assert "spin" not in tasks               # nothing of it left running


def test_ctrl_c_stops_a_command_that_sleeps(vm: LiveKernel) -> None:
    vm.load("nap", NAP, unsafe=True, trusted=True)   # in ring 0, in the shell's task
    with pytest.raises(CommandStopped):
        vm.command("nap", timeout=0.5)
    reply = vm.request("echo awake")
    assert (reply.status, reply.output) == (0, "awake")
    assert "interrupted" in vm.transcript

"""A shell command that panics ends with its cause, and the shell answers the next one."""

from __future__ import annotations

import pytest

from theseus_nb import Image, LiveKernel

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

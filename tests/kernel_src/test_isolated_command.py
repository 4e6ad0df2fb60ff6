"""An isolated cell's function as a shell command, in real QEMU (kernel_src/shell.py).

The command `NAME ARGS` of an isolated cell runs NAME::main in ring 3, as a
task of its cell that the shell waits for: it reads its arguments and
prints into the reply through gates, and its status is main's value.  Its
store into another cell's global, its `outb` and its `cli` end only the
command (status 255, "faulted: CAUSE"), the other cell's value is intact,
and the shell answers the next command; one that runs away is stopped at
the host's timeout, its task with it.
"""
from __future__ import annotations

import pytest

from theseus_nb import CommandStopped, Image, LiveKernel

pytestmark = pytest.mark.qemu

#: A trusted, safe cell with a global the isolated command will try to overwrite.
NEIGHBOUR = """
from theseus_nb.lang.prelude import *

value: u64 = 1234


def main(a: u64) -> u64:
    return value
"""

#: One isolated command; its first argument says what it does.
RING3 = """
# cell: unsafe
# cell: isolated
from theseus_nb.lang.prelude import *
from theseus_nb.lang.unsafe import store64, outb, cli
from kernel_src.shell import arg_u64
from kernel_src.serial import write, write_u64, newline


def main(a: u64) -> u64:
    what: u64 = arg_u64(1)
    write("ring 3 command ")
    write_u64(what)
    newline()
    if what == 1:
        store64(arg_u64(2), 0)
    elif what == 2:
        outb(0x80, 1)
    elif what == 3:
        cli()
    elif what == 4:
        table: Array[u64, 4] = [1, 2, 3, 4]
        return table[what]
    elif what == 5:
        while True:
            what = wrapping_add(what, 1, u64)
    return what + 40
"""


@pytest.fixture()
def vm(kernel_image: Image):
    with kernel_image.boot() as m:
        m.load("neighbour", NEIGHBOUR)
        m.load("ring3", RING3)
        yield m


def _value_address(vm: LiveKernel) -> int:
    return next(int(l.split()[1], 16) for l in vm.command("sections neighbour").splitlines()
                if l.split()[0] == "data")


def test_an_isolated_command_runs_in_ring_3_and_answers_in_the_reply(vm: LiveKernel) -> None:
    assert "ring3" in vm.isolated_cells()
    reply = vm.request("ring3 7")
    assert (reply.status, reply.output) == (47, "ring 3 command 7")
    ran = [t for t in vm.tasks() if t.name == "ring3::main"]
    assert [(t.state, t.value) for t in ran] == [("exited", 47)]     # as a task of its cell


@pytest.mark.parametrize("what, cause", [
    (1, "access outside the cell's pages at {addr:#x} in ring3::main"),
    (2, "privileged instruction in ring3::main"),
    (3, "privileged instruction in ring3::main"),
    (4, "panic: index out of bounds for Array[u64, 4] in ring3::main line 23"),
])
def test_a_fault_in_an_isolated_command_ends_only_the_command(vm: LiveKernel, what: int,
                                                              cause: str) -> None:
    addr = _value_address(vm)
    reply = vm.request(f"ring3 {what} {addr}")
    assert reply.status == 255
    assert reply.output == f"ring 3 command {what}\nfaulted: {cause.format(addr=addr)}"
    assert vm.request("neighbour").status == 1234    # its global is intact
    assert vm.command("echo still here") == "still here"


def test_a_runaway_isolated_command_is_stopped_with_its_task(vm: LiveKernel) -> None:
    with pytest.raises(CommandStopped, match="did not finish within 0.5 s, so it was stopped"):
        vm.command("ring3 5", timeout=0.5)
    assert vm.command("echo next") == "next"
    ran = [t for t in vm.tasks() if t.name == "ring3::main"]
    assert [(t.state, t.cause) for t in ran] == [("exited", "killed")]

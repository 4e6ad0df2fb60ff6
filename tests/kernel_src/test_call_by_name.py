"""Calls by name (kernel_src/call_by_name.py), from the attacker's side: spawn,
the shell's commands and `sched` start only a loaded cell's public function
whose signature is the one they call it with. Real QEMU."""

from __future__ import annotations

import pytest

from theseus_nb import CellSource, Image, Kernel, LiveKernel, MachineError
from theseus_nb.signatures import function_hash

pytestmark = pytest.mark.qemu

#: Safe functions that must not be started by name with an integer argument.
SNOOP = '''
from theseus_nb.lang.prelude import *


def _peek(buf: Array[u64, 4]) -> u64:
    """Read the first word of buf (an integer given for buf is an address)."""
    return buf[0]


def take(f: fnref) -> u64:
    """Call f (an integer given for f is an address to jump to)."""
    return f(0)


def pick_next(current: u64, other: u64) -> bool:
    """Not a policy's signature."""
    return current == other


def quiet(n: u64) -> u64:
    """A proper task entry: returns at once."""
    return n
'''
#: A command whose main takes an fnref: the shell would call address 0.
JUMP = '''
from theseus_nb.lang.prelude import *


def main(f: fnref) -> u64:
    """Not a command's signature."""
    return f(0)
'''
#: A command and a task entry written in IR, without and with signatures.
IR_BARE = """
define i64 @"irbare::main"(i64 %a) {
  ret i64 0
}
define i64 @"irbare::run"(i64 %a) {
  ret i64 %a
}
"""
IR_SIGNED = IR_BARE.replace("irbare", "irsigned") + f"""
module asm ".section .theseus.sigs,\\22\\22,@progbits"
module asm ".ascii \\22irsigned::main {function_hash('main', ['u64'], 'u64')}\\5Cn\\22"
module asm ".ascii \\22irsigned::run {function_hash('run', ['u64'], 'u64')}\\5Cn\\22"
module asm ".text"
"""


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> Image:
    kernel = Kernel.default().with_cell("snoop", SNOOP).with_cell("jump", JUMP)
    kernel = Kernel(kernel.nano_core, kernel.cells + [CellSource("irbare", IR_BARE, "ir"),
                                                      CellSource("irsigned", IR_SIGNED, "ir")])
    return kernel.build(tmp_path_factory.mktemp("call-by-name"))


@pytest.fixture()
def vm(image: Image):
    with image.boot() as m:
        yield m


def _heap(vm: LiveKernel) -> tuple[int, int]:
    mem = dict(line.split() for line in vm.command("mem").splitlines())
    return int(mem["heap_allocs"]), int(mem["heap_requested"])


@pytest.mark.parametrize("name, refusal", [
    # The Multiboot magic sits at 0x100000: spawned, _peek read it.
    ("snoop::_peek", "'snoop::_peek' is private (its name starts with _)"),
    ("snoop::take", "'snoop::take' cannot run as a task: its signature is not take(u64) -> u64"),
    # A second shell would read the console and corrupt the next reply.
    ("shell::run", "'shell::run' belongs to the nano_core"),
    ("upload::main", "'upload::main' belongs to the nano_core"),
    ("irbare::run", "'irbare::run' has no recorded signature, so the kernel cannot check that "
                    "it is run(u64) -> u64"),
    ("nowhere::run", "no such function 'nowhere::run'"),
])
def test_spawn_refuses_what_it_cannot_call(vm: LiveKernel, name: str, refusal: str) -> None:
    before, tasks = _heap(vm), len(vm.tasks())
    with pytest.raises(MachineError) as refused:
        vm.spawn(name, 0x100000)
    assert f"spawn: {refusal}" in str(refused.value)
    assert len(vm.tasks()) == tasks and _heap(vm) == before
    assert vm.command("echo alive") == "alive"


def test_spawn_starts_a_checked_task_entry(vm: LiveKernel, wait_until) -> None:
    for name in ("snoop::quiet", "irsigned::run"):
        tid = vm.spawn(name, 7)
        assert wait_until(lambda: vm.tasks().by_id(tid).state == "exited")
        assert vm.tasks().by_id(tid).value == 7


def test_a_command_with_the_wrong_main_is_refused(vm: LiveKernel) -> None:
    reply = vm.request("jump")
    assert reply.status == 126
    assert reply.output == ("refused: 'jump::main' cannot run as a command: its signature "
                            "is not main(u64) -> u64")
    bare = vm.request("irbare")
    assert bare.status == 126 and "'irbare::main' has no recorded signature" in bare.output
    assert vm.request("irsigned").status == 0
    assert vm.request("nosuchcommand").status == 127
    assert vm.command("echo alive") == "alive"


def test_sched_refuses_a_policy_with_the_wrong_signature(vm: LiveKernel) -> None:
    reply = vm.request("sched snoop")
    assert reply.status == 1
    assert reply.output == ("sched: 'snoop::pick_next' cannot run as a scheduling policy: its "
                            "signature is not pick_next(u64) -> u64")
    assert vm.request("sched nowhere").output.startswith(
        "sched: no such function 'nowhere::pick_next'")
    assert vm.command("sched") == "sched_rr::pick_next"      # unchanged
    assert vm.command("echo alive") == "alive"

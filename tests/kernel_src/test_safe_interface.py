"""Safe interfaces in a running kernel (issue 12, item 3), with real QEMU: the red team's
exploit is refused before it reaches the guest, a safe cell calls a marked function of an
unsafe cell, and a swap that takes the mark back is refused while a safe cell calls it."""
from __future__ import annotations

import pytest

from theseus_nb import Kernel
from theseus_nb.guest_errors import SwapError
from theseus_nb.lang import CellError
from theseus_nb.live import LiveKernel

from tests.theseus_nb.lang.test_safe_interface import EXPLOIT, LIB

APP = '''from theseus_nb.lang.prelude import *
from cells.lib import double
from kernel_src.serial import write_u64, newline


def main(a: u64) -> u64:
    """Print double(21)."""
    write_u64(double(21))
    newline()
    return 0
'''


@pytest.fixture(scope="module")
def vm(tmp_path_factory: pytest.TempPathFactory):
    """The default kernel with the counter counting, booted once for this file."""
    image = Kernel.default().build(tmp_path_factory.mktemp("safe-interface-kernel"))
    with image.boot() as m:
        yield m


def test_the_exploit_is_refused_and_the_counter_keeps_counting(vm: LiveKernel) -> None:
    vm.spawn("counter::run", 5)
    with pytest.raises(CellError, match="'sym_find' is a function of the unsafe cell 'namespace'"):
        vm.load("evil", EXPLOIT)
    assert "evil" not in vm.objects
    assert vm.command("echo still here") == "still here"


def test_a_safe_cell_calls_a_marked_function_and_a_swap_dropping_the_mark_is_refused(
        vm: LiveKernel) -> None:
    vm.load("lib", LIB, trusted=True)       # unsafe: isolated unless trusted, and app calls it
    vm.load("app", APP)
    assert vm.command("app") == "42"
    with pytest.raises(SwapError, match="changes the signature of 'lib::double', which "
                                        "'app::main' still calls"):
        vm.swap("lib", LIB.replace("@safe_interface\n", ""))
    assert vm.command("app") == "42"
    # with the mark kept, the same change of body goes in
    vm.swap("lib", LIB.replace("return x * 2", "return x + x"))
    assert vm.command("app") == "42"


LAUNCHER = '''from theseus_nb.lang.prelude import *
from kernel_src.task import spawn, spawn_error, join


def main(a: u64) -> u64:
    """Ask the kernel to start an unmarked function of an unsafe cell, then a marked one."""
    if spawn("lib::peek", 1048576) == 0:
        print("refused:", spawn_error())
    print("double:", join(spawn("lib::double", 21)))
    return 0
'''


def test_a_safe_cell_cannot_have_the_kernel_start_an_unmarked_function(vm: LiveKernel) -> None:
    if "lib" not in vm.objects:
        vm.load("lib", LIB)
    vm.load("launcher", LAUNCHER)
    assert vm.command("launcher").splitlines() == [
        "refused: 'lib::peek' is a function of an unsafe cell that is not marked "
        "@safe_interface, so a safe cell may not have the kernel call it (the shell's spawn "
        "command may)",
        "double: 42"]
    # a person may: the shell's spawn command is trusted
    task = vm.spawn("lib::peek", 0x100000)
    assert task > 0

"""LiveKernel against a real QEMU: the cells as they are now are what new cells compile against."""

from __future__ import annotations

import pytest
from IPython.testing import globalipapp

import qemu_bridge
from theseus_nb import CellError, GuestExited, Image, LiveKernel, SwapError, SwapReport, TheseusError

pytestmark = pytest.mark.qemu

ALPHA = """
def twice(n: u64) -> u64:
    return n * 2
"""

ALPHA_THRICE = """
def twice(n: u64) -> u64:
    return n * 3
"""

BETA = """
from cells.alpha import twice
from kernel_src.serial import write_u64

def main(arg: u64) -> u64:
    write_u64(twice(21))
    return 0
"""


@pytest.fixture()
def vm(kernel_image: Image):
    live = kernel_image.boot()
    yield live
    live.shutdown()


def test_a_loaded_cell_can_be_imported_and_a_swap_relinks_its_user(vm: LiveKernel) -> None:
    vm.load("alpha", ALPHA)
    report = vm.load("beta", BETA)
    assert report.verb == "load" and "beta::main" in report.sections_added
    assert vm.command("beta") == "42"
    swap = vm.swap("alpha", ALPHA_THRICE)
    assert swap.relocations_rewritten >= 1       # beta's call, now into the new alpha
    assert "alpha::twice" in swap.sections_changed
    assert vm.command("beta") == "63"
    assert vm.sources["alpha"].text == ALPHA_THRICE and vm.objects["alpha"] is swap.objects["alpha"]


def test_the_same_through_the_magics(vm: LiveKernel) -> None:
    ip = globalipapp.get_ipython()  # one shell per process, shared by the test files
    ip.run_line_magic("load_ext", "theseus_nb")
    magics = ip.magics_manager.registry["TheseusMagics"]
    ip.user_ns["vm"] = vm
    try:
        assert ip.run_line_magic("attach", "vm") is vm
        assert ip.run_cell_magic("cell", "alpha", ALPHA).action.startswith("loaded"), magics.last_error
        assert ip.run_cell_magic("cell", "beta", BETA).action.startswith("loaded"), magics.last_error
        assert vm.command("beta") == "42"
        report = ip.run_cell_magic("cell", "alpha", ALPHA_THRICE)
        assert report is not None and report.action.startswith("swapped"), magics.last_error
        assert report.swap is vm.last_swap       # compiled once, by the live kernel
        assert vm.command("beta") == "63"
    finally:
        magics.machine = None
        magics.cells.clear()


def test_subscribers_hear_of_every_swap_that_went_in(vm: LiveKernel) -> None:
    heard: list[SwapReport] = []
    stop = vm.subscribe(heard.append)
    vm.load("alpha", ALPHA)
    with pytest.raises(CellError):
        vm.swap("alpha", "def twice(n: u64) -> u64:\n    return m\n")
    assert [r.cells for r in heard] == [["alpha"]]
    stop()
    vm.swap("alpha", ALPHA_THRICE)
    assert len(heard) == 1


def test_refusals_change_nothing_on_either_side(vm: LiveKernel) -> None:
    before = dict(vm.objects)
    with pytest.raises(SwapError, match="no cell 'nosuch' in the running kernel"):
        vm.swap("nosuch", ALPHA)
    with pytest.raises(SwapError, match="already has a cell 'fib'"):
        vm.load("fib", ALPHA)
    # the kernel's own refusal: the new mathutil lacks a function fib uses
    mathutil = vm.sources["mathutil"].text
    with pytest.raises(SwapError, match="mathutil::fib") as refused:
        vm.swap("mathutil", mathutil.replace("def fib(", "def fib_renamed("))
    assert isinstance(refused.value, qemu_bridge.SwapError)  # the bridge's class too
    assert vm.objects == before and vm.sources["mathutil"].text == mathutil
    assert vm.command("fib 10") == "55"


def test_guest_errors_have_both_roots(vm: LiveKernel) -> None:
    with pytest.raises(GuestExited) as exited:
        vm.command("halt 3")
    assert isinstance(exited.value, TheseusError)
    assert isinstance(exited.value, qemu_bridge.GuestExited)
    assert exited.value.exit_status == 7 and "halt 3" in exited.value.transcript


PEEK_IN_DOCSTRING = '''"""Looks unsafe: the text # cell: unsafe is in this docstring, not a header comment."""
from theseus_nb.lang.unsafe import load64

def main(arg: u64) -> u64:
    return load64(0x100000)
'''

MARKED = '''# cell: unsafe
from theseus_nb.lang.unsafe import load64

def main(arg: u64) -> u64:
    return load64(0x100000) & 1
'''


def test_the_unsafe_marker_is_a_header_comment_and_unsafe_false_wins(vm: LiveKernel) -> None:
    before = dict(vm.objects)
    with pytest.raises(CellError, match="load64") as text_only:
        vm.load("peek", PEEK_IN_DOCSTRING)
    assert text_only.value.line == 2  # the import of the intrinsic
    with pytest.raises(CellError, match="marked unsafe at line 1") as refused:
        vm.load("peek", MARKED, unsafe=False)
    assert (refused.value.line, refused.value.col) == (1, 1)
    assert vm.objects == before and "peek" not in vm.sources
    # not said: the header decides (trusted: a command runs in ring 0)
    assert vm.load("peek", MARKED, trusted=True).verb == "load"
    assert vm.command("peek") == "" and vm.request("peek").ok

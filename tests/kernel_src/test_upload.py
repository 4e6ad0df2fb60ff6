"""Upload slots (kernel_src/upload.py), seen from outside: a refused load or
swap gives its upload back, so refusals can neither fill the slots nor leak
heap, in real QEMU."""

from __future__ import annotations

import pytest

import qemu_bridge

from theseus_nb import Image, LiveKernel
from theseus_nb.kernel import repo_root

pytestmark = pytest.mark.qemu

#: A cell that imports a function nobody defines: the kernel refuses to load it.
ORPHAN = '''
from theseus_nb.lang.prelude import *
from cells.nowhere import missing


def main(arg: u64) -> u64:
    """Call what does not exist."""
    return missing(arg)
'''
TALLY = '''
from theseus_nb.lang.prelude import *

count: u64 = 0


def main(arg: u64) -> u64:
    """Count."""
    global count
    count += 1
    return 0
'''
MAX_BLOBS = 8


def _heap(vm: LiveKernel) -> tuple[int, int]:
    """Live heap allocations and the bytes they asked for (exact, for leak checks)."""
    mem = dict(line.split() for line in vm.command("mem").splitlines())
    return int(mem["heap_allocs"]), int(mem["heap_requested"])


@pytest.fixture()
def vm(kernel_image: Image):
    with kernel_image.boot() as m:
        yield m


def _orphan(vm: LiveKernel) -> bytes:
    # Compiled on the host against an interface of its own, so only the kernel can refuse it.
    from theseus_nb.compile import CellSource, compile_among
    nowhere = CellSource.cell("nowhere", "from theseus_nb.lang.prelude import *\n\n"
                              "def missing(a: u64) -> u64:\n    return a\n")
    return compile_among(list(vm.sources.values()) + [nowhere],
                         [CellSource.cell("orphan", ORPHAN)])["orphan"].data


def test_refused_loads_give_their_uploads_back(vm: LiveKernel) -> None:
    data = _orphan(vm)
    before = _heap(vm)
    for i in range(MAX_BLOBS + 1):          # more refusals than there are slots
        assert vm.machine.upload(f"orphan{i}", data).ok
        with pytest.raises(qemu_bridge.SwapError, match="unresolved symbol 'nowhere::missing'"):
            vm.machine.swap_uploaded([f"orphan{i}"], load=True)
    assert _heap(vm) == before
    assert vm.command("echo alive") == "alive"
    vm.load("tally", TALLY)                 # a good upload still finds a slot
    vm.command("tally")


def test_refused_swaps_give_their_uploads_back(vm: LiveKernel) -> None:
    fib = vm.compile("fib").data
    before = _heap(vm)
    for i in range(MAX_BLOBS + 1):
        # Each is refused at a different step: no such cell, the nano_core, a bad object.
        target, data = [("ghost", fib), ("serial", fib), ("fib", fib[:100])][i % 3]
        assert vm.machine.upload(f"up{i}", data).ok
        with pytest.raises(qemu_bridge.SwapError):
            vm.machine.swap_uploaded([f"{target}=up{i}"])
    assert _heap(vm) == before
    mathutil = (repo_root() / "cells" / "mathutil.py").read_text()
    vm.swap("mathutil", mathutil.replace("if n < 2:", "if n < 3:"))
    assert vm.command("primes 12") == "3 5 7 11"


def test_a_load_refused_for_its_name_gives_its_upload_back(vm: LiveKernel) -> None:
    before = _heap(vm)
    assert vm.machine.upload("fib", vm.compile("fib").data).ok
    with pytest.raises(qemu_bridge.SwapError, match="a cell of that name is loaded already"):
        vm.machine.swap_uploaded(["fib"], load=True)
    assert _heap(vm) == before

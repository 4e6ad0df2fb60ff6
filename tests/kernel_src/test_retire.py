"""Retired code (kernel_src/retire.py, swap_cells.py), from the attacker's side:
old code a task still runs must never reach freed code, and a full retired
table is a refused swap, not a kernel panic. Real QEMU."""

from __future__ import annotations

import pytest

from theseus_nb import Image, LiveKernel, SwapError

pytestmark = pytest.mark.qemu

LIB = '''
from theseus_nb.lang.prelude import *


def f(n: u64) -> u64:
    """n plus a thousand."""
    return n + 1000
'''
#: run() calls lib's f forever; main prints what it got last.
APP = '''
from theseus_nb.lang.prelude import *
from cells.uaf_lib import f
from kernel_src.task import sleep
from kernel_src.serial import write_u64, newline

last: u64 = 0


def run(n: u64) -> u64:
    """Call f(n) every tick, forever."""
    global last
    while True:
        last = f(n)
        sleep(1)
    return 0


def main(a: u64) -> u64:
    """Print the last value f gave."""
    write_u64(last)
    newline()
    return 0
'''


def _mem(vm: LiveKernel) -> dict[str, int]:
    return {k: int(v) for k, v in (line.split() for line in vm.command("mem").splitlines())}


def _heap(vm: LiveKernel) -> tuple[int, int]:
    """Live heap allocations and the bytes they asked for (exact, for leak checks)."""
    mem = _mem(vm)
    return mem["heap_allocs"], mem["heap_requested"]


@pytest.fixture()
def vm(kernel_image: Image):
    with kernel_image.boot() as m:
        yield m


def test_retired_code_reaches_the_new_version_of_a_cell_swapped_later(vm: LiveKernel,
                                                                      wait_until) -> None:
    vm.load("uaf_lib", LIB)
    vm.load("uaf_app", APP)
    # Once swapped, the kernel keeps each cell's current and previous
    # objects for recovery (kernel_src/versions.py): one swap of each first,
    # so the baseline already holds the two objects the end will hold.
    vm.swap("uaf_lib", LIB)
    vm.swap("uaf_app", APP)
    baseline = _heap(vm)
    task = vm.spawn("uaf_app::run", 5)
    assert wait_until(lambda: vm.command("uaf_app") == "1005")
    # The task stays in the old run(), which is retired (the same source
    # again: a new copy, with sections of the same sizes, so the heap can be
    # compared at the end)...
    app = vm.swap("uaf_app", APP)
    assert app.sections_retired > 0
    # ... and lib is swapped after: the retired run() used to keep calling
    # the old f, whose sections were freed (a use-after-free).
    lib = vm.swap("uaf_lib", LIB.replace("n + 1000", "n + 2000"))
    assert lib.old_code_rewritten >= 1
    assert wait_until(lambda: vm.command("uaf_app") == "2005")
    # Heap churn that would reuse freed sections: the task is not hurt.
    for i in range(5):
        vm.swap("uaf_lib", LIB.replace("n + 1000", f"n + {3000 + i}"))
    assert wait_until(lambda: vm.command("uaf_app") == "3009")
    assert vm.tasks().by_id(task).state in ("sleeping", "runnable", "running")
    assert vm.command("echo alive") == "alive"
    vm.kill(task)
    assert _mem(vm)["retired"] == 0
    assert _heap(vm) == baseline


def test_an_old_version_kept_alive_by_retired_code_is_freed_with_it(vm: LiveKernel,
                                                                    wait_until) -> None:
    # The new lib changes f's signature (and nothing else calls it): the
    # retired run() cannot be redirected, so the old lib must stay alive.
    vm.load("uaf_lib", LIB)
    vm.load("uaf_app", APP)
    task = vm.spawn("uaf_app::run", 5)
    assert wait_until(lambda: vm.command("uaf_app") == "1005")
    vm.swap("uaf_app", APP.replace("write_u64(last)", "write_u64(last + 0)")
            .replace("last = f(n)", "last = n"))            # the new app no longer calls f
    lib = vm.swap("uaf_lib", LIB.replace("def f(n: u64) -> u64:", "def f(n: u32) -> u32:"))
    assert lib.sections_retired > 0                      # kept: old code still points into it
    for i in range(5):                                   # churn the heap
        vm.load(f"filler{i}", LIB)
    assert vm.tasks().by_id(task).state in ("sleeping", "runnable", "running")
    vm.kill(task)
    assert _mem(vm)["retired"] == 0                      # both retired versions went
    assert vm.command("echo alive") == "alive"


#: A cell of about 240 sections (one per global), so a few swaps with a
#: task inside each old version fill the retired table (params.MAX_RETIRED).
def _big(version: int) -> str:
    lines = ["from theseus_nb.lang.prelude import *", "from kernel_src.task import sleep", ""]
    lines += [f"g{k}: u64 = {k + version}" for k in range(236)]
    lines += ["", "", "def run(n: u64) -> u64:", '    """Sleep in this version, forever."""',
              "    while True:", "        sleep(100)", "    return 0", ""]
    return "\n".join(lines)


def test_a_full_retired_table_refuses_the_swap(vm: LiveKernel) -> None:
    vm.load("bigcell", _big(0))
    vm.swap("bigcell", _big(1))        # the kernel keeps two objects of a swapped cell (versions.py)
    vm.swap("bigcell", _big(0))
    baseline = _heap(vm)
    tasks = []
    with pytest.raises(SwapError, match="too many retired sections still in use: end the tasks"):
        for version in range(1, 40):      # 4096 / 239 sections: the 18th swap cannot retire
            tasks.append(vm.spawn("bigcell::run"))
            vm.swap("bigcell", _big(version % 2))
    assert 10 < len(tasks) < 39
    assert vm.command("echo alive") == "alive"
    for task in tasks:
        vm.kill(task)
    assert _mem(vm)["retired"] == 0
    assert _heap(vm) == baseline          # the last version has the first one's sizes
    vm.swap("bigcell", _big(0))           # and swapping works again

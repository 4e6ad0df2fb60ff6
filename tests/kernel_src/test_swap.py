"""Live evolution: swapping cells of a running kernel (kernel_src/swap.py,
upload.py, and the host's LiveKernel.swap), in real QEMU."""

from __future__ import annotations

import zlib
from pathlib import Path

import pytest

import qemu_bridge

from theseus_nb import Image, Kernel, LiveKernel, SwapError
from theseus_nb.archive import ArchiveEntry
from theseus_nb.graph import SectionGraph
from theseus_nb.kernel import repo_root
from theseus_nb.lang import CellError

pytestmark = pytest.mark.qemu

MATHUTIL = (repo_root() / "cells" / "mathutil.py").read_text()
#: mathutil whose is_prime no longer counts 2: `primes` must show the change.
MATHUTIL_NO_TWO = MATHUTIL.replace("    if n < 2:\n        return False\n    if n % 2 == 0:",
                                   "    if n < 3:\n        return False\n    if n % 2 == 0:")
TALLY = '''
from theseus_nb.lang.prelude import *
from kernel_src.serial import write, write_u64, newline

count: u64 = 0


def main(arg: u64) -> u64:
    global count
    count += 1
    write("tally ")
    write_u64(count)
    newline()
    return 0
'''


def _heap(machine: LiveKernel) -> tuple[int, int]:
    """Live heap allocations and the bytes they asked for: exact, unlike the
    bytes in use, which depend on where each block happened to fall."""
    mem = dict(line.split() for line in machine.command("mem").splitlines())
    return int(mem["heap_allocs"]), int(mem["heap_requested"])


@pytest.fixture()
def machine(kernel_image: Image):
    with kernel_image.boot() as m:
        yield m


def test_dependents_reach_the_new_code(machine: LiveKernel) -> None:
    assert machine.command("primes 12") == "2 3 5 7 11"
    report = machine.swap("mathutil", MATHUTIL_NO_TWO)
    assert machine.command("primes 12") == "3 5 7 11"
    assert report.sections_changed == ["mathutil::is_prime"]
    assert report.relocations_rewritten >= 1          # primes::main -> is_prime
    assert report.kernel_cycles > 0 and report.total_s > 0


def test_live_graph_after_swap_is_the_predicted_one(kernel_image: Image, machine: LiveKernel) -> None:
    machine.swap("mathutil", MATHUTIL_NO_TWO)
    new = machine.objects["mathutil"]
    cells = [new if c.cell == "mathutil" else c for c in kernel_image.cells]
    predicted = SectionGraph.from_objects(kernel_image.nano_core, cells)
    live = machine.graph()
    assert live == predicted, str(predicted.diff(live, left="predicted", right="kernel"))


def test_state_carries_over_and_a_changed_type_resets_it(machine: LiveKernel) -> None:
    machine.load("tally", TALLY)
    for _ in range(3):
        machine.command("tally")
    report = machine.swap("tally", TALLY.replace('"tally "', '"tally v2 "'))
    assert report.state_carried == ["tally::count"]
    assert machine.command("tally") == "tally v2 4"
    retyped = TALLY.replace("count: u64 = 0", "count: u32 = 0").replace(
        "write_u64(count)", "write_u64(u64(count))")
    report = machine.swap("tally", retyped)
    assert report.state_reset == ["tally::count"]
    assert machine.command("tally") == "tally 1"


def test_removing_a_used_function_is_refused(machine: LiveKernel) -> None:
    without = MATHUTIL.replace("def is_prime(", "def _is_prime(").replace(
        "    while d <= limit:", "    while d <= limit:")
    before = machine.graph()
    with pytest.raises(SwapError, match=r"removes 'mathutil::is_prime'.*primes::main"):
        machine.swap("mathutil", without)
    assert machine.command("primes 12") == "2 3 5 7 11"
    assert machine.graph() == before


def test_changing_a_used_signature_is_refused(machine: LiveKernel) -> None:
    changed = MATHUTIL.replace("def is_prime(n: u64) -> bool:", "def is_prime(n: u32) -> bool:")
    changed = changed.replace("    if n % 2 == 0:\n        return n == 2\n    d: u64 = 3\n    limit: u64 = isqrt(n)",
                              "    if n % 2 == 0:\n        return n == 2\n    d: u32 = 3\n    limit: u32 = u32(isqrt(u64(n)))")
    with pytest.raises(SwapError, match="changes the signature of 'mathutil::is_prime'"):
        machine.swap("mathutil", changed)
    assert machine.command("primes 12") == "2 3 5 7 11"


def test_cells_swap_together_or_not_at_all(machine: LiveKernel) -> None:
    primes = (repo_root() / "cells" / "primes.py").read_text()
    math2 = MATHUTIL + "\n\ndef is_odd_prime(n: u64) -> bool:\n    return n % 2 == 1 and is_prime(n)\n"
    primes2 = primes.replace("from cells.mathutil import is_prime",
                             "from cells.mathutil import is_odd_prime").replace(
        "if is_prime(k):", "if is_odd_prime(k):")
    machine.swap_many({"mathutil": math2, "primes": primes2})
    assert machine.command("primes 12") == "3 5 7 11"
    # A transaction with one bad cell changes nothing.
    with pytest.raises(SwapError):
        machine.swap_many({"fib": (repo_root() / "cells" / "fib.py").read_text(),
                           "kernel_src_is_not_a_cell": TALLY})
    assert machine.command("primes 12") == "3 5 7 11"


def test_a_hundred_swaps_leak_nothing(machine: LiveKernel) -> None:
    machine.load("tally", TALLY)
    versions = [TALLY, TALLY.replace('"tally "', '"tally again "')]
    machine.swap("tally", versions[1])
    heap = _heap(machine)
    for i in range(100):
        machine.swap("tally", versions[i % 2])
    assert _heap(machine) == heap
    machine.command("tally")
    machine.swap("tally", versions[0])
    assert machine.command("tally") == "tally 2"  # the count survived 102 swaps


def test_the_nano_core_and_unknown_cells_cannot_be_swapped(machine: LiveKernel) -> None:
    with pytest.raises(SwapError, match="cannot be swapped"):
        machine.swap("serial", data=machine.compile("fib").data)
    with pytest.raises(SwapError, match="no cell 'ghost' in the running kernel"):
        machine.swap("ghost", TALLY)   # the host knows its cells
    # and so does the kernel, asked directly with an uploaded object
    assert machine.machine.upload("ghost", machine.compile("fib").data).ok
    with pytest.raises(qemu_bridge.SwapError, match="no loaded cell is called 'ghost'"):
        machine.machine.swap_uploaded(["ghost"])


def test_bad_source_raises_cell_error_and_changes_nothing(machine: LiveKernel) -> None:
    with pytest.raises(CellError) as info:
        machine.swap("mathutil", MATHUTIL.replace("def gcd(a: u64, b: u64) -> u64:",
                                                  "def gcd(a: u64, b: u64) -> u64"))
    assert info.value.line == MATHUTIL.splitlines().index("def gcd(a: u64, b: u64) -> u64:") + 1
    assert machine.command("primes 12") == "2 3 5 7 11"


@pytest.mark.parametrize("args, reason", [
    ("x 4 1", "checksum mismatch"),            # the four zero bytes' Adler-32 is 262145
    ("x 8 262145", "checksum mismatch"),       # right sum, wrong size: more bytes than summed
    ("x 0 1", "truncated upload"),
    ("x 5000000 1", "oversized upload"),
    ("x 4", "usage: upload NAME SIZE ADLER32"),
])
def test_bad_uploads_are_refused(machine: LiveKernel, args: str, reason: str) -> None:
    address, _ = machine.machine.upload_buffer()
    machine.machine.memory.write(address, b"\0\0\0\0\1\1\1\1")
    heap = _heap(machine)
    reply = machine.request(f"upload {args}")
    assert reply.status == 1 and reason in reply.output
    assert _heap(machine) == heap
    assert machine.command("echo fine") == "fine"


def test_a_1_mib_upload_arrives_intact_and_a_damaged_one_is_refused(machine: LiveKernel) -> None:
    data = bytes((i * 7 + i // 251) & 0xFF for i in range(1 << 20))
    assert machine.machine.upload("big", data).output == "uploaded big 1048576"
    assert machine.machine.memory.read(machine.machine.upload_buffer()[0], 16) == data[:16]
    # Damage one byte after the host wrote it and before the kernel takes it.
    address, _ = machine.machine.upload_buffer()
    machine.machine.memory.write(address, data)
    machine.machine.memory.write(address + 123456, bytes([data[123456] ^ 0x40]))
    heap = _heap(machine)
    reply = machine.request(f"upload big2 {len(data)} {zlib.adler32(data)}")
    assert reply.status == 1 and "corrupt upload: checksum mismatch" in reply.output
    assert _heap(machine) == heap
    assert machine.command("echo fine") == "fine"


def test_swap_from_a_version_in_the_boot_archive(tmp_path: Path) -> None:
    kernel = Kernel.default()
    fib2 = (repo_root() / "cells" / "fib.py").read_text().replace(
        "    write_u64(fib(arg_u64(1)))", "    write_u64(fib(arg_u64(1)) + 1000)")
    plain = kernel.build(tmp_path / "plain")
    with plain.boot() as m:
        data = m.compile("fib", fib2).data
    image = kernel.build(tmp_path / "versions", extra_archive_entries=[ArchiveEntry("fib@2", data)])
    with image.boot() as m:
        assert m.command("fib 10") == "55"
        assert "swapped fib" in m.command("swap fib=fib@2")
        assert m.command("fib 10") == "1055"


def _count(machine: LiveKernel) -> int:
    return int(machine.command("counter").split()[1])


def test_a_running_task_reaches_the_new_code_and_keeps_its_count(machine: LiveKernel, wait_until) -> None:
    counter = (repo_root() / "cells" / "counter.py").read_text()
    task = machine.spawn("counter::run", 0)
    assert wait_until(lambda: _count(machine) >= 5)
    report = machine.swap("counter", counter.replace("return count + 1", "return count + 1000"))
    before = _count(machine)
    assert report.state_carried == ["counter::_count"]
    assert report.old_code_rewritten >= 1           # run() is still the old code
    assert report.sections_retired >= 1             # ... so it is not freed yet
    assert wait_until(lambda: _count(machine) >= before + 2000)
    assert _count(machine) % 1000 == before % 1000  # no step of 1 any more, nothing reset
    running = {t.id: t for t in machine.tasks()}
    assert running[task].state in ("running", "runnable", "sleeping")   # never restarted
    allocations = _heap(machine)[0]
    machine.kill(task)
    mem = dict(line.split() for line in machine.command("mem").splitlines())
    assert mem["retired"] == "0"                    # the old code went with the task
    assert int(mem["heap_allocs"]) < allocations


STARVING_POLICY = '''
from theseus_nb.lang.prelude import *
from kernel_src.task_table import tasks, RUNNABLE, IDLE, NO_TASK
from kernel_src import task_table


def pick_next(current: u64) -> u64:
    """The lowest runnable slot: whoever is last starves (the shell sleeps
    until input, which wakes it whatever the policy says)."""
    for i in range(task_table.high_slot):
        if i != IDLE and tasks[i].state == RUNNABLE:
            return i
    return NO_TASK
'''


def test_swapping_the_scheduler_changes_the_schedule_and_loses_no_task(machine: LiveKernel) -> None:
    import time

    first, last = machine.spawn("looper::run"), machine.spawn("looper::run")

    def ticks() -> dict[int, int]:
        return {t.id: t.ticks for t in machine.tasks()}

    time.sleep(0.3)
    machine.swap("sched_rr", STARVING_POLICY)
    start = ticks()
    time.sleep(0.6)
    starved = ticks()
    assert starved[first] > start[first] + 5
    assert starved[last] <= start[last] + 1
    machine.swap("sched_rr", (repo_root() / "cells" / "sched_rr.py").read_text())
    time.sleep(0.6)
    fair = ticks()
    assert fair[last] > starved[last] + 5
    assert {first, last} <= set(fair)
    assert all(t.state in ("running", "runnable") for t in machine.tasks() if t.id in (first, last))

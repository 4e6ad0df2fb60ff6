"""Benchmark: the cost of each bet, measured inside the guest with the TSC.

The same bench cell (ISOBENCH below) is loaded twice into one kernel:
trusted (as `direct`, ring 0, calls are plain calls through relocations)
and isolated (as `gated`, ring 3, every call out goes through a syscall
gate that checks the import, kernel_src/gates.py).  Each row is the
median over BATCHES batches of the per-operation average of a batch:

  kernel call        one call of clock::ticks() (a u64 getter) from a task:
                     direct against through the gate (syscall, the import
                     check, the call on the kernel stack, sysret)
  call with a str    one call of serial::write("") : the gate also checks
                     that the str lies in the caller's pages (and, with
                     SMAP, runs the callee between stac and clac)
  task switch        two tasks of the cell yield to each other (task::yield_now):
                     ring 0 <-> ring 0 against ring 3 <-> ring 3 (the yield
                     itself is a gate call in the isolated cell)

under TCG (emulated: the figures are QEMU's, not a CPU's) and under KVM
when a probe guest boots with it (qemu_bridge.kvm_usable), side by side
with the ratios gated/direct.  Anchors for the note: RedLeaf measured a
page-table switch at about 800 cycles; Singularity's kernel API call is 91
cycles against 437-878 in Linux, BSD and Windows; the goal here is a gate
round trip under 300 cycles under KVM.

    python bench/bench_isolation.py [--calls N] [--switches N] [--no-kvm]
"""

from __future__ import annotations

import argparse
import tempfile
import time

from qemu_bridge import kvm_usable
from theseus_nb import Kernel

BATCHES = 31

ISOBENCH = '''
# cell: unsafe
from theseus_nb.lang.prelude import *
from theseus_nb.lang.unsafe import rdtsc
from kernel_src.clock import ticks
from kernel_src.serial import write
from kernel_src.task import spawn, join, yield_now

_batch: Array[u64, 64] = [0] * 64
_first: u64 = 0
_last: u64 = 0


def _median(n: u64) -> u64:
    # Insertion sort of the first n batch figures; the middle one.
    for i in range(1, n):
        v: u64 = _batch[i]
        j: u64 = i
        while j > 0 and _batch[j - 1] > v:
            _batch[j] = _batch[j - 1]
            j -= 1
        _batch[j] = v
    return _batch[n // 2]


def calls(n: u64) -> u64:
    """Median cycles of one ticks() call, over BATCHES batches of n."""
    for b in range(BATCHES):
        t: u64 = rdtsc()
        for i in range(n):
            ticks()
        _batch[b] = (rdtsc() - t) // n
    return _median(BATCHES)


def str_calls(n: u64) -> u64:
    """Median cycles of one write("") call."""
    for b in range(BATCHES):
        t: u64 = rdtsc()
        for i in range(n):
            write("")
        _batch[b] = (rdtsc() - t) // n
    return _median(BATCHES)


@safe_interface
def pinger(n: u64) -> u64:
    """Yield n times (task.spawn starts only a safe interface of an unsafe cell)."""
    global _first, _last
    if _first == 0:
        _first = rdtsc()
    for i in range(n):
        yield_now()
    _last = rdtsc()
    return n


def switches(n: u64) -> u64:
    """Median cycles of one switch between two of this cell's tasks."""
    global _first
    for b in range(BATCHES):
        _first = 0
        x: u64 = spawn(SPEC, n)
        y: u64 = spawn(SPEC, n)
        if x == 0 or y == 0:
            # join(0) would wait for task 0, the shell, which never ends.
            # (spawn_error() returns a str, which no gate lets out.)
            panic("bench: a pinger was not spawned (spawn refused it)")
        join(x)
        join(y)
        _batch[b] = (_last - _first) // (2 * n)
    return _median(BATCHES)
'''


def _cell(name: str) -> str:
    return ISOBENCH.replace("BATCHES", str(BATCHES)).replace("SPEC", f'"{name}::pinger"')


def _run(vm, spec: str, arg: int, timeout: float) -> str:
    tid = vm.spawn(spec, arg, timeout=timeout)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        record = vm.tasks(timeout=timeout).by_id(tid)
        if record.state == "exited":
            return str(record.value)
        if record.state == "faulted":
            return f"faulted: {record.cause}"
        time.sleep(1.0)                  # each look is a command the guest answers
    return "timeout"


def measure(image, accel: str, calls: int, switches: int) -> dict[str, str]:
    """One boot: every figure, keyed "CELL FUNCTION"."""
    timeout = 300 if accel == "tcg" else 900
    out: dict[str, str] = {}
    with image.boot(accel=accel) as vm:
        for cell in ("direct", "gated"):
            out[f"{cell} calls"] = _run(vm, f"{cell}::calls", calls, timeout)
            out[f"{cell} str_calls"] = _run(vm, f"{cell}::str_calls", calls, timeout)
        # The switch measurement spawns from a task; it needs the spawning
        # cell's own tasks, so it runs in each cell (the gated one through gates).
        for cell in ("direct", "gated"):
            out[f"{cell} switches"] = _run(vm, f"{cell}::switches", switches, timeout)
    return out


def _shown(v: str | None) -> str:
    # A figure, or what stopped it (the reason is printed under the table).
    if v is None:
        return "-"
    return v if v.isdigit() else "(!)"


def _ratio(a: str | None, b: str | None) -> str:
    if a is None or b is None or not a.isdigit() or not b.isdigit() or int(b) == 0:
        return "-"
    return f"{int(a) / int(b):.1f}x"


def main() -> None:
    """Build the kernel with both bench cells, measure, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000, help="calls per batch")
    parser.add_argument("--switches", type=int, default=500, help="yields per task per batch")
    parser.add_argument("--no-kvm", action="store_true")
    args = parser.parse_args()
    base = Kernel.default().with_cell("direct", _cell("direct"), unsafe=True)
    base = base.with_cell("gated", _cell("gated"), unsafe=True)
    kernel = Kernel(base.nano_core, base.cells, isolated={"gated"})
    image = kernel.build(tempfile.mkdtemp(prefix="bench-isolation-"))
    columns = {"TCG (emulated)": measure(image, "tcg", args.calls, args.switches)}
    usable, why = kvm_usable()
    if args.no_kvm:
        print("(KVM not measured: --no-kvm)")
    elif not usable:
        print(f"(KVM not measured: {why})")
    else:
        try:
            columns["KVM"] = measure(image, "kvm", args.calls, args.switches)
        except Exception as exc:  # KVM listed but unusable: say so, keep TCG's figures
            print(f"(KVM run failed: {str(exc).splitlines()[0]})")
    rows = [("kernel call (clock::ticks)", "calls"),
            ("kernel call with a str (serial::write)", "str_calls"),
            ("task switch (two tasks yield)", "switches")]
    head = f"{'cycles, median of ' + str(BATCHES) + ' batches':42}"
    for col in columns:
        head += f"{col + ' direct':>22}{'gated':>10}{'gated/direct':>14}"
    print(head)
    notes: dict[str, str] = {}
    for label, key in rows:
        line = f"{label:42}"
        for col, figures in columns.items():
            d, g = figures.get(f"direct {key}"), figures.get(f"gated {key}")
            for v in (d, g):
                if v is not None and not v.isdigit():
                    notes[f"{col}: {v}"] = v
            line += f"{_shown(d):>22}{_shown(g):>10}{_ratio(g, d):>14}"
        print(line)
    for note in notes:
        print(f"(!) {note}")
    print("direct: the cell loaded trusted (ring 0, plain calls); gated: the same cell "
          "isolated (ring 3, every call through the syscall gate).")
    print("TCG figures are QEMU's emulation, not a CPU's: compare the KVM column with the "
          "anchors (Singularity 91 cycles per kernel call; Linux/BSD/Windows 437-878; "
          "RedLeaf's page-table switch ~800; the goal: a gate round trip under 300 under KVM).")


if __name__ == "__main__":
    main()

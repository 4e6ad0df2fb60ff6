"""Benchmark: the task switcher, measured inside the guest with the TSC.

A bench cell (TASKBENCH below, added to the default kernel) measures
  yield (no switch)  the shell yields while nothing else is runnable: the
                     int/iret round trip through the stubs, dispatch, policy
  context switch     two tasks yield to each other N times: cycles per switch
  timer interrupt    the cycles timer.tick() counts itself (EOI, sleepers,
                     policy); add the round trip for the whole interrupt
  spawn              cycles per spawn() of a task that returns at once (its
                     stack: whole pages from the heap, the guard page unmapped)
  spawn, 1 MiB       the same with spawn_stack(..., 1 MiB) (STACKBENCH)
  max tasks          tasks that block forever, spawned until spawn() fails
  FXSAVE+FXRSTOR     one save and one restore of the SSE registers, what
                     every switch between two tasks adds (kernel_src/fpu.py)
  kernel call        a cell calling a public kernel function (a plain call
                     through a relocation: there are no system calls)
under TCG, and under KVM when a probe guest boots with it
(qemu_bridge.kvm_usable), side by side with the ratio KVM/TCG.  With
--baseline DIR the kernel of another checkout is measured too (TCG), in
its own column (see baseline.py): against the commit before SSE, that is
what eager FXSAVE costs the context switch.

    python bench/bench_tasks.py [--switches N] [--kvm-switches N] [--no-kvm] [--baseline DIR]
"""

from __future__ import annotations

import argparse
import tempfile

from baseline import add_option, kernel_in
from qemu_bridge import kvm_usable
from theseus_nb import Kernel

TASKBENCH = '''
# cell: unsafe
from theseus_nb.lang.prelude import *
from theseus_nb.lang.unsafe import rdtsc
from kernel_src.shell import arg, arg_u64
from kernel_src.task import spawn, join, kill, yield_now, sleep, spawn_error
from kernel_src.timer import irq_cycles
from kernel_src.clock import ticks, cycles_per_ms
from kernel_src import heap
from kernel_src.serial import write, write_u64, newline
from kernel_src.namespace import symbol_address
from kernel_src.task_table import current, IDLE
from theseus_nb.lang.unsafe import call_addr
from cells.fmt import line

_first: u64 = 0
_last: u64 = 0
_ids: Array[u64, 1024] = [0] * 1024


def kv(key: str, v: u64) -> None:
    write(key)
    write(" ")
    write_u64(v)
    newline()


@safe_interface     # a task entry this unsafe cell spawns: it takes no address
def pinger(n: u64) -> u64:
    global _first, _last
    if _first == 0:
        _first = rdtsc()
    for i in range(n):
        yield_now()
    _last = rdtsc()
    return n


@safe_interface     # a task entry this unsafe cell spawns: it takes no address
def nop(n: u64) -> u64:
    return n


@safe_interface     # a task entry this unsafe cell spawns: it takes no address
def parked(n: u64) -> u64:
    sleep(0xFFFFFFFFFFFF)
    return 0


def _switch(n: u64) -> None:
    global _first
    start: u64 = rdtsc()
    for i in range(n):
        yield_now()
    kv("yield_cycles", (rdtsc() - start) // n)
    _first = 0
    a: u64 = spawn("taskbench::pinger", n)
    b: u64 = spawn("taskbench::pinger", n)
    join(a)
    join(b)
    kv("switch_cycles", (_last - _first) // (2 * n))


def _timer(ms: u64) -> None:
    # Busy-wait ms milliseconds in the shell (nothing else runnable, so no
    # switch): timer.tick() counts its own cycles.  A busy loop's gaps are
    # no use under TCG: QEMU's own pauses are larger than the interrupt.
    per_ms: u64 = cycles_per_ms()
    t0: u64 = ticks()
    c0: u64 = irq_cycles()
    end: u64 = rdtsc() + ms * per_ms
    while rdtsc() < end:
        pass
    n: u64 = ticks() - t0
    kv("timer_ticks", n)
    if n > 0:
        kv("timer_handler_cycles", (irq_cycles() - c0) // n)
    kv("cycles_per_ms", per_ms)


def _spawn(n: u64) -> None:
    total: u64 = 0
    # Each task is joined at once (not timed).  Joining them sixteen at a
    # time made LLVM address _ids[i - 15] as "_ids - 120 + 8i", a relocation
    # the loader refuses (it points outside its symbol's section).
    for i in range(n):
        t: u64 = rdtsc()
        id: u64 = spawn("taskbench::nop", i)
        total += rdtsc() - t
        join(id)
    kv("spawn_cycles", total // n)


def _max() -> None:
    heap0: u64 = heap.in_use
    n: u64 = 0
    while n < 1024:
        id: u64 = spawn("taskbench::parked", 0)
        if id == 0:
            break
        _ids[n] = id
        n += 1
    kv("max_tasks", n)
    line(spawn_error())
    kv("heap_per_task", (heap.in_use - heap0) // n)
    for i in range(n):
        kill(_ids[i])


def _fx(n: u64) -> None:
    # Save the registers into the idle task's area (it never loads it) and
    # load them back: the registers are unchanged, the cost is a switch's.
    save: u64 = symbol_address("interrupts::fx_save")
    restore: u64 = symbol_address("interrupts::fx_restore")
    area: u64 = symbol_address("fpu::area")
    if save == 0 or restore == 0 or area == 0:
        return
    where: u64 = call_addr(area, IDLE)
    start: u64 = rdtsc()
    for i in range(n):
        call_addr(save, where)
        call_addr(restore, where)
    kv("fx_pair_cycles", (rdtsc() - start) // n)


def _call(n: u64) -> None:
    # current() is public, so compiled noinline and reached through a
    # relocation: each iteration is one real call into the kernel.
    start: u64 = rdtsc()
    for i in range(n):
        current()
    kv("kernel_call_cycles", (rdtsc() - start) // n)


def main(a: u64) -> u64:
    w: str = arg(1)
    if w == "fx":
        _fx(arg_u64(2))
    elif w == "call":
        _call(arg_u64(2))
    elif w == "switch":
        _switch(arg_u64(2))
    elif w == "timer":
        _timer(arg_u64(2))
    elif w == "spawn":
        _spawn(arg_u64(2))
    elif w == "max":
        _max()
    return 0
'''


#: Spawn with a stack chosen at spawn: only kernels with spawn_stack have it.
STACKBENCH = '''
# cell: unsafe
from theseus_nb.lang.prelude import *
from theseus_nb.lang.unsafe import rdtsc
from kernel_src.shell import arg_u64
from kernel_src.task import spawn_stack, join
from kernel_src.serial import write, write_u64, newline


@safe_interface     # a task entry this unsafe cell spawns: it takes no address
def nop(n: u64) -> u64:
    return n


def main(a: u64) -> u64:
    n: u64 = arg_u64(1)
    total: u64 = 0
    for i in range(n):
        t: u64 = rdtsc()
        id: u64 = spawn_stack("stackbench::nop", i, 1048576)
        total += rdtsc() - t
        join(id)
    write("spawn_1m_cycles ")
    write_u64(total // n)
    newline()
    return 0
'''


def _kv(text: str) -> dict[str, str]:
    out = {}
    for line in text.splitlines():
        parts = line.split(None, 1)
        out[parts[0] if len(parts) == 2 and parts[1].strip().isdigit() else "why"] = \
            parts[-1].strip() if len(parts) == 2 and parts[1].strip().isdigit() else line.strip()
    return out


def measure(images: dict, accel: str, switches: int) -> dict[str, dict[str, str]]:
    """Run every measurement in one boot of each image, the machines taking
    turns command by command; for each image, the key -> value lines, merged."""
    results: dict[str, dict[str, str]] = {name: {} for name in images}
    machines = {name: image.boot(accel=accel) for name, image in images.items()}
    timeout = 120 if accel == "tcg" else 900
    try:
        # "max" last: it leaves the task table's high-water mark at its top,
        # and every scan of the table (spawn, join, the policy) pays for that.
        commands = [f"taskbench switch {switches}", f"taskbench fx {switches}",
                    f"taskbench call {switches * 10}", "taskbench timer 500",
                    "taskbench spawn 256", "stackbench 64", "taskbench max"]
        for cmd in commands:
            for name, m in machines.items():
                if cmd.split()[0] in m.command("cells", timeout=timeout):
                    results[name].update(_kv(m.command(cmd, timeout=timeout)))
    finally:
        for m in machines.values():
            m.shutdown()
    return results


def _ratio(a: str | None, b: str | None) -> str:
    if a is None or b is None or not a.isdigit() or not b.isdigit() or int(b) == 0:
        return "-"
    return f"{int(a) / int(b):.2f}x"


def main() -> None:
    """Build the kernel with the bench cell, measure, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--switches", type=int, default=20000)
    parser.add_argument("--kvm-switches", type=int, default=20000,
                        help="switches under KVM (fewer on a host that emulates the guest)")
    parser.add_argument("--no-kvm", action="store_true")
    add_option(parser)
    args = parser.parse_args()
    kernel = Kernel.default().with_cell("taskbench", TASKBENCH, unsafe=True)
    kernel = kernel.with_cell("stackbench", STACKBENCH, unsafe=True)
    image = kernel.build(tempfile.mkdtemp(prefix="bench-tasks-"))
    images = {"TCG": image}
    if args.baseline:
        before = kernel_in(args.baseline).with_cell("taskbench", TASKBENCH, unsafe=True)
        images["baseline"] = before.build(tempfile.mkdtemp(prefix="bench-tasks-"))
    columns = measure(images, "tcg", args.switches)
    usable, why = kvm_usable()
    if args.no_kvm:
        print("(KVM not measured: --no-kvm)")
    elif not usable:
        print(f"(KVM not measured: {why})")
    else:
        try:
            columns["KVM"] = measure({"KVM": image}, "kvm", args.kvm_switches)["KVM"]
        except Exception as exc:  # KVM listed but unusable: say so, keep TCG's figures
            print(f"(KVM run failed: {str(exc).splitlines()[0]})")
    rows = [("yield round trip (no switch)*", "yield_cycles", "cycles"),
            ("context switch (yield to another task)", "switch_cycles", "cycles"),
            ("  of which FXSAVE+FXRSTOR (eager SSE)", "fx_pair_cycles", "cycles"),
            ("kernel call (cell -> task_table::current)", "kernel_call_cycles", "cycles"),
            ("timer interrupt: timer.tick() itself", "timer_handler_cycles", "cycles"),
            ("spawn (task table + 16 KiB stack, guarded)", "spawn_cycles", "cycles"),
            ("spawn with a 1 MiB stack", "spawn_1m_cycles", "cycles"),
            ("max concurrent tasks at 128M", "max_tasks", "tasks"),
            ("heap per task", "heap_per_task", "bytes"),
            ("TSC rate", "cycles_per_ms", "cycles/ms")]
    names = list(columns)
    ratios = [n for n in names if n != "TCG"]
    print(f"{'tasks benchmark (TSC in the guest)':44}" + "".join(f"{n:>12}" for n in names)
          + "".join(f"{n + '/TCG':>14}" for n in ratios) + "  unit")
    for label, key, unit in rows:
        cells = "".join(f"{columns[n].get(key, '-'):>12}" for n in names)
        cells += "".join(f"{_ratio(columns[n].get(key), columns['TCG'].get(key)):>14}" for n in ratios)
        print(f"{label:44}{cells}  {unit}")
    for n in names:
        print(f"{n}: spawn stopped at max_tasks because: {columns[n].get('why', '?')}")
    print("* the timer interrupt enters and leaves through the same stubs as a yield, so its "
          "whole cost is about the round trip plus timer.tick()")


if __name__ == "__main__":
    main()

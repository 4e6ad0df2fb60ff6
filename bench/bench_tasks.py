"""Benchmark: the task switcher, measured inside the guest with the TSC.

A bench cell (TASKBENCH below, added to the default kernel) measures
  yield (no switch)  the shell yields while nothing else is runnable
  context switch     two tasks yield to each other N times: cycles per switch
  timer interrupt    time the timer steals from a busy loop (gaps in rdtsc),
                     and the cycles its handler itself counts
  spawn              cycles per spawn() of a task that returns at once
  max tasks          tasks that block forever, spawned until spawn() fails
under TCG, and under KVM when /dev/kvm can be opened.  Prints one table.

    python bench/bench_tasks.py [--switches N] [--no-kvm]
"""

from __future__ import annotations

import argparse
import os
import tempfile

from theseus_nb import Kernel

TASKBENCH = '''
# cell: unsafe
from theseus_nb.lang.prelude import *
from theseus_nb.lang.unsafe import rdtsc
from kernel_src.shell import arg, arg_u64
from kernel_src.task import spawn, join, kill, yield_now, sleep, spawn_error
from kernel_src.timer import ticks, irq_cycles
from kernel_src.clock import cycles_per_ms
from kernel_src.heap import in_use
from kernel_src.serial import write, write_u64, newline
from cells.fmt import line

_first: u64 = 0
_last: u64 = 0
_ids: Array[u64, 1024] = [0] * 1024


def kv(key: str, v: u64) -> None:
    write(key)
    write(" ")
    write_u64(v)
    newline()


def pinger(n: u64) -> u64:
    global _first, _last
    if _first == 0:
        _first = rdtsc()
    for i in range(n):
        yield_now()
    _last = rdtsc()
    return n


def nop(n: u64) -> u64:
    return n


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
    per_ms: u64 = cycles_per_ms()
    t0: u64 = ticks()
    c0: u64 = irq_cycles()
    start: u64 = rdtsc()
    prev: u64 = start
    end: u64 = start + ms * per_ms
    gaps: u64 = 0
    stolen: u64 = 0
    loop_min: u64 = 0xFFFFFFFF
    while prev < end:
        now: u64 = rdtsc()
        d: u64 = now - prev
        if d < loop_min:
            loop_min = d
        if d > 20 * loop_min + 200:
            gaps += 1
            stolen += d - loop_min
        prev = now
    n: u64 = ticks() - t0
    kv("timer_ticks", n)
    if n > 0:
        kv("timer_handler_cycles", (irq_cycles() - c0) // n)
    if gaps > 0:
        kv("timer_gap_cycles", stolen // gaps)
    kv("cycles_per_ms", per_ms)


def _spawn(n: u64) -> None:
    total: u64 = 0
    for i in range(n):
        t: u64 = rdtsc()
        _ids[i] = spawn("taskbench::nop", i)
        total += rdtsc() - t
        if i % 16 == 15:
            for k in range(i - 15, i + 1):
                join(_ids[k])
    kv("spawn_cycles", total // n)


def _max() -> None:
    heap0: u64 = in_use()
    n: u64 = 0
    while n < 1024:
        id: u64 = spawn("taskbench::parked", 0)
        if id == 0:
            break
        _ids[n] = id
        n += 1
    kv("max_tasks", n)
    line(spawn_error())
    kv("heap_per_task", (in_use() - heap0) // n)
    for i in range(n):
        kill(_ids[i])


def main(a: u64) -> u64:
    w: str = arg(1)
    if w == "switch":
        _switch(arg_u64(2))
    elif w == "timer":
        _timer(arg_u64(2))
    elif w == "spawn":
        _spawn(arg_u64(2))
    elif w == "max":
        _max()
    return 0
'''


def _kv(text: str) -> dict[str, str]:
    out = {}
    for line in text.splitlines():
        parts = line.split(None, 1)
        out[parts[0] if len(parts) == 2 and parts[1].strip().isdigit() else "why"] = \
            parts[-1].strip() if len(parts) == 2 and parts[1].strip().isdigit() else line.strip()
    return out


def measure(image, kvm: bool, switches: int) -> dict[str, str]:
    """Run every measurement in one boot; the key -> value lines, merged."""
    results: dict[str, str] = {}
    with image.boot(kvm=kvm, boot_timeout=30) as m:
        for cmd in (f"taskbench switch {switches}", "taskbench timer 500",
                    "taskbench spawn 256", "taskbench max"):
            results.update(_kv(m.command(cmd, timeout=120)))
    return results


def _kvm_usable() -> bool:
    return os.access("/dev/kvm", os.R_OK | os.W_OK)


def main() -> None:
    """Build the kernel with the bench cell, measure, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--switches", type=int, default=20000)
    parser.add_argument("--no-kvm", action="store_true")
    args = parser.parse_args()
    kernel = Kernel.default().with_cell("taskbench", TASKBENCH, unsafe=True)
    image = kernel.build(tempfile.mkdtemp(prefix="bench-tasks-"))
    columns = {"TCG": measure(image, False, args.switches)}
    if not args.no_kvm and _kvm_usable():
        try:
            columns["KVM"] = measure(image, True, args.switches)
        except Exception as exc:  # KVM listed but unusable: say so, keep TCG's figures
            print(f"(KVM run failed: {str(exc).splitlines()[0]})")
    rows = [("yield, nothing else runnable", "yield_cycles", "cycles"),
            ("context switch (yield to another task)", "switch_cycles", "cycles"),
            ("timer interrupt, handler only", "timer_handler_cycles", "cycles"),
            ("timer interrupt, gap seen by a busy loop*", "timer_gap_cycles", "cycles"),
            ("spawn (task table + 16 KiB stack)", "spawn_cycles", "cycles"),
            ("max concurrent tasks at 128M", "max_tasks", "tasks"),
            ("heap per task", "heap_per_task", "bytes"),
            ("TSC rate", "cycles_per_ms", "cycles/ms")]
    names = list(columns)
    print(f"{'tasks benchmark (TSC in the guest)':42}" + "".join(f"{n:>12}" for n in names) + "  unit")
    for label, key, unit in rows:
        print(f"{label:42}" + "".join(f"{columns[n].get(key, '-'):>12}" for n in names) + f"  {unit}")
    for n in names:
        print(f"{n}: spawn stopped at max_tasks because: {columns[n].get('why', '?')}")
    print("* under TCG the TSC follows host time, so the gap includes QEMU's own work "
          "(device emulation, translation); the handler figure is the guest's share")


if __name__ == "__main__":
    main()

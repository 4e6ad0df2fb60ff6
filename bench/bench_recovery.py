"""Benchmark: how long recovery takes, measured inside the guest with the TSC.

Two bench cells are added to the default kernel: CRASHY, whose task notes
the TSC when it starts and again just before it panics, and RECBENCH,
which keeps those notes (in a cell of its own, so that reloading CRASHY,
which resets its globals, does not lose them). From the notes:
  fault -> restarted   the panic, the fault handler, the shell woken,
                       the task started again on a fresh stack, and the
                       scheduler running it (a task spawned with
                       --restart 200: 200 samples)
  fault -> reloaded    the same with its cell reloaded first: a swap of the
                       cell to its own object with every global reset
                       (tasks spawned with --restart 0, one sample each)
  host respawn         for comparison, what a host program does without
                       restartable tasks: wait until `tasks` shows the task
                       faulted, then spawn it again (wall clock, as the host
                       sees it)
Medians of many, in cycles and microseconds, under TCG. Prints one table.

    python bench/bench_recovery.py [--restarts N] [--reloads N] [--respawns N]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

from theseus_nb import Kernel, LiveKernel

RECBENCH = '''
# cell: unsafe
from theseus_nb.lang.prelude import *
from theseus_nb.lang.unsafe import rdtsc
from kernel_src.shell import arg
from kernel_src.clock import cycles_per_ms
from kernel_src.serial import write, write_u64, newline

_start: Array[u64, 512] = [0] * 512
_fault: Array[u64, 512] = [0] * 512
_starts: u64 = 0
_faults: u64 = 0


@safe_interface
def note_start() -> None:
    """A CRASHY task starts (again)."""
    global _starts
    if _starts < 512:
        _start[_starts] = rdtsc()
        _starts += 1


@safe_interface
def note_fault() -> None:
    """A CRASHY task is about to panic."""
    global _faults
    if _faults < 512:
        _fault[_faults] = rdtsc()
        _faults += 1


def main(a: u64) -> u64:
    global _starts, _faults
    if arg(1) == "reset":
        _starts = 0
        _faults = 0
        return 0
    write("per_ms ")
    write_u64(cycles_per_ms())
    newline()
    for i in range(_starts):
        write("start ")
        write_u64(_start[i])
        newline()
    for i in range(_faults):
        write("fault ")
        write_u64(_fault[i])
        newline()
    return 0
'''

CRASHY = '''
from theseus_nb.lang.prelude import *
from cells.recbench import note_start, note_fault

runs: u64 = 0


def run(arg: u64) -> u64:
    global runs
    note_start()
    runs += 1
    note_fault()
    panic("crashy: on purpose")
    return 0
'''


def _notes(vm: LiveKernel) -> tuple[int, list[int], list[int]]:
    per_ms, starts, faults = 0, [], []
    for line in vm.command("recbench").splitlines():
        word, value = line.split()
        if word == "per_ms":
            per_ms = int(value)
        elif word == "start":
            starts.append(int(value))
        else:
            faults.append(int(value))
    return per_ms, starts, faults


def _wait_gave_up(vm: LiveKernel, tid: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if vm.tasks().by_id(tid).state == "faulted":
            return
        time.sleep(0.02)
    raise RuntimeError(f"task {tid} was not given up in {timeout} s")


def restart_cycles(vm: LiveKernel, restarts: int) -> list[int]:
    """Cycles from each panic to the restarted task's first line (plain restarts)."""
    vm.command("recbench reset")
    tid = vm.spawn("crashy::run", 0, restart="on-fault", max_restarts=restarts)
    _wait_gave_up(vm, tid)
    _, starts, faults = _notes(vm)
    return [starts[k + 1] - faults[k] for k in range(restarts)]


def reload_cycles(vm: LiveKernel, reloads: int) -> list[int]:
    """Cycles from a panic to the task's first line after its cell was reloaded."""
    samples = []
    for _ in range(reloads):
        vm.command("recbench reset")
        tid = vm.spawn("crashy::run", 0, restart="on-fault", max_restarts=0)
        _wait_gave_up(vm, tid)
        assert [r.action for r in vm.faults() if r.task == tid] == ["reloaded", "gave_up"]
        _, starts, faults = _notes(vm)
        samples.append(starts[1] - faults[0])
    return samples


def host_respawn_seconds(vm: LiveKernel, respawns: int) -> list[float]:
    """Wall time from spawning a task that panics at once to having spawned it
    again after seeing it faulted: recovery done by the host, by polling."""
    samples = []
    for _ in range(respawns):
        tid = vm.spawn("crashy::run", 0)
        start = time.perf_counter()
        while vm.tasks().by_id(tid).alive:
            pass
        vm.spawn("crashy::run", 0)
        samples.append(time.perf_counter() - start)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--restarts", type=int, default=200, help="samples of fault -> restarted")
    parser.add_argument("--reloads", type=int, default=30, help="samples of fault -> reloaded")
    parser.add_argument("--respawns", type=int, default=30, help="samples of host respawn")
    args = parser.parse_args()
    kernel = Kernel.default().with_cell("recbench", RECBENCH).with_cell("crashy", CRASHY)
    with tempfile.TemporaryDirectory(prefix="theseus-nb-bench-recovery-") as folder:
        image = kernel.build(folder)
        with image.boot() as vm:
            per_ms, _, _ = _notes(vm)
            restart = statistics.median(restart_cycles(vm, args.restarts))
            reload = statistics.median(reload_cycles(vm, args.reloads))
            host = statistics.median(host_respawn_seconds(vm, args.respawns)) * 1e6

    def us(cycles: float) -> float:
        return cycles * 1000 / per_ms

    print(f"recovery under TCG (TSC {per_ms / 1000:.0f} MHz as calibrated), medians")
    print(f"{'':28} {'samples':>8} {'cycles':>12} {'µs':>10} {'vs restart':>11}")
    print(f"{'fault -> restarted':28} {args.restarts:>8} {restart:>12.0f} {us(restart):>10.1f} "
          f"{'1.0x':>11}")
    print(f"{'fault -> reloaded':28} {args.reloads:>8} {reload:>12.0f} {us(reload):>10.1f} "
          f"{reload / restart:>10.1f}x")
    print(f"{'host respawn (wall clock)':28} {args.respawns:>8} {'':>12} {host:>10.1f} "
          f"{host / us(restart):>10.1f}x")


if __name__ == "__main__":
    main()

"""Benchmark: build and boot of the default kernel, under TCG and KVM.

Prints one table: compile time per cell (cold cache), link time, image
sizes, and, for each accelerator (TCG, and KVM when a probe guest boots
with it), the time from starting QEMU to the shell prompt (median of
several boots) beside QEMU's own floor measured in the same run: the same
command line booting a trivial Multiboot kernel (boot.s and a main that
leaves through isa-debug-exit at once).  Then where one boot's time went,
step by step (the `bootsteps` command: the TSC at each line of
nano_core.main), and the page tables and page-rounding the booted kernel
reports (`mem`).  With --baseline DIR the kernel of another checkout boots
in the same run, alternately with this one, and the table gains its
column and the ratio (see baseline.py).

    python bench/bench_boot.py [--boots N] [--kvm-boots N] [--no-kvm] [--baseline DIR]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from baseline import add_option, kernel_in, ratio
from qemu_bridge import QemuConfig, kvm_usable
from theseus_nb import CellSource, Kernel
from theseus_nb.kernel import repo_root

#: nano_core::main that exits QEMU at once: the floor of any boot.
EXIT_AT_ONCE = """
define void @"nano_core::main"(i64 %magic, i64 %info) {
  call void asm sideeffect "outl %eax, %dx", "{eax},{dx}"(i32 0, i16 244)
  ret void
}
"""


def _cold_build(kernel: Kernel, out: Path):
    with tempfile.TemporaryDirectory() as cache:
        os.environ["THESEUS_NB_CACHE"] = cache
        try:
            return kernel.build(out)
        finally:
            del os.environ["THESEUS_NB_CACHE"]


def _floor_seconds(out: Path, accel: str) -> float:
    boot = CellSource.from_path(repo_root() / "kernel_src" / "boot.s")
    image = Kernel([boot, CellSource("nano_core", EXIT_AT_ONCE, "ir")]).build(out)
    argv = QemuConfig(image.kernel_path, image.archive_path, accel=accel).argv()
    start = time.perf_counter()
    subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, timeout=300)
    return time.perf_counter() - start


def _boot_seconds(image, accel: str) -> float:
    start = time.perf_counter()
    machine = image.boot(accel=accel)
    elapsed = time.perf_counter() - start
    machine.shutdown()
    return elapsed


def _inside(image, accel: str) -> tuple[dict[str, str], list[tuple[str, int]], int]:
    # One boot's `mem` and `bootsteps` (step name, cycles; and cycles per ms).
    with image.boot(accel=accel) as machine:
        mem = dict(line.split() for line in machine.command("mem", 60).splitlines())
        steps = [line.split() for line in machine.command("bootsteps", 60).splitlines()]
    per_ms = int(dict(steps)["per_ms"])
    return mem, [(n, int(c)) for n, c in steps if n not in ("per_ms", "entry_tsc")], per_ms


def main() -> None:
    """Run the benchmark and print its table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--boots", type=int, default=7)
    parser.add_argument("--kvm-boots", type=int, default=3)
    parser.add_argument("--no-kvm", action="store_true")
    add_option(parser)
    args = parser.parse_args()
    accels = ["tcg"]
    usable, why = kvm_usable()
    if args.no_kvm:
        why = "--no-kvm"
    elif usable:
        accels.append("kvm")
    with tempfile.TemporaryDirectory() as tmp:
        image = _cold_build(Kernel.default(), Path(tmp) / "kernel")
        before = kernel_in(args.baseline).build(Path(tmp) / "baseline") if args.baseline else None
        rows = [(f"compile {cell}", f"{s * 1000:.1f} ms") for cell, s in image.build_times.items()]
        rows += [
            ("compile, all cells", f"{sum(image.build_times.values()) * 1000:.1f} ms"),
            ("link (host)", f"{image.link_time * 1000:.2f} ms"),
            ("kernel.bin", f"{image.sizes['kernel.bin']} bytes"),
            ("cells.img", f"{image.sizes['cells.img']} bytes"),
        ]
        boot, floor, steps, mem = {}, {}, {}, {}
        for accel in accels:
            n = args.boots if accel == "tcg" else args.kvm_boots
            boots, before_boots = [], []
            for _ in range(n):                   # alternately, so both see the same machine
                boots.append(_boot_seconds(image, accel))
                if before:
                    before_boots.append(_boot_seconds(before, accel))
            floors = [_floor_seconds(Path(tmp) / "floor", accel) for _ in range(n)]
            boot[accel], floor[accel] = statistics.median(boots), statistics.median(floors)
            mem[accel], steps[accel], per_ms = _inside(image, accel)
            steps[accel] = [(name, c / per_ms) for name, c in steps[accel]]
            rows += [
                (f"{accel.upper()}: QEMU start -> prompt (median of {n})", f"{boot[accel] * 1000:.0f} ms"),
                (f"{accel.upper()}: floor, trivial kernel start -> exit", f"{floor[accel] * 1000:.0f} ms"),
                (f"{accel.upper()}: boot / floor", f"{boot[accel] / floor[accel]:.2f}"),
            ]
            if before:
                b = statistics.median(before_boots)
                rows += [(f"{accel.upper()}: baseline start -> prompt (median of {n})", f"{b * 1000:.0f} ms"),
                         (f"{accel.upper()}: this kernel / baseline, boot", ratio(boot[accel], b))]
        m = mem["tcg"]
        rows += [
            ("page tables (frames) after boot", m.get("page_tables", "-")),
            ("2 MiB pages split into 4 KiB ones", m.get("pages_split", "-")),
            ("whole-page blocks (cell regions, stacks)", m.get("page_blocks", "-")),
            ("bytes lost to page rounding", m.get("page_rounding", "-")),
        ]
    print(f"{'measure':<52} value")
    print("-" * 68)
    for name, value in rows:
        print(f"{name:<52} {value}")
    if "kvm" not in accels:
        print(f"(KVM not measured: {why})")
    print()
    print(f"{'boot step (one boot, TSC in the guest)':<40}" + "".join(f"{a.upper() + ' ms':>12}" for a in accels)
          + ("   KVM/TCG" if len(accels) > 1 else ""))
    for i, (name, _) in enumerate(steps["tcg"]):
        values = [steps[a][i][1] for a in accels]
        line = f"{name:<40}" + "".join(f"{v:>12.1f}" for v in values)
        if len(accels) > 1 and values[0] > 0:
            line += f"{values[1] / values[0]:>10.1f}"
        print(line)


if __name__ == "__main__":
    main()

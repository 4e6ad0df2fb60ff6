"""Benchmark: build and boot of the default kernel.

Prints one table: compile time per cell (cold cache), link time, image
sizes, and the time from starting QEMU to the shell prompt (median of
several boots) beside QEMU's own floor: the same command line booting a
stub that leaves through isa-debug-exit at once, and the page tables and
page-rounding the booted kernel reports (`mem`).  With --baseline DIR the
kernel of another checkout boots in the same run, alternately with this
one, and the table gains its column and the ratio (see baseline.py).

    python bench/bench_boot.py [--boots N] [--kvm] [--baseline DIR]
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
from qemu_bridge import Machine, QemuConfig
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


def _floor_seconds(out: Path, kvm: bool) -> float:
    boot = CellSource.from_path(repo_root() / "kernel_src" / "boot.s")
    image = Kernel([boot, CellSource("nano_core", EXIT_AT_ONCE, "ir")]).build(out)
    argv = QemuConfig(image.kernel_path, image.archive_path, kvm=kvm).argv()
    start = time.perf_counter()
    subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, timeout=30)
    return time.perf_counter() - start


def _boot_seconds(image, kvm: bool) -> float:
    start = time.perf_counter()
    machine = image.boot(kvm=kvm)
    elapsed = time.perf_counter() - start
    machine.shutdown()
    return elapsed


def _mem(image, kvm: bool) -> dict[str, str]:
    with image.boot(kvm=kvm) as machine:
        return dict(line.split() for line in machine.command("mem").splitlines())


def main() -> None:
    """Run the benchmark and print its table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--boots", type=int, default=7)
    parser.add_argument("--kvm", action="store_true")
    add_option(parser)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        image = _cold_build(Kernel.default(), Path(tmp) / "kernel")
        before = kernel_in(args.baseline).build(Path(tmp) / "baseline") if args.baseline else None
        boots, before_boots = [], []
        for _ in range(args.boots):                  # alternately, so both see the same machine
            boots.append(_boot_seconds(image, args.kvm))
            if before:
                before_boots.append(_boot_seconds(before, args.kvm))
        floors = [_floor_seconds(Path(tmp) / "floor", args.kvm) for _ in range(args.boots)]
        mem = _mem(image, args.kvm)
        rows = [(f"compile {cell}", f"{s * 1000:.1f} ms") for cell, s in image.build_times.items()]
        rows += [
            ("compile, all cells", f"{sum(image.build_times.values()) * 1000:.1f} ms"),
            ("link (host)", f"{image.link_time * 1000:.2f} ms"),
            ("kernel.bin", f"{image.sizes['kernel.bin']} bytes"),
            ("cells.img", f"{image.sizes['cells.img']} bytes"),
            (f"QEMU start -> prompt (median of {args.boots})", f"{statistics.median(boots) * 1000:.0f} ms"),
            (f"QEMU floor: start -> exit (median of {args.boots})", f"{statistics.median(floors) * 1000:.0f} ms"),
            ("ratio boot / floor", f"{statistics.median(boots) / statistics.median(floors):.2f}"),
            ("page tables (frames) after boot", mem.get("page_tables", "-")),
            ("2 MiB pages split into 4 KiB ones", mem.get("pages_split", "-")),
            ("whole-page blocks (cell regions, stacks)", mem.get("page_blocks", "-")),
            ("bytes lost to page rounding", mem.get("page_rounding", "-")),
        ]
        if before:
            b, a = statistics.median(before_boots), statistics.median(boots)
            rows += [(f"baseline: QEMU start -> prompt (median of {args.boots})", f"{b * 1000:.0f} ms"),
                     ("this kernel / baseline, boot", ratio(a, b))]
    print(f"{'measure (' + ('KVM' if args.kvm else 'TCG') + ')':<48} value")
    print("-" * 64)
    for name, value in rows:
        print(f"{name:<48} {value}")


if __name__ == "__main__":
    main()

"""Benchmark: loading and linking cells at boot, inside the kernel.

The nano_core's loader (written in the cell language) times each cell with
the TSC while it loads the boot archive; the `boottime` command reports it.
Printed beside it: the host linker's time for the same job (linking the
same objects at fixed addresses with theseus_nb.link).

    python bench/bench_loader.py [--kvm]
"""

from __future__ import annotations

import argparse
import statistics
import time

from theseus_nb import Kernel
from theseus_nb.link import link


def _host_link_seconds(image, repeats: int = 20) -> float:
    objects = image.nano_core + image.cells
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        link(objects, base=0x100000, header_size=32)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    """Boot the default kernel, read its load times, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kvm", action="store_true", help="boot with KVM instead of TCG")
    args = parser.parse_args()
    image = Kernel.default().build()
    with image.boot(kvm=args.kvm) as machine:
        report = machine.command("boottime")
    rows, total, per_ms = [], 0, 1
    for line in report.splitlines():
        word, *rest = line.split()
        if word == "load":
            rows.append((rest[0], int(rest[1]), int(rest[2])))
        elif word == "total":
            total = int(rest[0])
        elif word == "cycles_per_ms":
            per_ms = int(rest[0])
    relocs = sum(r for _, _, r in rows)
    host = _host_link_seconds(image)
    mode = "KVM" if args.kvm else "TCG"
    print(f"in-kernel cell loading at boot ({mode}; TSC {per_ms / 1000:.0f} MHz as measured by the guest)")
    print(f"{'cell':<12} {'cycles':>10} {'us':>8} {'relocs':>7} {'cycles/reloc':>13}")
    print("-" * 54)
    for cell, cycles, n in rows:
        per = f"{cycles / n:,.0f}" if n else "-"
        print(f"{cell:<12} {cycles:>10,} {cycles * 1000 / per_ms:>8.0f} {n:>7} {per:>13}")
    print("-" * 54)
    print(f"{'all cells':<12} {total:>10,} {total * 1000 / per_ms:>8.0f} {relocs:>7} "
          f"{total / max(relocs, 1):>13,.0f}")
    print(f"host linker, nano_core + all cells at once: {host * 1e6:,.0f} us "
          f"(median of 20; Python, pyelftools objects already parsed)")


if __name__ == "__main__":
    main()

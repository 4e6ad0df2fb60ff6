"""Benchmark: hot-swap latency, from a Python call with changed source to the
new code observed running in the guest.

For a small cell (one command) and a large one (a command plus many
functions), each swap changes the source (so nothing comes from the
compile cache), swaps it in with Machine.swap, then runs the command and
checks that the new code answered.  Prints the median of each step.

    python bench/bench_swap.py [--swaps N] [--kvm]
"""

from __future__ import annotations

import argparse
import statistics
import time

from theseus_nb import Kernel

SMALL = '''
from theseus_nb.lang.prelude import *
from kernel_src.serial import write_u64, newline

def main(arg: u64) -> u64:
    write_u64(VERSION)
    newline()
    return 0
'''


def _large(functions: int = 60) -> str:
    body = [SMALL.replace("write_u64(VERSION)", "write_u64(f0(VERSION) - 0)")]
    for i in range(functions):
        nxt = f"f{i + 1}(x)" if i + 1 < functions else "x"
        body.append(f"\ndef f{i}(x: u64) -> u64:\n    if x > {10 ** 12 + i}:\n        return {nxt} - 1\n"
                    f"    return {nxt}\n")
    return "".join(body)


def _measure(machine, name: str, template: str, swaps: int) -> dict[str, float]:
    machine.load(name, template.replace("VERSION", "0"))
    steps: dict[str, list[float]] = {k: [] for k in
                                     ("compile", "upload", "swap", "kernel", "observe", "total")}
    for version in range(1, swaps + 1):
        start = time.perf_counter()
        report = machine.swap(name, template.replace("VERSION", str(version)))
        answer = machine.command(name)
        total = time.perf_counter() - start
        assert answer == str(version), answer
        steps["compile"].append(report.compile_s)
        steps["upload"].append(report.upload_s)
        steps["swap"].append(report.swap_s)
        steps["kernel"].append(report.kernel_us / 1e6)
        steps["observe"].append(total - report.total_s)
        steps["total"].append(total)
    return {k: statistics.median(v) * 1000 for k, v in steps.items()}


def main() -> None:
    """Run the benchmark and print its table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--swaps", type=int, default=25)
    parser.add_argument("--kvm", action="store_true")
    args = parser.parse_args()
    image = Kernel.default().build()
    with image.boot(kvm=args.kvm) as machine:
        small = _measure(machine, "hotsmall", SMALL, args.swaps)
        large = _measure(machine, "hotlarge", _large(), args.swaps)
        sizes = {n: len(machine.objects[n].data) for n in ("hotsmall", "hotlarge")}
    print(f"hot swap, median of {args.swaps} swaps ({'KVM' if args.kvm else 'TCG'}), in ms")
    print(f"{'step':<44} {'small':>8} {'large':>8}")
    print("-" * 62)
    print(f"{'object size (bytes)':<44} {sizes['hotsmall']:>8} {sizes['hotlarge']:>8}")
    labels = {
        "compile": "compile (parse, check, LLVM -O2, ELF)",
        "upload": "upload (hex over the serial line, checked)",
        "swap": "swap request round trip",
        "kernel": "  of which in the kernel (stage, link, rewrite)",
        "observe": "run the command, see the new answer",
        "total": "end to end",
    }
    for key, label in labels.items():
        print(f"{label:<44} {small[key]:>8.1f} {large[key]:>8.1f}")


if __name__ == "__main__":
    main()

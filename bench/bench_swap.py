"""Benchmark: hot-swap latency, from a Python call with changed source to the
new code observed running in the guest.

For a small cell (one command) and a large one (a command plus many
functions), each swap changes the source (so nothing comes from the
compile cache), swaps it in with Machine.swap, then runs the command and
checks that the new code answered.  Prints the median of each step.
With --baseline DIR the kernel of another checkout is measured in the same
run, and the table gains its end-to-end and in-kernel figures and the
ratios (see baseline.py): a swap under W^X makes each patched page
writable and maps it back, which is where a difference would show.

    python bench/bench_swap.py [--swaps N] [--kvm] [--baseline DIR]
"""

from __future__ import annotations

import argparse
import statistics
import time

from baseline import add_option, boot_kernels, ratio

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


_STEPS = ("compile", "upload", "swap", "kernel", "observe", "total")


def _measure(machines: dict, name: str, template: str, swaps: int) -> dict[str, dict[str, float]]:
    """Median ms of each step, for each machine; the machines take turns,
    swap by swap, so a busy moment of the host falls on both alike."""
    steps = {m: {k: [] for k in _STEPS} for m in machines}
    for machine in machines.values():
        machine.load(name, template.replace("VERSION", "0"))
    # Versions never seen before, so no compile comes from the on-disk cache.
    first = int(time.time() * 1000) % 10 ** 9 * 100
    for version in range(first + 1, first + swaps + 1):
        for label, machine in machines.items():
            start = time.perf_counter()
            report = machine.swap(name, template.replace("VERSION", str(version)))
            answer = machine.command(name)
            total = time.perf_counter() - start
            assert answer == str(version), answer
            got = steps[label]
            got["compile"].append(report.compile_s)
            got["upload"].append(report.upload_s)
            got["swap"].append(report.swap_s)
            got["kernel"].append(report.kernel_us / 1e6)
            got["observe"].append(total - report.total_s)
            got["total"].append(total)
    return {m: {k: statistics.median(v) * 1000 for k, v in got.items()} for m, got in steps.items()}


def _upload_mib(machine, rounds: int) -> float:
    """Median ms to upload 1 MiB (the kernel's limit) and have it checked and kept."""
    data = bytes((i * 131 + i // 4093) & 0xFF for i in range(1 << 20))
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        reply = machine.machine.upload("mib", data)
        times.append(time.perf_counter() - start)
        assert reply.ok, reply.output
    machine.command("swap mib")  # refused (not a cell), and the upload freed
    return statistics.median(times) * 1000


def main() -> None:
    """Run the benchmark and print its table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--swaps", type=int, default=25)
    parser.add_argument("--kvm", action="store_true")
    add_option(parser)
    args = parser.parse_args()
    machines = boot_kernels(args.baseline, args.kvm)
    try:
        small_all = _measure(machines, "hotsmall", SMALL, args.swaps)
        large_all = _measure(machines, "hotlarge", _large(), args.swaps)
        sizes = {n: len(machines["this"].objects[n].data) for n in ("hotsmall", "hotlarge")}
        mib = _upload_mib(machines["this"], args.swaps)
    finally:
        for machine in machines.values():
            machine.shutdown()
    small, large = small_all["this"], large_all["this"]
    baseline = {"small": small_all["baseline"], "large": large_all["baseline"]} if args.baseline else {}
    print(f"hot swap, median of {args.swaps} swaps ({'KVM' if args.kvm else 'TCG'}), in ms")
    print(f"{'step':<44} {'small':>8} {'large':>8}")
    print("-" * 62)
    print(f"{'object size (bytes)':<44} {sizes['hotsmall']:>8} {sizes['hotlarge']:>8}")
    labels = {
        "compile": "compile (parse, check, LLVM -O2, ELF)",
        "upload": "upload (shared memory, then checked)",
        "swap": "swap request round trip",
        "kernel": "  of which in the kernel (stage, link, rewrite)",
        "observe": "run the command, see the new answer",
        "total": "end to end",
    }
    for key, label in labels.items():
        print(f"{label:<44} {small[key]:>8.1f} {large[key]:>8.1f}")
    print(f"{'upload of a 1 MiB object (median, ms)':<44} {mib:>8.1f}")
    if baseline:
        for key in ("kernel", "total"):
            b_small, b_large = baseline["small"][key], baseline["large"][key]
            print(f"{'baseline: ' + labels[key].strip():<44} {b_small:>8.1f} {b_large:>8.1f}")
            print(f"{'  this kernel / baseline':<44} {ratio(small[key], b_small):>8} "
                  f"{ratio(large[key], b_large):>8}")


if __name__ == "__main__":
    main()

"""The kernel a benchmark compares against: another checkout's kernel_src/ and cells/.

    python bench/bench_boot.py --baseline /tmp/before

builds the cells of /tmp/before (a `git worktree add` or `git archive` of
an earlier commit) with this checkout's host (compiler, linker), and
measures both kernels in the same run, so that their ratio does not
depend on how loaded the machine was.  What the host adds to every cell
(today: the stack-probe attribute) is in both.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from theseus_nb import CellSource, Kernel, LiveKernel

_SUFFIXES = (".py", ".ll", ".s")


def add_option(parser: argparse.ArgumentParser) -> None:
    """The --baseline DIR option every benchmark takes."""
    parser.add_argument("--baseline", type=Path, metavar="DIR",
                        help="also measure the kernel in DIR/kernel_src and DIR/cells, in the same run")


def kernel_in(root: Path) -> Kernel:
    """The default kernel of the checkout at root (its kernel_src/ and cells/)."""
    if not (root / "kernel_src").is_dir():
        raise SystemExit(f"--baseline {root}: there is no kernel_src/ there; give the top of a checkout")

    def sources(folder: Path) -> list[CellSource]:
        return [CellSource.from_path(p) for p in sorted(folder.iterdir())
                if p.suffix in _SUFFIXES and not p.name.startswith(("_", "."))]

    return Kernel(sources(root / "kernel_src"), sources(root / "cells") if (root / "cells").is_dir() else [])


def boot_kernels(baseline: Path | None, kvm: bool = False) -> dict[str, LiveKernel]:
    """This checkout's default kernel booted as "this", and with --baseline DIR
    that checkout's as "baseline" (both under KVM if ``kvm``)."""
    machines = {"this": Kernel.default().build().boot(kvm=kvm)}
    if baseline is not None:
        machines["baseline"] = kernel_in(baseline).build().boot(kvm=kvm)
    return machines


def ratio(after: float, before: float) -> str:
    """after / before as a factor, for the last column of a table."""
    return f"{after / before:.2f}x" if before else "-"

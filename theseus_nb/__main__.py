"""Command line: ``python -m theseus_nb build|run|graph|lab``.

``build`` compiles and links the default kernel and prints what it made;
``run`` also boots it in QEMU, runs shell commands and prints each
transcript, then halts the guest; ``graph`` draws the section graph into
docs/; ``lab`` opens the notebooks in JupyterLab, on this machine only.
Exit status 0 only if everything worked.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
from pathlib import Path

from .errors import TheseusError
from .image import Image
from .kernel import Kernel, repo_root

#: What ``run`` shows when no --cmd is given: a short tour of the shell.
DEFAULT_COMMANDS = ["help", "echo hello from theseus-nb", "cells", "deps fib::main", "fib 50", "uptime"]


def _print_build(image: Image) -> None:
    print(f"built {image.kernel_path} ({image.sizes['kernel.bin']} bytes) and "
          f"{image.archive_path} ({image.sizes['cells.img']} bytes)")
    for cell, seconds in image.build_times.items():
        print(f"  {cell:<20} {image.sizes[cell]:>8} bytes  {seconds * 1000:8.1f} ms")
    print(f"  {'(link)':<20} {'':>8}        {image.link_time * 1000:8.1f} ms")


def _build(args: argparse.Namespace) -> Image:
    image = Kernel.default().build(args.out)
    _print_build(image)
    return image


def _draw(out: Path) -> None:
    graph = Kernel.default().build().graph
    out.mkdir(parents=True, exist_ok=True)
    for fmt in ("svg",):
        graph.save(out / f"cells.{fmt}", view="cells", format=fmt)
        graph.save(out / f"sections.{fmt}", view="sections", format=fmt, hide_nano_core=True)
    print(f"drew {len(graph.cells)} cells, {len(graph.sections)} sections and "
          f"{len(graph.edges)} edges into {out}/cells.* and {out}/sections.*")


def _run(args: argparse.Namespace) -> int:
    image = _build(args)
    commands = args.cmd or DEFAULT_COMMANDS
    machine = None
    try:
        machine = image.boot(kvm=args.kvm, accel=args.accel,
                             boot_timeout=args.timeout)
        print(f"booted in QEMU (pid {machine.pid})")
        for command in commands:
            output = machine.command(command, timeout=args.timeout or 10.0)
            print(f"theseus> {command}")
            if output:
                print(output)
        status = machine.halt(0)
        print(f"halted; QEMU exit status {status}")
        return 0
    finally:
        if machine is not None:
            machine.shutdown()


def _lab(args: argparse.Namespace) -> int:
    """Replace this process with JupyterLab serving notebooks/ on localhost."""
    if importlib.util.find_spec("jupyterlab") is None:
        print("error: JupyterLab is not installed: run ./setup.sh, or "
              "pip install -e '.[lab]'", file=sys.stderr)
        return 1
    notebooks = repo_root() / "notebooks"
    argv = [sys.executable, "-m", "jupyterlab", f"--notebook-dir={notebooks}",
            # Only this machine: a notebook here can run anything on it.
            "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={args.port}"]
    if args.no_browser:
        argv.append("--no-browser")
    if os.geteuid() == 0:
        argv.append("--allow-root")  # containers and CI machines often run as root
    print(f"JupyterLab on http://127.0.0.1:{args.port}/lab, serving {notebooks} "
          "(Ctrl-C twice to stop)", flush=True)
    os.execv(sys.executable, argv)
    return 0  # not reached: execv does not return


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m theseus_nb``."""
    parser = argparse.ArgumentParser(prog="python -m theseus_nb", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="action", required=True)
    b = sub.add_parser("build", help="compile and link the default kernel")
    b.add_argument("--out", type=Path, default=Path("build"), help="output folder (default: build/)")
    r = sub.add_parser("run", help="build, boot, run shell commands, halt")
    r.add_argument("--out", type=Path, default=Path("build"), help="output folder (default: build/)")
    r.add_argument("--cmd", action="append", help="a shell command to run (repeatable)")
    r.add_argument("--kvm", action="store_true", help="use KVM instead of TCG (as --accel kvm)")
    r.add_argument("--accel", choices=["tcg", "kvm", "auto"], default=None,
                   help="tcg, kvm or auto (default: $THESEUS_NB_ACCEL, else tcg)")
    r.add_argument("--timeout", type=float, default=None,
                   help="seconds to wait for the boot and each command (default: 10 under TCG)")
    g = sub.add_parser("graph", help="draw the default kernel's section graph (SVG)")
    g.add_argument("--out", type=Path, default=Path("docs"), help="output folder (default: docs/)")
    lab = sub.add_parser("lab", help="open the notebooks in JupyterLab (localhost only)")
    lab.add_argument("--port", type=int, default=8888, help="port to serve on (default: 8888)")
    lab.add_argument("--no-browser", action="store_true", help="do not open a browser")
    args = parser.parse_args(argv)
    try:
        if args.action == "build":
            _build(args)
            return 0
        if args.action == "graph":
            _draw(args.out)
            return 0
        if args.action == "lab":
            return _lab(args)
        return _run(args)
    except TheseusError as exc:  # every error of ours says what went wrong and what to do
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())

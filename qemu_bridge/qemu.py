"""How QEMU is started: finding the binary and building its command line.

Building the command line is kept apart from running it (as the graphviz
package keeps building a graph apart from running `dot`), so it can be
shown and unit-tested without a QEMU.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

from .errors import BridgeError

__all__ = ["QemuConfig", "find_qemu", "QEMU_BINARY"]

QEMU_BINARY = "qemu-system-x86_64"

#: The port and width the nano_core writes its exit code to; QEMU then exits
#: with status (code << 1) | 1.
DEBUG_EXIT_DEVICE = "isa-debug-exit,iobase=0xf4,iosize=0x04"


def find_qemu(binary: str = QEMU_BINARY) -> str:
    """Return the full path of the QEMU binary, or raise a BridgeError saying how to install it."""
    path = shutil.which(binary)
    if path is None:
        raise BridgeError(
            f"{binary} not found: install it with "
            "`apt-get install qemu-system-x86` (or conda-forge qemu)"
        )
    return path


@dataclass
class QemuConfig:
    """Everything needed to boot one guest: the kernel image and how to run it."""

    kernel: Path
    archive: Path | None = None
    memory: str = "128M"
    kvm: bool = False
    extra_args: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        # Accept plain strings for convenience; the rest of the bridge relies on Path.
        self.kernel = Path(self.kernel)
        if self.archive is not None:
            self.archive = Path(self.archive)
        self.extra_args = list(self.extra_args)

    def argv(self, binary: str = QEMU_BINARY, *, host_socket: Path | None = None,
             ram_file: Path | None = None) -> list[str]:
        """Return QEMU's full command line (the binary's name first, not resolved on PATH).

        ``host_socket``: the Unix socket QEMU listens on for the host's channel
        (COM2); ``ram_file``: a file to hold the guest's RAM, shared with the
        host (guest_ram.py). The Machine passes both; without them the guest
        has a console only.
        """
        args = [binary, "-kernel", str(self.kernel)]
        if self.archive is not None:
            # -kernel with -initrd hands the archive to a Multiboot kernel as a module.
            args += ["-initrd", str(self.archive)]
        args += [
            "-m", self.memory,
            "-display", "none",
            # The serial line is QEMU's stdin/stdout, which pexpect holds as a
            # pty; signal=off: a Ctrl-C byte goes to the guest, not as a SIGINT
            # that ends QEMU.
            "-chardev", "stdio,id=console,signal=off",
            "-serial", "chardev:console",
            # No monitor multiplexed onto stdio: every byte on the line is the guest's.
            "-monitor", "none",
            # A triple fault ends QEMU instead of rebooting into the same fault forever.
            "-no-reboot",
            "-device", DEBUG_EXIT_DEVICE,
        ]
        if host_socket is not None:
            # COM2, the host's channel. QEMU does not wait for us (wait=off,
            # and so prints nothing about it); the guest says nothing on COM2
            # unasked, and the host connects before it asks.
            args += ["-chardev", f"socket,id=host,path={host_socket},server=on,wait=off",
                     "-serial", "chardev:host"]
        if ram_file is not None:
            args += ["-object", f"memory-backend-file,id=ram,size={self.memory},"
                                f"mem-path={ram_file},share=on",
                     "-machine", "memory-backend=ram"]
        if self.kvm:
            args += ["-enable-kvm", "-cpu", "host"]
        else:
            # TCG's default model (qemu64) has neither SMEP nor SMAP; "max" is
            # every feature TCG emulates, both included, so isolated cells
            # (kernel_src/gates.py) are protected under emulation too.
            args += ["-cpu", "max"]
        args += self.extra_args
        return args

    def check(self) -> None:
        """Raise a BridgeError if the kernel or archive file is missing."""
        for what, path in (("kernel", self.kernel), ("boot archive", self.archive)):
            if path is not None and not path.is_file():
                raise BridgeError(f"{what} image {path} does not exist: build it first "
                                  "(theseus_nb.Kernel.default().build())")

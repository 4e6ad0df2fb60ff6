"""How QEMU is started: finding the binary, choosing the accelerator, and
building its command line.

Building the command line is kept apart from running it (as the graphviz
package keeps building a graph apart from running `dot`), so it can be
shown and unit-tested without a QEMU.  The accelerator is "tcg" (QEMU
emulates the CPU; the default, and what the test suite uses), "kvm" (the
host's CPU runs the guest), or "auto": KVM when /dev/kvm opens and a probe
guest boots under it, else TCG.  THESEUS_NB_ACCEL chooses it for the tests,
the notebooks and the command line.
"""

from __future__ import annotations

import functools
import os
import shutil
import struct
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from .errors import BridgeError

__all__ = ["QemuConfig", "find_qemu", "QEMU_BINARY", "ACCELERATORS", "ACCEL_ENV", "CPU_MODEL",
           "accel_from_env", "kvm_usable", "resolve_accel"]

QEMU_BINARY = "qemu-system-x86_64"

#: The accelerators a QemuConfig accepts.
ACCELERATORS = ("tcg", "kvm", "auto")

#: The environment variable that chooses the accelerator (tests, notebooks, CLI).
ACCEL_ENV = "THESEUS_NB_ACCEL"

#: The CPU the guest sees, under either accelerator.  QEMU's default
#: (qemu64) lacks SSSE3 and SSE4.1, which wasm cells want for floor/ceil and
#: friends; SMEP and SMAP are what isolating cells from the kernel will need.
#: qemu64 plus exactly those is a CPU that TCG emulates in full and every
#: x86-64 sold since about 2015 has.  A named model would bring features TCG
#: lacks (it warns for each), and `-cpu host` fails on this project's KVM
#: host ("failed to set MSR 0x10a").  Under KVM, QEMU drops a feature the
#: host lacks and says so on stderr, before the guest's first byte.
CPU_MODEL = "qemu64,+ssse3,+sse4.1,+sse4.2,+popcnt,+smep,+smap"

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


def accel_from_env(default: str = "tcg") -> str:
    """The accelerator THESEUS_NB_ACCEL names (``default`` when it is unset);
    BridgeError for a name that is not one of ACCELERATORS."""
    value = os.environ.get(ACCEL_ENV, "").strip().lower() or default
    if value not in ACCELERATORS:
        raise BridgeError(f"{ACCEL_ENV}={os.environ.get(ACCEL_ENV)!r} is not an accelerator: "
                          f"use one of {', '.join(ACCELERATORS)}")
    return value


def _probe_kernel() -> bytes:
    # The smallest Multiboot kernel: a header with the address fields (flag
    # bit 16, so QEMU needs no ELF), then `out %eax, $0xf4` with eax = 0,
    # which isa-debug-exit turns into QEMU's exit status 1.  Loaded at 1 MiB.
    load, header = 0x100000, 32
    magic, flags = 0x1BADB002, 0x00010000
    code = bytes([0x31, 0xC0, 0xE7, 0xF4, 0xF4, 0xEB, 0xFD])   # xor eax,eax; out; hlt; jmp $-1
    end = load + header + len(code)
    fields = struct.pack("<8I", magic, flags, (-(magic + flags)) & 0xFFFFFFFF,
                         load, load, end, end, load + header)
    return fields + code


@functools.lru_cache(maxsize=None)
def kvm_usable(binary: str = QEMU_BINARY, timeout: float = 60.0) -> tuple[bool, str]:
    """(True, "") when /dev/kvm opens and a probe guest boots and exits under
    KVM; else (False, why).  Asked once per process."""
    try:
        os.close(os.open("/dev/kvm", os.O_RDWR))
    except OSError as exc:
        return False, f"/dev/kvm does not open: {exc.strerror}"
    path = shutil.which(binary)
    if path is None:
        return False, f"{binary} not found"
    with tempfile.TemporaryDirectory(prefix="theseus-nb-kvm-probe-") as tmp:
        kernel = Path(tmp) / "probe.bin"
        kernel.write_bytes(_probe_kernel())
        argv = QemuConfig(kernel, accel="kvm").argv(path)
        try:
            done = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True,
                                  timeout=timeout)
        except subprocess.TimeoutExpired:
            return False, f"a probe guest did not exit under KVM within {timeout:g} s"
    if done.returncode != 1:
        last = done.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["(nothing)"]
        return False, f"a probe guest under KVM ended with status {done.returncode}: {last[0]}"
    return True, ""


def resolve_accel(accel: str, binary: str = QEMU_BINARY) -> str:
    """"tcg" or "kvm" for ``accel`` ("auto" asks kvm_usable())."""
    if accel not in ACCELERATORS:
        raise BridgeError(f"unknown accelerator {accel!r}: use one of {', '.join(ACCELERATORS)}")
    if accel == "auto":
        return "kvm" if kvm_usable(binary)[0] else "tcg"
    return accel


@dataclass
class QemuConfig:
    """Everything needed to boot one guest: the kernel image and how to run it.

    ``accel`` is "tcg", "kvm" or "auto" (see the module's docstring); the old
    ``kvm=True`` still means "kvm".
    """

    kernel: Path
    archive: Path | None = None
    memory: str = "128M"
    kvm: bool = False
    extra_args: list[str] = field(default_factory=list)
    accel: str = "tcg"
    cpu: str = CPU_MODEL

    def __post_init__(self) -> None:
        # Accept plain strings for convenience; the rest of the bridge relies on Path.
        self.kernel = Path(self.kernel)
        if self.archive is not None:
            self.archive = Path(self.archive)
        self.extra_args = list(self.extra_args)
        if self.accel not in ACCELERATORS:
            raise BridgeError(f"unknown accelerator {self.accel!r}: use one of "
                              f"{', '.join(ACCELERATORS)}")
        if self.kvm:
            self.accel = "kvm"

    @property
    def accelerator(self) -> str:
        """The accelerator this guest runs with: "tcg" or "kvm" ("auto" decided)."""
        return resolve_accel(self.accel)

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
        # CPU_MODEL has SMEP and SMAP, which isolated cells rely on (kernel_src/gates.py).
        args += ["-accel", self.accelerator, "-cpu", self.cpu]
        args += self.extra_args
        return args

    def check(self) -> None:
        """Raise a BridgeError if the kernel or archive file is missing."""
        for what, path in (("kernel", self.kernel), ("boot archive", self.archive)):
            if path is not None and not path.is_file():
                raise BridgeError(f"{what} image {path} does not exist: build it first "
                                  "(theseus_nb.Kernel.default().build())")

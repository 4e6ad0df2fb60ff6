"""qemu_bridge: boot a kernel image in QEMU and drive it from Python, over two serial lines.

    with Machine.start(image.kernel_path) as m:
        m.command("echo hi")   # -> "hi"

A leaf: it imports nothing from theseus_nb. It runs QEMU, speaks the framed
protocol and returns text and bytes; theseus_nb gives them meaning.
"""

from .console_buffer import ConsoleBuffer
from .errors import (BootError, BridgeError, CommandInterrupted, CommandStopped, GuestExited,
                     GuestTimeout, ProtocolError)
from .evolution import KernelSwap, SwapError
from .machine import Machine
from .protocol import Reply
from .qemu import QemuConfig, accel_from_env, kvm_usable, resolve_accel

__all__ = ["Machine", "BridgeError", "BootError", "CommandInterrupted", "CommandStopped",
           "ConsoleBuffer", "GuestTimeout", "GuestExited", "ProtocolError",
           "KernelSwap", "QemuConfig", "Reply", "SwapError", "accel_from_env", "kvm_usable",
           "resolve_accel"]

"""qemu_bridge: boot a kernel image in QEMU and drive its serial console from Python.

    with Machine.start(image.kernel_path) as m:
        m.command("echo hi")   # -> "hi"
"""

from .errors import BootError, BridgeError, GuestExited, GuestTimeout, ProtocolError
from .evolution import SwapError, SwapReport
from .machine import Machine
from .qemu import QemuConfig
from .tasks import TaskList, TaskRecord

__all__ = ["Machine", "BridgeError", "BootError", "GuestTimeout", "GuestExited", "ProtocolError",
           "QemuConfig", "SwapError", "SwapReport", "TaskList", "TaskRecord"]

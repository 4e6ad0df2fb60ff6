"""Guest errors: what a running machine can do wrong, as theseus_nb errors.

The bridge (qemu_bridge) is a leaf and raises its own ``BridgeError``s. The
live kernel maps each into the class of the same name here, which derives
from both ``TheseusError`` and the bridge's class: ``except
tnb.TheseusError``, ``except tnb.GuestTimeout`` and ``except
qemu_bridge.GuestTimeout`` all catch it (the way httpx maps httpcore's
exceptions onto its own).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import qemu_bridge

from .errors import TheseusError

__all__ = ["MachineError", "BootError", "GuestTimeout", "CommandStopped", "GuestExited", "ProtocolError",
           "SwapError", "guest_errors"]


class MachineError(TheseusError, qemu_bridge.BridgeError):
    """A running machine went wrong; ``transcript`` holds what the guest printed."""


class BootError(MachineError, qemu_bridge.BootError):
    """The guest did not reach its prompt: QEMU exited first, or time ran out."""


class GuestTimeout(MachineError, qemu_bridge.GuestTimeout):
    """The guest did not answer in time."""


class CommandStopped(GuestTimeout, qemu_bridge.CommandStopped):
    """A command outlived its timeout and was stopped with Ctrl-C; the guest answers again."""


class GuestExited(MachineError, qemu_bridge.GuestExited):
    """QEMU exited while a command was running, or before it was sent."""


class ProtocolError(MachineError, qemu_bridge.ProtocolError):
    """A framed reply arrived damaged: its byte count or checksum is wrong."""


class SwapError(MachineError, qemu_bridge.SwapError):
    """A swap or load was refused (by the host's checks or the kernel); the guest is as it was."""


#: Most specific first: each bridge class and the class it becomes.
_MAPPING: tuple[tuple[type[qemu_bridge.BridgeError], type[MachineError]], ...] = (
    (qemu_bridge.BootError, BootError),
    (qemu_bridge.CommandStopped, CommandStopped),
    (qemu_bridge.GuestTimeout, GuestTimeout),
    (qemu_bridge.GuestExited, GuestExited),
    (qemu_bridge.ProtocolError, ProtocolError),
    (qemu_bridge.SwapError, SwapError),
    (qemu_bridge.BridgeError, MachineError),
)


@contextlib.contextmanager
def guest_errors() -> Iterator[None]:
    """Re-raise every bridge error inside the block as its theseus_nb class."""
    try:
        yield
    except MachineError:
        raise
    except qemu_bridge.BridgeError as exc:
        cls = next(new for old, new in _MAPPING if isinstance(exc, old))
        mapped = cls.__new__(cls)
        mapped.args = exc.args
        mapped.__dict__.update(exc.__dict__)  # transcript, exit_status
        # The bridge's frame is the interesting one; the mapping itself is noise.
        raise mapped.with_traceback(exc.__traceback__) from None

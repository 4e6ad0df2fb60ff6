"""The bridge's exceptions: one short tree under BridgeError.

Every error that concerns a guest carries the console transcript (or its
tail), so a failure in a notebook or a test shows what the guest said.
"""

from __future__ import annotations

import warnings

__all__ = ["BridgeError", "BootError", "GuestTimeout", "CommandStopped", "GuestExited",
           "ProtocolError", "CommandInterrupted"]

#: How much of a transcript an error message quotes; the full text stays
#: available on the exception's ``transcript`` attribute.
TAIL_CHARS = 2000


def tail(text: str, limit: int = TAIL_CHARS) -> str:
    """Return the last ``limit`` characters of ``text``, marked if cut."""
    if len(text) <= limit:
        return text
    return "[... " + str(len(text) - limit) + " earlier characters]\n" + text[-limit:]


class BridgeError(Exception):
    """Base of every qemu_bridge error (QEMU missing, guest trouble)."""

    def __init__(self, message: str, transcript: str = "", exit_status: int | None = None):
        self.transcript = transcript
        self.exit_status = exit_status
        if transcript:
            message = message + "\n--- console transcript (tail) ---\n" + tail(transcript)
        super().__init__(message)


class BootError(BridgeError):
    """The guest did not reach its prompt: QEMU exited first, or time ran out."""


class GuestTimeout(BridgeError):
    """The guest did not answer in time."""


class CommandStopped(GuestTimeout):
    """A command outlived its timeout and was stopped with Ctrl-C; the guest answers again."""


class GuestExited(BridgeError):
    """QEMU exited while a command was running, or before it was sent."""


class ProtocolError(BridgeError):
    """A framed reply arrived damaged: its byte count or checksum is wrong."""


class CommandInterrupted(UserWarning):
    """A warning, not an error: the previous command was abandoned before it
    answered, and the line was resynchronised before this one."""


# Each interruption is its own event: say so every time, not once per place.
warnings.simplefilter("always", CommandInterrupted)

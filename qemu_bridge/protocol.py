"""Protocol: the framed, machine-readable side of the guest's shell.

The host sends ``!ID COMMAND ARGS`` (the guest does not echo it); the guest
runs the command and ends its output with a trailer line

    "\\x1e!ID STATUS BYTES ADLER32"

where BYTES and ADLER32 cover the output without carriage returns (the
pty adds its own).  So a reply is never guessed from the prompt, and a
damaged one is detected.  kernel_src/shell.py is the other side.
"""

from __future__ import annotations

import itertools
import re
import zlib
from dataclasses import dataclass

__all__ = ["Reply", "RequestIds", "trailer_pattern", "parse_reply"]


@dataclass(frozen=True)
class Reply:
    """One answer of the guest: the command's exit status and its output."""

    status: int
    output: str

    @property
    def ok(self) -> bool:
        """True when the command returned status 0."""
        return self.status == 0


class RequestIds:
    """Request ids: small increasing numbers, so a late answer is recognised."""

    def __init__(self) -> None:
        self._next = itertools.count(1)

    def next(self) -> int:
        """A fresh id."""
        return next(self._next)


def trailer_pattern(request_id: int) -> str:
    """The regular expression of the trailer that ends reply ``request_id``."""
    return "\x1e!" + str(request_id) + r" (\d+) (\d+) (\d+)\r*\n"


def parse_reply(raw: str, status: str, count: str, checksum: str) -> Reply | str:
    """Check the output ``raw`` against its trailer's fields.

    Returns the Reply, or a sentence saying what is wrong with it.
    """
    body = raw.replace("\r", "")
    data = body.encode("utf-8", "surrogateescape")
    if len(data) != int(count):
        return f"reply has {len(data)} bytes but the guest sent {count}"
    if zlib.adler32(data) != int(checksum):
        return "reply checksum mismatch: bytes were lost or damaged on the serial line"
    return Reply(int(status), body.removesuffix("\n"))

"""HostChannel: the host's own line to the guest, COM2 on a Unix socket.

The console (COM1, console.py) is for people and for what tasks print;
requests and their framed replies travel here, where no task can write
(kernel_src/serial.py routes only the shell's output, and only while it
answers the host). QEMU listens on the socket; the Machine connects as soon as QEMU has
created it, long before it sends anything.

Reading goes through pexpect's ``fdspawn``, so waiting for a trailer is the
same ``expect`` as on any pexpect child; every byte read is also written to
the shared transcript.
"""

from __future__ import annotations

import select
import socket
import time
from collections.abc import Callable
from pathlib import Path

import pexpect
import pexpect.fdpexpect

from .console import Transcript

__all__ = ["HostChannel"]

_SEND_CHUNK = 4096
_SEND_SLICE = 0.1


class HostChannel:
    """A connected COM2: send text, expect what comes back."""

    def __init__(self, path: Path, transcript: Transcript, alive: Callable[[], bool],
                 timeout: float) -> None:
        """Connect to QEMU's socket at ``path`` (retrying while QEMU creates it,
        up to ``timeout`` s). ``alive`` says whether QEMU still runs."""
        self._alive = alive
        self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        deadline = time.monotonic() + timeout
        while True:
            try:
                self._socket.connect(str(path))
                break
            except (FileNotFoundError, ConnectionRefusedError):
                if not alive() or time.monotonic() > deadline:
                    self._socket.close()
                    raise pexpect.EOF(f"QEMU did not open its host channel {path}") from None
                time.sleep(0.01)
        self._socket.setblocking(False)
        self.child = pexpect.fdpexpect.fdspawn(self._socket, encoding="utf-8",
                                               codec_errors="replace", use_poll=True)
        self.child.logfile_read = transcript

    def send(self, text: str, timeout: float) -> None:
        """Write ``text`` within ``timeout`` s: pexpect.TIMEOUT if the guest
        takes nothing for that long, pexpect.EOF if QEMU is gone."""
        data = text.encode("utf-8")
        deadline = time.monotonic() + timeout
        while data:
            if not self._alive():
                raise pexpect.EOF("QEMU exited while the host was writing to it")
            wait = min(_SEND_SLICE, deadline - time.monotonic())
            if wait <= 0:
                raise pexpect.TIMEOUT(f"the guest took no input for {timeout:g} s")
            _, writable, _ = select.select([], [self._socket], [], wait)
            if not writable:
                continue
            try:
                data = data[self._socket.send(data[:_SEND_CHUNK]):]
            except BlockingIOError:
                continue
            except OSError:
                raise pexpect.EOF("the host channel closed while the host was writing") from None

    def expect_regex(self, pattern: str, timeout: float) -> tuple[str, tuple[str, ...]]:
        """Wait for the regular expression ``pattern``; what came before it and
        its groups. Raises pexpect.TIMEOUT or pexpect.EOF."""
        try:
            self.child.expect(pattern, timeout=timeout)
        except OSError:
            # QEMU died: a reset connection is its way of closing the line.
            raise pexpect.EOF("the host channel closed") from None
        return self.child.before, tuple(self.child.match.groups())

    def expect_eof(self, timeout: float) -> None:
        """Wait until QEMU closes the channel (it is exiting); pexpect.TIMEOUT if not."""
        try:
            self.child.expect(pexpect.EOF, timeout=timeout)
        except OSError:
            pass  # a reset connection: closed all the same

    def drain(self, quiet: float = 0.1, limit: float = 2.0) -> None:
        """Read (into the transcript) until the channel is quiet for ``quiet`` s."""
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            try:
                self.child.read_nonblocking(4096, timeout=quiet)
            except (pexpect.TIMEOUT, pexpect.EOF, OSError, ValueError):
                return

    def close(self) -> None:
        """Close the socket; idempotent."""
        try:
            self._socket.close()
        except OSError:
            pass

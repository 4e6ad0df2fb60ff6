"""Session: one conversation at a time with the guest's shell, over the host's channel.

Design note. The host sends ``!ID COMMAND`` on its own line (COM2,
host_channel.py; the guest does not echo it); the guest answers with the
command's output, then the trailer ``\\x1e!ID STATUS BYTES ADLER32`` (see
``protocol``). Nothing else is ever written on that line, so whatever tasks
print (on the console) cannot damage a reply. Two rules keep it unambiguous:

- one conversation at a time: ``self.lock`` is held for every exchange
  (requests, halts, resynchronisation), since widgets poll from other
  threads;
- a late answer is never taken for the next one. When a request outlives
  its timeout, the session sends Ctrl-C (byte 3), which makes the kernel
  end the running command with status 130, and waits a moment for that
  trailer: the shell is free again and the caller gets ``CommandStopped``.
  If even that does not come (the guest is stuck), or the wait was
  abandoned (KeyboardInterrupt), the session is out of sync, and the next
  exchange first resynchronises: it ends any half-sent line, sends a framed
  no-op (``echo``) with a fresh id and waits for *that* trailer. Whatever
  came before goes to the transcript; ids only grow, so nothing late can
  be taken for the next answer. A one-line ``CommandInterrupted`` warning
  says which command was abandoned.
"""

from __future__ import annotations

import contextlib
import threading
import warnings
from collections.abc import Callable, Iterator

import pexpect

from .console import Transcript
from .errors import CommandInterrupted, CommandStopped, GuestExited, GuestTimeout, ProtocolError
from .host_channel import HostChannel
from .protocol import Reply, RequestIds, parse_reply, trailer_pattern

__all__ = ["Session"]

#: Seconds to wait for a command's trailer once Ctrl-C was sent (the kernel stops a
#: command at once, unless it is in the middle of changing its tables).
STOP_GRACE = 1.0
CTRL_C = "\x03"


class Session:
    """The command discipline on top of a ``HostChannel``: framed requests and replies."""

    def __init__(self, channel: HostChannel, transcript: Transcript, prompt: str,
                 alive: Callable[[], bool], on_exit: Callable[[], GuestExited]) -> None:
        """Talk to the shell on ``channel``; ``on_exit`` reaps QEMU once it is
        found gone and returns the error to raise."""
        self.channel = channel
        self.transcript = transcript
        self.prompt = prompt
        #: Held for every exchange on the line.
        self.lock = threading.Lock()
        #: False from the first byte of a request until its trailer is back.
        self.in_sync = True
        self._ids = RequestIds()
        self._alive = alive
        self._on_exit = on_exit
        #: The request on the line (the one abandoned, when out of sync).
        self._current: str | None = None

    def request(self, text: str, timeout: float, stop_on_timeout: bool = True) -> Reply:
        """Send one framed request and return the guest's ``Reply``.

        Raises GuestTimeout (``CommandStopped`` when the command was stopped
        with Ctrl-C and the shell answers again), GuestExited or ProtocolError;
        on KeyboardInterrupt the next request resynchronises first.
        """
        if "\r" in text or "\n" in text:
            raise ValueError(f"command must be a single line, got {text!r}")
        with self.lock:
            self.ensure_ready(timeout)
            self.in_sync = False
            self._current = text
            request_id = self._ids.next()
            self.transcript.begin_line()
            self.transcript.write(self.prompt + text + "\r\n")  # the guest does not echo requests
            self.send(f"!{request_id} {text}\r", text, timeout)
            try:
                raw, fields = self._wait_trailer(request_id, text, timeout)
            except GuestTimeout:
                if not stop_on_timeout:
                    raise
                raw, fields = self._stop(request_id, text, timeout)
            self.in_sync = True
            self._current = None
        reply = parse_reply(raw, *fields)
        if isinstance(reply, str):
            raise ProtocolError(f"{text!r}: {reply}", self.transcript.text)
        return reply

    def _stop(self, request_id: int, text: str, timeout: float) -> tuple[str, tuple[str, ...]]:
        # The command outlived its timeout: Ctrl-C, then its trailer (status 130).
        self.send(CTRL_C, text, STOP_GRACE)
        try:
            self._wait_trailer(request_id, text, STOP_GRACE)
        except GuestTimeout:
            raise GuestTimeout(f"the guest did not answer {text!r} within {timeout:g} s, "
                               f"nor {STOP_GRACE:g} s after Ctrl-C", self.transcript.text) from None
        self.in_sync = True
        self._current = None
        raise CommandStopped(
            f"{text!r} did not finish within {timeout:g} s, so it was stopped (Ctrl-C); "
            "the shell answers again", self.transcript.text)

    def ensure_ready(self, timeout: float) -> None:
        """Make sure the guest is alive and the line in step (caller holds ``lock``)."""
        if not self._alive():
            raise self._on_exit()
        if not self.in_sync:
            what = "(resynchronise)"
            self.channel.drain(quiet=0.0, limit=0.2)
            request_id = self._ids.next()
            # Ctrl-C stops a command still running; "\r" ends a half-sent line.
            self.send(f"{CTRL_C}\r!{request_id} echo\r", what, timeout)
            self._wait_trailer(request_id, what, timeout)
            self.in_sync = True
            if self._current is not None:
                warnings.warn(CommandInterrupted(
                    f"the previous command {self._current!r} was interrupted before it "
                    "answered; its late output went to the transcript"), stacklevel=4)
                self._current = None

    def send(self, text: str, what: str, timeout: float) -> None:
        """Write to the guest within ``timeout`` s (caller holds ``lock``)."""
        with self._waiting(what, f"the guest stopped taking input during {what!r} "
                                 f"(nothing read for {timeout:g} s)"):
            self.channel.send(text, timeout)

    def wait_exit(self, what: str, timeout: float) -> None:
        """Wait for QEMU to close the channel (after ``halt``); GuestTimeout if it does not."""
        try:
            self.channel.expect_eof(timeout)
        except pexpect.TIMEOUT:
            raise GuestTimeout(f"QEMU did not exit within {timeout:g} s of {what!r}",
                               self.transcript.text) from None

    def _wait_trailer(self, request_id: int, what: str, timeout: float) -> tuple[str, tuple[str, ...]]:
        with self._waiting(what, f"the guest did not answer {what!r} within {timeout:g} s"):
            return self.channel.expect_regex(trailer_pattern(request_id), timeout)

    @contextlib.contextmanager
    def _waiting(self, what: str, late: str) -> Iterator[None]:
        # pexpect's two ways a wait ends badly, as the bridge's errors.
        try:
            yield
        except pexpect.TIMEOUT:
            raise GuestTimeout(late, self.transcript.text) from None
        except pexpect.EOF:
            raise self._on_exit() from None

"""Session: one conversation at a time with the guest's shell, over its serial line.

Design note. The host sends ``!ID COMMAND`` (not echoed by the guest); the
guest answers with the command's output, then the trailer
``\\x1e!ID STATUS BYTES ADLER32`` (see ``protocol``), then its prompt. Two
things keep that unambiguous:

- one conversation at a time: ``self.lock`` is held for every exchange on
  the line (requests, halts, resynchronisation), since widgets poll from
  other threads;
- we only speak at a prompt. When a request is abandoned (GuestTimeout, or
  KeyboardInterrupt while waiting), the guest may still answer later, so
  the session marks itself out of sync, and the next exchange first
  resynchronises: it ends any half-sent line, sends a framed no-op (``echo``)
  with a fresh id and waits for *that* trailer and the prompt after it.
  Whatever came before (the late answer, its trailer and prompt, the echo of
  the empty line) goes to the transcript; an id never matches an older
  reply, so nothing late can be taken for the next answer. A one-line
  ``CommandInterrupted`` warning says which command was abandoned. If the
  resynchronisation times out too, the guest has stopped answering.
"""

from __future__ import annotations

import contextlib
import threading
import warnings
from collections.abc import Callable, Iterator

import pexpect

from .console import Console
from .errors import CommandInterrupted, GuestExited, GuestTimeout, ProtocolError
from .protocol import Reply, RequestIds, parse_reply, trailer_pattern

__all__ = ["Session"]


class Session:
    """The command discipline on top of a ``Console``: framed requests at the prompt."""

    def __init__(self, console: Console, prompt: str, on_exit: Callable[[], None]) -> None:
        """Talk to the shell on ``console``; ``on_exit`` runs once QEMU is found gone."""
        self.console = console
        self.prompt = prompt
        #: Held for every exchange on the line.
        self.lock = threading.Lock()
        #: False from the first byte of a request until its prompt is back.
        self.in_sync = True
        self._ids = RequestIds()
        self._on_exit = on_exit
        #: The request on the line (the one abandoned, when out of sync).
        self._current: str | None = None

    def request(self, text: str, timeout: float, payload: str = "") -> Reply:
        """Send one framed request (plus ``payload``) and return the guest's ``Reply``.

        Raises GuestTimeout, GuestExited or ProtocolError; on any of them, or
        on KeyboardInterrupt, the next request resynchronises first.
        """
        if "\r" in text or "\n" in text:
            raise ValueError(f"command must be a single line, got {text!r}")
        with self.lock:
            self.ensure_ready(timeout)
            self.in_sync = False
            self._current = text
            request_id = self._ids.next()
            # Whatever the guest printed unasked (a task's crash report) goes
            # into the transcript before the request does, in the order it came.
            self.console.drain(quiet=0.0, limit=0.05)
            self.send(f"!{request_id} {text}\r" + payload, text, timeout)
            self.console.transcript.write(text + "\r\n")  # the guest does not echo requests
            raw, fields = self._wait_trailer(request_id, text, timeout)
            self.wait_prompt(text, timeout, after_trailer=True)
            self._current = None
        reply = parse_reply(raw, *fields)
        if isinstance(reply, str):
            raise ProtocolError(f"{text!r}: {reply}", self.console.transcript.text)
        return reply

    def ensure_ready(self, timeout: float) -> None:
        """Make sure the guest is alive and at a quiet prompt (caller holds ``lock``)."""
        if not self.console.alive:
            self.console.drain(quiet=0.0, limit=0.5)  # its last words, into the transcript
            raise GuestExited(
                f"QEMU has exited with status {self.console.exit_status}",
                self.console.transcript.text, self.console.exit_status,
            )
        if not self.in_sync:
            what = "(resynchronise)"
            self.console.drain()
            request_id = self._ids.next()
            # "\r" ends a half-sent line (the shell answers it as a person's).
            self.send(f"\r!{request_id} echo\r", what, timeout)
            self._wait_trailer(request_id, what, timeout)
            self.wait_prompt(what, timeout, after_trailer=True)
            if self._current is not None:
                warnings.warn(CommandInterrupted(
                    f"the previous command {self._current!r} was interrupted before it "
                    "answered; its late output went to the transcript"), stacklevel=4)
                self._current = None

    def send(self, text: str, what: str, timeout: float) -> None:
        """Write to the guest within ``timeout`` s (caller holds ``lock``)."""
        with self._waiting(what, f"the guest stopped taking input during {what!r} "
                                 f"(nothing read for {timeout:g} s)"):
            self.console.send(text, timeout)

    def wait_prompt(self, what: str, timeout: float, after_trailer: bool = False) -> str:
        """Wait for the prompt (caller holds ``lock``); out of sync until it comes."""
        self.in_sync = False
        # After a trailer the prompt follows at once, with no newline first.
        pattern = self.prompt if after_trailer else "\r\n" + self.prompt
        with self._waiting(what, f"the guest did not answer {what!r} with its prompt "
                                 f"within {timeout:g} s"):
            before = self.console.expect_exact(pattern, timeout)
        self.in_sync = True
        return before

    def exited_during(self, what: str) -> GuestExited:
        """QEMU closed the line while we waited: reap it, say so (raise the result)."""
        self.console.wait_exit(1.0)
        self.console.close()
        self._on_exit()
        return GuestExited(
            f"QEMU exited with status {self.console.exit_status} during {what!r}",
            self.console.transcript.text, self.console.exit_status,
        )

    def _wait_trailer(self, request_id: int, what: str, timeout: float) -> tuple[str, tuple[str, ...]]:
        with self._waiting(what, f"the guest did not answer {what!r} within {timeout:g} s"):
            return self.console.expect_regex(trailer_pattern(request_id), timeout)

    @contextlib.contextmanager
    def _waiting(self, what: str, late: str) -> Iterator[None]:
        # pexpect's two ways a wait ends badly, as the bridge's errors.
        try:
            yield
        except pexpect.TIMEOUT:
            raise GuestTimeout(late, self.console.transcript.text) from None
        except pexpect.EOF:
            raise self.exited_during(what) from None

"""The serial console: QEMU spawned under pexpect, its COM1 on our pty.

A Console knows bytes and processes, not commands: it spawns QEMU so that
the child dies with us, reads everything the console prints into a
``ConsoleBuffer`` (a thread of its own does, so a guest that prints a lot
never blocks on a full pty), keeps the transcript and reaps the child.
The host's requests go on the other line (host_channel.py); the Machine
builds the command discipline on top of both.
"""

from __future__ import annotations

import ctypes
import os
import re
import select
import signal
import sys
import threading
import time

import pexpect

from .bounded_text import BoundedText
from .console_buffer import ConsoleBuffer

__all__ = ["Console", "Transcript", "normalise_newlines"]

_LINE_END = re.compile(r"\r+\n")
#: send(): bytes per write, and how often a waiting writer checks that QEMU lives.
_SEND_CHUNK = 4096
_SEND_SLICE = 0.1
#: Trailer lines of framed replies: for the host, not for people reading.
_TRAILER = re.compile(r"\x1e![^\n]*\n")


def normalise_newlines(text: str) -> str:
    """Turn the line's "\r\n" (and the pty's "\r\r\n") into "\n"."""
    return _LINE_END.sub("\n", text)

#: prctl(2) option: signal delivered to the child when its parent thread dies.
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the forked child, before exec: ask Linux to SIGKILL QEMU when we die.

    This is what keeps a QEMU from being orphaned when the notebook kernel or
    a test run is killed outright (no atexit, no finalizer runs then). Linux
    ties the signal to the *thread* that forked, so Machines should be started
    from a long-lived thread (the main thread, as Jupyter cells are).
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass  # best effort: atexit and finalizers still cover ordinary exits
    # If the parent died between fork and prctl, the signal would never come.
    if os.getppid() == 1:
        os._exit(1)


class Transcript:
    """Everything read from both serial lines, in the order it came, capped
    to its last ``limit`` chars.

    pexpect writes into it as its ``logfile_read``, on the console's thread
    and on the host channel's. The guest echoes what a person types;
    framed requests are not echoed, so the Session writes the prompt and
    their command text in itself, and the transcript reads like a session
    at the shell either way.
    """

    def __init__(self, limit: int = 1 << 20):
        """An empty transcript keeping the last ``limit`` characters."""
        self._text = BoundedText(limit)
        self._lock = threading.Lock()

    def write(self, data: str) -> None:
        """Append data read from a line (the file protocol pexpect uses)."""
        with self._lock:
            self._text.append(data)

    def begin_line(self) -> None:
        """End the last line unless it is ended (before a request is written in)."""
        with self._lock:
            if self._text.end and not self._text.endswith("\n"):
                self._text.append("\r\n")

    def flush(self) -> None:
        """Nothing to flush; present because pexpect calls it."""

    @property
    def text(self) -> str:
        """The transcript as a person would read it: "\\r\\n" turned into
        "\\n", and the framed replies' trailer lines left out."""
        with self._lock:
            raw = self._text.text()
        return _TRAILER.sub("", normalise_newlines(raw))


class Console:
    """One QEMU process on a pty, read and written through pexpect."""

    def __init__(self, argv: list[str], transcript: Transcript | None = None):
        """Spawn ``argv`` (QEMU's command line) with its stdio on a new pty."""
        self.transcript = transcript if transcript is not None else Transcript()
        self._exit_status: int | None = None
        self._reap_lock = threading.RLock()
        self.child = pexpect.spawn(
            argv[0], argv[1:],
            encoding="utf-8", codec_errors="replace",
            # QEMU puts the tty in raw mode itself, but only once it is up;
            # echo off from the start keeps the pty from echoing on its own.
            echo=False,
            preexec_fn=_die_with_parent,
        )
        self.child.logfile_read = self.transcript
        self.child.delayafterclose = 0.0
        # pexpect sleeps 50 ms before every send by default (for slow
        # terminals): our guest reads its UART as fast as we can write.
        self.child.delaybeforesend = None
        self.child.delayafterterminate = 0.05
        # Our own send() must never block (see send); pexpect reads after select().
        os.set_blocking(self.child.child_fd, False)
        #: What the console printed, live (fed by the thread below).
        self.output = ConsoleBuffer()
        self._reader = threading.Thread(target=self._pump, name="qemu-console", daemon=True)
        self._reader.start()

    def _pump(self) -> None:
        # The console's reader: everything COM1 prints goes into the buffer
        # (and, through logfile_read, the transcript) as soon as it comes.
        fd = self.child.child_fd
        while True:
            try:
                readable, _, _ = select.select([fd], [], [], 0.2)
            except (OSError, ValueError):
                break                              # the pty was closed (kill)
            if not readable:
                continue
            with self._reap_lock:
                if self.child.closed:
                    break
                try:
                    data = self.child.read_nonblocking(65536, timeout=0)
                except pexpect.TIMEOUT:
                    continue
                except (pexpect.EOF, OSError, ValueError):
                    break
            self.output.feed(data)
        self.output.end("QEMU exited")

    @property
    def pid(self) -> int:
        """QEMU's process id."""
        return self.child.pid

    @property
    def alive(self) -> bool:
        """True while QEMU runs; checking also reaps it once it has exited."""
        # Widgets ask from other threads while a command may be reaping:
        # waitpid must happen once, under this lock.  pexpect itself calls
        # waitpid while it reads (at EOF), so the reading thread holds the
        # lock too; meanwhile the answer is "alive" (or the status, if known).
        if not self._reap_lock.acquire(blocking=False):
            return self._exit_status is None
        try:
            if self._exit_status is not None:
                return False
            if self.child.isalive():
                return True
            self._record_status()
            return False
        finally:
            self._reap_lock.release()

    @property
    def exit_status(self) -> int | None:
        """QEMU's exit status once reaped; -N if a signal N ended it."""
        if self._exit_status is None:
            _ = self.alive
        return self._exit_status

    def send(self, text: str, timeout: float | None = None) -> None:
        """Write text to the guest's serial line as is.

        A guest that stops reading (hung, or stopped) fills the pty and a
        plain write would block for ever: this one gives up after
        ``timeout`` s with pexpect.TIMEOUT, and raises pexpect.EOF as soon as
        QEMU is found gone, so no caller waits past its own deadline.
        """
        data = text.encode("utf-8")
        fd = self.child.child_fd
        deadline = None if timeout is None else time.monotonic() + timeout
        while data:
            if not self.alive:
                raise pexpect.EOF("QEMU exited while the host was writing to it")
            wait = _SEND_SLICE if deadline is None else min(_SEND_SLICE, deadline - time.monotonic())
            if wait <= 0:
                raise pexpect.TIMEOUT(f"the guest took no input for {timeout:g} s")
            _, writable, _ = select.select([], [fd], [], wait)
            if not writable:
                continue
            try:
                # Non-blocking, so a write takes only what the pty has room for.
                data = data[os.write(fd, data[:_SEND_CHUNK]):]
            except BlockingIOError:
                continue
            except OSError:
                raise pexpect.EOF("the serial line closed while the host was writing") from None

    def wait_exit(self, timeout: float) -> int | None:
        """Poll up to ``timeout`` s for QEMU to exit by itself; reap it; return its status."""
        deadline = time.monotonic() + timeout
        while self.alive:
            if time.monotonic() >= deadline:
                return None
            time.sleep(0.01)
        return self._exit_status

    def kill(self) -> int | None:
        """End QEMU now (SIGTERM, then SIGKILL), reap it, close the pty; idempotent."""
        with self._reap_lock:
            if self.alive:
                # terminate(force=True) escalates through SIGHUP/SIGINT to SIGKILL and reaps.
                self.child.terminate(force=True)
            self.close()
        return self.exit_status

    def close(self) -> None:
        """Close the pty and reap QEMU; QEMU must already have exited or be killed here."""
        with self._reap_lock:
            if not self.child.closed:
                try:
                    self.child.close(force=True)
                except pexpect.ExceptionPexpect:
                    pass  # raised if the child survived even SIGKILL; status stays None
            self._record_status()

    def _record_status(self) -> None:
        # pexpect fills these in when isalive()/close() reaps the child.
        if self._exit_status is not None or not self.child.terminated:
            return
        if self.child.exitstatus is not None:
            self._exit_status = self.child.exitstatus
        elif self.child.signalstatus is not None:
            self._exit_status = -self.child.signalstatus

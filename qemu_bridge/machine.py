"""Machine: one booted guest: QEMU's life cycle and the kernel's verbs.

The conversation on the serial line is the ``Session``'s (session.py); a
Machine starts QEMU, asks the kernel things (``command``, ``query``,
``spawn``, ``kill``, ``upload``, ``swap_uploaded``) and ends QEMU. It moves
text and bytes only: what they mean to the host (the section graph, the
task table as records, compiling for a swap) is theseus_nb's.

No QEMU outlives its Machine: every path that ends QEMU reaps it (no
zombies); a Machine left running is halted by the atexit hook, killed by
its weakref finalizer if garbage-collected first, and killed by Linux
(PR_SET_PDEATHSIG, see console.py) if Python itself is killed.
"""

from __future__ import annotations

import atexit
import html
import os
import signal
import weakref
from pathlib import Path
from typing import Any

import pexpect

from .console import Console
from .errors import BootError, BridgeError, GuestTimeout
from .evolution import KernelSwap, SwapError, parse_swap_output, upload_payload
from .protocol import Reply
from .qemu import QemuConfig, find_qemu
from .session import Session

__all__ = ["Machine"]

DEFAULT_PROMPT = "theseus> "

#: Machines still running, so the atexit hook can halt them cleanly.
_running: "weakref.WeakSet[Machine]" = weakref.WeakSet()


@atexit.register
def _shutdown_all() -> None:
    # A clean halt at interpreter exit; the per-machine finalizers and
    # PDEATHSIG cover the cases where this does not get to run.
    for machine in list(_running):
        try:
            machine.shutdown(timeout=1.0)
        except Exception:
            pass


def _forget(ref: "weakref.ref[Machine]") -> None:
    # QEMU has gone: the atexit hook has nothing left to halt.
    machine = ref()
    if machine is not None:
        _running.discard(machine)


def _kill_console(console: Console) -> None:
    # weakref.finalize callback: it must not refer to the Machine itself.
    try:
        console.kill()
    except Exception:
        pass


class Machine:
    """A running QEMU guest at its shell prompt. Create with Machine.start()."""

    def __init__(self, config: QemuConfig, console: Console, prompt: str):
        """Wrap an already spawned console; use Machine.start() instead."""
        self.config = config
        self.prompt = prompt
        self._console = console
        # A weak reference: the session must not keep its Machine alive.
        me = weakref.ref(self)
        self._session = Session(console, prompt, on_exit=lambda: _forget(me))
        self._finalizer = weakref.finalize(self, _kill_console, console)
        # At interpreter exit the atexit hook halts the guest cleanly; the
        # finalizer (a kill) is only for machines garbage-collected earlier.
        self._finalizer.atexit = False
        _running.add(self)

    # --- life cycle -------------------------------------------------------

    @classmethod
    def start(
        cls,
        config_or_kernel_path: QemuConfig | Path | str,
        *,
        boot_timeout: float = 10.0,
        prompt: str = DEFAULT_PROMPT,
    ) -> "Machine":
        """Boot QEMU and wait for the guest's prompt.

        Raises BootError (with the transcript, and QEMU's exit status if it
        exited) when the prompt does not come within ``boot_timeout``
        seconds; QEMU is gone by then. Raises BridgeError if QEMU or the
        kernel image is missing.
        """
        if isinstance(config_or_kernel_path, QemuConfig):
            config = config_or_kernel_path
        else:
            config = QemuConfig(Path(config_or_kernel_path))
        config.check()
        argv = config.argv(find_qemu())
        console = Console(argv)
        try:
            console.expect_exact(prompt, timeout=boot_timeout)
        except pexpect.EOF:
            console.wait_exit(1.0)
            console.kill()
            raise BootError(
                f"QEMU exited with status {console.exit_status} before the guest "
                f"printed its prompt {prompt!r}\ncommand line: {' '.join(argv)}",
                console.transcript.text, console.exit_status,
            ) from None
        except pexpect.TIMEOUT:
            console.kill()
            raise BootError(
                f"the guest did not print its prompt {prompt!r} within "
                f"{boot_timeout:g} s (QEMU was killed)\ncommand line: {' '.join(argv)}",
                console.transcript.text, console.exit_status,
            ) from None
        except BaseException:
            console.kill()  # e.g. KeyboardInterrupt during boot: leave no QEMU behind
            raise
        return cls(config, console, prompt)

    def __enter__(self) -> "Machine":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.shutdown()

    def shutdown(self, timeout: float = 3.0) -> int | None:
        """Halt the guest cleanly, killing QEMU if it does not stop in ``timeout`` s.

        Idempotent; returns QEMU's exit status (negative: killed by that signal).
        """
        lock = self._session.lock
        if not lock.acquire(timeout=timeout):
            # Another thread holds the line (a command waiting on a hung
            # guest). Two readers on one pty would steal each other's bytes,
            # so kill QEMU instead: that thread sees EOF, raises GuestExited
            # and lets go of the lock.
            # (Not self.alive: reaping is that thread's job now.)
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            lock.acquire()
        try:
            if self._console.alive:
                try:
                    # A leading "\r" ends any half-typed line of an abandoned command.
                    self._console.send("halt\r" if self._session.in_sync else "\rhalt\r", timeout)
                    self._console.expect_eof(timeout)
                    self._console.wait_exit(1.0)
                except (pexpect.TIMEOUT, pexpect.EOF, OSError):
                    pass
            self._console.kill()
        finally:
            lock.release()
            _running.discard(self)
            self._finalizer.detach()
        return self._console.exit_status

    def halt(self, status: int = 0, timeout: float = 5.0) -> int:
        """Run the guest's ``halt N``; return QEMU's exit status, (N << 1) | 1."""
        with self._session.lock:
            self._session.ensure_ready(timeout)
            self._session.in_sync = False
            self._session.send(f"halt {status}\r", f"halt {status}", timeout)
            try:
                self._console.expect_eof(timeout)
            except pexpect.TIMEOUT:
                raise GuestTimeout(
                    f"QEMU did not exit within {timeout:g} s of 'halt {status}'",
                    self.transcript,
                ) from None
            self._console.wait_exit(1.0)
            self._console.close()
            _running.discard(self)
            code = self._console.exit_status
            assert code is not None  # reaped by close()
            return code

    # --- commands ---------------------------------------------------------

    def command(self, text: str, timeout: float = 5.0) -> str:
        """Run one shell command and return only its output.

        Uses the framed protocol (see ``protocol``), so the output is exactly
        what the command printed, "\\n"-separated, without a trailing
        newline. Raises GuestTimeout if the guest does not answer within
        ``timeout`` s, GuestExited if QEMU exits (e.g. after ``halt``),
        ProtocolError if the reply arrives damaged. On KeyboardInterrupt the
        command is abandoned and the next call resynchronises.
        """
        return self.request(text, timeout).output

    def request(self, text: str, timeout: float = 5.0, payload: str = "") -> Reply:
        """Run one shell command; return its status and output as a ``Reply``.

        ``payload`` is sent right after the command line, for commands that
        read more input (``upload``).
        """
        return self._session.request(text, timeout, payload)

    def query(self, command: str, timeout: float = 5.0) -> str:
        """The output of a machine-readable command (``graph``, ``tasks``);
        BridgeError if the guest says it failed."""
        reply = self.request(command, timeout)
        if not reply.ok:
            raise BridgeError(f"the guest's {command} command failed with status {reply.status}: "
                              f"{reply.output.strip()}", self.transcript)
        return reply.output

    def spawn(self, name: str, arg: int | None = None, timeout: float = 5.0, *,
              stack: int | None = None) -> int:
        """Start ``"cell::function"`` (a public ``(u64) -> u64`` function) as a
        task with ``arg`` (0 if None) on a stack of ``stack`` bytes (the
        kernel's default if None); return its id. BridgeError if it cannot start."""
        if not name or any(c.isspace() for c in name) or "::" not in name:
            raise ValueError(f"spawn needs 'cell::function' without spaces, got {name!r}")
        words = f"spawn {name}" + ("" if arg is None and stack is None else f" {int(arg or 0)}")
        if stack is not None:
            if int(stack) <= 0:
                raise ValueError(f"stack must be a positive number of bytes, got {stack!r}")
            words += f" {int(stack)}"
        reply = self.request(words, timeout)
        if not reply.ok:
            raise BridgeError(f"spawn {name}: {reply.output.strip()}", self.transcript)
        return int(reply.output.split()[0])

    def kill(self, task_id: int, timeout: float = 5.0) -> None:
        """End task ``task_id`` now; BridgeError if there is no such live task."""
        reply = self.request(f"kill {int(task_id)}", timeout)
        if not reply.ok:
            raise BridgeError(reply.output.strip() or f"kill {task_id} failed", self.transcript)

    # --- live evolution (kernel_src/upload.py, swap.py) -------------------

    def upload(self, name: str, data: bytes, timeout: float = 30.0) -> Reply:
        """Send an object to the guest under ``name``; the guest keeps it for a swap."""
        args, payload = upload_payload(data)
        return self.request(f"upload {name} {args}", timeout, payload=payload)

    def swap_uploaded(self, names: list[str], *, load: bool = False,
                      timeout: float = 30.0) -> KernelSwap:
        """Swap the objects uploaded under ``names`` in, as one transaction
        (``load``: add them as new cells instead); return the kernel's figures.
        SwapError, with the guest unchanged, if the kernel refuses."""
        verb = "load" if load else "swap"
        reply = self.request(f"{verb} " + " ".join(names), timeout)
        if not reply.ok:
            raise SwapError(f"{verb} of {', '.join(names)} refused by the kernel: "
                            f"{reply.output.strip()}", self.transcript)
        return parse_swap_output(reply.output)

    # --- state ------------------------------------------------------------

    @property
    def transcript(self) -> str:
        """Everything seen on the serial line so far ("\\r\\n" as "\\n")."""
        return self._console.transcript.text

    @property
    def alive(self) -> bool:
        """True while QEMU is running."""
        return self._console.alive

    @property
    def exit_status(self) -> int | None:
        """QEMU's exit status once it has stopped (negative: killed by that signal)."""
        return self._console.exit_status

    @property
    def pid(self) -> int:
        """QEMU's process id."""
        return self._console.pid

    def __repr__(self) -> str:
        state = "running" if self.alive else f"exited {self.exit_status}"
        return f"<Machine pid={self.pid} {state} kernel={str(self.config.kernel)!r}>"

    def _repr_html_(self) -> str:
        """A small status block for Jupyter: pid, state, last console lines."""
        state = "running" if self.alive else f"exited with status {self.exit_status}"
        lines = "\n".join(self.transcript.splitlines()[-12:])
        return (
            f"<div><b>QEMU</b> pid {self.pid}: {html.escape(state)}<br>"
            f"kernel <code>{html.escape(str(self.config.kernel))}</code>"
            f"<pre style='max-height:14em;overflow:auto'>{html.escape(lines)}</pre></div>"
        )

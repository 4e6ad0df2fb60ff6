"""Machine: one booted guest, driven one command at a time over its serial line.

Design note. The line carries the guest's echo of what we type, then the
command's output, then the prompt. A command is therefore "send TEXT\\r,
wait for \\r\\n + prompt, drop the first (echoed) line". Two things must stay
true for that to be unambiguous:

- one conversation at a time: ``self._lock`` is held for every exchange on
  the line (commands, halts, resynchronisation), since widgets poll from
  other threads;
- we only speak at a prompt. When a command is abandoned (GuestTimeout, or
  KeyboardInterrupt while waiting), the guest may still answer later, so the
  machine marks itself out of sync and the next exchange first sends an
  empty line and waits for a quiet prompt, discarding the late output into
  the transcript. If that fails too, the guest has stopped answering.

A command whose *output* contains "\\r\\n" followed by the prompt text would
end early; the framed protocol of a later issue removes that ambiguity.

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
import threading
import time
import weakref
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pexpect

from .console import Console, normalise_newlines
from .errors import BootError, BridgeError, GuestExited, GuestTimeout, ProtocolError
from .evolution import SwapError, SwapReport, parse_swap_output, section_changes, upload_payload
from .protocol import Reply, RequestIds, parse_reply, trailer_pattern
from .tasks import TaskList, TaskRecord, parse_tasks
from .qemu import QemuConfig, find_qemu

if TYPE_CHECKING:
    from theseus_nb.graph import SectionGraph

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
        self._lock = threading.Lock()
        self._in_sync = True
        self._ids = RequestIds()
        #: The Image this machine booted (set by Image.boot); swaps compile against it.
        self.image: Any = None
        #: The current object of each cell swapped or loaded since boot.
        self.live_cells: dict[str, Any] = {}
        #: The report of the latest swap, for views that highlight it.
        self.last_swap: SwapReport | None = None
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
        got_lock = self._lock.acquire(timeout=timeout)
        if not got_lock:
            # Another thread holds the line (a command waiting on a hung
            # guest). Two readers on one pty would steal each other's bytes,
            # so kill QEMU instead: that thread sees EOF, raises GuestExited
            # and lets go of the lock.
            # (Not self.alive: reaping is that thread's job now.)
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self._lock.acquire()
            got_lock = True
        try:
            if self._console.alive:
                try:
                    # A leading "\r" ends any half-typed line of an abandoned command.
                    self._console.send("halt\r" if self._in_sync else "\rhalt\r")
                    self._console.expect_eof(timeout)
                    self._console.wait_exit(1.0)
                except (pexpect.TIMEOUT, pexpect.EOF, OSError):
                    pass
            self._console.kill()
        finally:
            if got_lock:
                self._lock.release()
            _running.discard(self)
            self._finalizer.detach()
        return self._console.exit_status

    def halt(self, status: int = 0, timeout: float = 5.0) -> int:
        """Run the guest's ``halt N``; return QEMU's exit status, (N << 1) | 1."""
        with self._lock:
            self._ensure_ready(timeout)
            self._in_sync = False
            self._console.send(f"halt {status}\r")
            try:
                self._console.expect_eof(timeout)
            except pexpect.TIMEOUT:
                self._in_sync = False
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
        what the command printed, "\n"-separated, without a trailing
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
        if "\r" in text or "\n" in text:
            raise ValueError(f"command must be a single line, got {text!r}")
        with self._lock:
            self._ensure_ready(timeout)
            # Out of sync from the first byte sent until the prompt is back,
            # so an interrupt anywhere in between leads to a resync.
            self._in_sync = False
            request_id = self._ids.next()
            # Whatever the guest printed unasked (a task's crash report) goes
            # into the transcript before the request does, in the order it came.
            self._console.drain(quiet=0.0, limit=0.05)
            self._console.send(f"!{request_id} {text}\r" + payload)
            self._console.transcript.write(text + "\r\n")  # the guest does not echo requests
            raw, fields = self._wait_trailer(request_id, text, timeout)
            self._wait_prompt(text, timeout, after_trailer=True)
        reply = parse_reply(raw, *fields)
        if isinstance(reply, str):
            raise ProtocolError(f"{text!r}: {reply}", self.transcript)
        return reply

    def _wait_trailer(self, request_id: int, what: str, timeout: float) -> tuple[str, tuple[str, ...]]:
        # Caller holds self._lock.
        try:
            raw, fields = self._console.expect_regex(trailer_pattern(request_id), timeout)
        except pexpect.TIMEOUT:
            raise GuestTimeout(
                f"the guest did not answer {what!r} within {timeout:g} s",
                self.transcript,
            ) from None
        except pexpect.EOF:
            raise self._exited_during(what) from None
        return raw, fields

    def _exited_during(self, what: str) -> GuestExited:
        # QEMU closed the line while we waited: reap it, forget it, say so.
        self._console.wait_exit(1.0)
        self._console.close()
        _running.discard(self)
        return GuestExited(
            f"QEMU exited with status {self._console.exit_status} during {what!r}",
            self.transcript, self._console.exit_status,
        )

    def _ensure_ready(self, timeout: float) -> None:
        # Caller holds self._lock.
        if not self._console.alive:
            self._console.drain(quiet=0.0, limit=0.5)  # its last words, into the transcript
            raise GuestExited(
                f"QEMU has exited with status {self._console.exit_status}",
                self.transcript, self._console.exit_status,
            )
        if not self._in_sync:
            self._console.drain()
            self._console.send("\r")
            self._wait_prompt("(resynchronise: empty line)", timeout)
            self._console.drain()  # anything still late lands in the transcript

    def _wait_prompt(self, what: str, timeout: float, after_trailer: bool = False) -> str:
        # Caller holds self._lock. Marks the line out of sync until a prompt is seen.
        self._in_sync = False
        try:
            # After a trailer the prompt follows at once, with no newline first.
            pattern = self.prompt if after_trailer else "\r\n" + self.prompt
            before = self._console.expect_exact(pattern, timeout)
        except pexpect.TIMEOUT:
            raise GuestTimeout(
                f"the guest did not answer {what!r} with its prompt within {timeout:g} s",
                self.transcript,
            ) from None
        except pexpect.EOF:
            raise self._exited_during(what) from None
        self._in_sync = True
        return before

    # --- the kernel's view of itself -----------------------------------------

    def graph(self, timeout: float = 30.0) -> "SectionGraph":
        """The live section-dependency graph, as the kernel's loader recorded it."""
        from theseus_nb.graph import SectionGraph  # drawn by the same code as the build-time graph

        return SectionGraph.from_dump(self._query("graph", timeout))

    # --- tasks (kernel_src/task.py; parsing in tasks.py) ---------------------

    def tasks(self, timeout: float = 5.0) -> TaskList:
        """The kernel's task table, one TaskRecord a task (renders as a table)."""
        return parse_tasks(self._query("tasks", timeout))

    def _query(self, command: str, timeout: float) -> str:
        # A machine-readable command: its output, or BridgeError if it failed.
        reply = self.request(command, timeout)
        if not reply.ok:
            raise BridgeError(f"the guest's {command} command failed with status {reply.status}",
                              self.transcript)
        return reply.output

    def spawn(self, name: str, arg: int | None = None, timeout: float = 5.0) -> int:
        """Start ``"cell::function"`` (a public ``(u64) -> u64`` function) as a
        task with ``arg`` (0 if None); return its id. BridgeError if it cannot start."""
        if not name or any(c.isspace() for c in name) or "::" not in name:
            raise ValueError(f"spawn needs 'cell::function' without spaces, got {name!r}")
        reply = self.request(f"spawn {name}" + ("" if arg is None else f" {int(arg)}"), timeout)
        if not reply.ok:
            raise BridgeError(f"spawn {name}: {reply.output.strip()}", self.transcript)
        return int(reply.output.split()[0])

    def kill(self, task_id: int, timeout: float = 5.0) -> None:
        """End task ``task_id`` now; BridgeError if there is no such live task."""
        reply = self.request(f"kill {int(task_id)}", timeout)
        if not reply.ok:
            raise BridgeError(reply.output.strip() or f"kill {task_id} failed", self.transcript)

    # --- live evolution ---------------------------------------------------

    def upload(self, name: str, data: bytes, timeout: float = 30.0) -> Reply:
        """Send an object to the guest under ``name`` (see kernel_src/upload.py)."""
        args, payload = upload_payload(data)
        return self.request(f"upload {name} {args}", timeout, payload=payload)

    def swap(self, name: str, source: str | None = None, *, data: bytes | None = None,
             unsafe: bool = False, timeout: float = 30.0) -> SwapReport:
        """Replace cell ``name`` in the running kernel with new ``source``
        (cell-language text) or an already compiled object ``data``.

        Returns a SwapReport. Raises ``theseus_nb.lang.CellError`` when the
        source does not compile, and SwapError when the kernel refuses the
        swap; in both cases the guest is exactly as it was.
        """
        return self.swap_many({name: source if data is None else data}, unsafe=unsafe,
                              timeout=timeout)

    def swap_many(self, cells: "dict[str, str | bytes]", *, unsafe: bool = False,
                  timeout: float = 30.0) -> SwapReport:
        """Swap several cells as one transaction (all or nothing)."""
        return self._evolve("swap", cells, unsafe, timeout)

    def load(self, name: str, source: str | None = None, *, data: bytes | None = None,
             unsafe: bool = False, timeout: float = 30.0) -> SwapReport:
        """Add a new cell to the running kernel (same arguments as ``swap``)."""
        return self._evolve("load", {name: source if data is None else data}, unsafe, timeout)

    def _evolve(self, verb: str, cells: "dict[str, str | bytes]", unsafe: bool,
                timeout: float) -> SwapReport:
        from theseus_nb.evolve import compile_for_swap_many  # the compiler is upstream of the bridge

        start = time.perf_counter()
        objects = compile_for_swap_many(self, cells, unsafe)
        compiled = time.perf_counter()
        for name, obj in objects.items():
            reply = self.upload(name, obj.data, timeout)
            if not reply.ok:
                raise SwapError(f"upload of {name!r} refused: {reply.output}", self.transcript)
        uploaded = time.perf_counter()
        reply = self.request(f"{verb} " + " ".join(objects), timeout)
        done = time.perf_counter()
        if not reply.ok:
            raise SwapError(f"{verb} of {', '.join(objects)} refused by the kernel: "
                            f"{reply.output.strip()}", self.transcript)
        report = SwapReport(cells=list(objects))
        for name, obj in objects.items():
            old = self.live_cells.get(name)
            if old is None and self.image is not None:
                old = next((c for c in self.image.cells if c.cell == name), None)
            added, removed, changed = section_changes(old, obj)
            report.sections_added += added
            report.sections_removed += removed
            report.sections_changed += changed
            self.live_cells[name] = obj
        parse_swap_output(reply.output, report)
        report.compile_s = compiled - start
        report.upload_s = uploaded - compiled
        report.swap_s = done - uploaded
        report.total_s = done - start
        self.last_swap = report
        return report

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

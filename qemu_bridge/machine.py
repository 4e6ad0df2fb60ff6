"""Machine: one booted guest: QEMU's life cycle and the kernel's verbs.

A guest has two serial lines. The console (COM1, console.py) is what people
type and what the kernel and its tasks print; ``Machine.console`` is a
live, bounded buffer of it. The host's requests and replies travel on a
line of their own (COM2, host_channel.py) that no task can print on, so a
task printing never damages a reply; the conversation on it is the
``Session``'s (session.py). Uploads travel through the guest's RAM, which
the host maps too (guest_ram.py). A Machine starts QEMU, asks the kernel
things (``command``, ``query``, ``spawn``, ``kill``, ``upload``,
``swap_uploaded``) and ends QEMU. It moves text and bytes only: what they
mean to the host (the section graph, the task table as records, compiling
for a swap) is theseus_nb's.

No QEMU outlives its Machine: every path that ends QEMU reaps it (no
zombies); a Machine left running is halted by the atexit hook, killed by
its weakref finalizer if garbage-collected first, and killed by Linux
(PR_SET_PDEATHSIG, see console.py) if Python itself is killed.
"""

from __future__ import annotations

import atexit
import html
import os
import re
import shutil
import signal
import tempfile
import weakref
import zlib
from pathlib import Path
from typing import Any

import pexpect

from .console import Console
from .console_buffer import ConsoleBuffer
from .errors import BootError, BridgeError, GuestExited, GuestTimeout
from .evolution import KernelSwap, SwapError, parse_swap_output
from .faults import FaultLog, parse_faults
from .guest_ram import GuestRam, memory_bytes
from .host_channel import HostChannel
from .protocol import Reply
from .qemu import QemuConfig, find_qemu
from .session import Session

__all__ = ["Machine", "MAX_RESTARTS"]

#: The most restarts a restartable task may ask for (kernel_src/params.py MAX_RESTARTS).
MAX_RESTARTS = 1000

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


def _kill_console(console: Console, channel: HostChannel, ram: GuestRam, folder: str) -> None:
    # weakref.finalize callback: it must not refer to the Machine itself.
    try:
        console.kill()
    except Exception:
        pass
    channel.close()
    ram.close()
    shutil.rmtree(folder, ignore_errors=True)


def _prompt_pattern(prompt: str) -> str:
    return re.escape(prompt)


def _exited(ref: "weakref.ref[Machine]", console: Console) -> GuestExited:
    # The session found QEMU gone: reap it and say so.
    console.wait_exit(1.0)
    console.close()
    _forget(ref)
    return GuestExited(f"QEMU has exited with status {console.exit_status}",
                       console.transcript.text, console.exit_status)


class Machine:
    """A running QEMU guest at its shell prompt. Create with Machine.start()."""

    def __init__(self, config: QemuConfig, console: Console, channel: HostChannel,
                 ram: GuestRam, folder: str, prompt: str):
        """Wrap an already booted guest; use Machine.start() instead."""
        self.config = config
        self.prompt = prompt
        self._console = console
        self._channel = channel
        self._ram = ram
        self._folder = folder
        self._upload_buffer: tuple[int, int] | None = None
        # A weak reference: the session must not keep its Machine alive.
        me = weakref.ref(self)
        self._session = Session(channel, console.transcript, prompt, alive=lambda: console.alive,
                                on_exit=lambda: _exited(me, console))
        self._finalizer = weakref.finalize(self, _kill_console, console, channel, ram, folder)
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
        """Boot QEMU and wait for the guest's prompt on its console.

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
        folder = tempfile.mkdtemp(prefix="theseus-nb-qemu-")
        socket_path = Path(folder) / "host.sock"
        ram = GuestRam(memory_bytes(config.memory))
        argv = config.argv(find_qemu(), host_socket=socket_path, ram_file=ram.path)
        console: Console | None = None

        def abandon() -> None:
            # Whatever stopped the boot (an exit, a timeout, a KeyboardInterrupt):
            # leave no QEMU, no RAM file and no folder behind.
            if console is not None:
                console.kill()
            ram.close()
            shutil.rmtree(folder, ignore_errors=True)

        try:
            console = Console(argv)
            channel = HostChannel(socket_path, console.transcript, lambda: console.alive,
                                  boot_timeout)
            console.output.wait_for(_prompt_pattern(prompt), boot_timeout)
        except (pexpect.EOF, GuestExited):
            assert console is not None
            console.wait_exit(1.0)  # QEMU went away by itself: let it say with what status
            abandon()
            raise BootError(
                f"QEMU exited with status {console.exit_status} before the guest "
                f"printed its prompt {prompt!r}\ncommand line: {' '.join(argv)}",
                console.transcript.text, console.exit_status,
            ) from None
        except GuestTimeout:
            assert console is not None
            abandon()
            raise BootError(
                f"the guest did not print its prompt {prompt!r} within "
                f"{boot_timeout:g} s (QEMU was killed)\ncommand line: {' '.join(argv)}",
                console.transcript.text, console.exit_status,
            ) from None
        except BaseException:
            abandon()
            raise
        ram.unlink()  # QEMU has it open: the name is no longer needed
        return cls(config, console, channel, ram, folder, prompt)

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
            # guest): kill QEMU; that thread sees EOF, raises GuestExited
            # and lets go of the lock.
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            lock.acquire()
        try:
            if self._console.alive:
                try:
                    # Ctrl-C and "\r" end whatever an abandoned request left on the line.
                    prefix = "" if self._session.in_sync else "\x03\r"
                    self._channel.send(prefix + "!0 halt\r", timeout)
                    self._channel.expect_eof(timeout)
                    self._console.wait_exit(1.0)
                except (pexpect.TIMEOUT, pexpect.EOF, OSError):
                    pass
            self._console.kill()
        finally:
            lock.release()
            _running.discard(self)
            self._finalizer()
        return self._console.exit_status

    def halt(self, status: int = 0, timeout: float = 5.0) -> int:
        """Run the guest's ``halt N``; return QEMU's exit status, (N << 1) | 1."""
        with self._session.lock:
            self._session.ensure_ready(timeout)
            self._session.in_sync = False
            self._session.transcript.write(f"{self.prompt}halt {status}\r\n")
            self._session.send(f"!0 halt {status}\r", f"halt {status}", timeout)
            self._session.wait_exit(f"halt {status}", timeout)
            self._console.wait_exit(1.0)
            self._console.close()
            _running.discard(self)
            self._finalizer()
            code = self._console.exit_status
            assert code is not None  # reaped by close()
            return code

    # --- commands ---------------------------------------------------------

    def command(self, text: str, timeout: float = 5.0) -> str:
        """Run one shell command and return only its output.

        Uses the framed protocol on the host's channel (see ``protocol``), so
        the output is exactly what the command printed, "\\n"-separated,
        without a trailing newline, whatever tasks print meanwhile. A command
        still running after ``timeout`` s is stopped with Ctrl-C
        (CommandStopped, a GuestTimeout; the shell answers the next command);
        GuestTimeout if the guest does not answer even then, GuestExited if
        QEMU exits (e.g. after ``halt``), ProtocolError if the reply arrives
        damaged. On KeyboardInterrupt the command is abandoned and the next
        call resynchronises.
        """
        return self.request(text, timeout).output

    def request(self, text: str, timeout: float = 5.0) -> Reply:
        """Run one shell command; return its status and output as a ``Reply``."""
        return self._session.request(text, timeout)

    def type(self, text: str, timeout: float = 5.0) -> None:
        """Type ``text`` on the console, as a person would ("\\r" ends a line,
        "\\x03" is Ctrl-C); what comes back is in ``console``."""
        with self._session._waiting("typing on the console",
                                    f"the console took no input for {timeout:g} s"):
            self._console.send(text, timeout)

    def query(self, command: str, timeout: float = 5.0) -> str:
        """The output of a machine-readable command (``graph``, ``tasks``);
        BridgeError if the guest says it failed."""
        reply = self.request(command, timeout)
        if not reply.ok:
            raise BridgeError(f"the guest's {command} command failed with status {reply.status}: "
                              f"{reply.output.strip()}", self.transcript)
        return reply.output

    def spawn(self, name: str, arg: int | None = None, timeout: float = 5.0, *,
              stack: int | None = None, restart: str | None = None,
              max_restarts: int = 3) -> int:
        """Start ``"cell::function"`` (a public ``(u64) -> u64`` function) as a
        task with ``arg`` (0 if None) on a stack of ``stack`` bytes (the
        kernel's default if None); return its id. BridgeError if it cannot start.

        ``restart="on-fault"`` makes it restartable: after a fault the kernel
        starts it again (same id), up to ``max_restarts`` times, then
        escalates (reloads its cell, rolls it back, gives up; see
        kernel_src/restart.py). ``faults()`` shows each step."""
        if not name or any(c.isspace() for c in name) or "::" not in name:
            raise ValueError(f"spawn needs 'cell::function' without spaces, got {name!r}")
        if restart not in (None, "on-fault"):
            raise ValueError(f"restart must be None or 'on-fault', got {restart!r}")
        if restart is None and max_restarts != 3:
            raise ValueError("max_restarts is for a restartable task: pass restart='on-fault' too")
        if not 0 <= int(max_restarts) <= MAX_RESTARTS:
            raise ValueError(f"max_restarts must be 0 to {MAX_RESTARTS} (the kernel's limit), "
                             f"got {max_restarts!r}")
        words = f"spawn {name}" + ("" if arg is None and stack is None else f" {int(arg or 0)}")
        if stack is not None:
            if int(stack) <= 0:
                raise ValueError(f"stack must be a positive number of bytes, got {stack!r}")
            words += f" {int(stack)}"
        if restart is not None:
            words += f" --restart {int(max_restarts)}"
        reply = self.request(words, timeout)
        if not reply.ok:
            raise BridgeError(f"spawn {name}: {reply.output.strip()}", self.transcript)
        return int(reply.output.split()[0])

    def faults(self, since: int = 0, timeout: float = 5.0) -> FaultLog:
        """The kernel's fault log (records numbered after ``since``), oldest first."""
        return parse_faults(self.query(f"faults {int(since)}", timeout))

    def rollback(self, cell: str, timeout: float = 30.0, *, uploaded: bool = False) -> KernelSwap:
        """Swap ``cell`` back to the object it ran before its last swap (the
        kernel keeps one); the kernel's figures. SwapError, with the guest
        unchanged, if there is nothing to roll back or the swap is refused.

        ``uploaded``: go back instead to an older version the caller has
        just uploaded under the cell's name (``upload``), as the host's
        history does (theseus_nb's LiveKernel.rollback); the kernel records
        it as an undo, so its own recovery never returns to the version left."""
        if not cell or any(c.isspace() or c == "=" for c in cell):
            raise ValueError(f"rollback needs a cell name without spaces, got {cell!r}")
        word = f"{cell}={cell}" if uploaded else cell
        reply = self.request(f"rollback {word}", timeout)
        if not reply.ok:
            raise SwapError(f"rollback of {cell} refused by the kernel: {reply.output.strip()}",
                            self.transcript)
        return parse_swap_output(reply.output)

    def kill(self, task_id: int, timeout: float = 5.0) -> None:
        """End task ``task_id`` now; BridgeError if there is no such live task."""
        reply = self.request(f"kill {int(task_id)}", timeout)
        if not reply.ok:
            raise BridgeError(reply.output.strip() or f"kill {task_id} failed", self.transcript)

    # --- live evolution (kernel_src/upload.py, swap.py) -------------------

    def upload(self, name: str, data: bytes, timeout: float = 30.0) -> Reply:
        """Give the guest an object under ``name``; the guest keeps it for a swap.

        The bytes go into the kernel's upload buffer through the shared RAM,
        then ``upload NAME SIZE ADLER32`` tells the kernel to take them; a
        Reply with a nonzero status says why it refused.
        """
        if not name or any(c.isspace() for c in name):
            raise ValueError(f"upload needs a name without spaces, got {name!r}")
        address, room = self.upload_buffer(timeout)
        if len(data) > room:
            return Reply(1, f"refused: oversized upload ({len(data)} bytes; the limit is {room})")
        with self._session.lock:
            # Under the lock: no other upload may write the buffer before this one is taken.
            self._ram.write(address, data)
        return self.request(f"upload {name} {len(data)} {zlib.adler32(data)}", timeout)

    def upload_buffer(self, timeout: float = 5.0) -> tuple[int, int]:
        """Where the kernel's upload buffer is, and its size (asked once)."""
        if self._upload_buffer is None:
            words = self.query("upload", timeout).split()
            if len(words) != 3 or words[0] != "buffer":
                raise BridgeError(f"the guest's upload command answered {' '.join(words)!r}, "
                                  "not 'buffer ADDRESS SIZE'", self.transcript)
            self._upload_buffer = (int(words[1]), int(words[2]))
        return self._upload_buffer

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
        """Both lines as one session: what the console printed, and each
        request with its reply, in the order they came ("\\r\\n" as "\\n")."""
        return self._console.transcript.text

    @property
    def memory(self) -> GuestRam:
        """The guest's RAM, mapped here: ``read(address, n)``, ``write(address, data)``
        (guest-physical addresses; the kernel's memory is identity-mapped)."""
        return self._ram

    @property
    def console(self) -> ConsoleBuffer:
        """What the console (COM1) printed, live: ``.text``, ``.wait_for(pattern)``, ``.mark()``."""
        return self._console.output

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

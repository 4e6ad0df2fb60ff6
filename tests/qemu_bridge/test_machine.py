"""Machine against a real QEMU booting the real kernel image: commands, halts, errors, cleanup."""

from __future__ import annotations

import contextlib
import gc
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from qemu_bridge import (BootError, CommandInterrupted, CommandStopped, GuestExited, GuestTimeout,
                         Machine, QemuConfig)

pytestmark = pytest.mark.qemu


def process_state(pid: int) -> str | None:
    """The process's state letter from /proc (Z: zombie), or None if it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return None
    return stat.rpartition(")")[2].split()[0]


def assert_gone(pid: int, within: float = 0.0) -> None:
    """Fail unless QEMU ``pid`` is neither running nor a zombie (after ``within`` s)."""
    deadline = time.monotonic() + within
    while process_state(pid) is not None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert process_state(pid) is None, f"QEMU {pid} left behind in state {process_state(pid)}"


@pytest.fixture()
def config(kernel_image) -> QemuConfig:
    return QemuConfig(kernel_image.kernel_path, kernel_image.archive_path)


@pytest.fixture()
def machine(config: QemuConfig):
    m = Machine.start(config)
    yield m
    m.shutdown()
    assert_gone(m.pid)


def test_echo_returns_only_the_output(machine: Machine) -> None:
    assert machine.command("echo hi") == "hi"
    assert machine.command("echo two  words") == "two  words"
    assert machine.command("") == ""


def test_help_lists_the_commands(machine: Machine) -> None:
    text = machine.command("help")
    for name in ("help", "echo", "uptime", "halt"):
        assert name in text
    assert "theseus> " not in text and not text.endswith("\n")


def test_uptime_answers(machine: Machine) -> None:
    assert machine.command("uptime").startswith("up ")


def test_transcript_shows_both_directions(machine: Machine) -> None:
    machine.command("echo hi")
    machine.command("echo there")
    # Each request, with the prompt the host "typed" it at, then its reply.
    assert "theseus> echo hi\nhi\ntheseus> echo there\nthere\n" in machine.transcript
    assert "\r" not in machine.transcript


def test_multiline_command_is_refused(machine: Machine) -> None:
    with pytest.raises(ValueError, match="single line"):
        machine.command("echo a\necho b")
    assert machine.command("echo ok") == "ok"


def test_halt_gives_qemu_exit_status(config: QemuConfig) -> None:
    m = Machine.start(config)
    assert m.halt(3) == 7
    assert not m.alive and m.exit_status == 7
    assert_gone(m.pid)
    assert m.shutdown() == 7


def test_shutdown_is_clean_and_idempotent(config: QemuConfig) -> None:
    m = Machine.start(config)
    # A clean halt is the guest's plain `halt`: status (0 << 1) | 1.
    assert m.shutdown() == 1
    assert m.shutdown() == 1
    assert not m.alive
    assert_gone(m.pid)


def test_context_manager_leaves_no_process(config: QemuConfig) -> None:
    with Machine.start(config) as m:
        pid = m.pid
        assert process_state(pid) is not None
        assert m.command("echo in") == "in"
    assert_gone(pid)
    assert m.exit_status == 1


def test_context_manager_shuts_down_on_error(config: QemuConfig) -> None:
    with pytest.raises(RuntimeError):
        with Machine.start(config) as m:
            raise RuntimeError("cell failed")
    assert_gone(m.pid)


def test_command_that_ends_qemu_raises_guest_exited(config: QemuConfig) -> None:
    m = Machine.start(config)
    with pytest.raises(GuestExited) as info:
        m.command("halt 2")
    assert info.value.exit_status == 5
    assert "halt 2" in info.value.transcript
    assert_gone(m.pid)


def test_command_after_qemu_died_raises_guest_exited(config: QemuConfig) -> None:
    m = Machine.start(config)
    os.kill(m.pid, signal.SIGKILL)
    with pytest.raises(GuestExited) as info:
        m.command("echo hi")
    assert info.value.exit_status == -signal.SIGKILL
    assert m.exit_status == -signal.SIGKILL
    with pytest.raises(GuestExited, match="has exited"):
        m.command("echo again")
    m.shutdown()
    assert_gone(m.pid)


def test_stopped_guest_times_out_then_resynchronises(machine: Machine) -> None:
    # A frozen QEMU is an honest hung guest: nothing at all comes back.
    os.kill(machine.pid, signal.SIGSTOP)
    try:
        with pytest.raises(GuestTimeout) as info:
            machine.command("echo late", timeout=0.5)
        # It gave up at the caller's timeout (0.5 s, not the default), tried a Ctrl-C, and
        # says that the frozen guest did not answer that either.
        assert "did not answer 'echo late' within 0.5 s, nor" in str(info.value)
        assert not isinstance(info.value, CommandStopped)
        assert "theseus-nb" in info.value.transcript
    finally:
        os.kill(machine.pid, signal.SIGCONT)
    # The late answer to "echo late" must not be taken for this one.
    with pytest.warns(CommandInterrupted, match="'echo late'"):
        assert machine.command("echo next") == "next"
    assert machine.command("echo after") == "after"


#: A big upload (1 MiB, the kernel's limit).
BIG = bytes(range(256)) * 4096


def test_an_upload_to_a_stopped_guest_ends_within_its_timeout(machine: Machine) -> None:
    os.kill(machine.pid, signal.SIGSTOP)
    try:
        # It used to hang: now the upload ends with the timeout the caller gave.
        with pytest.raises(GuestTimeout, match="did not answer 'upload' within 1 s"):
            machine.upload("big", BIG, timeout=1.0)
    finally:
        os.kill(machine.pid, signal.SIGCONT)
    machine.shutdown()
    assert_gone(machine.pid)


def test_an_upload_to_a_guest_that_dies_ends_at_once_and_reaps_it(config: QemuConfig) -> None:
    m = Machine.start(config)
    os.kill(m.pid, signal.SIGSTOP)  # it stops reading, so the upload is still being written...
    killer = threading.Timer(0.5, os.kill, (m.pid, signal.SIGKILL))  # ...when QEMU dies
    killer.start()
    # GuestExited, not GuestTimeout: the upload ended because QEMU died, not at its 30 s timeout.
    with pytest.raises(GuestExited):
        m.upload("big", BIG, timeout=30.0)
    killer.join()
    assert not m.alive and m.exit_status == -signal.SIGKILL
    assert_gone(m.pid)  # reaped, not a zombie


@contextlib.contextmanager
def ctrl_c_after(seconds: float) -> Iterator[None]:
    """A KeyboardInterrupt ``seconds`` into the block, as a person's Ctrl-C."""
    def interrupt(signum, frame):
        raise KeyboardInterrupt

    old = signal.signal(signal.SIGALRM, interrupt)
    try:
        signal.setitimer(signal.ITIMER_REAL, seconds)
        with pytest.raises(KeyboardInterrupt):
            yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def test_keyboard_interrupt_abandons_the_command(machine: Machine) -> None:
    os.kill(machine.pid, signal.SIGSTOP)
    try:
        with ctrl_c_after(0.3):
            machine.command("echo interrupted", timeout=5)
    finally:
        os.kill(machine.pid, signal.SIGCONT)
    assert machine.alive
    with pytest.warns(CommandInterrupted, match="'echo interrupted'"):
        assert machine.command("echo resumed") == "resumed"


def test_an_interrupted_long_command_resynchronises(machine: Machine) -> None:
    # The late answer streams in while the next command is sent: its bytes,
    # its trailer and its prompt must not be taken for the next answer.
    with ctrl_c_after(0.5):
        machine.command("primes 2000000", timeout=60)
    with pytest.warns(CommandInterrupted, match="'primes 2000000' was interrupted"):
        assert machine.command("echo next", timeout=60) == "next"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # in step again: no second warning
        assert machine.command("echo after") == "after"
    # The late output was kept, not lost, until the resynchronisation's
    # Ctrl-C stopped the abandoned command in the guest too.
    assert "2 3 5 7 11" in machine.transcript and "interrupted" in machine.transcript


def test_wrong_prompt_is_a_boot_error_in_bounded_time(config: QemuConfig) -> None:
    with pytest.raises(BootError) as info:
        Machine.start(config, prompt="nope> ", boot_timeout=2)
    assert "'nope> '" in str(info.value) and "within 2 s" in str(info.value)
    # The message quotes what the guest did say.
    assert "theseus> " in str(info.value)
    assert "theseus> " in info.value.transcript


def test_silent_guest_is_a_boot_error(silent_image) -> None:
    with pytest.raises(BootError, match="did not print its prompt 'theseus> ' within 1.5 s"):
        Machine.start(silent_image.kernel_path, boot_timeout=1.5)


def test_qemu_exiting_at_boot_is_a_boot_error_with_status(tmp_path: Path) -> None:
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"not a kernel" * 100)
    with pytest.raises(BootError, match="QEMU exited with status 1") as info:
        Machine.start(junk, boot_timeout=5)
    assert info.value.exit_status == 1
    # QEMU's own complaint reaches the user.
    assert "qemu" in info.value.transcript.lower()


def test_boot_error_leaves_no_process(config: QemuConfig) -> None:
    before = {p.name for p in Path("/proc").iterdir() if p.name.isdigit()}
    with pytest.raises(BootError):
        Machine.start(config, prompt="nope> ", boot_timeout=1)
    for pid in {p.name for p in Path("/proc").iterdir() if p.name.isdigit()} - before:
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            parent = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
            continue
        # Only our own children count: other test runs may boot QEMUs meanwhile.
        if parent == os.getpid():
            assert b"qemu-system" not in cmdline, f"QEMU {pid} left behind"


def test_commands_from_many_threads_do_not_mix(machine: Machine) -> None:
    results: dict[int, list[str]] = {}

    def worker(n: int) -> None:
        results[n] = [machine.command(f"echo t{n}-{i}") for i in range(5)]

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for n in range(4):
        assert results[n] == [f"t{n}-{i}" for i in range(5)]


def test_polling_state_from_another_thread_is_safe(config: QemuConfig) -> None:
    # Widgets poll alive/transcript while the notebook runs commands and halts.
    m = Machine.start(config)
    stop = threading.Event()
    errors: list[BaseException] = []

    def poll() -> None:
        try:
            while not stop.is_set():
                m.alive, m.exit_status, m._repr_html_()
        except BaseException as exc:
            errors.append(exc)

    poller = threading.Thread(target=poll)
    poller.start()
    try:
        for i in range(10):
            assert m.command(f"echo {i}") == str(i)
        assert m.halt(2) == 5
    finally:
        stop.set()
        poller.join(5)
    assert errors == []
    assert not m.alive and m.exit_status == 5


def test_shutdown_from_another_thread_ends_a_stuck_command(config: QemuConfig) -> None:
    m = Machine.start(config)
    os.kill(m.pid, signal.SIGSTOP)
    errors: list[BaseException] = []

    def stuck() -> None:
        try:
            m.command("echo never", timeout=30)
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=stuck)
    thread.start()
    time.sleep(0.2)
    assert m.shutdown(timeout=0.3) == -signal.SIGKILL
    thread.join(5)
    assert not thread.is_alive()
    assert len(errors) == 1 and isinstance(errors[0], GuestExited)
    assert_gone(m.pid)


def test_forgotten_machine_is_killed_by_its_finalizer(config: QemuConfig) -> None:
    m = Machine.start(config)
    pid = m.pid
    del m
    gc.collect()
    assert_gone(pid, within=2.0)


def test_qemu_dies_with_a_killed_python(config: QemuConfig) -> None:
    # SIGKILL runs no atexit hook and no finalizer: only PR_SET_PDEATHSIG helps.
    script = textwrap.dedent(f"""
        import os, signal, sys
        sys.path.insert(0, {str(Path(__file__).resolve().parents[2])!r})
        from qemu_bridge import Machine
        m = Machine.start({str(config.kernel)!r})
        print(m.pid, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=30)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    pid = int(proc.stdout.split()[0])
    # Once the orphan is killed, init reaps it.
    assert_gone(pid, within=3.0)


def test_atexit_halts_running_machines(config: QemuConfig) -> None:
    # The script's own hook is registered first, so it runs last and sees
    # how the bridge's hook ended QEMU: a clean `halt` gives status 1.
    script = textwrap.dedent(f"""
        import atexit, sys
        atexit.register(lambda: print("status", keep.exit_status, flush=True))
        sys.path.insert(0, {str(Path(__file__).resolve().parents[2])!r})
        from qemu_bridge import Machine
        keep = Machine.start({str(config.kernel)!r})
        print(keep.pid, flush=True)
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    pid, _, status = proc.stdout.split()
    assert status == "1"
    assert_gone(int(pid), within=3.0)


def test_repr_html_shows_pid_and_console(machine: Machine) -> None:
    machine.command("echo <b>")
    html = machine._repr_html_()
    assert str(machine.pid) in html and "running" in html
    assert "&lt;b&gt;" in html
    assert f"pid={machine.pid}" in repr(machine)

"""ConsoleView: commands go through the machine's lock; the transcript follows; errors are shown."""

from __future__ import annotations

import threading

import pytest
import traitlets

from theseus_nb.widgets import ConsoleView

pytestmark = pytest.mark.qemu


@pytest.fixture(scope="module")
def machine(kernel_image):
    m = kernel_image.boot()
    yield m
    m.shutdown()


def test_run_shows_output_and_transcript(machine):
    console = ConsoleView(machine)
    assert console.run("echo hello widgets") == "hello widgets"
    assert console.last_status == 0 and console.error == ""
    assert "hello widgets" in console._screen.value


def test_input_line_sends_on_enter_without_blocking(machine):
    console = ConsoleView(machine)
    console._input.value = "echo typed"
    assert console._input.value == ""  # cleared at once; the command runs on a worker
    console._worker.join(10)
    assert console.last_command == "echo typed" and console.last_output == "typed"


def test_commands_from_many_threads_never_interleave(machine):
    console = ConsoleView(machine)
    results: dict[int, str] = {}

    def talk(i: int) -> None:
        results[i] = machine.command(f"echo thread {i}")

    threads = [threading.Thread(target=talk, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for i in range(4):
        assert console.run(f"echo widget {i}") == f"widget {i}"
    for t in threads:
        t.join(10)
    assert results == {i: f"thread {i}" for i in range(4)}


def test_unknown_command_status_and_bad_lines(machine):
    console = ConsoleView(machine)
    console.run("no-such-command")
    assert console.last_status != 0 and "unknown command" in console.last_output
    with pytest.raises(traitlets.TraitError, match="lines must be between 10 and 2000"):
        console.lines = 3


def test_after_shutdown_errors_are_shown_not_raised(kernel_image):
    m = kernel_image.boot()
    console = ConsoleView(m)
    m.shutdown()
    assert console.run("echo late") == ""
    assert "GuestExited" in console.error
    assert "QEMU exited with status" in console._screen.value


def test_halt_typed_in_the_console_shows_how_qemu_ended(kernel_image):
    m = kernel_image.boot()
    console = ConsoleView(m)
    console.run("halt 2")
    assert console.error == "" and not m.alive
    assert "QEMU exited with status 5" in console._screen.value  # (2 << 1) | 1
    assert "failed" not in console._screen.value


def test_the_widgets_polling_is_left_out_of_the_view(machine):
    console = ConsoleView(machine)
    machine.request("graph")
    console.run("echo mine")
    shown = "\n".join(console.visible_lines())
    assert "theseus> echo mine" in shown and "theseus> graph" not in shown
    assert "theseus> graph" in machine.transcript  # the machine keeps everything
    console.hide = []
    assert "theseus> graph" in "\n".join(console.visible_lines())

"""ConsoleBuffer: waits that find a pattern across the pieces the console arrives in,
never before their mark, and search only what is new plus the last lines.

The buffer is fed by hand here, as the console's reader thread feeds it; the
last test feeds it from a real QEMU, a typed character at a time.
"""

from __future__ import annotations

import re
import threading
import time

import pytest

from qemu_bridge import ConsoleBuffer, GuestExited, GuestTimeout, Machine, QemuConfig
from qemu_bridge.bounded_text import BoundedText
from qemu_bridge.console_buffer import MATCH_LINES, LineSearch


def _feed_later(buffer: ConsoleBuffer, pieces: list[str], pause: float = 0.01) -> threading.Thread:
    """Feed ``pieces`` one at a time from a thread, as the console's reader does."""
    def feed() -> None:
        for piece in pieces:
            time.sleep(pause)
            buffer.feed(piece)

    thread = threading.Thread(target=feed, daemon=True)
    thread.start()
    return thread


def test_a_pattern_split_across_pieces_is_found_look_by_look() -> None:
    text = BoundedText()
    search = LineSearch(re.compile(r"counter: counted 100 ticks\ntheseus> "), 0)
    for piece in ("booted\r\ncoun", "ter: coun", "ted 10", "0 ticks\r", "\ntheseus", "> "):
        assert search.look(text) is None
        text.append(piece)
    found = search.look(text)
    assert found is not None and found.group(0) == "counter: counted 100 ticks\ntheseus> "


def test_wait_for_finds_a_pattern_that_arrives_in_pieces() -> None:
    buffer = ConsoleBuffer()
    buffer.feed("theseus> ")
    mark = buffer.mark()
    feeder = _feed_later(buffer, ["ec", "ho hi\r", "\nh", "i\r\nthe", "seus> "])
    found = buffer.wait_for(r"echo hi\nhi\ntheseus> ", 10.0, since=mark)
    assert found.group(0) == "echo hi\nhi\ntheseus> "
    feeder.join()


def test_a_pattern_printed_before_the_mark_does_not_match() -> None:
    buffer = ConsoleBuffer()
    buffer.feed("counter: counted 100 ticks\r\ncoun")
    mark = buffer.mark()
    buffer.feed("ter: counted 200 ticks\r\n")
    # Wholly before the mark, and begun before it: neither counts.
    with pytest.raises(GuestTimeout, match="did not print 'counted 100' within 0.2 s"):
        buffer.wait_for("counted 100", 0.2, since=mark)
    with pytest.raises(GuestTimeout, match="did not print 'counter: counted 200'"):
        buffer.wait_for("counter: counted 200", 0.2, since=mark)
    assert buffer.wait_for(r"ter: counted 200 ticks\n", 0.2, since=mark)
    # Nor do later looks reach back past the mark, however much comes after it.
    search = LineSearch(re.compile("counted 100"), mark)
    text = BoundedText()
    text.append(buffer.since(0))
    for i in range(20):
        assert search.look(text) is None and search.start >= mark
        text.append(f"line {i}\n")


def test_a_match_of_match_lines_lines_fed_a_line_at_a_time_is_found() -> None:
    lines = [f"step {i}" for i in range(MATCH_LINES)]
    search = LineSearch(re.compile(r"\n".join(lines) + r"\n"), 0)
    text = BoundedText()
    text.append("".join(f"noise {i}\r\n" for i in range(100)))
    for line in lines:
        assert search.look(text) is None
        text.append(line + "\r\n")
    assert search.look(text) is not None


def test_each_look_searches_what_is_new_and_the_last_lines_only() -> None:
    text = BoundedText()
    search = LineSearch(re.compile("never printed"), 0)
    for i in range(2000):
        text.append(f"counter: counted {i} ticks\r\n")
        assert search.look(text) is None
    # What the next look will search: the last MATCH_LINES lines (the last one
    # empty, as the text ends a line), not the 2000 printed.
    assert text.since(search.start).count("\n") == MATCH_LINES - 1
    assert text.since(search.start).startswith(f"counter: counted {2000 - MATCH_LINES + 1} ticks")


def test_a_line_ending_split_between_pieces_still_reads_as_one() -> None:
    buffer = ConsoleBuffer()
    mark = buffer.mark()
    _feed_later(buffer, ["printer done\r", "\r", "\n"])
    assert buffer.wait_for(r"printer done\n", 10.0, since=mark)


def test_a_wait_from_a_mark_that_was_cut_searches_what_is_still_kept() -> None:
    buffer = ConsoleBuffer(limit=100)
    mark = buffer.mark()
    buffer.feed("x" * 1000 + "\r\nready\r\n")
    assert buffer.since(mark) == "x" * 91 + "\nready\n"  # the last 100 characters, "\r\n" as "\n"
    assert buffer.wait_for(r"ready\n", 1.0, since=mark)


def test_a_wait_ends_when_the_console_closes() -> None:
    buffer = ConsoleBuffer()
    buffer.feed("theseus> ")
    threading.Timer(0.05, buffer.end, ("QEMU exited",)).start()
    with pytest.raises(GuestExited, match="QEMU exited before the console printed 'goodbye'") as info:
        buffer.wait_for("goodbye", 10.0)
    assert info.value.transcript == "theseus> "


@pytest.mark.qemu
def test_typed_lines_arrive_a_character_at_a_time_and_the_mark_holds(kernel_image) -> None:
    # The shell echoes what a person types one character at a time, so the
    # pattern (echo, answer, next prompt) spans many pieces of real console output.
    with Machine.start(QemuConfig(kernel_image.kernel_path, kernel_image.archive_path)) as m:
        m.type("echo before\r")
        m.console.wait_for(r"echo before\nbefore\ntheseus> ", 10.0)
        mark = m.console.mark()
        m.type("echo after\r")
        m.console.wait_for(r"echo after\nafter\ntheseus> ", 10.0, since=mark)
        with pytest.raises(GuestTimeout, match="did not print 'before'"):
            m.console.wait_for("before", 0.5, since=mark)

"""BoundedText: the last ``limit`` characters appended, with positions that survive a cut."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qemu_bridge.bounded_text import BoundedText
from qemu_bridge.console import Transcript


def test_it_shows_what_was_appended_and_where_it_ends() -> None:
    text = BoundedText(limit=100)
    assert (text.text(), text.end, text.first) == ("", 0, 0)
    for piece in ("he", "llo", "", " wor", "ld"):
        text.append(piece)
    assert text.text() == "hello world" and text.end == 11 and text.first == 0
    assert text.since(6) == "world" and text.since(11) == "" and text.since(99) == ""


def test_only_the_last_limit_characters_are_shown_and_positions_stay_absolute() -> None:
    text = BoundedText(limit=10)
    for i in range(100):
        text.append(f"{i % 10}")
    assert text.end == 100 and text.first == 90
    assert text.text() == "0123456789"
    # A position from before the cut reads from the first character still shown.
    assert text.since(3) == "0123456789"
    assert text.since(95) == "56789"
    # What is kept between cuts is never more than twice the limit.
    assert text._size <= 2 * text.limit


def test_since_joins_only_the_end_and_keeps_it_joined() -> None:
    text = BoundedText(limit=1000)
    for i in range(50):
        text.append(f"line {i}\n")
    assert text.since(text.end - 8) == "line 49\n"
    assert len(text._chunks) == 50  # the end was one chunk: nothing joined
    assert text.since(text.end - 16) == "line 48\nline 49\n"
    assert len(text._chunks) == 49  # the two read were joined into one
    assert text.text().splitlines()[0] == "line 0" and len(text._chunks) == 1


def test_reading_the_end_again_and_again_does_not_copy_what_is_before() -> None:
    # As a wait does: one line appended, the last lines read, again and again.
    text = BoundedText(limit=1 << 20)
    for i in range(1000):
        text.append(f"line {i}\n")
        assert text.since(text.end - 20).endswith(f"line {i}\n")
    # No chunk grew with what was printed: each read copied about 20 characters.
    assert max(len(chunk) for chunk in text._chunks) <= 20
    assert text.text() == "".join(f"line {i}\n" for i in range(1000))


def test_endswith() -> None:
    text = BoundedText(limit=4)
    assert not text.endswith("\n")
    text.append("ab\n")
    assert text.endswith("\n") and text.endswith("b\n") and not text.endswith("a\n")
    text.append("xyzzy")  # only "yzzy" is shown now
    assert text.endswith("zy") and text.endswith("yzzy") and not text.endswith("xyzzy")


def test_a_limit_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="limit must be at least 1 character, got 0"):
        BoundedText(limit=0)


@given(st.lists(st.text(max_size=30), max_size=60), st.integers(1, 50), st.integers(0, 2000))
def test_it_agrees_with_one_plain_string(pieces: list[str], limit: int, position: int) -> None:
    text, whole = BoundedText(limit), ""
    for piece in pieces:
        text.append(piece)
        whole += piece
        assert text.end == len(whole)
        assert text.text() == whole[-limit:]
        assert text.since(position) == whole[max(position, len(whole) - limit):]


def test_the_transcript_keeps_its_last_limit_characters_and_ends_lines() -> None:
    transcript = Transcript(limit=100)
    transcript.begin_line()  # nothing yet: no line to end
    transcript.write("theseus> ")
    transcript.begin_line()
    transcript.write("theseus> echo hi\r\nhi\r\n")
    transcript.begin_line()  # already ended: nothing added
    assert transcript.text == "theseus> \ntheseus> echo hi\nhi\n"
    short = Transcript(limit=6)
    short.write("theseus> echo hi\r\nhi\r\n")
    assert short.text == "\nhi\n"  # the last 6 characters, "\r\nhi\r\n", read as a person would

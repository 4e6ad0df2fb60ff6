"""ConsoleBuffer: what the guest printed on its console, live and bounded.

A thread of the Console (console.py) feeds it every byte that comes out of
COM1: what the kernel and its tasks print, and the echo of what people
type. Host requests and their replies travel on the host's channel
(host_channel.py), so they are never here. Readers take the text as a
person would read it ("\\r\\n" as "\\n"), wait for a pattern to appear, or
take what came after a mark, from any thread.

Design note: a wait looks again each time something is printed, and a
pattern may span the pieces the console arrives in, so it cannot search
each piece alone; searching everything since its mark at every look would
cost more the more is printed. Each look (``LineSearch``) searches what is
new plus the last ``MATCH_LINES`` lines before it: a match not found at the
last look must end in what is new, so, if it spans at most ``MATCH_LINES``
lines, it begins in those. (A regular expression's match length cannot be
bounded in general; lines can, for the patterns people write for a console.)
"""

from __future__ import annotations

import re
import threading
import time

from .bounded_text import BoundedText
from .errors import GuestExited, GuestTimeout

__all__ = ["ConsoleBuffer", "LineSearch", "MATCH_LINES"]

_LINE_END = re.compile(r"\r+\n")

#: The most lines a match of ``wait_for`` may span: a pattern such as
#: "echo hi\\nhi\\ntheseus> " spans three (the echo, the answer, the prompt).
MATCH_LINES = 8


class LineSearch:
    """One wait's search through a ``BoundedText``, looking again as it grows.

    Each ``look`` searches from ``start`` to the end; when it finds nothing,
    ``start`` moves up to the first of the last ``MATCH_LINES`` lines (the
    last one perhaps unfinished), where a match that is still to come may
    begin. Nothing before the first ``start`` is ever searched.
    """

    def __init__(self, regex: re.Pattern[str], start: int) -> None:
        """Search for ``regex`` from position ``start`` on."""
        self.regex = regex
        self.start = start

    def look(self, text: BoundedText) -> re.Match[str] | None:
        """The first match from ``start`` in ``text``, "\\r\\n" read as "\\n"; None if none yet."""
        begin = max(self.start, text.first)
        raw = text.since(begin)
        found = self.regex.search(_LINE_END.sub("\n", raw))
        if found is None:
            self.start = begin + _last_lines(raw, MATCH_LINES)
        return found


def _last_lines(raw: str, lines: int) -> int:
    # Where the last ``lines`` lines of ``raw`` begin (0: it holds fewer). A line
    # break is the "\n" of "\r\n", so a "\r" at the end stays in the last line.
    at = len(raw)
    for _ in range(lines):
        at = raw.rfind("\n", 0, at)
        if at < 0:
            return 0
    return at + 1


class ConsoleBuffer:
    """The last ``limit`` characters printed on the console."""

    def __init__(self, limit: int = 1 << 20) -> None:
        """An empty buffer keeping at most about ``limit`` characters."""
        self._text = BoundedText(limit)
        self._ended: str | None = None
        self._changed = threading.Condition()

    def feed(self, data: str) -> None:
        """Append what the console printed (the Console's reader thread calls this)."""
        with self._changed:
            self._text.append(data)
            self._changed.notify_all()

    def end(self, why: str) -> None:
        """The console closed (QEMU exited): waiters stop waiting, with ``why``."""
        with self._changed:
            self._ended = why
            self._changed.notify_all()

    @property
    def text(self) -> str:
        """Everything kept, "\\r\\n" as "\\n"."""
        with self._changed:
            return _LINE_END.sub("\n", self._text.text())

    def lines(self) -> list[str]:
        """The kept text as lines."""
        return self.text.splitlines()

    def mark(self) -> int:
        """A position: what is printed after now is ``since(mark)``."""
        with self._changed:
            return self._text.end

    def since(self, mark: int) -> str:
        """What was printed after ``mark`` (as much of it as is still kept)."""
        with self._changed:
            return _LINE_END.sub("\n", self._text.since(mark))

    def wait_for(self, pattern: str | re.Pattern[str], timeout: float = 5.0,
                 since: int | None = None) -> re.Match[str]:
        """Wait until ``pattern`` (a regular expression) appears in the text
        printed after ``since`` (a mark; all kept text if None); its match.

        A match may span up to ``MATCH_LINES`` lines; each look searches only
        what is new and those lines before it (see ``LineSearch``), so its
        positions are within the text of the last look, and a ``^`` without
        ``re.M`` matches where a look begins. Raises GuestTimeout after
        ``timeout`` s, GuestExited if the console closes first.
        """
        regex = re.compile(pattern) if isinstance(pattern, str) else pattern
        deadline = time.monotonic() + timeout
        with self._changed:
            search = LineSearch(regex, self._text.first if since is None else since)
            while True:
                found = search.look(self._text)
                if found is not None:
                    return found
                if self._ended is not None:
                    raise GuestExited(f"{self._ended} before the console printed "
                                      f"{regex.pattern!r}", self._tail())
                left = deadline - time.monotonic()
                if left <= 0:
                    raise GuestTimeout(f"the console did not print {regex.pattern!r} "
                                       f"within {timeout:g} s", self._tail())
                self._changed.wait(left)

    def _tail(self) -> str:
        return _LINE_END.sub("\n", self._text.since(self._text.end - 4000))

    def __repr__(self) -> str:
        return f"<ConsoleBuffer {self.mark()} chars printed, last line {self.lines()[-1:]!r}>"

"""ConsoleBuffer: what the guest printed on its console, live and bounded.

A thread of the Console (console.py) feeds it every byte that comes out of
COM1: what the kernel and its tasks print, and the echo of what people
type. Host requests and their replies travel on the host's channel
(host_channel.py), so they are never here. Readers take the text as a
person would read it ("\\r\\n" as "\\n"), wait for a pattern to appear, or
take what came after a mark, from any thread.
"""

from __future__ import annotations

import re
import threading
import time

from .bounded_text import BoundedText
from .errors import GuestExited, GuestTimeout

__all__ = ["ConsoleBuffer"]

_LINE_END = re.compile(r"\r+\n")


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

        Raises GuestTimeout after ``timeout`` s, GuestExited if the console
        closes first.
        """
        regex = re.compile(pattern) if isinstance(pattern, str) else pattern
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                start = self._text.first if since is None else since
                found = regex.search(_LINE_END.sub("\n", self._text.since(start)))
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

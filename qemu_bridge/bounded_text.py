"""BoundedText: text that grows at its end and keeps only its last ``limit`` characters.

The transcript (console.py) and the console buffer (console_buffer.py) are
both fed by reader threads, one pty or socket read at a time, and read now
and then. An append must stay cheap however much was printed, so the reads
are kept as a list of chunks, joined only when someone reads, and the front
is cut only once the text has grown to twice its limit (cutting at every
append would copy the whole text every time).

Positions are absolute: counted from the first character ever appended, so
a position taken before the front was cut still names the same character.
Not thread-safe: its owner holds a lock of its own around every call.
"""

from __future__ import annotations

__all__ = ["BoundedText"]


class BoundedText:
    """The last ``limit`` characters appended, with absolute positions."""

    def __init__(self, limit: int = 1 << 20) -> None:
        """An empty text that shows at most ``limit`` characters."""
        if limit < 1:
            raise ValueError(f"limit must be at least 1 character, got {limit}")
        self.limit = limit
        self._chunks: list[str] = []
        self._size = 0            # characters in _chunks (up to 2 * limit between cuts)
        self._dropped = 0         # characters cut from the front so far

    def append(self, data: str) -> None:
        """Add ``data`` at the end (cutting the front once the text is twice ``limit``)."""
        if not data:
            return
        self._chunks.append(data)
        self._size += len(data)
        if self._size > 2 * self.limit:
            text = "".join(self._chunks)
            cut = len(text) - self.limit
            self._chunks, self._size = [text[cut:]], self.limit
            self._dropped += cut

    @property
    def end(self) -> int:
        """The position after the last character: what is appended from now on starts here."""
        return self._dropped + self._size

    @property
    def first(self) -> int:
        """The position of the first character shown (``end - limit`` once that much was appended)."""
        return max(self._dropped, self.end - self.limit)

    def since(self, position: int) -> str:
        """The text from ``position`` to the end (from ``first`` if that was cut).

        Joins only the chunks that hold it and keeps them joined, split at
        ``position``, so reading the end of a long text again and again costs
        what the end holds, not what was printed before it.
        """
        start = max(position, self.first)
        wanted = self.end - start
        if wanted <= 0:
            return ""
        # Walk back from the end to the chunk that holds ``start``.
        held, i = 0, len(self._chunks)
        while held < wanted:
            i -= 1
            held += len(self._chunks[i])
        if i == len(self._chunks) - 1 and held == wanted:
            return self._chunks[i]
        joined = "".join(self._chunks[i:])
        before = len(joined) - wanted
        # Split where the reader starts: a later read from there on does not copy what is before.
        self._chunks[i:] = [joined[:before], joined[before:]] if before else [joined]
        return joined[before:]

    def text(self) -> str:
        """Everything shown: the last ``limit`` characters."""
        return self.since(self.first)

    def endswith(self, suffix: str) -> bool:
        """True if the text ends with ``suffix`` (never for an empty text)."""
        return self.end > 0 and self.since(self.end - len(suffix)) == suffix

"""A cursor over a module's bytes: LEB128 integers, names, fixed-size values.

Every read checks that the bytes are there, and every error names the byte
offset where the bad item starts, counted from the module's first byte.
"""

from __future__ import annotations

from .errors import MalformedError

__all__ = ["Reader"]


class Reader:
    """Reads ``data[pos:end]``; offsets stay those of the whole module."""

    def __init__(self, data: bytes, pos: int = 0, end: int | None = None) -> None:
        self.data, self.pos = data, pos
        self.end = len(data) if end is None else end

    def fail(self, message: str, at: int | None = None) -> MalformedError:
        return MalformedError(message, self.pos if at is None else at)

    def at_end(self) -> bool:
        return self.pos >= self.end

    def byte(self) -> int:
        if self.pos >= self.end:
            raise self.fail("unexpected end of section or function")
        b = self.data[self.pos]
        self.pos += 1
        return b

    def bytes(self, n: int) -> bytes:
        if n > self.end - self.pos:
            raise self.fail(f"unexpected end: {n} bytes wanted, {self.end - self.pos} left")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def _leb(self, bits: int, signed: bool) -> int:
        start, result, shift = self.pos, 0, 0
        max_bytes = (bits + 6) // 7
        for i in range(max_bytes):
            if self.pos >= self.end:
                raise self.fail("unexpected end in a LEB128 integer", start)
            b = self.data[self.pos]
            self.pos += 1
            result |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                if i == max_bytes - 1:
                    # the last byte may only carry the bits that are left (sign copies if signed)
                    used = bits - 7 * (max_bytes - 1)
                    extra = b & 0x7F
                    if signed:
                        top = extra >> (used - 1)
                        if top not in (0, (1 << (8 - used)) - 1):
                            raise self.fail("integer too large (unused bits of a LEB128 set)",
                                            start)
                    elif extra >> used:
                        raise self.fail("integer too large (unused bits of a LEB128 set)", start)
                if signed and b & 0x40:
                    result -= 1 << shift
                if signed:
                    result = (result + (1 << (bits - 1))) % (1 << bits) - (1 << (bits - 1))
                return result
        raise self.fail(f"integer representation too long (a {bits}-bit LEB128 of more than "
                        f"{max_bytes} bytes)", start)

    def u32(self) -> int:
        return self._leb(32, False)

    def s32(self) -> int:
        return self._leb(32, True)

    def s64(self) -> int:
        return self._leb(64, True)

    def s33(self) -> int:
        return self._leb(33, True)

    def name(self) -> str:
        start = self.pos
        raw = self.bytes(self.u32())
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise self.fail("malformed UTF-8 encoding of a name", start) from None

    def count(self, what: str) -> int:
        """A vector's length, refused early when the bytes left cannot hold that many items."""
        start = self.pos
        n = self.u32()
        if n > self.end - self.pos:
            raise self.fail(f"{what} count {n} is more than the bytes left "
                            f"({self.end - self.pos})", start)
        return n

"""Archive: the boot archive that carries loadable cells to the nano_core.

QEMU hands it to the kernel as a Multiboot module (``-initrd``).  The format
is deliberately tiny so that the nano_core can check every field it reads:

    offset  size  field
    0       8     magic b"TNBCELLS"
    8       4     version (1)
    12      4     number of entries N
    16      8     total size of the archive in bytes
    24      4     Adler-32 of the entry table
    28      4     reserved (0)
    32      48*N  entries: name (32 bytes ASCII, NUL-padded), offset (u32,
                  from the archive's start), size (u32), Adler-32 of the
                  object (u32), flags (u32; bit 0: unsafe cell)
    ...           the objects, each starting on a 16-byte boundary

All integers are little-endian.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

from .errors import TheseusError

__all__ = ["ArchiveEntry", "ArchiveError", "pack_archive", "unpack_archive", "MAGIC"]

MAGIC = b"TNBCELLS"
VERSION = 1
_HEADER = struct.Struct("<8sIIQII")
_ENTRY = struct.Struct("<32sIIII")
NAME_MAX = 31


class ArchiveError(TheseusError):
    """A boot archive that cannot be packed or read."""


@dataclass(frozen=True)
class ArchiveEntry:
    """One cell object in the archive."""

    name: str
    data: bytes
    unsafe: bool = False


def pack_archive(entries: list[ArchiveEntry]) -> bytes:
    """Return the archive bytes for ``entries``, in order."""
    table = bytearray()
    blobs = bytearray()
    cursor = _HEADER.size + _ENTRY.size * len(entries)
    for entry in entries:
        name = entry.name.encode("ascii")
        if len(name) > NAME_MAX:
            raise ArchiveError(f"cell name {entry.name!r} is longer than {NAME_MAX} characters")
        pad = (-cursor) % 16
        blobs += b"\0" * pad
        cursor += pad
        table += _ENTRY.pack(name, cursor, len(entry.data), zlib.adler32(entry.data),
                             int(entry.unsafe))
        blobs += entry.data
        cursor += len(entry.data)
    header = _HEADER.pack(MAGIC, VERSION, len(entries), cursor, zlib.adler32(bytes(table)), 0)
    return header + bytes(table) + bytes(blobs)


def unpack_archive(data: bytes) -> list[ArchiveEntry]:
    """Read an archive back, checking every field (the host-side mirror of
    what the nano_core's loader does)."""
    if len(data) < _HEADER.size:
        raise ArchiveError("archive shorter than its header")
    magic, version, count, total, table_sum, _ = _HEADER.unpack_from(data)
    if magic != MAGIC or version != VERSION:
        raise ArchiveError(f"bad magic or version ({magic!r}, {version})")
    if total != len(data):
        raise ArchiveError(f"archive says {total} bytes but has {len(data)}")
    table = data[_HEADER.size:_HEADER.size + _ENTRY.size * count]
    if len(table) != _ENTRY.size * count or zlib.adler32(table) != table_sum:
        raise ArchiveError("entry table truncated or corrupt")
    entries = []
    for i in range(count):
        raw, offset, size, checksum, flags = _ENTRY.unpack_from(table, i * _ENTRY.size)
        name = raw.rstrip(b"\0").decode("ascii")
        blob = data[offset:offset + size]
        if len(blob) != size or zlib.adler32(blob) != checksum:
            raise ArchiveError(f"object of cell {name!r} truncated or corrupt")
        entries.append(ArchiveEntry(name, blob, bool(flags & 1)))
    return entries

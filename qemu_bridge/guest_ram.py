"""GuestRam: the guest's memory as a file that the host maps too.

QEMU is given its RAM as a shared file (``-object memory-backend-file,
share=on``), so a byte the host writes at offset A of the mapping is the
byte at guest-physical address A, at once and without a device. The bridge
uses it for one thing: uploads (the kernel's ``upload`` command says where
its buffer is). Bulk data so costs a memory copy instead of a trip through
a serial port; the host is QEMU's owner and may write the guest's memory
anyway, so nothing is given away that it did not have.

The file lives in /dev/shm (memory, not disk) and is unlinked as soon as
QEMU has opened it: nothing is left behind even if Python is killed later.
"""

from __future__ import annotations

import mmap
import os
import re
import tempfile
from pathlib import Path

from .errors import BridgeError

__all__ = ["GuestRam", "memory_bytes"]

_SIZE = re.compile(r"^(\d+)([KMGT]?)$", re.IGNORECASE)
_UNITS = {"": 1 << 20, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def memory_bytes(size: str) -> int:
    """QEMU's ``-m`` size ("128M", "1G", or a bare number of MiB, as QEMU reads it) in bytes."""
    match = _SIZE.match(size.strip())
    if match is None:
        raise BridgeError(f"memory size {size!r} is not a number with an optional K, M, G or T")
    return int(match.group(1)) * _UNITS[match.group(2).upper()]


class GuestRam:
    """A RAM file for one guest, mapped into this process."""

    def __init__(self, size: int) -> None:
        """Create and map an anonymous-named file of ``size`` bytes (zeros)."""
        folder = "/dev/shm" if os.path.isdir("/dev/shm") else None
        fd, name = tempfile.mkstemp(prefix="theseus-nb-ram-", dir=folder)
        self.path: Path | None = Path(name)
        self.size = size
        try:
            os.ftruncate(fd, size)
            self._map = mmap.mmap(fd, size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
        except BaseException:
            os.close(fd)
            self.unlink()
            raise
        os.close(fd)

    def write(self, address: int, data: bytes) -> None:
        """Put ``data`` at guest-physical ``address``."""
        if address < 0 or address + len(data) > self.size:
            raise BridgeError(f"{len(data)} bytes at {address:#x} do not fit in the guest's "
                              f"{self.size >> 20} MiB of memory")
        self._map[address:address + len(data)] = data

    def read(self, address: int, length: int) -> bytes:
        """The ``length`` bytes at guest-physical ``address``."""
        if address < 0 or address + length > self.size:
            raise BridgeError(f"{length} bytes at {address:#x} are outside the guest's memory")
        return self._map[address:address + length]

    def unlink(self) -> None:
        """Remove the file's name (QEMU and we keep the memory); idempotent."""
        if self.path is not None:
            try:
                self.path.unlink()
            except FileNotFoundError:
                pass
            self.path = None

    def close(self) -> None:
        """Unmap and unlink; idempotent."""
        self.unlink()
        if not self._map.closed:
            self._map.close()

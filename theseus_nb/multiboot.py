"""Multiboot: wrap a linked nano_core as a flat image that QEMU can boot.

``qemu-system-x86_64 -kernel`` refuses ELF64 Multiboot kernels, so the
header sets the "address fields" flag (bit 16) and tells the loader where
the flat file goes in memory, where bss ends and where to jump.
"""

from __future__ import annotations

import struct

from .link import LinkedImage

__all__ = ["HEADER_SIZE", "MAGIC", "LOAD_BASE", "multiboot_image"]

MAGIC = 0x1BADB002
#: bit 0: page-align modules (the boot archive); bit 1: give us the memory
#: map; bit 16: the load addresses below are valid.
FLAGS = (1 << 0) | (1 << 1) | (1 << 16)
HEADER_SIZE = 32
#: The nano_core is loaded at 1 MiB, above the BIOS area.
LOAD_BASE = 0x100000


def multiboot_image(linked: LinkedImage, entry: int) -> bytes:
    """Return the bytes of the bootable image for ``linked``."""
    checksum = (-(MAGIC + FLAGS)) & 0xFFFFFFFF
    header = struct.pack("<8I", MAGIC, FLAGS, checksum, linked.base, linked.base,
                         linked.load_end, linked.bss_end, entry)
    blob = bytearray(linked.blob)
    blob[:HEADER_SIZE] = header
    return bytes(blob)

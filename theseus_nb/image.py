"""Image: the built kernel, as files on disk, and booting it.

``write_image`` links the nano_core with the project's own linker
(``theseus_nb.link``), wraps it for Multiboot and packs every other cell's
object into the boot archive.  An ``Image`` records what was built, how long
each step took and how big each part is, and boots in QEMU.
"""

from __future__ import annotations

import hashlib
import html
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .archive import ArchiveEntry, pack_archive
from .graph import SectionGraph
from .link import LinkedImage, link
from .multiboot import HEADER_SIZE, LOAD_BASE, multiboot_image
from .objects import CellObject
from .symfile import SYMFILE_ENTRY, write_symfile

if TYPE_CHECKING:
    from qemu_bridge import Machine

__all__ = ["Image", "write_image"]


@dataclass
class Image:
    """A built kernel: ``kernel.bin`` (Multiboot) and ``cells.img`` (boot archive)."""

    kernel_path: Path
    archive_path: Path
    build_times: dict[str, float]  # seconds to compile each cell
    link_time: float
    sizes: dict[str, int]  # bytes: each cell's object, kernel.bin, cells.img
    nano_core: list[CellObject] = field(repr=False)
    cells: list[CellObject] = field(repr=False)
    symbols: dict[str, int] = field(default_factory=dict, repr=False)  # nano_core symbol -> address
    kernel: Any = field(default=None, repr=False)  # the Kernel built (hot swap compiles against it)

    @cached_property
    def graph(self) -> SectionGraph:
        """The section-dependency graph the host predicts for this image."""
        return SectionGraph.from_objects(self.nano_core, self.cells)

    @property
    def sha256(self) -> str:
        """Hash of kernel.bin and cells.img together: names this exact build."""
        digest = hashlib.sha256(self.kernel_path.read_bytes())
        digest.update(self.archive_path.read_bytes())
        return digest.hexdigest()

    def boot(self, *, kvm: bool = False, memory: str = "128M",
             boot_timeout: float = 10.0, **kwargs: Any) -> "Machine":
        """Boot this image in QEMU and return the running ``Machine``."""
        from qemu_bridge import Machine, QemuConfig

        config = QemuConfig(self.kernel_path, self.archive_path, memory=memory, kvm=kvm)
        machine = Machine.start(config, boot_timeout=boot_timeout, **kwargs)
        machine.image = self
        return machine

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td>{html.escape(name)}</td><td>{self.sizes.get(name, 0)}</td>"
            f"<td>{seconds * 1000:.1f}</td></tr>"
            for name, seconds in self.build_times.items())
        return (f"<b>theseus-nb image</b> {html.escape(str(self.kernel_path))} "
                f"({self.sizes['kernel.bin']} bytes), archive {self.sizes['cells.img']} bytes, "
                f"link {self.link_time * 1000:.1f} ms"
                "<table><tr><th>cell</th><th>object bytes</th><th>build ms</th></tr>"
                f"{rows}</table>")


def write_image(out: Path, nano_core: list[CellObject], cells: list[CellObject],
                build_times: dict[str, float], extra: Iterable[ArchiveEntry] = ()) -> Image:
    """Link ``nano_core``, write ``out/kernel.bin`` and ``out/cells.img``.

    ``extra`` entries go into the archive as they are (tests use it to hand
    the loader objects it must refuse).
    """
    start = time.perf_counter()
    linked: LinkedImage = link(nano_core, base=LOAD_BASE, header_size=HEADER_SIZE)
    kernel = multiboot_image(linked, linked.symbols["_start"])
    link_time = time.perf_counter() - start
    symfile = ArchiveEntry(SYMFILE_ENTRY, write_symfile(nano_core, linked))
    archive = pack_archive([symfile] + [ArchiveEntry(c.cell, c.data) for c in cells] + list(extra))
    kernel_path, archive_path = out / "kernel.bin", out / "cells.img"
    kernel_path.write_bytes(kernel)
    archive_path.write_bytes(archive)
    sizes = {c.cell: len(c.data) for c in nano_core + cells}
    sizes.update({"kernel.bin": len(kernel), "cells.img": len(archive)})
    return Image(kernel_path, archive_path, build_times, link_time, sizes,
                 nano_core, cells, dict(linked.symbols))

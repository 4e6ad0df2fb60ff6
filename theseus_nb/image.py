"""Image: the built kernel, as files on disk, and booting it.

``write_image`` links the nano_core with the project's own linker
(``theseus_nb.link``), wraps it for Multiboot and packs every other cell's
object into the boot archive.  An ``Image`` records what was built (every
cell's source and object), how long each step took and how big each part
is, and boots in QEMU into a ``LiveKernel``.
"""

from __future__ import annotations

import hashlib
import html
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from qemu_bridge import QemuConfig, accel_from_env

from .archive import ArchiveEntry, pack_archive
from .compile import CellSource
from .display import html_table
from .graph import SectionGraph
from .link import LinkedImage, link
from .live import LiveKernel
from .multiboot import HEADER_SIZE, LOAD_BASE, multiboot_image
from .objects import CellObject
from .symfile import SYMFILE_ENTRY, write_symfile

__all__ = ["Image", "write_image", "KVM_BOOT_TIMEOUT"]

#: Seconds a boot under KVM may take before it counts as hung.
KVM_BOOT_TIMEOUT = 300.0


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
    #: every cell's source, as built (a live kernel compiles new cells against them)
    sources: list[CellSource] = field(default_factory=list, repr=False)

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

    def boot(self, *, kvm: bool = False, accel: str | None = None, memory: str = "128M",
             boot_timeout: float | None = None, **kwargs: Any) -> LiveKernel:
        """Boot this image in QEMU and return the running kernel.

        ``accel``: "tcg", "kvm" or "auto"; None takes THESEUS_NB_ACCEL (default
        "tcg"), and ``kvm=True`` means "kvm".  ``boot_timeout`` None: 10 s under
        TCG, KVM_BOOT_TIMEOUT under KVM (a KVM host that emulates the guest's
        instructions, as this project's does, boots far slower than TCG).
        Raises BootError (with the console transcript) if the prompt does not come.
        """
        if accel is None:
            accel = "kvm" if kvm else accel_from_env()
        config = QemuConfig(self.kernel_path, self.archive_path, memory=memory, accel=accel)
        if boot_timeout is None:
            boot_timeout = 10.0 if config.accelerator == "tcg" else KVM_BOOT_TIMEOUT
        return LiveKernel.boot(self, config, boot_timeout=boot_timeout, **kwargs)

    def _repr_html_(self) -> str:
        rows = [(name, self.sizes.get(name, 0), f"{seconds * 1000:.1f}")
                for name, seconds in self.build_times.items()]
        return (f"<b>theseus-nb image</b> {html.escape(str(self.kernel_path))} "
                f"({self.sizes['kernel.bin']} bytes), archive {self.sizes['cells.img']} bytes, "
                f"link {self.link_time * 1000:.1f} ms"
                + html_table(("cell", "object bytes", "build ms"), rows))


def write_image(out: Path, nano_core: list[CellObject], cells: list[CellObject],
                build_times: dict[str, float], sources: Iterable[CellSource] = (),
                extra: Iterable[ArchiveEntry] = ()) -> Image:
    """Link ``nano_core``, write ``out/kernel.bin`` and ``out/cells.img``.

    ``sources`` are the cells' sources, kept in the Image for live swaps.
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
                 nano_core, cells, dict(linked.symbols), list(sources))

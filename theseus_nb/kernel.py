"""Kernel: which cells make up a kernel, and building them into an Image.

The nano_core (``kernel_src/``) is linked by the host into the boot image;
every other cell (``cells/``) travels as an object in the boot archive and
is loaded by the nano_core itself. Each cell compiles through the one
compile path (``theseus_nb.compile``).
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import tempfile
import weakref
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from .archive import ArchiveEntry
from .errors import TheseusError
from .compile import LANGUAGES, CellSource, compile_source, interfaces_of
from .image import Image, write_image
from .objects import CellObject, parse_object

__all__ = ["Kernel", "KernelError", "repo_root"]


def repo_root() -> Path:
    """The checkout holding ``kernel_src/`` and ``cells/`` (or $THESEUS_NB_ROOT)."""
    env = os.environ.get("THESEUS_NB_ROOT")
    return Path(env) if env else Path(__file__).resolve().parent.parent


def _sources_in(folder: Path) -> list[CellSource]:
    if not folder.is_dir():
        return []
    return [CellSource.from_path(p) for p in sorted(folder.iterdir())
            if p.suffix in LANGUAGES and not p.name.startswith(("_", "."))]


class KernelError(TheseusError, ValueError):
    """A kernel asked for something it cannot be (an isolated nano_core cell, an unknown cell)."""


@dataclass
class Kernel:
    """A kernel to build: the nano_core's cells plus the loadable cells."""

    nano_core: list[CellSource]
    cells: list[CellSource] = field(default_factory=list)
    #: For each cell of the last build: was its object taken from the cache?
    last_build_cached: dict[str, bool] = field(default_factory=dict, repr=False)
    #: Cells (of ``cells``) to load isolated at boot: ring 3, their own pages,
    #: calls out through gates (kernel_src/gates.py); a ``# cell: isolated``
    #: line in a cell's header does the same. The nano_core stays trusted.
    isolated: Iterable[str] = ()

    def __post_init__(self) -> None:
        wanted = set(self.isolated)
        core = wanted & {c.name for c in self.nano_core}
        if core:
            raise KernelError(f"the nano_core's cell {sorted(core)[0]!r} cannot be isolated: "
                              "the nano_core is the kernel itself; isolate a loadable cell")
        unknown = wanted - {c.name for c in self.cells}
        if unknown:
            raise KernelError(f"no cell {sorted(unknown)[0]!r} to isolate "
                              f"(cells: {', '.join(c.name for c in self.cells)})")
        self.cells = [dataclasses.replace(c, isolated=True) if c.name in wanted else c
                      for c in self.cells]
        self.isolated = frozenset(wanted)

    @classmethod
    def default(cls) -> "Kernel":
        """The default kernel: ``kernel_src/`` plus every cell in ``cells/``."""
        root = repo_root()
        return cls(_sources_in(root / "kernel_src"), _sources_in(root / "cells"))

    @property
    def sources(self) -> list[CellSource]:
        """Every cell's source, the nano_core's first."""
        return self.nano_core + self.cells

    def source(self, name: str) -> CellSource | None:
        """The source of cell ``name``, or None."""
        return next((c for c in self.sources if c.name == name), None)

    def with_cell(self, name: str, source: str | CellSource, *,
                  unsafe: bool | None = None, isolated: bool | None = None) -> "Kernel":
        """A copy of this kernel with cell ``name`` added or replaced (``source``:
        cell-language text, or any ``CellSource``, a WebAssembly or C one say;
        ``unsafe`` and ``isolated`` as for ``CellSource``, for text)."""
        new = source if isinstance(source, CellSource) else CellSource.cell(
            name, source, unsafe=unsafe, isolated=isolated)
        cells = [c for c in self.cells if c.name != name] + [new]
        return Kernel(list(self.nano_core), cells)

    def build(self, out_dir: str | Path | None = None,
              progress: Callable[[int, int, str], None] | None = None,
              extra_archive_entries: Iterable[ArchiveEntry] = ()) -> Image:
        """Compile every cell, link the nano_core and write the image files
        (into ``out_dir``, or a temporary folder removed with the Image).

        ``progress(done, total, cell)`` is called after each cell compiles.
        Raises ``CellError`` for bad cell source, ``BuildError`` for IR that
        LLVM refuses and ``LinkError`` for duplicate or undefined symbols.
        """
        temporary = out_dir is None
        out = Path(tempfile.mkdtemp(prefix="theseus-nb-")) if temporary else Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        everything = self.sources
        interfaces = interfaces_of(everything)
        objects: dict[str, CellObject] = {}
        times: dict[str, float] = {}
        for done, src in enumerate(everything, 1):
            start = time.perf_counter()
            compiled = compile_source(src, interfaces)
            self.last_build_cached[src.name] = compiled.cached
            objects[src.name] = parse_object(compiled.data, src.name)
            times[src.name] = time.perf_counter() - start
            if progress:
                progress(done, len(everything), src.name)
        core = [objects[c.name] for c in self.nano_core]
        loadable = [objects[c.name] for c in self.cells]
        image = write_image(out, core, loadable, times, everything, extra_archive_entries)
        if temporary:
            # A folder we made goes with its image: when the image is garbage
            # (no machine or notebook holds it) or when Python exits. QEMU has
            # read both files by the time its prompt comes.
            weakref.finalize(image, shutil.rmtree, out, ignore_errors=True)
        return image

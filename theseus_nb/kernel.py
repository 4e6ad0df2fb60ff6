"""Kernel: which cells make up a kernel, and building them into an Image.

The nano_core (``kernel_src/``) is linked by the host into the boot image;
every other cell (``cells/``) travels as an object in the boot archive and
is loaded by the nano_core itself.  A cell is one file: ``.py`` in the cell
language, ``.ll`` LLVM IR, or ``.s`` module assembly (the boot stub).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from . import build
from .archive import ArchiveEntry
from .image import Image, write_image
from .objects import CellObject, parse_object

__all__ = ["CellSource", "Kernel", "compile_source", "interfaces_of", "repo_root"]

_SUFFIXES = (".py", ".ll", ".s")


def repo_root() -> Path:
    """The checkout holding ``kernel_src/`` and ``cells/`` (or $THESEUS_NB_ROOT)."""
    env = os.environ.get("THESEUS_NB_ROOT")
    return Path(env) if env else Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class CellSource:
    """One cell's source text, where it came from, and its language."""

    name: str
    text: str
    language: str  # "cell", "ir" or "asm"
    filename: str = "<cell>"
    unsafe: bool = False

    @classmethod
    def from_path(cls, path: Path) -> "CellSource":
        """Read a cell from a file; its name is the file's stem."""
        language = {".py": "cell", ".ll": "ir", ".s": "asm"}[path.suffix]
        text = path.read_text()
        return cls(path.stem, text, language, str(path), "# cell: unsafe" in text)


def _sources_in(folder: Path) -> list[CellSource]:
    if not folder.is_dir():
        return []
    return [CellSource.from_path(p) for p in sorted(folder.iterdir())
            if p.suffix in _SUFFIXES and not p.name.startswith(("_", "."))]


@dataclass
class Kernel:
    """A kernel to build: the nano_core's cells plus the loadable cells."""

    nano_core: list[CellSource]
    cells: list[CellSource] = field(default_factory=list)
    #: For each cell of the last build: was its object taken from the cache?
    last_build_cached: dict[str, bool] = field(default_factory=dict, repr=False)

    def source(self, name: str) -> CellSource | None:
        """The source of cell ``name``, or None."""
        return next((c for c in self.nano_core + self.cells if c.name == name), None)

    @classmethod
    def default(cls) -> "Kernel":
        """The default kernel: ``kernel_src/`` plus every cell in ``cells/``."""
        root = repo_root()
        return cls(_sources_in(root / "kernel_src"), _sources_in(root / "cells"))

    def with_cell(self, name: str, source: str, *, unsafe: bool = False) -> "Kernel":
        """A copy of this kernel with cell ``name`` added or replaced."""
        new = CellSource(name, source, "cell", f"<cell {name}>", unsafe)
        cells = [c for c in self.cells if c.name != name] + [new]
        return Kernel(list(self.nano_core), cells)

    def build(self, out_dir: str | Path | None = None,
              progress: Callable[[int, int, str], None] | None = None,
              extra_archive_entries: Iterable[ArchiveEntry] = ()) -> Image:
        """Compile every cell, link the nano_core and write the image files.

        ``progress(done, total, cell)`` is called after each cell compiles.
        Raises ``theseus_nb.lang.CellError`` for bad cell source,
        ``BuildError`` for IR that LLVM refuses and ``LinkError`` for
        duplicate or undefined symbols.
        """
        out = Path(out_dir) if out_dir else Path(tempfile.mkdtemp(prefix="theseus-nb-"))
        out.mkdir(parents=True, exist_ok=True)
        everything = self.nano_core + self.cells
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
        image = write_image(out, core, loadable, times, extra_archive_entries)
        image.kernel = self
        return image


def interfaces_of(sources: list[CellSource]) -> dict:
    """The public interface of every cell-language source, by cell name."""
    cell_sources = [s for s in sources if s.language == "cell"]
    if not cell_sources:
        return {}
    from . import lang  # the compiler is only needed for cell-language sources

    return {s.name: lang.interface_of(s.text, s.name, filename=s.filename) for s in cell_sources}


def compile_source(src: CellSource, interfaces: dict) -> build.CompiledObject:
    """Compile one cell's source to its ELF object (cached by content).

    Cell-language objects carry their signature table (see signatures.py),
    which the kernel checks when the cell is hot-swapped.
    """
    if src.language == "asm":
        return build.compile_object(build.module_asm(src.text), src.name)
    if src.language == "ir":
        return build.compile_object(src.text, src.name)
    from . import lang
    from .signatures import signature_asm

    # An unchanged cell whose imports kept their interfaces skips the
    # compiler entirely (the object cache alone would still run the front end).
    key = _source_key(src, interfaces, lang.imports_of(src.text, name=src.name,
                                                      filename=src.filename))
    path = build.cache_dir() / f"{src.name}-src-{key}.o"
    if path.exists():
        return build.CompiledObject(path.read_bytes(), True, key)
    compiled = lang.compile_cell(src.text, src.name, filename=src.filename,
                                 unsafe=src.unsafe, interfaces=interfaces)
    result = build.compile_object(compiled.module, src.name,
                                  extra_ir=signature_asm(src.name, compiled))
    build.store_cached(path, result.data)
    return result


_compiler_hash: str | None = None


def _compiler_fingerprint() -> str:
    # The compiler's own source is part of every key: change the compiler,
    # and every cell is compiled again.
    global _compiler_hash
    if _compiler_hash is None:
        here = Path(__file__).resolve().parent
        digest = hashlib.sha256()
        for path in sorted([*here.glob("lang/*.py"), here / "build.py", here / "signatures.py"]):
            digest.update(path.read_bytes())
        _compiler_hash = digest.hexdigest()
    return _compiler_hash


def _source_key(src: CellSource, interfaces: dict, imports: list[str]) -> str:
    parts = [_compiler_fingerprint(), src.name, src.filename, str(src.unsafe), src.text]
    parts += [f"{cell}={_interface_text(interfaces.get(cell))}" for cell in sorted(set(imports))]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:32]


def _interface_text(iface: object) -> str:
    # Everything of an imported cell that can change the importer's code:
    # signatures, constants (inlined as immediates) and which names are private.
    if iface is None:
        return "-"
    funcs = sorted(sig.text for sig in iface.functions.values())  # type: ignore[attr-defined]
    consts = sorted(f"{n}:{t}={v}" for n, (t, v) in iface.constants.items())  # type: ignore[attr-defined]
    return repr((funcs, consts, sorted(iface.private)))  # type: ignore[attr-defined]


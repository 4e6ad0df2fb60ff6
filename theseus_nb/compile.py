"""Compile: one cell's source to its ELF object, the one path every caller takes.

The build (``Kernel.build``), ``%%cell`` and live swaps (``LiveKernel``)
all compile through ``compile_source``, against the interfaces of the cells
the object will live among (``interfaces_of``), with one cache. A cell is
one file: ``.py`` in the cell language, ``.ll`` LLVM IR, or ``.s`` module
assembly (the boot stub).

Two caches: ``build.compile_object`` keys objects by the final IR; here an
unchanged cell whose imports kept their interfaces (signatures, constants)
skips the compiler altogether. The compiler's own source is part of the key.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from llvmlite import ir

from . import build, lang
from .objects import CellObject, parse_object
from .signatures import SIGS_SECTION, function_hash, signature_asm
from .isolation import isolated_marker_line, isolation_asm
from .wasm.clang import c_to_wasm
from .wasm.kernel_cell import kernel_cell
from .wasm.lower import ir_text
from .wasm.wat import wat_to_wasm

__all__ = ["CellSource", "LANGUAGES", "compile_source", "compile_among", "interfaces_of"]

#: File suffix -> language of a cell.
LANGUAGES = {".py": "cell", ".ll": "ir", ".s": "asm", ".wat": "wat", ".wasm": "wasm", ".c": "c"}
#: The languages that become WebAssembly first (theseus_nb.wasm translates them).
WASM_LANGUAGES = ("wat", "wasm", "c")

#: An IR cell that asks for SSE2 says so in a comment line of its own, like
#: a cell-language cell's ``# cell: unsafe``.
_SSE_MARKER = re.compile(r"^;\s*cell:\s*sse2\s*$", re.M)

@dataclass(frozen=True)
class CellSource:
    """One cell's source text, where it came from, and its language."""

    name: str
    text: str
    language: str  # "cell", "ir", "asm", or (WebAssembly) "wat", "wasm", "c"
    filename: str = "<cell>"
    #: None: as the cell's header says (a ``# cell: unsafe`` comment line);
    #: True: unsafe either way; False: safe, and a marked cell is refused.
    unsafe: bool | None = None
    #: Compile with SSE2 (build.SSE_FEATURES) instead of the kernel's SSE-free
    #: target; None: as an IR cell's header says (a ``; cell: sse2`` line).
    sse: bool | None = None
    #: Load the cell isolated (ring 3, its own pages, calls out through gates:
    #: kernel_src/gates.py); None: as the header says (a ``# cell: isolated``
    #: comment line). Cell-language cells only.
    isolated: bool | None = None

    @property
    def is_isolated(self) -> bool:
        """Is this cell loaded isolated (its flag, or its header's ``# cell: isolated``)?"""
        if self.isolated is not None:
            return self.isolated
        return self.language == "cell" and isolated_marker_line(self.text) is not None

    @property
    def uses_sse(self) -> bool:
        """Is this cell compiled with SSE2 (its flag, or an IR cell's ``; cell: sse2``)?"""
        if self.sse is not None:
            return self.sse
        return self.language == "ir" and _SSE_MARKER.search(self.text) is not None
    #: the module's bytes, for a "wasm" cell (its text is empty)
    data: bytes = b""
    #: how a WebAssembly cell keeps its accesses inside its memory: "guard" (guard
    #: regions, the default) or "checks" (explicit bounds checks); see wasm.kernel_cell
    bounds: str = "guard"

    @classmethod
    def from_path(cls, path: Path) -> "CellSource":
        """Read a cell from a file; its name is the file's stem."""
        if path.suffix == ".wasm":
            return cls(path.stem, "", "wasm", str(path), data=path.read_bytes())
        return cls(path.stem, path.read_text(), LANGUAGES[path.suffix], str(path))

    @classmethod
    def wasm(cls, name: str, module: bytes | str, *, filename: str | None = None,
             bounds: str = "guard") -> "CellSource":
        """A WebAssembly cell: the module's bytes, or WAT text (``bounds``: see the field)."""
        if isinstance(module, (bytes, bytearray)):
            return cls(name, "", "wasm", filename or f"<wasm {name}>", data=bytes(module),
                       bounds=bounds)
        return cls(name, module, "wat", filename or f"<wat {name}>", bounds=bounds)

    @classmethod
    def c(cls, name: str, text: str, *, filename: str | None = None,
          bounds: str = "guard") -> "CellSource":
        """A C cell, compiled by clang to wasm32 and then translated."""
        return cls(name, text, "c", filename or f"<c {name}>", bounds=bounds)

    @classmethod
    def cell(cls, name: str, text: str, *, unsafe: bool | None = None,
             filename: str | None = None, sse: bool | None = None,
             isolated: bool | None = None) -> "CellSource":
        """Cell-language source typed in a notebook or passed to a swap (``unsafe``,
        ``sse`` and ``isolated`` as for the fields: None takes unsafe and
        isolated from the cell's header)."""
        return cls(name, text, "cell", filename or f"<cell {name}>", unsafe, sse, isolated)


def interfaces_of(sources: Iterable[CellSource]) -> dict:
    """The public interface of every cell-language source, by cell name."""
    return {s.name: _interface(s.text, s.name, s.filename, s.unsafe)
            for s in sources if s.language == "cell"}


@functools.lru_cache(maxsize=512)
def _interface(text: str, name: str, filename: str, unsafe: bool | None) -> lang.CellInterface:
    # A swap compiles one cell among fifty unchanged ones: parsing all fifty
    # again for their interfaces took most of a small swap's compile time.
    # Keyed by the source itself, so an edited cell is read again; nothing
    # downstream changes an interface.
    return lang.interface_of(text, name, filename=filename, unsafe=unsafe)


def compile_source(src: CellSource, interfaces: dict) -> build.CompiledObject:
    """Compile one cell's source to its ELF object (cached by content).

    Cell-language objects carry their signature table (see signatures.py),
    which the kernel checks when the cell is hot-swapped. Raises
    ``CellError`` for bad source and ``BuildError`` for IR LLVM refuses.
    """
    if src.language == "asm":
        return build.compile_object(build.module_asm(src.text), src.name, sse=src.uses_sse)
    if src.language == "ir":
        return build.compile_object(src.text, src.name, sse=src.uses_sse)
    if src.language in WASM_LANGUAGES:
        return _compile_wasm(src)
    key = _source_key(src, interfaces, lang.imports_of(src.text, name=src.name,
                                                      filename=src.filename))
    path = build.cache_dir() / f"{src.name}-src-{key}.o"
    if path.exists():
        return build.CompiledObject(path.read_bytes(), True, key)
    compiled = lang.compile_cell(src.text, src.name, filename=src.filename,
                                 unsafe=src.unsafe, interfaces=interfaces)
    extra = signature_asm(src.name, compiled)
    if src.is_isolated:
        extra += isolation_asm(compiled, interfaces)
    result = build.compile_object(compiled.module, src.name, sse=src.uses_sse, extra_ir=extra)
    build.store_cached(path, result.data)
    return result


def wasm_bytes(src: CellSource) -> bytes:
    """The WebAssembly module of a "wasm", "wat" or "c" cell."""
    if src.language == "wasm":
        return src.data
    if src.language == "wat":
        return wat_to_wasm(src.text)
    return c_to_wasm(src.text)


def _compile_wasm(src: CellSource) -> build.CompiledObject:
    # Every function and global of a wasm cell is in the signature table: the kernel checks
    # a task entry's (u64 -> u64) before it spawns it, and a hot swap redirects a call, or
    # carries a global's value over, only when its signature is unchanged. Exports that
    # are not task entries are hashed with their wasm types.
    module = wasm_bytes(src)
    cell = kernel_cell(src.name, module, bounds=src.bounds)
    # the table's entries name this version's functions: a hash of the module in its
    # signature makes a swap start the new table from its own initializer
    version = hashlib.sha256(module).hexdigest()[:16]
    lines = []
    for fn in cell.module.functions:
        if fn.is_declaration or not fn.name.startswith(f"{src.name}::"):
            continue
        short = fn.name.split("::", 1)[1]
        if short in cell.tasks:
            h = function_hash(short, ["u64"], "u64")
        elif short in cell.exports:
            ft = cell.exports[short]
            h = function_hash(short, list(ft.params), ",".join(ft.results) or "none")
        else:
            h = function_hash(short, [str(a.type) for a in fn.args],
                              str(fn.function_type.return_type))
        lines.append(f"{fn.name} {h}")
    for g in cell.module.global_values:
        if (isinstance(g, ir.GlobalVariable) and not g.global_constant
                and g.initializer is not None and g.linkage != "internal"):
            kind = str(g.value_type) + (version if g.name in cell.fresh else "")
            if g.name in cell.instance:
                # a swap between guard regions and checks starts a new instance: the
                # memory of one is not the other's (a slot, or a heap block)
                kind += cell.bounds
            lines.append(f"{g.name} {function_hash(g.name, [], kind)}")
    body = "".join(line + "\\n" for line in lines)
    sigs = build.module_asm(f'.section {SIGS_SECTION},"",@progbits\n.ascii "{body}"\n.text')
    return build.compile_object(cell.module, src.name, extra_ir=sigs, sse=cell.floats,
                                render=ir_text)


def compile_among(sources: Iterable[CellSource], new: list[CellSource]) -> dict[str, CellObject]:
    """Objects for the ``new`` cells, each compiled against the interfaces of
    ``sources`` with every new version in place of the old (so cells changed
    together may use each other's new functions)."""
    replaced = {s.name for s in new}
    interfaces = interfaces_of([s for s in sources if s.name not in replaced] + new)
    return {s.name: parse_object(compile_source(s, interfaces).data, s.name) for s in new}


_compiler_hash: str | None = None


def _compiler_fingerprint() -> str:
    # The compiler's own source is part of every key: change the compiler,
    # and every cell is compiled again.
    global _compiler_hash
    if _compiler_hash is None:
        here = Path(__file__).resolve().parent
        digest = hashlib.sha256()
        for path in sorted([*here.glob("lang/*.py"), here / "build.py", here / "signatures.py",
                            here / "isolation.py"]):
            digest.update(path.read_bytes())
        _compiler_hash = digest.hexdigest()
    return _compiler_hash


def _source_key(src: CellSource, interfaces: dict, imports: list[str]) -> str:
    parts = [_compiler_fingerprint(), src.name, src.filename, str(src.unsafe), str(src.uses_sse),
             str(src.is_isolated), src.text]
    # The compiler's own calls (rt::panic for every check, console for print)
    # are imports too, though no line of the cell names them.
    implicit = {"rt", "console"}
    parts += [f"{cell}={_interface_text(interfaces.get(cell))}"
              for cell in sorted(set(imports) | implicit)]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:32]


def _interface_text(iface: lang.CellInterface | None) -> str:
    # Everything of an imported cell that can change the importer's code:
    # signatures, constants (inlined as immediates) and which names are private.
    if iface is None:
        return "-"
    funcs = sorted(sig.text for sig in iface.functions.values())
    consts = sorted(f"{n}:{t}={v}" for n, (t, v) in iface.constants.items())
    # a reader of a struct or a global is compiled against its layout
    shared = sorted(f"{n}:{lang.layout(t)}" for n, t in [*iface.structs.items(), *iface.globals.items()])
    return repr((funcs, consts, shared, sorted(iface.private), iface.unsafe))

"""Objects: read a cell's ELF relocatable object into a ``CellObject``.

A cell is source at build time, an object file after it, and loaded sections
at run time; this module is the middle phase. pyelftools does the parsing;
what we keep is exactly what a linker (ours on the host, or the nano_core's
loader in the guest) needs: sections, symbols and relocations.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

from elftools.common.exceptions import ELFError
from elftools.elf.constants import SH_FLAGS
from elftools.elf.elffile import ELFFile
from elftools.elf.enums import ENUM_RELOC_TYPE_x64
from elftools.elf.relocation import RelocationSection

from .errors import TheseusError

__all__ = [
    "ObjectError",
    "Section",
    "Symbol",
    "Relocation",
    "CellObject",
    "parse_object",
    "SUPPORTED_RELOCATIONS",
    "ISOLATED_SECTION",
]

_RELOC_NAMES = {number: name for name, number in ENUM_RELOC_TYPE_x64.items()}

#: The relocation types both linkers apply.  Kernel code is compiled with the
#: static relocation model, so no GOT or PLT entries are ever needed.
SUPPORTED_RELOCATIONS = frozenset(
    {"R_X86_64_64", "R_X86_64_PC32", "R_X86_64_PLT32", "R_X86_64_32", "R_X86_64_32S",
     "R_X86_64_PC64"}
)


#: A non-allocated section whose presence marks an isolated cell's object
#: (its lines are the cell's imports: theseus_nb/isolation.py).
ISOLATED_SECTION = ".theseus.isolated"


class ObjectError(TheseusError):
    """An object file that theseus-nb cannot use, with the reason."""


@dataclass(frozen=True)
class Section:
    """One allocatable section: one function or one global of a cell."""

    index: int
    name: str
    kind: str  # "text", "rodata", "data" or "bss"
    size: int
    align: int
    data: bytes  # empty for bss


@dataclass(frozen=True)
class Symbol:
    """A symbol; ``section`` is None when it is undefined (another cell's)."""

    name: str
    section: int | None
    value: int
    size: int
    is_global: bool
    kind: str  # "func", "object", "section", "notype"


@dataclass(frozen=True)
class Relocation:
    """A place in ``section`` to patch with the address of ``symbol``."""

    section: int
    offset: int
    type: str
    symbol: Symbol
    addend: int


@dataclass
class CellObject:
    """A parsed cell object: what the linkers and the section graph read."""

    cell: str
    sections: dict[int, Section] = field(default_factory=dict)
    symbols: list[Symbol] = field(default_factory=list)
    relocations: list[Relocation] = field(default_factory=list)
    data: bytes = b""

    @property
    def defined(self) -> list[Symbol]:
        """Global symbols this object defines (its public interface)."""
        return [s for s in self.symbols if s.is_global and s.section is not None]

    @property
    def undefined(self) -> list[Symbol]:
        """Symbols this object needs from other cells."""
        return [s for s in self.symbols if s.section is None and s.name]

    @property
    def isolated(self) -> bool:
        """Is this the object of an isolated cell (it has ``.theseus.isolated``)?"""
        return bool(self.data) and \
            ELFFile(io.BytesIO(self.data)).get_section_by_name(ISOLATED_SECTION) is not None

    def symbol_of(self, section: Section) -> str:
        """The qualified name that stands for ``section`` in the section graph.

        The rule (the nano_core's loader applies the same one): the first
        function, object or untyped (assembly label) symbol at offset 0 of
        the section, global ones before local ones, in symbol-table order; a
        name without ``::`` gets the cell as prefix; a section with no such symbol is named
        ``<cell>::<section name>``.
        """
        candidates = [s for s in self.symbols
                      if s.section == section.index and s.kind in ("func", "object", "notype")
                      and s.name and s.value == 0]
        candidates.sort(key=lambda s: not s.is_global)  # stable: keeps table order
        if not candidates:
            return f"{self.cell}::{section.name}"
        name = candidates[0].name
        return name if "::" in name else f"{self.cell}::{name}"

def _kind_of(name: str, sh_type: str, flags: int) -> str:
    if sh_type == "SHT_NOBITS":
        return "bss"
    if flags & SH_FLAGS.SHF_EXECINSTR:
        return "text"
    if flags & SH_FLAGS.SHF_WRITE:
        return "data"
    return "rodata"


def parse_object(data: bytes, cell: str) -> CellObject:
    """Parse the ELF object ``data`` of ``cell``.

    Raises ``ObjectError`` for anything that is not an x86-64 relocatable
    object, and for relocation types the linkers do not handle.
    """
    try:
        elf = ELFFile(io.BytesIO(data))
        if elf.header["e_type"] != "ET_REL" or elf.header["e_machine"] != "EM_X86_64":
            raise ObjectError(f"cell {cell!r}: not an x86-64 relocatable object "
                              f"({elf.header['e_type']}, {elf.header['e_machine']})")
        return _read(elf, data, cell)
    except ELFError as exc:
        raise ObjectError(f"cell {cell!r}: malformed ELF object: {exc}") from None


def _read(elf: ELFFile, data: bytes, cell: str) -> CellObject:
    obj = CellObject(cell=cell, data=data)
    symtab = elf.get_section_by_name(".symtab")
    if symtab is None:
        raise ObjectError(f"cell {cell!r}: object has no symbol table")
    # Listed once: pyelftools parses a section's header again on every lookup.
    sections = list(elf.iter_sections())
    symbols = list(symtab.iter_symbols())
    named = {sym["st_shndx"] for sym in symbols
             if sym.name and sym["st_info"]["type"] in ("STT_FUNC", "STT_OBJECT", "STT_NOTYPE")}
    for index, sec in enumerate(sections):
        flags = sec["sh_flags"]
        # Loaded: allocatable sections with bytes or with a named symbol in
        # them (an empty string literal); the kernel's loader uses the same rule.
        if not flags & SH_FLAGS.SHF_ALLOC or sec["sh_size"] == 0 and index not in named:
            continue
        kind = _kind_of(sec.name, sec["sh_type"], flags)
        payload = b"" if kind == "bss" else sec.data()
        obj.sections[index] = Section(index, sec.name, kind, sec["sh_size"],
                                      max(1, sec["sh_addralign"]), payload)
    table: list[Symbol] = []
    for sym in symbols:
        shndx = sym["st_shndx"]
        section = shndx if isinstance(shndx, int) else None
        kind = sym["st_info"]["type"].removeprefix("STT_").lower()
        name = sym.name
        if kind == "section" and section is not None:
            name = sections[section].name if section < len(sections) else elf.get_section(section).name
        table.append(Symbol(name, section, sym["st_value"], sym["st_size"],
                            sym["st_info"]["bind"] in ("STB_GLOBAL", "STB_WEAK"), kind))
    obj.symbols = [s for s in table if s.kind != "file"]
    for sec in sections:
        if not isinstance(sec, RelocationSection):
            continue
        target = sec["sh_info"]
        if target not in obj.sections:
            continue  # relocations of debug or unwind info: not loaded
        for rel in sec.iter_relocations():
            rtype = _RELOC_NAMES.get(rel["r_info_type"], f"type {rel['r_info_type']}")
            symbol = table[rel["r_info_sym"]]
            where = f"{obj.sections[target].name}+{rel['r_offset']:#x}"
            if rtype not in SUPPORTED_RELOCATIONS:
                raise ObjectError(
                    f"cell {cell!r}: relocation {rtype} at {where} (against {symbol.name!r}) "
                    "is not supported: theseus-nb links statically, so cells must be "
                    "compiled with the static relocation model and small code model")
            obj.relocations.append(Relocation(target, rel["r_offset"], rtype, symbol,
                                              rel["r_addend"] if sec.is_RELA() else 0))
    return obj

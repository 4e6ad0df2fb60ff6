"""The data model of a decoded module: plain records, one per kind of definition.

Value types are the strings "i32", "i64", "f32", "f64" (and "funcref" for
tables). Indices follow the spec: imported definitions come first in each
index space (functions, tables, memories, globals).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Union

__all__ = ["FuncType", "Limits", "Import", "Function", "Global", "Export", "Elem", "Data",
           "Instr", "Module", "NUM_TYPES"]

NUM_TYPES = ("i32", "i64", "f32", "f64")


@dataclass(frozen=True)
class FuncType:
    """A function signature: parameter and result value types."""

    params: tuple[str, ...]
    results: tuple[str, ...]

    def __str__(self) -> str:
        return f"({' '.join(self.params)}) -> ({' '.join(self.results)})"


@dataclass(frozen=True)
class Limits:
    """Limits of a memory (in 64 KiB pages) or a table (in entries)."""

    min: int
    max: Optional[int]


@dataclass(frozen=True)
class Instr:
    """One instruction of a function body or a constant expression."""

    op: str            # the spec's name, e.g. "i32.add", "br_table"
    imm: object        # its immediates (None, an int, a tuple...)
    offset: int        # byte offset of the opcode in the module


#: What an import brings: a type index (func), Limits (table, memory), or (type, mutable) (global).
ImportDesc = Union[int, Limits, tuple]


@dataclass(frozen=True)
class Import:
    module: str
    name: str
    kind: str          # "func", "table", "memory", "global"
    desc: object       # func: type index; table/memory: Limits; global: (valtype, mutable)
    offset: int


@dataclass
class Function:
    """A function defined in the module (not imported)."""

    type_index: int
    locals: list[str] = field(default_factory=list)   # declared locals, params excluded
    body: list[Instr] = field(default_factory=list)   # ends with the function's "end"
    offset: int = 0                                    # of the body in the code section


@dataclass(frozen=True)
class Global:
    type: str
    mutable: bool
    init: tuple[Instr, ...]
    offset: int


@dataclass(frozen=True)
class Export:
    name: str
    kind: str          # "func", "table", "memory", "global"
    index: int
    offset: int


@dataclass(frozen=True)
class Elem:
    """An element segment: an active one has a table and an offset expression."""

    mode: str                       # "active", "passive" or "declarative"
    table: int
    offset_expr: tuple[Instr, ...]
    funcs: tuple[Optional[int], ...]    # function indices (None: a null reference)
    offset: int


@dataclass(frozen=True)
class Data:
    mode: str                       # "active" or "passive"
    memory: int
    offset_expr: tuple[Instr, ...]
    data: bytes
    offset: int


@dataclass
class Module:
    """A decoded module. ``funcs`` are the defined functions only; ``func_types`` lists the
    type of every function index, imported ones first."""

    types: list[FuncType] = field(default_factory=list)
    imports: list[Import] = field(default_factory=list)
    funcs: list[Function] = field(default_factory=list)
    tables: list[Limits] = field(default_factory=list)
    memories: list[Limits] = field(default_factory=list)
    globals: list[Global] = field(default_factory=list)
    exports: list[Export] = field(default_factory=list)
    start: Optional[int] = None
    elems: list[Elem] = field(default_factory=list)
    datas: list[Data] = field(default_factory=list)
    data_count: Optional[int] = None
    names: dict[int, str] = field(default_factory=dict)   # from the "name" custom section

    def imported(self, kind: str) -> list[Import]:
        """The imports of one kind, in index order."""
        return [i for i in self.imports if i.kind == kind]

    @property
    def func_types(self) -> list[FuncType]:
        """The type of every function index: imports first, then definitions."""
        return ([self.types[i.desc] for i in self.imported("func")]  # type: ignore[index]
                + [self.types[f.type_index] for f in self.funcs])

    @property
    def all_tables(self) -> list[Limits]:
        return [i.desc for i in self.imported("table")] + self.tables  # type: ignore[misc]

    @property
    def all_memories(self) -> list[Limits]:
        return [i.desc for i in self.imported("memory")] + self.memories  # type: ignore[misc]

    @property
    def global_types(self) -> list[tuple[str, bool]]:
        """(value type, mutable) of every global index, imports first."""
        return ([i.desc for i in self.imported("global")]  # type: ignore[misc]
                + [(g.type, g.mutable) for g in self.globals])

    @property
    def num_imported_funcs(self) -> int:
        return len(self.imported("func"))

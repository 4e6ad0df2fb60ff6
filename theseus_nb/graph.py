"""Graph: the section-dependency graph, as the host predicts it and as the kernel reports it.

Nodes are sections ("cell::name"); an edge A -> B means a relocation in A
targets a symbol defined in B. One type for both origins, so they can be compared.
"""

from __future__ import annotations

import difflib
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from .graph_render import GraphRenderMixin
from .objects import CellObject

__all__ = ["SectionInfo", "SectionGraph", "GraphDiff", "SECTION_KINDS"]

#: The kinds a section can have (as in ``objects.Section.kind``).
SECTION_KINDS = ("text", "rodata", "data", "bss")


@dataclass(frozen=True)
class SectionInfo:
    """One node: a loaded (or to-be-loaded) section; ``address`` is known only when live."""

    name: str  # qualified: "cell::name"
    cell: str
    kind: str
    size: int
    address: int | None = None


@dataclass(frozen=True)
class GraphDiff:
    """What two graphs disagree on: sections and edges found only on one side.

    ``weights`` lists edges present on both sides with different relocation
    counts; they do not make the graphs unequal (``==`` compares names only).
    """

    only_left_sections: tuple[str, ...] = ()
    only_right_sections: tuple[str, ...] = ()
    only_left_edges: tuple[tuple[str, str], ...] = ()
    only_right_edges: tuple[tuple[str, str], ...] = ()
    weights: tuple[tuple[str, str, int, int], ...] = ()
    left: str = "left"
    right: str = "right"

    def __bool__(self) -> bool:
        return bool(self.only_left_sections or self.only_right_sections
                    or self.only_left_edges or self.only_right_edges)

    def __str__(self) -> str:
        lines: list[str] = []
        for side, secs, edges in ((self.left, self.only_left_sections, self.only_left_edges),
                                  (self.right, self.only_right_sections, self.only_right_edges)):
            lines += [f"section only in {side}: {name}" for name in secs]
            lines += [f"edge only in {side}: {a} -> {b}" for a, b in edges]
        lines += [f"weight differs: {a} -> {b}: {self.left} {x}, {self.right} {y}"
                  for a, b, x, y in self.weights]
        return "\n".join(lines) if lines else "graphs agree"


class SectionGraph(GraphRenderMixin):
    """Sections, the dependencies between them, and the cells they belong to.

    Build one with ``from_objects`` (the host's prediction) or ``from_dump``
    (what the running kernel reports). Invariant: every edge joins two known
    sections, never a section to itself, with a weight (relocation count) >= 1.
    """

    def __init__(self, sections: Iterable[SectionInfo],
                 edges: Mapping[tuple[str, str], int],
                 *, nano_core: Iterable[str] = (), cells: Iterable[str] = (),
                 unresolved: Iterable[tuple[str, str]] = (),
                 changed: Iterable[str] | None = None,
                 isolated: Iterable[str] = ()) -> None:
        self._info: dict[str, SectionInfo] = {}
        for info in sections:
            if info.name in self._info:
                raise ValueError(f"section {info.name!r} appears twice")
            self._info[info.name] = info
        self._weights: dict[tuple[str, str], int] = {}
        for (a, b), count in edges.items():
            for end in (a, b):
                if end not in self._info:
                    raise ValueError(f"edge {a} -> {b}: unknown section {end!r}")
            if a != b and count > 0:
                self._weights[(a, b)] = count
        self.nano_core: set[str] = set(nano_core)
        self.cells: list[str] = sorted(set(cells) | self.nano_core
                                       | {i.cell for i in self._info.values()})
        self.sections: list[str] = sorted(self._info)
        self.edges: list[tuple[str, str]] = sorted(self._weights)
        self.unresolved: list[tuple[str, str]] = sorted(set(unresolved))
        #: Sections to highlight (e.g. those replaced by the latest hot swap).
        self.changed: set[str] = set(changed or ())
        #: Cells loaded isolated (ring 3, calls out through gates: kernel_src/gates.py).
        self.isolated: set[str] = set(isolated) & set(self.cells)
        self._out: dict[str, set[str]] = {name: set() for name in self._info}
        self._in: dict[str, set[str]] = {name: set() for name in self._info}
        for a, b in self.edges:
            self._out[a].add(b)
            self._in[b].add(a)

    # -- building ---------------------------------------------------------

    @classmethod
    def from_objects(cls, nano_core: list[CellObject], cells: list[CellObject]) -> "SectionGraph":
        """The graph the host predicts from the objects it built.

        Relocations against a section or a symbol of the same object stay in
        that object; undefined symbols are looked up by name among every
        object's global definitions (the first definition wins, as the
        duplicate is the linker's error to report).
        """
        objects = [*nano_core, *cells]
        names: list[dict[int, str]] = []
        infos: list[SectionInfo] = []
        for obj in objects:
            named = {index: obj.symbol_of(sec) for index, sec in obj.sections.items()}
            names.append(named)
            infos += [SectionInfo(named[i], obj.cell, sec.kind, sec.size)
                      for i, sec in obj.sections.items()]
        exported: dict[str, str] = {}
        for obj, named in zip(objects, names):
            for sym in obj.defined:
                if sym.section in named:
                    exported.setdefault(sym.name, named[sym.section])
        weights: Counter[tuple[str, str]] = Counter()
        unresolved: set[tuple[str, str]] = set()
        for obj, named in zip(objects, names):
            for rel in obj.relocations:
                source = named.get(rel.section)
                if source is None:
                    continue
                if rel.symbol.section is not None:
                    target = named.get(rel.symbol.section)
                    if target is None:
                        continue  # a section that is never loaded (debug info)
                else:
                    target = exported.get(rel.symbol.name)
                    if target is None:
                        unresolved.add((source, rel.symbol.name))
                        continue
                if target != source:
                    weights[(source, target)] += 1
        return cls(infos, weights, nano_core={o.cell for o in nano_core},
                   cells=[o.cell for o in objects], unresolved=unresolved,
                   isolated={o.cell for o in cells if o.isolated})

    @classmethod
    def from_dump(cls, text: str) -> "SectionGraph":
        """Parse the kernel's ``graph`` dump (see ``to_dump`` for the format).

        Unknown record types are skipped, so newer kernels can add records;
        a malformed line raises ``ValueError`` naming its line number.
        """
        infos: dict[str, SectionInfo] = {}
        cells: set[str] = set()
        core: set[str] = set()
        isolated: set[str] = set()
        deps: list[tuple[int, str, str, int]] = []
        for number, raw in enumerate(text.splitlines(), start=1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            fields = line.split(" ")
            record, args = fields[0], fields[1:]
            try:
                if record == "cell":
                    _expect(args, 2)
                    if args[1] not in ("core", "loaded", "isolated"):
                        raise ValueError("cell origin must be 'core', 'loaded' or 'isolated', "
                                         f"not {args[1]!r}")
                    cells.add(args[0])
                    if args[1] == "core":
                        core.add(args[0])
                    elif args[1] == "isolated":
                        isolated.add(args[0])
                elif record == "sec":
                    _expect(args, 5)
                    name, cell, kind, size, address = args
                    if kind not in SECTION_KINDS:
                        raise ValueError(f"unknown section kind {kind!r}")
                    if name in infos:
                        raise ValueError(f"section {name!r} listed twice")
                    infos[name] = SectionInfo(name, cell, kind, _number(size, 10),
                                              None if address == "-" else _number(address, 16))
                elif record == "dep":
                    _expect(args, 3)
                    count = _number(args[2], 10)
                    if count < 1:
                        raise ValueError(f"relocation count must be at least 1, not {count}")
                    deps.append((number, args[0], args[1], count))
            except ValueError as exc:
                raise ValueError(f"graph dump line {number}: {exc}: {raw!r}") from None
        weights: Counter[tuple[str, str]] = Counter()
        for number, a, b, count in deps:
            for end in (a, b):
                if end not in infos:
                    raise ValueError(f"graph dump line {number}: dep names unknown section {end!r}")
            weights[(a, b)] += count
        return cls(infos.values(), weights, nano_core=core, cells=cells, isolated=isolated)

    def to_dump(self) -> str:
        """This graph in the kernel's dump format, one record a line.

        ``cell <name> <core|loaded|isolated>``, ``sec <section> <cell> <kind> <size>
        <address-hex>`` (``-`` when not loaded), ``dep <from> <to> <count>``.
        """
        lines = [f"cell {c} {self.origin(c)}" for c in self.cells]
        for name in self.sections:
            i = self._info[name]
            where = "-" if i.address is None else f"{i.address:x}"
            lines.append(f"sec {name} {i.cell} {i.kind} {i.size} {where}")
        lines += [f"dep {a} {b} {self._weights[(a, b)]}" for a, b in self.edges]
        return "\n".join(lines) + "\n"

    # -- queries ----------------------------------------------------------

    def info(self, section: str) -> SectionInfo:
        """Cell, kind, size and address of ``section``."""
        try:
            return self._info[section]
        except KeyError:
            close = difflib.get_close_matches(section, self.sections, n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise KeyError(f"no section {section!r} in this graph{hint}") from None

    def cell_of(self, section: str) -> str:
        """The cell that ``section`` belongs to."""
        return self.info(section).cell

    @property
    def wasm_cells(self) -> set[str]:
        """The cells translated from WebAssembly: each has the bss flag ``CELL::.wasm_ready``
        (theseus_nb/wasm/kernel_cell.py), in the host's objects and in the kernel's dump."""
        return {c for c in self.cells if f"{c}::.wasm_ready" in self._info}

    def sections_of(self, cell: str) -> list[str]:
        """The sections of ``cell``, sorted."""
        return [n for n in self.sections if self._info[n].cell == cell]

    def weight(self, a: str, b: str) -> int:
        """Number of relocations in ``a`` against ``b`` (0 when no edge)."""
        return self._weights.get((a, b), 0)

    def dependencies(self, section: str, depth: int = 1) -> list[str]:
        """Sections that ``section`` depends on, up to ``depth`` steps away."""
        return self._reach(section, depth, self._out)

    def dependents(self, section: str, depth: int = 1) -> list[str]:
        """Sections that depend on ``section``, up to ``depth`` steps away."""
        return self._reach(section, depth, self._in)

    def _reach(self, section: str, depth: int, links: dict[str, set[str]]) -> list[str]:
        self.info(section)
        seen, frontier = {section}, {section}
        for _ in range(depth):
            frontier = {n for f in frontier for n in links[f]} - seen
            seen |= frontier
        return sorted(seen - {section})

    def cell_edges(self) -> dict[tuple[str, str], int]:
        """Cell-level edges: number of section edges from one cell into another."""
        counts: Counter[tuple[str, str]] = Counter()
        for a, b in self.edges:
            ca, cb = self._info[a].cell, self._info[b].cell
            if ca != cb:
                counts[(ca, cb)] += 1
        return dict(sorted(counts.items()))

    def origin(self, cell: str) -> str:
        """"core" (the nano_core), "isolated" (ring 3, behind gates) or "loaded"."""
        if cell in self.nano_core:
            return "core"
        return "isolated" if cell in self.isolated else "loaded"

    def is_gate(self, a: str, b: str) -> bool:
        """Does the edge from section a to section b go through a gate (a call
        out of an isolated cell into another cell)?"""
        ca, cb = self._info[a].cell, self._info[b].cell
        return ca != cb and ca in self.isolated

    def subgraph(self, cells: Iterable[str] | None = None, hide_nano_core: bool = False,
                 sections: Iterable[str] | None = None) -> "SectionGraph":
        """The part of this graph in ``cells`` (all when None), or these ``sections``.

        ``hide_nano_core`` drops the nano_core's cells. Edges to dropped
        sections disappear; ``unresolved`` and ``changed`` are kept for what remains.
        """
        keep_cells = set(self.cells if cells is None else cells)
        unknown = keep_cells - set(self.cells)
        if unknown:
            raise KeyError(f"no cell {sorted(unknown)[0]!r} in this graph (cells: {', '.join(self.cells)})")
        if hide_nano_core:
            keep_cells -= self.nano_core
        names = set(self.sections if sections is None else sections)
        kept = [i for n, i in self._info.items() if n in names and i.cell in keep_cells]
        keep = {i.name for i in kept}
        if sections is not None:
            keep_cells &= {i.cell for i in kept}
        return SectionGraph(kept, {e: w for e, w in self._weights.items() if set(e) <= keep},
                            nano_core=self.nano_core & keep_cells, cells=keep_cells,
                            unresolved=[u for u in self.unresolved if u[0] in keep],
                            changed=self.changed & keep, isolated=self.isolated & keep_cells)

    # -- comparing --------------------------------------------------------

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SectionGraph):
            return NotImplemented
        return self.sections == other.sections and self.edges == other.edges

    __hash__ = None  # type: ignore[assignment]  # mutable (``changed``)

    def diff(self, other: "SectionGraph", left: str = "this", right: str = "other") -> GraphDiff:
        """What this graph and ``other`` disagree on (``str()`` of it reads well in a test)."""
        mine, theirs = set(self.sections), set(other.sections)
        my_edges, their_edges = set(self.edges), set(other.edges)
        weights = tuple((a, b, self.weight(a, b), other.weight(a, b))
                        for a, b in sorted(my_edges & their_edges)
                        if self.weight(a, b) != other.weight(a, b))
        return GraphDiff(tuple(sorted(mine - theirs)), tuple(sorted(theirs - mine)),
                         tuple(sorted(my_edges - their_edges)),
                         tuple(sorted(their_edges - my_edges)), weights, left, right)

    def __repr__(self) -> str:
        return (f"<SectionGraph: {len(self.cells)} cells ({len(self.nano_core)} in the nano_core), "
                f"{len(self.sections)} sections, {len(self.edges)} edges>")


def _expect(args: list[str], count: int) -> None:
    if len(args) != count or not all(args):
        raise ValueError(f"expected {count} fields separated by single spaces")


def _number(text: str, base: int) -> int:
    try:
        value = int(text, base)
    except ValueError:
        raise ValueError(f"{text!r} is not a {'hexadecimal' if base == 16 else 'decimal'} number") from None
    if value < 0:
        raise ValueError(f"{text!r} is negative")
    return value


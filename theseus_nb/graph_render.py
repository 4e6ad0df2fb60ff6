"""Graph rendering: turn a SectionGraph into a graphviz.Digraph, and show it in Jupyter.

Building the Digraph never runs ``dot``; only ``_repr_*`` and ``save`` do.
Node ids are synthetic ("s3", "c1") because graphviz reads ``a::b`` as a port.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import graphviz

from .errors import TheseusError

if TYPE_CHECKING:
    from .graph import SectionGraph

__all__ = ["GraphRenderMixin", "GraphvizNotFound", "render", "VIEWS", "KIND_STYLE",
           "MAX_READABLE_SECTIONS"]

#: The views ``render`` can draw.
VIEWS = ("cells", "sections", "focus")

#: Past this many sections the sections view asks the user to filter.
MAX_READABLE_SECTIONS = 150

#: Node style per section kind: code is a box, data is round.
KIND_STYLE: dict[str, dict[str, str]] = {
    "text": {"shape": "box", "fillcolor": "#dbe9f6"},
    "rodata": {"shape": "box", "style": "filled,rounded", "fillcolor": "#fdf3c4"},
    "data": {"shape": "ellipse", "fillcolor": "#f9d9d6"},
    "bss": {"shape": "ellipse", "style": "dashed", "fillcolor": "white"},
}
_CHANGED = {"color": "#d9480f", "penwidth": "2.5", "fontcolor": "#d9480f"}
_OUTSIDE = {"color": "grey60", "fontcolor": "grey40", "fillcolor": "grey95"}
_LEGEND = "box = text, rounded = rodata, ellipse = data, dashed = bss"


class GraphvizNotFound(TheseusError, RuntimeError):
    """The Graphviz ``dot`` executable is not installed or not on PATH."""


def _digraph(name: str, label: str) -> graphviz.Digraph:
    dot = graphviz.Digraph(name)
    dot.attr(rankdir="LR", concentrate="true", fontsize="10", fontname="Helvetica",
             label=label, labelloc="t", labeljust="l", nodesep="0.15", ranksep="0.4")
    dot.attr("node", fontsize="9", fontname="Helvetica", style="filled", height="0.2",
             margin="0.05,0.02")
    dot.attr("edge", fontsize="8", fontname="Helvetica", arrowsize="0.5", color="grey40")
    return dot


def _short(name: str) -> str:
    return name.split("::", 1)[1] if "::" in name else name


def _count(n: int, noun: str) -> str:
    plural = noun[:-1] + "ies" if noun.endswith("y") else noun + "s"
    return f"{n} {noun if n == 1 else plural}"


def _penwidth(count: int) -> str:
    return f"{min(5.0, 1 + math.log2(count)):.1f}"


def render(graph: "SectionGraph", view: str = "cells", focus: str | None = None,
           depth: int = 1, cell: str | None = None,
           hide_nano_core: bool = False) -> graphviz.Digraph:
    """Draw ``graph`` as a ``graphviz.Digraph`` (no ``dot`` run yet).

    ``view`` is "cells" (one node per cell), "sections" (clusters per cell)
    or "focus" (``focus`` and its dependencies and dependents to ``depth``).
    ``cell`` keeps one cell and what it touches directly; ``hide_nano_core``
    drops the nano_core's cells.
    """
    if view not in VIEWS:
        raise ValueError(f"unknown view {view!r}: choose one of {', '.join(VIEWS)}")
    if view == "focus":
        if focus is None:
            raise ValueError("the focus view needs a section: render(view='focus', focus='cell::name')")
        return _focus_view(graph, focus, depth, hide_nano_core)
    if focus is not None:
        raise ValueError("focus= is only for view='focus'")
    if cell is not None and cell not in graph.cells:
        raise KeyError(f"no cell {cell!r} in this graph (cells: {', '.join(graph.cells)})")
    if hide_nano_core:
        graph = graph.subgraph(hide_nano_core=True)
    if view == "cells":
        return _cells_view(graph, cell)
    return _sections_view(graph, cell)


def _cells_view(graph: "SectionGraph", only: str | None) -> graphviz.Digraph:
    weights = graph.cell_edges()
    if only is not None:
        weights = {e: w for e, w in weights.items() if only in e}
        shown = {only} | {c for e in weights for c in e}
    else:
        shown = set(graph.cells)
    dot = _digraph("cells", f"cells: {len(shown)}; edge label = section edges")
    ids = {c: f"c{i}" for i, c in enumerate(graph.cells)}

    def add(target: graphviz.Digraph, c: str) -> None:
        names = graph.sections_of(c)
        size = sum(graph.info(n).size for n in names)
        changed = sum(1 for n in names if n in graph.changed)
        attrs = {"shape": "box", "style": "filled,rounded", "fillcolor": "#e8eef7"}
        if c == only:
            attrs["penwidth"] = "2"
        label = f"{c}\n{len(names)} sections, {size} B"
        if changed:
            # A cell touched by the latest swap stands out like its sections do.
            attrs.update(_CHANGED)
            label += f"\n{changed} changed"
        target.node(ids[c], graphviz.nohtml(label), tooltip=c, id=f"cell:{c}", **attrs)

    core = [c for c in graph.cells if c in shown and c in graph.nano_core]
    if core:
        with dot.subgraph(name="cluster_nano_core") as sub:
            sub.attr(label="nano_core", style="rounded,filled", fillcolor="#f4f4f4", color="grey60")
            for c in core:
                add(sub, c)
    for c in graph.cells:
        if c in shown and c not in graph.nano_core:
            add(dot, c)
    for (a, b), w in weights.items():
        dot.edge(ids[a], ids[b], label=str(w), penwidth=_penwidth(w), tooltip=f"{a} -> {b}: {w}")
    return dot


def _section_node(dot: graphviz.Digraph, graph: "SectionGraph", name: str, node_id: str,
                  label: str, outside: bool = False, extra: dict[str, str] | None = None) -> None:
    info = graph.info(name)
    attrs = {"style": "filled", **KIND_STYLE.get(info.kind, {})}
    if outside:
        attrs.update(_OUTSIDE)
    if name in graph.changed:
        attrs.update(_CHANGED)
    where = "" if info.address is None else f" at {info.address:#x}"
    attrs.update(extra or {})
    dot.node(node_id, graphviz.nohtml(label), tooltip=f"{name} ({info.kind}, {info.size} B{where})",
             id=f"sec:{name}", **attrs)


def _clustered(dot: graphviz.Digraph, graph: "SectionGraph", names: Iterable[str],
               ids: dict[str, str], outside: set[str]) -> None:
    by_cell: dict[str, list[str]] = {}
    for n in sorted(names):
        by_cell.setdefault(graph.cell_of(n), []).append(n)
    for i, (c, members) in enumerate(sorted(by_cell.items())):
        core = c in graph.nano_core
        with dot.subgraph(name=f"cluster_{i}") as sub:
            sub.attr(label=f"{c} (nano_core)" if core else c, style="rounded,filled",
                     fillcolor="#f4f4f4" if core else "#fbfbfb", color="grey60")
            for n in members:
                _section_node(sub, graph, n, ids[n], _short(n), outside=n in outside)


def _sections_view(graph: "SectionGraph", only: str | None) -> graphviz.Digraph:
    if only is None:
        names, outside = set(graph.sections), set()
    else:
        own = set(graph.sections_of(only))
        near = {x for n in own for x in graph.dependencies(n) + graph.dependents(n)}
        outside = near - own
        names = own | outside
    label = f"sections: {len(names)}; {_LEGEND}"
    if len(names) > MAX_READABLE_SECTIONS:
        label += (f"\n{len(names)} sections is a lot to read: filter with cell='name', "
                  "hide_nano_core=True, or view='focus'")
    dot = _digraph("sections", label)
    ids = {n: f"s{i}" for i, n in enumerate(graph.sections)}
    _clustered(dot, graph, names, ids, outside)
    for a, b in graph.edges:
        if a in names and b in names and not (a in outside and b in outside):
            w = graph.weight(a, b)
            dot.edge(ids[a], ids[b], tooltip=f"{a} -> {b}: {w}",
                     **({"penwidth": _penwidth(w)} if w > 1 else {}))
    return dot


def _focus_view(graph: "SectionGraph", focus: str, depth: int,
                hide_nano_core: bool) -> graphviz.Digraph:
    graph.info(focus)  # a clear KeyError for an unknown section
    deps, users = graph.dependencies(focus, depth), graph.dependents(focus, depth)
    names = {focus, *deps, *users}
    if hide_nano_core:
        names = {n for n in names if n == focus or graph.cell_of(n) not in graph.nano_core}
    dot = _digraph("focus", f"{focus}: {_count(len(users), 'dependent')} (left), "
                            f"{_count(len(deps), 'dependency')} (right), depth {depth}")
    ids = {n: f"s{i}" for i, n in enumerate(graph.sections)}
    for n in sorted(names):
        extra = {"penwidth": "3", "fontsize": "11"} if n == focus else None
        _section_node(dot, graph, n, ids[n], n, extra=extra)
    for a, b in graph.edges:
        if a in names and b in names:
            dot.edge(ids[a], ids[b], tooltip=f"{a} -> {b}: {graph.weight(a, b)}")
    return dot


def _pipe(dot: graphviz.Digraph, fmt: str) -> bytes:
    try:
        return dot.pipe(format=fmt)
    except graphviz.ExecutableNotFound:
        raise GraphvizNotFound(
            "cannot draw the graph: the Graphviz 'dot' executable was not found on PATH. "
            "Install Graphviz (apt-get install graphviz, brew install graphviz or "
            "conda install graphviz) and make sure 'dot -V' works.") from None


class GraphRenderMixin:
    """Jupyter display and pictures for ``SectionGraph`` (the default view is "cells")."""

    def render(self, view: str = "cells", focus: str | None = None, depth: int = 1,
               cell: str | None = None, hide_nano_core: bool = False) -> graphviz.Digraph:
        """This graph as a ``graphviz.Digraph``: see ``graph_render.render``."""
        return render(self, view, focus, depth, cell, hide_nano_core)  # type: ignore[arg-type]

    def save(self, path: str | Path, view: str = "cells", format: str = "svg",
             **options: object) -> Path:
        """Write a picture of one view (``format`` "svg" or "png") to ``path``."""
        if format not in ("svg", "png"):
            raise ValueError(f"format must be 'svg' or 'png', not {format!r}")
        out = Path(path)
        out.write_bytes(_pipe(self.render(view, **options), format))  # type: ignore[arg-type]
        return out

    def _repr_svg_(self) -> str:
        return _pipe(self.render(), "svg").decode("utf-8")

    def _repr_mimebundle_(self, include: Iterable[str] | None = None,
                          exclude: Iterable[str] | None = None, **_: object) -> dict[str, str]:
        wanted = {"image/svg+xml"} if include is None else set(include)
        wanted -= set(exclude or ())
        return {"image/svg+xml": self._repr_svg_()} if "image/svg+xml" in wanted else {}

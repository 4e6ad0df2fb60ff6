"""Graph rendering: turn a SectionGraph into a graphviz.Digraph, and show it in Jupyter.

Building the Digraph never runs ``dot``; only ``_repr_*`` and ``save`` do.
Node ids are synthetic ("s3", "c1") because graphviz reads ``a::b`` as a port.
"""

from __future__ import annotations

import base64
import math
import re
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import graphviz

from .errors import TheseusError

if TYPE_CHECKING:
    from .graph import SectionGraph

__all__ = ["Drawing", "GraphRenderMixin", "GraphvizNotFound", "render", "svg_around", "VIEWS", "KIND_STYLE",
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
_WASM_FILL = "#eee3f7"   # a cell translated from WebAssembly, in every view...
_WASM_LINE = "#7b3fb5"   # ... and the outline of its sections
_CHANGED = {"color": "#d9480f", "penwidth": "2.5", "fontcolor": "#d9480f"}
#: An isolated cell (ring 3, behind gates): a magenta double border everywhere.
_ISOLATED = {"color": "#a0306e", "penwidth": "2", "peripheries": "2"}
#: A call out of an isolated cell, through a gate: dashed, magenta, open arrowhead.
_GATE = {"style": "dashed", "color": "#a0306e", "arrowhead": "empty"}
_OUTSIDE = {"color": "grey60", "fontcolor": "grey40", "fillcolor": "grey95"}
_LEGEND = ("box = text, rounded = rodata, ellipse = data, dashed = bss; "
           "double magenta border = isolated cell, dashed magenta arrow = through a gate")


class GraphvizNotFound(TheseusError, RuntimeError):
    """The Graphviz ``dot`` executable is not installed or not on PATH."""


class Drawing(graphviz.Digraph):
    """A ``graphviz.Digraph`` that a notebook shows as SVG *and* PNG, with a text line.

    JupyterLab renders SVG only in trusted notebooks; PNG is safe to show
    untrusted, so a notebook as opened still shows its graphs, and the
    text line (not ``<graphviz.graphs.Digraph at 0x...>``) is what a plain
    terminal prints.
    """

    def _repr_mimebundle_(self, include: Iterable[str] | None = None,
                          exclude: Iterable[str] | None = None, **_: object) -> dict[str, object]:
        wanted = set(include or ("image/svg+xml", "image/png", "text/plain")) - set(exclude or ())
        bundle: dict[str, object] = {}
        if "image/svg+xml" in wanted:
            bundle["image/svg+xml"] = _pipe(self, "svg").decode("utf-8")
        if "image/png" in wanted:
            bundle["image/png"] = base64.b64encode(_pipe(self, "png")).decode("ascii")
        if "text/plain" in wanted:
            bundle["text/plain"] = repr(self)
        return bundle

    #: The one-line summary the text form shows (the picture's title).
    summary = ""
    #: Ids of the nodes drawn as changed by the latest swap (see svg_around).
    highlighted: list[str] = []

    def __repr__(self) -> str:
        return f"<graph {self.name}: {self.summary}>".replace("\n", " ")


def _digraph(name: str, label: str) -> Drawing:
    dot = Drawing(name)
    dot.summary = label
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
           hide_nano_core: bool = False) -> Drawing:
    """Draw ``graph`` as a ``Drawing`` (a ``graphviz.Digraph``; no ``dot`` run yet).

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


#: Unconnected cells are packed in rows of this many, not one tall column.
_ROW = 4
#: Stands for the whole nano_core cluster as an edge's head (no cell has this name).
_CORE = "<nano_core>"


def _cell_groups(graph: "SectionGraph", shown: list[str],
                 weights: dict[tuple[str, str], int]) -> list[tuple[str, str, list[str]]]:
    """The clusters of the cells view, in order: (id, label, cells)."""
    used = {b for (_, b) in weights}
    core = [c for c in shown if c in graph.nano_core]
    loadable = [c for c in shown if c not in graph.nano_core]
    libraries = [c for c in loadable if c in used]
    commands = [c for c in loadable if c not in used and f"{c}::main" in graph.sections]
    others = [c for c in loadable if c not in used and c not in commands]
    groups = [("cluster_nano_core", "nano_core", core), ("cluster_libraries", "libraries", libraries),
              ("cluster_commands", "commands (a cell with main)", commands),
              ("cluster_others", "tasks, policies and the rest", others)]
    return [g for g in groups if g[2]]


def _cells_view(graph: "SectionGraph", only: str | None) -> Drawing:
    weights = graph.cell_edges()
    if only is not None:
        weights = {e: w for e, w in weights.items() if only in e}
        shown_set = {only} | {c for e in weights for c in e}
    else:
        shown_set = set(graph.cells)
    shown = [c for c in graph.cells if c in shown_set]
    title = f"cells: {len(shown)}; an arrow's width (and label) = section edges"
    if graph.isolated & set(shown):
        title += "; double magenta border = isolated cell, dashed magenta arrow = through gates"
    dot = _digraph("cells", title)
    ids = {c: f"c{i}" for i, c in enumerate(graph.cells)}
    linked = {c for e in weights for c in e}

    def add(target: graphviz.Digraph, c: str) -> None:
        names = graph.sections_of(c)
        size = sum(graph.info(n).size for n in names)
        changed = sum(1 for n in names if n in graph.changed)
        wasm = c in graph.wasm_cells
        attrs = {"shape": "box", "style": "filled,rounded",
                 "fillcolor": _WASM_FILL if wasm else "#e8eef7"}
        if c in graph.isolated:
            attrs.update(_ISOLATED)
        if c == only:
            attrs["penwidth"] = "2"
        label = f"{c}{' (wasm)' if wasm else ''}\n{len(names)} sections, {size} B"
        if c in graph.isolated:
            label += "\nisolated (ring 3)"
        if changed:
            # A cell touched by the latest swap stands out like its sections do.
            attrs.update(_CHANGED)
            label += f"\n{changed} changed"
        target.node(ids[c], graphviz.nohtml(label), tooltip=c, id=f"cell:{c}", **attrs)

    for cluster, label, members in _cell_groups(graph, shown, weights):
        core = cluster == "cluster_nano_core"
        with dot.subgraph(name=cluster) as sub:
            sub.attr(label=label, style="rounded,filled", color="grey60",
                     fillcolor="#f4f4f4" if core else "#fbfbfb")
            for c in members:
                add(sub, c)
            # Cells nothing links: rows of _ROW, joined by invisible edges,
            # so they fill a block instead of one column as tall as the page.
            alone = [c for c in members if c not in linked]
            for start in range(0, len(alone), _ROW):
                row = alone[start:start + _ROW]
                for a, b in zip(row, row[1:]):
                    sub.edge(ids[a], ids[b], style="invis")
    # Cells that only use others (commands, mostly) would all share the first
    # rank, one tall column: stagger their edges' lengths over _ROW ranks.
    users = {b for (_, b) in weights}
    sources = sorted({a for (a, _) in weights if a not in users})
    stagger = {c: 1 + i % _ROW for i, c in enumerate(sources)}
    # newrank: rank the whole graph at once (clusters would keep their nodes
    # on one rank); no concentrate: merged edges hide which command uses what.
    dot.highlighted = [ids[c] for c in shown
                       if any(n in graph.changed for n in graph.sections_of(c))]
    dot.attr(concentrate="false", newrank="true", compound="true")
    for (a, b), w in _into_nano_core(graph, weights).items():
        attrs = {"label": str(w)} if w > 1 else {}
        if b == _CORE:
            # One arrow per cell into the nano_core, ending at its cluster's edge.
            b, attrs["lhead"] = _anchor(graph, weights), "cluster_nano_core"
        if a in graph.isolated:
            attrs.update(_GATE)
            attrs["tooltip"] = f"{a} -> {b}: {w} (through gates)"
        dot.edge(ids[a], ids[b], penwidth=_penwidth(w), minlen=str(stagger.get(a, 1)),
                 **{"tooltip": f"{a} -> {b}: {w}", **attrs})
    return dot


def _into_nano_core(graph: "SectionGraph",
                    weights: dict[tuple[str, str], int]) -> dict[tuple[str, str], int]:
    """The edges to draw: a loadable cell's edges into nano_core cells become one
    edge to _CORE (when both sides are shown), the others stay."""
    core_shown = any(c in graph.nano_core for e in weights for c in e)
    out: dict[tuple[str, str], int] = {}
    for (a, b), w in weights.items():
        if core_shown and a not in graph.nano_core and b in graph.nano_core:
            b = _CORE
        out[(a, b)] = out.get((a, b), 0) + w
    return out


def _anchor(graph: "SectionGraph", weights: dict[tuple[str, str], int]) -> str:
    """The nano_core cell most used from outside: where arrows into the cluster end."""
    used: dict[str, int] = {}
    for (a, b), w in weights.items():
        if a not in graph.nano_core and b in graph.nano_core:
            used[b] = used.get(b, 0) + w
    return max(sorted(used), key=lambda c: used[c])


def _section_node(dot: graphviz.Digraph, graph: "SectionGraph", name: str, node_id: str,
                  label: str, outside: bool = False, extra: dict[str, str] | None = None) -> None:
    info = graph.info(name)
    attrs = {"style": "filled", **KIND_STYLE.get(info.kind, {})}
    if info.cell in graph.wasm_cells:
        attrs["color"] = _WASM_LINE
    if outside:
        attrs.update(_OUTSIDE)
    if info.cell in graph.isolated:
        attrs.update(_ISOLATED)
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
        wasm = c in graph.wasm_cells
        with dot.subgraph(name=f"cluster_{i}") as sub:
            label = f"{c} (nano_core)" if core else f"{c} (wasm)" if wasm else c
            if c in graph.isolated:
                label += " (isolated, ring 3)"
            sub.attr(label=label, style="rounded,filled",
                     color="#a0306e" if c in graph.isolated else "grey60",
                     fillcolor="#f4f4f4" if core else _WASM_FILL if wasm else "#fbfbfb")
            for n in members:
                _section_node(sub, graph, n, ids[n], _short(n), outside=n in outside)


def _sections_view(graph: "SectionGraph", only: str | None) -> Drawing:
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
    dot.highlighted = [ids[n] for n in sorted(names) if n in graph.changed]
    for a, b in graph.edges:
        if a in names and b in names and not (a in outside and b in outside):
            w = graph.weight(a, b)
            dot.edge(ids[a], ids[b], tooltip=f"{a} -> {b}: {w}",
                     **({"penwidth": _penwidth(w)} if w > 1 else {}),
                     **(_GATE if graph.is_gate(a, b) else {}))
    return dot


def _focus_view(graph: "SectionGraph", focus: str, depth: int,
                hide_nano_core: bool) -> Drawing:
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
    dot.highlighted = [ids[n] for n in sorted(names) if n in graph.changed]
    for a, b in graph.edges:
        if a in names and b in names:
            dot.edge(ids[a], ids[b], tooltip=f"{a} -> {b}: {graph.weight(a, b)}",
                     **(_GATE if graph.is_gate(a, b) else {}))
    return dot


def svg_around(dot: Drawing, node_ids: list[str], margin: float = 60.0) -> str:
    """The SVG of ``dot`` cropped to the box around ``node_ids`` (plus ``margin``
    points), so what a swap changed is in view however large the graph is."""
    svg = _pipe(dot, "svg").decode("utf-8")
    boxes = []
    lines = _pipe(dot, "plain").decode("utf-8").splitlines()
    height = float(lines[0].split()[3]) * 72  # "graph SCALE WIDTH HEIGHT", inches
    for line in lines:
        parts = line.split()
        if parts and parts[0] == "node" and parts[1] in node_ids:
            x, y, w, h = (float(v) * 72 for v in parts[2:6])
            # plain's y grows upwards from the bottom; SVG's downwards, after a 4 pt pad
            boxes.append((x - w / 2 + 4, height - y - h / 2 + 4, x + w / 2 + 4, height - y + h / 2 + 4))
    if not boxes:
        return svg
    x0 = max(0.0, min(b[0] for b in boxes) - margin)
    y0 = max(0.0, min(b[1] for b in boxes) - margin)
    x1, y1 = max(b[2] for b in boxes) + margin, max(b[3] for b in boxes) + margin
    view = f'viewBox="{x0:.2f} {y0:.2f} {x1 - x0:.2f} {y1 - y0:.2f}"'
    svg = re.sub(r'viewBox="[^"]*"', view, svg, count=1)
    svg = re.sub(r'<svg width="[^"]*" height="[^"]*"',
                 f'<svg width="{x1 - x0:.0f}pt" height="{y1 - y0:.0f}pt"', svg, count=1)
    return svg


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
               cell: str | None = None, hide_nano_core: bool = False) -> Drawing:
        """This graph as a ``Drawing`` (a ``graphviz.Digraph``): see ``graph_render.render``."""
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
                          exclude: Iterable[str] | None = None, **_: object) -> dict[str, object]:
        # The default view, as SVG, PNG and a line of text (see Drawing).
        return self.render()._repr_mimebundle_(include, exclude)

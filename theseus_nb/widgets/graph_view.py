"""GraphView: the section-dependency graph as a widget, with the controls people reach for.

The picture is ``SectionGraph.render(...)`` piped through ``dot`` into an
``HTML`` widget. The graph comes either from a build (a ``SectionGraph``)
or from a running ``LiveKernel``, in which case ``refresh()`` asks the
kernel for its live graph (with what the latest swap changed marked). The
view subscribes to the kernel's swaps, so it knows when its picture is out
of date. Changing a control only redraws; it never talks to the guest.
"""

from __future__ import annotations

import difflib
import html
import re
import threading
from typing import Any

import ipywidgets as w
import traitlets as t

from ..graph import SectionGraph
from ..graph_render import VIEWS, render, svg_around
from ..live import LiveKernel
from ..swap_report import SwapReport
from .summary import Summarised

__all__ = ["GraphView"]

_SIZE = re.compile(r'<svg width="([\d.]+)pt" height="([\d.]+)pt"')


def _scaled(svg: str, zoom: float) -> str:
    # The picture's size, not its viewBox: the box scrolls over it (pan).
    match = _SIZE.search(svg)
    if match is None or zoom == 1.0:
        return svg
    width, height = (float(v) * zoom for v in match.groups())
    return svg[:match.start()] + f'<svg width="{width:.0f}pt" height="{height:.0f}pt"' + svg[match.end():]


class GraphView(Summarised, w.VBox):
    """A live or build-time dependency graph with view, focus, depth and nano_core controls."""

    view = t.Enum(VIEWS, default_value="cells",
                  help="cells: one node per cell; sections: one per section; "
                       "focus: one section and its neighbours").tag(sync=True)
    focus = t.Unicode("", help="the section the focus view centres on (cell::name)").tag(sync=True)
    depth = t.Int(1, help="how many dependency steps the focus view follows (1-6)").tag(sync=True)
    cell = t.Unicode("", help="sections view: only this cell and its direct neighbours "
                              "('' shows every cell)").tag(sync=True)
    hide_nano_core = t.Bool(False, help="leave out the nano_core's cells").tag(sync=True)
    zoom = t.Float(1.0, help="scale of the picture (0.25-4); scroll the box to pan").tag(sync=True)
    follow_changes = t.Bool(True, help="after a swap, show the part of the graph it changed "
                                       "(untick for the whole graph)").tag(sync=True)
    svg = t.Unicode("", help="the picture last drawn (SVG text)").tag(sync=True)
    error = t.Unicode("", help="why the last refresh or redraw failed ('' if it did not)").tag(sync=True)

    def __init__(self, source: SectionGraph | LiveKernel, **kwargs: Any) -> None:
        """``source`` is a ``SectionGraph`` or a running ``LiveKernel``."""
        if not isinstance(source, (SectionGraph, LiveKernel)):
            raise TypeError(f"GraphView shows a SectionGraph or a LiveKernel (what image.boot() "
                            f"returns), not a {type(source).__name__}")
        #: The background refresh started last (join it to wait for the live graph).
        self.pending: threading.Thread | None = None
        self.machine = source if isinstance(source, LiveKernel) else None
        self.graph: SectionGraph | None = source if isinstance(source, SectionGraph) else None
        # Swaps heard of, and how many of them the graph shown includes.
        self._swaps_heard = 0
        self._swaps_shown = 0
        self._unsubscribe = self.machine.subscribe(self._swapped) if self.machine else None
        self._busy = threading.Lock()
        self._picture = w.HTML(layout=w.Layout(overflow="auto", max_height="520px",
                                               border="1px solid #dee2e6"))
        self._status = w.HTML()
        self._view_w = w.ToggleButtons(options=list(VIEWS), description="view")
        self._focus_w = w.Combobox(placeholder="cell::function", description="focus",
                                   ensure_option=False, continuous_update=False)
        self._depth_w = w.IntSlider(value=1, min=1, max=6, description="depth")
        self._cell_w = w.Dropdown(options=[""], description="cell")
        self._core_w = w.Checkbox(description="hide nano_core")
        self._zoom_w = w.FloatSlider(value=1.0, min=0.25, max=4.0, step=0.25, description="zoom",
                                     readout_format=".2f")
        self._follow_w = w.Checkbox(value=True, description="follow changes")
        self._refresh_w = w.Button(description="refresh", icon="refresh",
                                   disabled=self.machine is None,
                                   tooltip="ask the kernel for its live graph")
        for trait, control in (("view", self._view_w), ("depth", self._depth_w),
                               ("cell", self._cell_w), ("hide_nano_core", self._core_w),
                               ("zoom", self._zoom_w), ("follow_changes", self._follow_w)):
            w.link((self, trait), (control, "value"))
        self._focus_w.observe(self._focus_typed, "value")
        self._refresh_w.on_click(lambda _: self.refresh(background=True))
        controls = w.VBox([w.HBox([self._view_w, self._refresh_w]),
                           w.HBox([self._focus_w, self._depth_w]),
                           w.HBox([self._cell_w, self._core_w]),
                           w.HBox([self._zoom_w, self._follow_w])])
        super().__init__([controls, self._status, self._picture], **kwargs)
        if self.machine is None:
            self._set_graph(source)  # type: ignore[arg-type]
        else:
            self._set_graph(self.machine.image.graph)  # something to look at while the live graph comes
            self._status.value = "<i>asking the kernel for its live graph...</i>"
            self.pending = self.refresh(background=True)
        self.observe(lambda _: self.redraw(),
                     names=["view", "focus", "depth", "cell", "hide_nano_core", "zoom",
                            "follow_changes"])
        self.observe(self._show_focus, names=["focus"])

    def summary(self) -> str:
        """What the view shows, in words: whose graph, how big, what changed."""
        origin = "live graph of a running kernel" if self.machine is not None else "build-time graph"
        if self.graph is None:
            return f"section graph view ({origin}): nothing drawn yet"
        g = self.graph
        lines = [f"section graph view ({origin}), {self.view} view: {len(g.cells)} cells, "
                 f"{len(g.sections)} sections, {len(g.edges)} edges"]
        if g.changed:
            lines.append("changed by the latest swap: " + ", ".join(sorted(g.changed)))
        lines.append("(run the notebook to draw it; the controls choose the view)")
        return "\n".join(lines)

    # -- validation ----------------------------------------------------------

    @t.validate("depth")
    def _check_depth(self, proposal: dict) -> int:
        if not 1 <= proposal["value"] <= 6:
            raise t.TraitError(f"depth must be between 1 and 6, got {proposal['value']}")
        return proposal["value"]

    @t.validate("zoom")
    def _check_zoom(self, proposal: dict) -> float:
        if not 0.25 <= proposal["value"] <= 4.0:
            raise t.TraitError(f"zoom must be between 0.25 and 4, got {proposal['value']}")
        return proposal["value"]

    @t.validate("focus")
    def _check_focus(self, proposal: dict) -> str:
        name = proposal["value"]
        if name and self.graph is not None and name not in self.graph.sections:
            near = difflib.get_close_matches(name, self.graph.sections, n=3)
            hint = f" (did you mean {', '.join(near)}?)" if near else ""
            raise t.TraitError(f"no section {name!r} in this graph{hint}; "
                               "sections are named cell::name")
        return name

    @t.validate("cell")
    def _check_cell(self, proposal: dict) -> str:
        name = proposal["value"]
        if name and self.graph is not None and name not in self.graph.cells:
            raise t.TraitError(f"no cell {name!r} in this graph (cells: {', '.join(self.graph.cells)})")
        return name

    def _show_focus(self, change: dict) -> None:
        if self._focus_w.value != change["new"]:
            self._focus_w.value = change["new"]

    def _focus_typed(self, change: dict) -> None:
        if change["new"] == self.focus:
            return
        try:
            self.focus = change["new"]
            if self.focus:
                self.view = "focus"
        except t.TraitError as exc:
            self._status.value = f"<span style='color:#c92a2a'>{html.escape(str(exc))}</span>"

    # -- data ------------------------------------------------------------------

    def _set_graph(self, graph: SectionGraph) -> None:
        self.graph = graph
        self._focus_w.options = graph.sections
        self._cell_w.options = [""] + graph.cells
        self.redraw()

    def refresh(self, background: bool = False) -> threading.Thread | None:
        """Fetch the live graph from the machine (in a thread if ``background``) and redraw.

        Does nothing for a build-time graph or a machine that has stopped.
        """
        if self.machine is None:
            self.redraw()
            return None
        if background:
            thread = threading.Thread(target=self.refresh, name="graph-refresh", daemon=True)
            thread.start()
            return thread
        if not self._busy.acquire(blocking=False):
            return None  # a refresh is already on its way
        try:
            if not self.machine.alive:
                self._status.value = "<i>the machine has stopped: showing its last graph</i>"
                return None
            heard = self._swaps_heard  # a swap from now on makes the graph stale again
            live = self.machine.graph()
            self.error = ""
            self._set_graph(live)
            self._swaps_shown = heard
        except Exception as exc:  # shown in the widget: a refresh must never raise into a thread
            self.error = f"{type(exc).__name__}: {exc}".splitlines()[0]
            self._status.value = f"<span style='color:#c92a2a'>{html.escape(self.error)}</span>"
        finally:
            self._busy.release()
        return None

    def swap_seen(self) -> bool:
        """True once the graph shows the machine's latest swap (the dashboard polls this)."""
        return self._swaps_shown == self._swaps_heard

    def close(self) -> None:
        """Stop following the kernel's swaps, then close the widget."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        super().close()

    def _swapped(self, report: SwapReport) -> None:
        # Called by the kernel after a swap, in the swapping thread: only note it.
        self._swaps_heard += 1

    # -- drawing ---------------------------------------------------------------

    def redraw(self) -> None:
        """Draw the current graph with the current controls (runs ``dot``, not the guest)."""
        if self.graph is None:
            return
        try:
            if self.view == "focus":
                if not self.focus:
                    self._status.value = "<i>type a section (cell::name) in focus</i>"
                    return
                dot = render(self.graph, "focus", focus=self.focus, depth=self.depth,
                             hide_nano_core=self.hide_nano_core)
            else:
                dot = render(self.graph, self.view, cell=self.cell or None,
                             hide_nano_core=self.hide_nano_core)
            cropped = self.follow_changes and bool(dot.highlighted)
            svg = svg_around(dot, dot.highlighted) if cropped else dot.pipe(format="svg").decode("utf-8")
            self.svg = _scaled(svg, self.zoom)
        except Exception as exc:
            self.error = f"{type(exc).__name__}: {exc}"
            self._status.value = f"<span style='color:#c92a2a'>{html.escape(self.error)}</span>"
            return
        self._picture.value = self.svg
        changed = sorted(self.graph.changed)
        origin = "live graph" if self.machine is not None else "build-time graph"
        note = (f"; changed by the latest swap (orange): {html.escape(', '.join(changed))}"
                if changed else "")
        if cropped:
            note += " &mdash; showing that part (untick <i>follow changes</i> for the whole graph)"
        self._status.value = (f"<small>{origin}: {len(self.graph.cells)} cells, "
                              f"{len(self.graph.sections)} sections, "
                              f"{len(self.graph.edges)} edges{note}</small>")

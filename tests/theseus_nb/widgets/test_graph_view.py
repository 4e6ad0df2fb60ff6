"""GraphView: controls redraw the build-time graph; a live view follows the machine's swaps."""

from __future__ import annotations

import re

import pytest
import traitlets

from theseus_nb.kernel import repo_root
from theseus_nb.widgets import GraphView

pytestmark = pytest.mark.qemu

FIB = "cells/fib.py"


def test_build_graph_views(kernel_image):
    view = GraphView(kernel_image.graph)
    assert view.view == "cells" and 'id="cell:fib"' in view.svg
    view.view = "sections"
    view.cell = "fib"
    assert 'id="sec:fib::main"' in view.svg
    view.cell = ""
    view.hide_nano_core = True
    assert 'id="sec:names::' not in view.svg and 'id="sec:fib::main"' in view.svg
    view.focus = "mathutil::fib"
    assert view._focus_w.value == "mathutil::fib"  # the control shows what code set
    view.view = "focus"
    view.depth = 2
    assert 'id="sec:mathutil::fib"' in view.svg and "depth 2" in view.svg
    assert view.error == ""


def test_bad_controls_are_trait_errors(kernel_image):
    view = GraphView(kernel_image.graph)
    with pytest.raises(traitlets.TraitError, match="no section 'mathutil::fibb'.*mathutil::fib"):
        view.focus = "mathutil::fibb"
    with pytest.raises(traitlets.TraitError, match="depth must be between 1 and 6"):
        view.depth = 0
    with pytest.raises(traitlets.TraitError, match="no cell 'nope'"):
        view.cell = "nope"
    with pytest.raises(traitlets.TraitError):
        view.view = "everything"


def test_typing_a_focus_switches_to_the_focus_view(kernel_image):
    view = GraphView(kernel_image.graph)
    view._focus_w.value = "mathutil::fib"
    assert view.view == "focus" and view.focus == "mathutil::fib"
    view._focus_w.value = "not::there"  # shown, not raised
    assert "no section" in view._status.value


def test_live_graph_highlights_a_swap_and_survives_shutdown(kernel_image):
    machine = kernel_image.boot()
    try:
        view = GraphView(machine)
        view.pending.join(30)
        assert view.error == ""
        assert "live graph" in view._status.value
        assert view.graph.changed == set()
        source = (repo_root() / FIB).read_text()
        report = machine.swap("fib", source.replace("write_u64(fib(arg_u64(1)))",
                                                    "write_u64(fib(arg_u64(1)) + 1)"))
        assert not view.swap_seen()
        view.refresh()
        assert view.swap_seen()
        assert "fib::main" in report.sections_changed
        assert "fib::main" in view.graph.changed
        assert view.graph.changed <= set(report.sections_changed + report.sections_added)
        view.view, view.cell = "sections", "fib"
        assert "#d9480f" in view.svg  # the changed section is drawn orange
        assert "changed by the latest swap" in view._status.value
    finally:
        machine.shutdown()
    before = view.svg
    view.refresh()
    assert "stopped" in view._status.value and view.svg == before


def _svg_size(svg: str) -> tuple[float, float]:
    match = re.search(r'<svg width="([\d.]+)pt" height="([\d.]+)pt"', svg)
    assert match, svg[:200]
    return float(match.group(1)), float(match.group(2))


def test_the_changed_cells_are_brought_into_view_and_zoom_scales(kernel_image):
    graph = kernel_image.graph.subgraph()
    graph.changed = {"fib::main"}
    view = GraphView(graph)
    cropped = _svg_size(view.svg)
    assert 'id="cell:fib"' in view.svg and "showing that part" in view._status.value
    view.follow_changes = False
    whole = _svg_size(view.svg)
    assert cropped[0] * cropped[1] < whole[0] * whole[1] / 4  # a small part of a big picture
    view.zoom = 2.0
    assert _svg_size(view.svg) == pytest.approx((whole[0] * 2, whole[1] * 2), abs=1)
    with pytest.raises(traitlets.TraitError, match="zoom must be between"):
        view.zoom = 10
    assert "build-time graph" in repr(view) and "fib::main" in repr(view)

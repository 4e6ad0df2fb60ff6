"""Tests of theseus_nb.graph_render: the views, their filters, and real ``dot`` output."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest

from theseus_nb.graph import SectionGraph
from theseus_nb.graph_render import MAX_READABLE_SECTIONS, GraphvizNotFound

from .test_graph import graph, objects  # noqa: F401  (module fixtures: real objects)


def _svg(graph: SectionGraph, **options: object) -> str:
    return graph.render(**options).pipe(format="svg").decode()  # type: ignore[arg-type]


def _texts(svg: str) -> set[str]:
    return set(re.findall(r"<text[^>]*>([^<]*)</text>", svg))


def test_cells_view_weights_edges_and_groups_the_nano_core(graph: SectionGraph) -> None:
    dot = graph.render()
    assert "cluster_nano_core" in dot.source
    svg = _svg(graph)
    texts = _texts(svg)
    assert {"app", "fmt", "io", "nano_core"} <= texts
    assert {t.split(",")[0] for t in texts if " sections, " in t} == {"2 sections", "3 sections"}
    assert "2" in texts  # a label: section edges between cells, where more than one


def test_cells_view_groups_roles_packs_loners_and_sums_edges_into_the_nano_core(
        kernel_image) -> None:
    graph = kernel_image.graph
    source = graph.render("cells").source
    for cluster in ("cluster_nano_core", "cluster_libraries", "cluster_commands", "cluster_others"):
        assert f"subgraph {cluster}" in source
    # each loadable cell that uses the nano_core has one arrow into its cluster
    into_core = re.findall(r"^\t(c\d+) -> c\d+ \[.*lhead=cluster_nano_core", source, re.M)
    assert into_core and len(into_core) == len(set(into_core))
    users = {a for (a, b) in graph.cell_edges() if a not in graph.nano_core and b in graph.nano_core}
    assert len(into_core) == len(users)
    # cells nothing links are packed in rows by invisible edges
    assert "style=invis" in graph.render("cells", hide_nano_core=True).source
    # and the picture is wider than tall enough to read without a long scroll
    svg = graph.render("cells", hide_nano_core=True).pipe(format="svg").decode()
    width, height = (float(x) for x in re.search(r'viewBox="0\.00 0\.00 ([\d.]+) ([\d.]+)"', svg).groups())
    assert height < 1.2 * width, (width, height)


def test_sections_view_clusters_cells_and_uses_short_names(graph: SectionGraph) -> None:
    dot = graph.render(view="sections")
    assert dot.source.count("subgraph cluster_") == 3
    texts = _texts(_svg(graph, view="sections"))
    assert {"main", "helper", "num", "digits", "table", "write", "buf"} <= texts
    assert "io (nano_core)" in texts
    assert 'id="sec:fmt::num"' in _svg(graph, view="sections")


def test_section_kinds_and_changed_sections_look_different(graph: SectionGraph) -> None:
    marked = graph.subgraph()
    marked.changed = {"fmt::num"}
    source = marked.render(view="sections").source
    lines = {n: line for line in source.splitlines()
             for n in ("sec:fmt::num", "sec:io::write", "sec:io::buf", "sec:fmt::digits")
             if f'id="{n}"' in line}
    assert "#d9480f" in lines["sec:fmt::num"] and "#d9480f" not in lines["sec:io::write"]
    assert "ellipse" in lines["sec:io::buf"] and "dashed" in lines["sec:io::buf"]
    assert "rounded" in lines["sec:fmt::digits"] and "box" in lines["sec:io::write"]


def test_focus_view_shows_both_directions_to_depth(graph: SectionGraph) -> None:
    near = _texts(_svg(graph, view="focus", focus="fmt::num"))
    assert {"fmt::num", "app::main", "io::write", "fmt::digits"} <= near
    assert "app::hook" not in near and "io::buf" not in near
    far = _texts(_svg(graph, view="focus", focus="fmt::num", depth=2))
    assert {"io::buf"} <= far  # fmt::num -> io::write -> io::buf
    assert "rankdir=LR" in graph.render(view="focus", focus="fmt::num").source
    with pytest.raises(ValueError, match="needs a section"):
        graph.render(view="focus")
    with pytest.raises(KeyError, match="no section 'fmt::nun'"):
        graph.render(view="focus", focus="fmt::nun")


def test_filters_one_cell_and_hide_nano_core(graph: SectionGraph) -> None:
    one = _texts(_svg(graph, view="sections", cell="app"))
    assert {"main", "helper", "hook", "num", "table", "write"} <= one  # app and what it touches
    assert "digits" not in one and "buf" not in one
    cells = _texts(_svg(graph, cell="io"))
    assert {"io", "fmt", "app"} <= cells
    hidden = _texts(_svg(graph, view="sections", hide_nano_core=True))
    assert "write" not in hidden and "buf" not in hidden and "num" in hidden
    assert "io" not in _texts(_svg(graph, hide_nano_core=True))
    with pytest.raises(KeyError, match="no cell 'nope'"):
        graph.render(cell="nope")
    with pytest.raises(ValueError, match="unknown view"):
        graph.render(view="pie")


def test_a_big_sections_view_asks_to_filter() -> None:
    count = MAX_READABLE_SECTIONS + 50
    lines = ["cell big loaded"] + [f"sec big::f{i} big text 4 -" for i in range(count)]
    lines += [f"dep big::f{i} big::f{i + 1} 1" for i in range(count - 1)]
    big = SectionGraph.from_dump("\n".join(lines))
    assert "filter with cell=" in big.render(view="sections").source
    assert "filter with cell=" not in big.subgraph(sections=["big::f1", "big::f2"]).render(
        view="sections").source


def test_jupyter_reprs_give_svg_png_and_a_line_of_text(graph: SectionGraph) -> None:
    bundle = graph._repr_mimebundle_()
    assert set(bundle) == {"image/svg+xml", "image/png", "text/plain"}
    assert bundle["image/svg+xml"].lstrip().startswith("<?xml")
    assert "fmt" in _texts(bundle["image/svg+xml"])
    # PNG (base64, as Jupyter stores it) is what an untrusted notebook shows
    assert base64.b64decode(bundle["image/png"]).startswith(b"\x89PNG")
    assert bundle["text/plain"].startswith("<graph cells: cells: 3")
    assert "Digraph at 0x" not in bundle["text/plain"]
    assert set(graph._repr_mimebundle_(include=["image/png"])) == {"image/png"}
    assert set(graph._repr_mimebundle_(exclude=["image/svg+xml"])) == {"image/png", "text/plain"}
    # what %graph and render() return shows the same way
    assert set(graph.render("sections")._repr_mimebundle_()) == set(bundle)
    assert "<svg" in graph._repr_svg_()


def test_save_writes_svg_and_png(graph: SectionGraph, tmp_path: Path) -> None:
    svg = graph.save(tmp_path / "cells.svg")
    assert "<svg" in svg.read_text()
    png = graph.save(tmp_path / "sections.png", view="sections", format="png", cell="fmt")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    focus = graph.save(tmp_path / "focus.svg", view="focus", focus="app::main", depth=3)
    assert "io::buf" in _texts(focus.read_text())
    with pytest.raises(ValueError, match="'svg' or 'png'"):
        graph.save(tmp_path / "x.pdf", format="pdf")


def test_missing_dot_says_how_to_install_graphviz(graph: SectionGraph, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty folder: no dot here
    with pytest.raises(GraphvizNotFound, match="apt-get install graphviz"):
        graph._repr_mimebundle_()
    assert "cluster_nano_core" in graph.render().source  # building needs no dot


def test_cells_view_marks_cells_changed_by_a_swap(graph) -> None:
    section = graph.sections[0]
    marked = SectionGraph([graph.info(s) for s in graph.sections],
                          {e: graph.weight(*e) for e in graph.edges},
                          nano_core=graph.nano_core, changed={section})
    svg = marked.render(view="cells").pipe(format="svg").decode()
    assert "1 changed" in svg
    assert "changed" not in graph.render(view="cells").pipe(format="svg").decode()


def test_a_wasm_cell_is_marked_in_every_view(objects, tmp_path, monkeypatch) -> None:  # noqa: F811
    from theseus_nb.compile import CellSource, compile_source
    from theseus_nb.objects import parse_object

    monkeypatch.setenv("THESEUS_NB_CACHE", str(tmp_path))
    wat = '(module (func (export "inc") (param i64) (result i64) (i64.add (local.get 0) (i64.const 1))))'
    wobj = parse_object(compile_source(CellSource.wasm("winc", wat), {}).data, "winc")
    g = SectionGraph.from_objects([objects["io"]], [objects["fmt"], objects["app"], wobj])
    assert g.wasm_cells == {"winc"}
    assert "winc (wasm)" in _texts(_svg(g))                       # cells view
    assert "winc (wasm)" in _texts(_svg(g, view="sections"))      # its cluster
    focus = g.render(view="focus", focus="winc::inc").source
    assert "#7b3fb5" in focus and "#7b3fb5" not in g.render(view="focus", focus="app::main").source


ISOLATED_DUMP = """
cell io core
cell app loaded
cell box isolated
sec io::write io text 16 1000
sec app::main app text 16 2000
sec box::run box text 16 3000
dep app::main io::write 1
dep box::run io::write 2
"""


def test_every_view_marks_an_isolated_cell_and_draws_its_gate_edges_dashed() -> None:
    graph = SectionGraph.from_dump(ISOLATED_DUMP)
    assert graph.isolated == {"box"} and graph.origin("box") == "isolated"
    assert SectionGraph.from_dump(graph.to_dump()).isolated == {"box"}
    assert graph.is_gate("box::run", "io::write") and not graph.is_gate("app::main", "io::write")
    gate = re.compile(r"->.*arrowhead=empty")
    for options in ({"view": "cells"}, {"view": "sections"}, {"view": "focus", "focus": "io::write"}):
        source = graph.render(**options).source  # type: ignore[arg-type]
        assert "peripheries=2" in source, options            # the isolated cell's mark
        assert len(gate.findall(source)) == 1, options       # box's edge only, not app's
    assert "isolated (ring 3)" in _texts(_svg(graph, view="cells"))
    assert "box (isolated, ring 3)" in _texts(_svg(graph, view="sections"))

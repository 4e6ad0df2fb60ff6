"""Tests of theseus_nb.graph: SectionGraph from real compiled objects and from dumps."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from theseus_nb import build
from theseus_nb.objects import parse_object
from theseus_nb.graph import SectionGraph, SectionInfo
from theseus_nb.objects import CellObject

# A nano_core cell, a library cell and an app cell, with calls (PLT32) and
# pointers in data (R_X86_64_64) between them, and one symbol nobody defines.
IO_IR = """
@"io::buf" = global [64 x i8] zeroinitializer
define void @"io::write"(i8 %c) noinline {
  store volatile i8 %c, ptr @"io::buf"
  ret void
}
"""
FMT_IR = """
@"fmt::digits" = constant [16 x i8] c"0123456789abcdef"
@"fmt::table" = global ptr @"io::write"
declare void @"io::write"(i8)
define void @"fmt::num"(i64 %n) noinline {
  %i = and i64 %n, 15
  %p = getelementptr [16 x i8], ptr @"fmt::digits", i64 0, i64 %i
  %c = load i8, ptr %p
  call void @"io::write"(i8 %c)
  ret void
}
"""
APP_IR = """
@"app::hook" = global ptr @"fmt::table"
@"fmt::table" = external global ptr
declare void @"fmt::num"(i64)
declare void @"io::write"(i8)
declare void @"nowhere::f"()
define internal void @"app::helper"() noinline {
  call void @"io::write"(i8 33)
  ret void
}
define void @"app::main"() {
  call void @"fmt::num"(i64 1)
  call void @"fmt::num"(i64 2)
  call void @"app::helper"()
  call void @"nowhere::f"()
  ret void
}
"""

SECTIONS = ["app::helper", "app::hook", "app::main", "fmt::digits", "fmt::num", "fmt::table",
            "io::buf", "io::write"]
EDGES = {
    ("app::helper", "io::write"): 1,
    ("app::hook", "fmt::table"): 1,
    ("app::main", "app::helper"): 1,
    ("app::main", "fmt::num"): 2,
    ("fmt::num", "fmt::digits"): 1,
    ("fmt::num", "io::write"): 1,
    ("fmt::table", "io::write"): 1,
    ("io::write", "io::buf"): 1,
}


@pytest.fixture(scope="module")
def objects(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, CellObject]]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("THESEUS_NB_CACHE", str(tmp_path_factory.mktemp("graph-cache")))
        yield {cell: parse_object(build.compile_object(ir, cell).data, cell)
               for cell, ir in (("io", IO_IR), ("fmt", FMT_IR), ("app", APP_IR))}


@pytest.fixture(scope="module")
def graph(objects: dict[str, CellObject]) -> SectionGraph:
    return SectionGraph.from_objects([objects["io"]], [objects["fmt"], objects["app"]])


def test_nodes_are_qualified_sections_with_cell_kind_and_size(graph: SectionGraph) -> None:
    assert graph.cells == ["app", "fmt", "io"]
    assert graph.nano_core == {"io"}
    assert graph.sections == SECTIONS
    assert graph.cell_of("fmt::num") == "fmt"
    kinds = {n: graph.info(n).kind for n in graph.sections}
    assert kinds["io::buf"] == "bss" and kinds["fmt::digits"] == "rodata"
    assert kinds["fmt::table"] == "data" and kinds["app::main"] == "text"
    assert graph.info("io::buf").size == 64 and graph.info("io::buf").address is None


def test_edges_follow_relocations_within_and_across_objects(
        graph: SectionGraph, objects: dict[str, CellObject]) -> None:
    types = {(o.cell, r.symbol.name, r.type) for o in objects.values() for r in o.relocations}
    assert ("fmt", "io::write", "R_X86_64_64") in types  # fmt::table's pointer
    assert ("app", "fmt::num", "R_X86_64_PLT32") in types
    assert {e: graph.weight(*e) for e in graph.edges} == EDGES
    assert graph.edges == sorted(EDGES)
    assert graph.weight("io::write", "app::main") == 0
    assert all(a != b for a, b in graph.edges)


def test_unresolved_symbols_are_kept_aside(graph: SectionGraph) -> None:
    assert graph.unresolved == [("app::main", "nowhere::f")]
    assert not any("nowhere" in b for _, b in graph.edges)


def test_cell_edges_count_section_edges_between_cells(graph: SectionGraph) -> None:
    assert graph.cell_edges() == {("app", "fmt"): 2, ("app", "io"): 1, ("fmt", "io"): 2}


def test_dependencies_and_dependents_by_depth(graph: SectionGraph) -> None:
    assert graph.dependencies("app::main") == ["app::helper", "fmt::num"]
    assert graph.dependencies("app::main", depth=2) == [
        "app::helper", "fmt::digits", "fmt::num", "io::write"]
    assert graph.dependents("io::write") == ["app::helper", "fmt::num", "fmt::table"]
    assert graph.dependents("io::write", depth=2) == [
        "app::helper", "app::hook", "app::main", "fmt::num", "fmt::table"]
    assert graph.dependencies("io::buf") == []
    with pytest.raises(KeyError, match="did you mean io::write"):
        graph.dependencies("io::writ")


def test_subgraph_filters_cells_and_nano_core(graph: SectionGraph) -> None:
    fmt = graph.subgraph(cells=["fmt"])
    assert fmt.sections == ["fmt::digits", "fmt::num", "fmt::table"]
    assert fmt.edges == [("fmt::num", "fmt::digits")]
    assert fmt.cells == ["fmt"] and fmt.nano_core == set()
    loaded = graph.subgraph(hide_nano_core=True)
    assert loaded.cells == ["app", "fmt"]
    assert not any(n.startswith("io::") for n in loaded.sections)
    assert loaded.unresolved == [("app::main", "nowhere::f")]
    assert graph.subgraph(cells=["io"], hide_nano_core=True).sections == []
    with pytest.raises(KeyError, match="no cell 'nope'"):
        graph.subgraph(cells=["nope"])


def test_changed_sections_survive_filters(graph: SectionGraph) -> None:
    marked = graph.subgraph()
    marked.changed = {"fmt::num", "io::write"}
    assert marked.subgraph(hide_nano_core=True).changed == {"fmt::num"}
    assert marked == graph  # highlighting is not part of equality


def test_dump_round_trips(graph: SectionGraph) -> None:
    text = graph.to_dump()
    assert "cell io core" in text and "cell app loaded" in text
    assert "dep app::main fmt::num 2" in text
    again = SectionGraph.from_dump(text)
    assert again == graph
    assert again.nano_core == graph.nano_core and again.cells == graph.cells
    assert {e: again.weight(*e) for e in again.edges} == EDGES
    assert not graph.diff(again)


LIVE_DUMP = """\
cell io core
cell app loaded
sec io::write io text 16 0x101000
sec io::buf io bss 64 102000
sec app::main app text 32 200000
hello from a newer kernel
dep app::main io::write 3
dep io::write io::buf 1
"""


def test_dump_from_the_kernel_keeps_addresses_and_skips_unknown_records() -> None:
    live = SectionGraph.from_dump(LIVE_DUMP)
    assert live.sections == ["app::main", "io::buf", "io::write"]
    assert live.info("io::write") == SectionInfo("io::write", "io", "text", 16, 0x101000)
    assert live.info("app::main").address == 0x200000
    assert live.weight("app::main", "io::write") == 3
    assert live.cell_edges() == {("app", "io"): 1}
    assert live.nano_core == {"io"}
    assert "sec io::buf io bss 64 102000" in live.to_dump()
    assert SectionGraph.from_dump(live.to_dump()).info("io::buf").address == 0x102000


@pytest.mark.parametrize("line, reason", [
    ("cell io", "expected 2 fields"),
    ("cell io  core", "expected 2 fields"),
    ("cell io kernel", "must be 'core', 'loaded' or 'isolated'"),
    ("sec io::x io text 12", "expected 5 fields"),
    ("sec io::x io code 12 1000", "unknown section kind 'code'"),
    ("sec io::x io text twelve 1000", "'twelve' is not a decimal number"),
    ("sec io::x io text 12 zz", "'zz' is not a hexadecimal number"),
    ("sec io::write io text 12 1000", "listed twice"),
    ("dep io::write io::buf", "expected 3 fields"),
    ("dep io::write io::buf 0", "at least 1"),
    ("dep io::write io::nothing 1", "unknown section 'io::nothing'"),
])
def test_malformed_dump_lines_name_their_line(line: str, reason: str) -> None:
    text = LIVE_DUMP.replace("hello from a newer kernel", line)
    with pytest.raises(ValueError, match="line 6") as info:
        SectionGraph.from_dump(text)
    assert reason in str(info.value)


def test_diff_names_what_only_one_side_has(graph: SectionGraph) -> None:
    text = graph.to_dump().replace("dep fmt::num fmt::digits 1\n", "")
    text = text.replace("dep app::main fmt::num 2", "dep app::main fmt::num 5")
    text += "sec app::extra app text 4 -\ndep app::extra app::main 1\n"
    live = SectionGraph.from_dump(text)
    assert live != graph
    diff = graph.diff(live, left="build", right="kernel")
    assert diff.only_right_sections == ("app::extra",)
    assert diff.only_left_edges == (("fmt::num", "fmt::digits"),)
    assert diff.only_right_edges == (("app::extra", "app::main"),)
    assert str(diff).splitlines() == [
        "edge only in build: fmt::num -> fmt::digits",
        "section only in kernel: app::extra",
        "edge only in kernel: app::extra -> app::main",
        "weight differs: app::main -> fmt::num: build 2, kernel 5",
    ]
    assert str(graph.diff(graph)) == "graphs agree"


def test_edges_must_join_known_sections() -> None:
    one = SectionInfo("a::f", "a", "text", 4)
    with pytest.raises(ValueError, match="unknown section 'b::g'"):
        SectionGraph([one], {("a::f", "b::g"): 1})
    with pytest.raises(ValueError, match="appears twice"):
        SectionGraph([one, one], {})
    assert SectionGraph([one], {("a::f", "a::f"): 2}).edges == []

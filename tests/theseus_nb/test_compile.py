"""Tests of theseus_nb.compile: the one compile path from source to object, and its cache.
(an unchanged cell is not compiled twice, and never served stale)."""

from __future__ import annotations

from theseus_nb.compile import CellSource, compile_source, interfaces_of
from theseus_nb.objects import parse_object

LIMITS = "from theseus_nb.lang.prelude import *\nLIMIT: u64 = 10\n"
USER = '''from theseus_nb.lang.prelude import *
from cells.limits import LIMIT


def capped(x: u64) -> u64:
    if x > LIMIT:
        return LIMIT
    return x
'''


def _compile(limits_text: str) -> tuple[bytes, bool]:
    sources = [CellSource("limits", limits_text, "cell"), CellSource("user", USER, "cell")]
    result = compile_source(sources[1], interfaces_of(sources))
    return result.data, result.cached


def test_an_unchanged_cell_is_not_compiled_again(object_cache) -> None:
    first, cached_first = _compile(LIMITS)
    second, cached_second = _compile(LIMITS)
    assert not cached_first and cached_second and first == second


def test_a_changed_constant_in_an_imported_cell_recompiles_the_importer(object_cache) -> None:
    before, _ = _compile(LIMITS)
    after, cached = _compile(LIMITS.replace("= 10", "= 99"))
    assert not cached and after != before


TABLE = '''from theseus_nb.lang.prelude import *


@struct
class Row:
    a: u8
    b: u64


rows: Array[Row, 4] = [Row() for _ in range(4)]
'''
READER = '''from theseus_nb.lang.prelude import *
from cells.table import rows


def b_of(i: u64) -> u64:
    return rows[i].b
'''


def _compile_reader(table_text: str) -> tuple[bytes, bool]:
    sources = [CellSource("table", table_text, "cell"), CellSource("reader", READER, "cell")]
    result = compile_source(sources[1], interfaces_of(sources))
    return result.data, result.cached


def test_a_changed_layout_of_a_shared_struct_recompiles_its_reader(object_cache) -> None:
    before, _ = _compile_reader(TABLE)
    same, cached = _compile_reader(TABLE.replace("    b: u64\n", "    b: u64    # the b\n"))
    assert cached and same == before        # a comment changes no layout
    after, cached = _compile_reader(TABLE.replace("    a: u8\n", "    a: u8\n    c: u64\n"))
    assert not cached and after != before   # b moved: the reader reads it elsewhere now


#: Double-precision IR: with SSE2 it is one divsd; on the kernel's SSE-free
#: target LLVM can only call the soft-float routine __divdf3, which no
#: kernel defines (the loader refuses the cell: unresolved symbol).
HALF_IR = '''define double @"half::of"(double %x) {
  %h = fdiv double %x, 2.5
  ret double %h
}
'''


def _undefined(data: bytes) -> set[str]:
    return {s.name for s in parse_object(data, "half").undefined}


def test_an_ir_cell_marked_sse2_is_compiled_with_sse(object_cache) -> None:
    marked = CellSource("half", "; cell: sse2\n" + HALF_IR, "ir")
    plain = CellSource("half", HALF_IR, "ir")
    assert marked.uses_sse and not plain.uses_sse
    assert "__divdf3" not in _undefined(compile_source(marked, {}).data)
    assert "__divdf3" in _undefined(compile_source(plain, {}).data)


def test_the_sse_flag_overrides_the_marker_and_keys_the_cache(object_cache) -> None:
    forced = CellSource("half", HALF_IR, "ir", sse=True)
    refused = CellSource("half", "; cell: sse2\n" + HALF_IR, "ir", sse=False)
    assert "__divdf3" not in _undefined(compile_source(forced, {}).data)
    assert "__divdf3" in _undefined(compile_source(refused, {}).data)
    again = compile_source(CellSource("half", HALF_IR, "ir"), {})
    assert not again.cached                 # the SSE object is not served for the plain cell


def test_wat_wasm_and_c_files_are_cells(tmp_path) -> None:
    from theseus_nb.compile import CellSource, compile_source
    from theseus_nb.objects import parse_object
    from theseus_nb.signatures import function_hash, signatures_in
    from theseus_nb.wasm import wat_to_wasm

    wat = '(module (func (export "inc") (param i64) (result i64) (i64.add (local.get 0) (i64.const 1))))'
    (tmp_path / "wa.wat").write_text(wat)
    (tmp_path / "wb.wasm").write_bytes(wat_to_wasm(wat))
    (tmp_path / "wc.c").write_text("long long inc(long long x) { return x + 1; }\n")
    for name in ("wa", "wb", "wc"):
        path = next(tmp_path.glob(f"{name}.*"))
        src = CellSource.from_path(path)
        assert src.language == {".wat": "wat", ".wasm": "wasm", ".c": "c"}[path.suffix]
        data = compile_source(src, {}).data
        sections = {s.name for s in parse_object(data, name).sections.values()}
        assert f".text.{name}.inc" in sections
        # a task entry: the kernel checks this hash before it spawns name::inc
        assert signatures_in(data)[f"{name}::inc"] == function_hash("inc", ["u64"], "u64")

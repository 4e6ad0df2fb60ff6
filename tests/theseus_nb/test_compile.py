"""Tests of theseus_nb.compile: the one compile path from source to object, and its cache.
(an unchanged cell is not compiled twice, and never served stale)."""

from __future__ import annotations

from theseus_nb.compile import CellSource, compile_source, interfaces_of

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

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

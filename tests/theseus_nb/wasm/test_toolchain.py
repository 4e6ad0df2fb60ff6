"""The toolchain runner that wat.py and clang.py share: real programs on real files."""

from __future__ import annotations

from theseus_nb.wasm.toolchain import SourceError, first_error, run_on_text

TEXT = "first\n  second line  \nthird\n"


def test_the_first_error_line_is_found_with_its_source_line() -> None:
    stderr = ("/tmp/x/cell.c:1:1: warning: not this one\n"
              "/tmp/x/cell.c:2:5: fatal error: this one\n"
              "/tmp/x/cell.c:3:1: error: not the second\n")
    assert first_error(stderr, TEXT) == SourceError(2, 5, "this one", "second line")


def test_a_line_outside_the_text_has_no_source_line_and_no_error_line_is_none() -> None:
    assert first_error("cell.wat:9:1: error: past the end", TEXT) == SourceError(
        9, 1, "past the end", "")
    assert first_error("something else went wrong\n", TEXT) is None


def test_run_on_text_gives_the_output_or_the_refusal() -> None:
    status, stderr, out = run_on_text(lambda src, dst: ["cp", src, dst], TEXT, ".txt")
    assert (status, out) == (0, TEXT.encode())
    status, stderr, out = run_on_text(lambda src, dst: ["cat", src + ".missing"], TEXT, ".txt")
    assert status != 0 and "No such file" in stderr and out == b""

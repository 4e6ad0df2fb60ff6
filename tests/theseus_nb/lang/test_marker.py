"""The unsafe marker, from the attacker's side (issue 12, item 2): only a comment line
`# cell: unsafe` in the header marks a cell unsafe, and a caller's unsafe=False wins."""
from __future__ import annotations

import pytest

import theseus_nb.lang as lang
from theseus_nb.lang import CellError, compile_cell, jit, unsafe_marker_line
from theseus_nb.lang.marker import UNSAFE_MARK, marker_line

PEEK = "from theseus_nb.lang.unsafe import load64\n\n\ndef peek(a: u64) -> u64:\n    return load64(a)\n"

# Each of these once compiled as unsafe (the text was on a line of its own) and could read
# any address; (source, line of the intrinsic the refusal names, line holding the text).
NOT_MARKED = {
    "in the docstring": ('"""A harmless cell.\n# cell: unsafe\n"""\n' + PEEK, 4, 2),
    "in a string literal": ('NOTE: str = """\n# cell: unsafe\n"""\n' + PEEK, 4, 2),
    "in a string in a function": (
        "def note() -> str:\n    return '''\n# cell: unsafe\n'''\n\n\n"
        "def peek(a: u64) -> u64:\n    return load64(a)\n", 8, 3),
    "after the first statement": ("from theseus_nb.lang.prelude import *\n# cell: unsafe\n" + PEEK, 3, 2),
    "after code on its line": ("X = 1  # cell: unsafe\n" + PEEK, 2, 1),
    "in the last function": (PEEK + "# cell: unsafe\n", 1, 6),
}


@pytest.mark.parametrize("case", NOT_MARKED)
def test_the_marker_text_outside_a_header_comment_does_not_make_a_cell_unsafe(case: str) -> None:
    src, line, text_line = NOT_MARKED[case]
    assert "# cell: unsafe" in src  # what callers test today, and why they must not
    assert unsafe_marker_line(src) is None
    with pytest.raises(CellError) as info:
        compile_cell(src, "evil", filename="cells/evil.py")
    e = info.value
    assert "load64 is an unsafe intrinsic; only cells marked '# cell: unsafe' may use it" in e.message
    assert f"line {text_line} holds that text, but it does not mark the cell" in e.message
    assert (e.filename, e.line) == ("cells/evil.py", line) and e.col >= 1, str(e)
    assert str(e).startswith(f"cells/evil.py:{e.line}:{e.col}: ")


def test_the_refusal_without_any_marker_text_says_what_to_write() -> None:
    with pytest.raises(CellError) as info:
        compile_cell(PEEK, "evil")
    assert "write the comment line '# cell: unsafe' above the first statement" in info.value.message
    assert (info.value.line, info.value.col) == (1, 1)


MARKED = {
    "first line": ("# cell: unsafe\n" + PEEK, 1),
    "after the docstring": ('"""Reads memory.\n\nOn purpose."""\n# cell: unsafe\n' + PEEK, 4),
    "among other comments": ("#!/usr/bin/env python3\n\n# peek at memory\n  # cell: unsafe   \n"
                             "# more\n" + PEEK, 4),
    "before the docstring": ('# cell: unsafe\n"""Doc."""\n' + PEEK, 1),
    "before a decorator": ("# cell: unsafe\n@struct\nclass T:\n    x: u8\n" + PEEK, 1),
    "a docstring and nothing else": ('"""Doc."""\n# cell: unsafe\n', 2),
}


@pytest.mark.parametrize("case", MARKED)
def test_a_comment_line_in_the_header_marks_the_cell(case: str) -> None:
    src, line = MARKED[case]
    assert unsafe_marker_line(src) == line
    assert compile_cell(src, "peeker").unsafe


def test_the_marker_still_needs_the_exact_text() -> None:
    for near in ("# cell: unsafe!", "#cell: unsafe", "# Cell: unsafe", "# cell: safe"):
        assert unsafe_marker_line(near + "\n" + PEEK) is None, near


def test_a_source_that_does_not_parse_has_no_marker() -> None:
    assert unsafe_marker_line("# cell: unsafe\ndef f(:\n") is None
    assert unsafe_marker_line('# cell: unsafe\nx = """never closed\n') is None


def test_explicit_unsafe_false_refuses_a_marked_cell_naming_the_line() -> None:
    src = '"""Looks safe."""\n\n    # cell: unsafe\n' + PEEK
    with pytest.raises(CellError) as info:
        compile_cell(src, "evil", filename="cells/evil.py", unsafe=False)
    e = info.value
    assert (e.filename, e.line, e.col) == ("cells/evil.py", 3, 5)
    assert e.message.startswith("this cell is marked unsafe at line 3 ('# cell: unsafe') but was "
                                "loaded as safe (unsafe=False)")
    assert "delete that line" in e.message and "load it as unsafe" in e.message
    assert str(e).splitlines()[1].strip() == "# cell: unsafe"
    # even when it uses no intrinsic: the caller said safe, the source says otherwise
    with pytest.raises(CellError, match="marked unsafe at line 1"):
        compile_cell("# cell: unsafe\ndef f() -> u64:\n    return 1\n", "c", unsafe=False)


def test_unsafe_false_without_a_marker_and_the_other_choices() -> None:
    plain = "def f() -> u64:\n    return 1\n"
    assert not compile_cell(plain, "c", unsafe=False).unsafe
    assert not compile_cell(plain, "c").unsafe
    assert compile_cell(plain, "c", unsafe=True).unsafe  # the caller may allow more
    assert compile_cell("# cell: unsafe\n" + PEEK, "c", unsafe=True).unsafe
    # a marker in a docstring is not refused by unsafe=False: it is no marker at all
    assert not compile_cell('"""\n# cell: unsafe\n"""\n' + plain, "c", unsafe=False).unsafe


def test_the_host_jit_follows_the_same_rules() -> None:
    src = "# cell: unsafe\nfrom theseus_nb.lang.unsafe import rdtsc\n\n\ndef now() -> u64:\n    return rdtsc()\n"
    assert jit(src, name="clock").now() > 0
    with pytest.raises(CellError, match="marked unsafe at line 1"):
        jit(src, name="clock", unsafe=False)
    with pytest.raises(CellError, match="rdtsc is an unsafe intrinsic"):
        jit('"""\n# cell: unsafe\n"""\n' + src[15:], name="clock")
    # an imported cell takes it from its own source (and a safe caller needs the mark)
    app = "from cells.clock import now\n\n\ndef later() -> u64:\n    return now() + 1\n"
    marked = src.replace("def now", "@safe_interface\ndef now")
    assert jit(app, name="app", others={"clock": marked}).later() > 1


def test_unsafe_marker_line_is_public() -> None:
    assert "unsafe_marker_line" in lang.__all__ and lang.unsafe_marker_line is unsafe_marker_line
    assert unsafe_marker_line.__doc__


def test_each_header_marker_is_found_by_its_own_text() -> None:
    both = "# cell: unsafe\n# cell: isolated\nx: u64 = 1\n"
    assert marker_line(both, UNSAFE_MARK) == 1
    assert marker_line(both, "# cell: isolated") == 2
    assert marker_line("# cell: isolated\nx: u64 = 1\n", UNSAFE_MARK) is None
    assert marker_line("# cell: unsafe plus\nx: u64 = 1\n", UNSAFE_MARK) is None

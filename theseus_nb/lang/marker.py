"""The unsafe marker: a cell declares itself unsafe with the comment line `# cell: unsafe` in its header.

The header is the lines before the first statement that is not the module
docstring.  Only a real comment counts (a COMMENT token from `tokenize`, alone
on its line), so the same text inside a docstring or a string literal, or
below the imports, never makes a cell unsafe.  The same rule finds any header
marker (``marker_line``): ``# cell: isolated`` (theseus_nb/isolation.py) is one too.
"""
from __future__ import annotations

import ast
import io
import tokenize
import warnings
from typing import Iterator, Optional

UNSAFE_MARK = "# cell: unsafe"


def unsafe_marker_line(source: str) -> Optional[int]:
    """The 1-based line of the `# cell: unsafe` comment in a cell's header, or None.

    The marker counts only as a comment line of its own (nothing but spaces
    before it) that comes before the first statement other than the module
    docstring; the same text in a docstring, in a string literal, after code on
    the same line or after the first statement does not.  A source that does
    not parse has no marker (None); compiling it fails anyway.  This is what
    compile_cell uses when it is not told `unsafe=`.
    """
    return marker_line(source, UNSAFE_MARK)


def marker_line(source: str, mark: str) -> Optional[int]:
    """The 1-based line of the comment ``mark`` in a cell's header, by the
    rule above, or None (also for a source that does not parse). The
    unsafe marker is one such comment; ``# cell: isolated`` is another."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SyntaxWarning)
            tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return None
    found = marker_position(source, tree, mark)
    return found[0] if found else None


def marker_position(source: str, tree: ast.Module, mark: str = UNSAFE_MARK) -> Optional[tuple]:
    """(line, column), both 1-based, of the header's marker in an already parsed source."""
    for line, col, text in _header_comments(source, header_end(tree)):
        if text == mark:
            return line, col
    return None


def header_end(tree: ast.Module) -> int:
    """The first line that is no longer header: where the first statement after the docstring starts."""
    body = list(tree.body)
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
            and isinstance(body[0].value.value, str):
        body = body[1:]
    if not body:
        return 1 << 62  # only a docstring and comments: all of it is header
    first = body[0]
    # a decorator is part of its statement, and comes before the statement's own line
    return min([first.lineno] + [d.lineno for d in getattr(first, "decorator_list", [])])


def stray_marker_lines(source: str, marker: Optional[int]) -> list:
    """Lines holding the marker's text that do not mark the cell (for error messages)."""
    return [i for i, text in enumerate(source.splitlines(), 1)
            if UNSAFE_MARK in text and i != marker]


def _header_comments(source: str, end: int) -> Iterator[tuple]:
    """(line, column, text) of each comment alone on its line before line `end`, in order."""
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.start[0] >= end:
                return  # the rest of a large cell is never tokenized
            if tok.type == tokenize.COMMENT and not tok.line[:tok.start[1]].strip():
                yield tok.start[0], tok.start[1] + 1, tok.string.rstrip()
    except (tokenize.TokenError, SyntaxError):
        return  # ast.parse accepted the source, so the tokenizer disagrees only at its very end

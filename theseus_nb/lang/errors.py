"""The two ways a cell can fail: CellError at compile time, CellPanic at run time.

Both carry the cell and the 1-based source line, so a notebook can point at it.
"""
from __future__ import annotations

import html
from typing import Optional

from ..errors import TheseusError


class CellError(TheseusError):
    """A cell's source is not valid in the cell language (raised at compile time).

    The first error stops compilation; nothing is half-built.  ``str()`` gives
    ``file:line:col: message`` followed by the source line and a caret.
    """

    def __init__(self, message: str, *, cell: str = "", filename: str = "<cell>",
                 line: int = 0, col: int = 0, source_line: str = "") -> None:
        self.message = message
        self.cell = cell
        self.filename = filename
        self.line = line
        self.col = col
        self.source_line = source_line
        super().__init__(str(self))

    def _caret(self) -> str:
        return " " * max(self.col - 1, 0) + "^"

    def __str__(self) -> str:
        head = f"{self.filename}:{self.line}:{self.col}: {self.message}"
        if self.source_line:
            return f"{head}\n    {self.source_line}\n    {self._caret()}"
        return head

    def _repr_html_(self) -> str:
        src = html.escape(self.source_line)
        return (
            '<div style="font-family:monospace;border-left:4px solid #c33;padding:4px 8px">'
            f"<b>CellError</b> in cell <code>{html.escape(self.cell)}</code> at "
            f"{html.escape(self.filename)}:{self.line}:{self.col}<br>"
            f"{html.escape(self.message)}"
            f"<pre style='margin:4px 0'>{src}\n{self._caret()}</pre></div>"
        )


class CellPanic(TheseusError):
    """A jitted cell panicked (bounds, overflow, division by zero, assert, panic()).

    The process goes on; the cell's globals keep whatever state they had.
    """

    def __init__(self, message: str, cell: str, function: str, line: int) -> None:
        self.message = message
        self.cell = cell
        self.function = function
        self.line = line
        super().__init__(f"{cell}::{function}:{line}: panic: {message}")


def error_at(node: Optional[object], message: str, ctx: "SourceContext") -> CellError:
    """Build a CellError pointing at an ast node (or at line 1 when there is none)."""
    line = getattr(node, "lineno", 1) or 1
    col = (getattr(node, "col_offset", 0) or 0) + 1
    return ctx.error(message, line, col)


class SourceContext:
    """Where a cell's source came from: used to turn a line number into a CellError."""

    def __init__(self, source: str, cell: str, filename: str) -> None:
        self.source = source
        self.cell = cell
        self.filename = filename
        self.lines = source.splitlines()

    def error(self, message: str, line: int, col: int) -> CellError:
        text = self.lines[line - 1] if 0 < line <= len(self.lines) else ""
        return CellError(message, cell=self.cell, filename=self.filename,
                         line=line, col=col, source_line=text)

    def at(self, node: Optional[object], message: str) -> CellError:
        return error_at(node, message, self)

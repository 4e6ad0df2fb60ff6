"""Display: the one small helper every rich repr in the notebook layer uses.

``html_table`` turns rows into a compact HTML table (escaped, optionally
coloured per row), ``key_value_html`` a report of named figures;
``HtmlTable`` is a list of rows that shows itself as a table.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from typing import Any

__all__ = ["HtmlTable", "html_table", "key_value_html"]

# Short columns never wrap; the last (a fault's cause, a list of names) may,
# but keeps room for a few words a line instead of one.
_STYLE = ("<style>.tnb-table{border-collapse:collapse;font-family:monospace;font-size:12px}"
          ".tnb-table td,.tnb-table th{padding:1px 8px;border-bottom:1px solid #dee2e6;"
          "text-align:left;vertical-align:top;white-space:nowrap}"
          ".tnb-table td:last-child{white-space:normal;min-width:22em}</style>")


def html_table(header: Sequence[str], rows: Iterable[Sequence[Any]], *,
               caption: str | None = None, row_colours: Iterable[str | None] | None = None) -> str:
    """An HTML table of ``rows`` under ``header``; every value is escaped."""
    colours = list(row_colours) if row_colours is not None else None
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = []
    for i, row in enumerate(rows):
        bg = colours[i] if colours and i < len(colours) else None
        style = f" style='background:{bg}'" if bg else ""
        cells = "".join(f"<td>{html.escape(str(v))}</td>" for v in row)
        body.append(f"<tr{style}>{cells}</tr>")
    cap = f"<caption style='text-align:left'>{html.escape(caption)}</caption>" if caption else ""
    return f"{_STYLE}<table class='tnb-table'>{cap}<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def key_value_html(pairs: Iterable[tuple[str, Any]], *, caption: str | None = None) -> str:
    """A two-column table of ``(name, value)`` pairs, names as row headers (reports, summaries)."""
    rows = "".join(f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>"
                   for k, v in pairs)
    cap = f"<caption style='text-align:left'>{html.escape(caption)}</caption>" if caption else ""
    return f"{_STYLE}<table class='tnb-table'>{cap}<tbody>{rows}</tbody></table>"


class HtmlTable:
    """Rows under a header, shown as an HTML table in Jupyter and as text elsewhere."""

    def __init__(self, header: Sequence[str], rows: Iterable[Sequence[Any]], *,
                 caption: str | None = None, row_colours: Iterable[str | None] | None = None):
        self.header = list(header)
        self.rows = [list(r) for r in rows]
        self.caption = caption
        self.row_colours = list(row_colours) if row_colours is not None else None

    def _repr_html_(self) -> str:
        return html_table(self.header, self.rows, caption=self.caption,
                          row_colours=self.row_colours)

    def __repr__(self) -> str:
        table = [self.header] + [[str(v) for v in r] for r in self.rows]
        widths = [max(len(str(r[i])) for r in table) for i in range(len(self.header))]
        lines = ["  ".join(str(v).ljust(w) for v, w in zip(r, widths)).rstrip() for r in table]
        return "\n".join(([self.caption] if self.caption else []) + lines)

    def __len__(self) -> int:
        return len(self.rows)

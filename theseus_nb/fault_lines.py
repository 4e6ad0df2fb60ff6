"""Source lines for a backtrace's callers, found by the host from the object and the source.

The kernel knows the line of the frame that panicked (the compiler passes it
to ``rt::panic``) and nothing else: the objects carry no line table. The
host can still name a caller's line exactly, in the common case, from two
things it holds: the caller's object says which symbol the call at that
return address goes to (the relocation of the call instruction the address
lies in), and the caller's source says on which lines its function calls
that name. When the relocation confirms the call and the function calls the
callee on exactly one line, that line is the frame's; otherwise the frame
keeps no line, rather than a guess.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from dataclasses import replace

from qemu_bridge import FaultFrame, FaultRecord

from .objects import CellObject

__all__ = ["with_call_lines"]


def with_call_lines(record: FaultRecord, objects: Mapping[str, CellObject],
                    sources: Mapping[str, str]) -> FaultRecord:
    """``record`` with a line on every caller frame whose line the host can
    tell for certain (see the module's note); ``sources`` maps a cell to its
    cell-language text."""
    frames = list(record.frames)
    for i in range(1, len(frames)):
        frame, callee = frames[i], frames[i - 1].function
        if frame.line is not None or "::" not in frame.function:
            continue
        cell, function = frame.function.split("::", 1)
        obj, text = objects.get(cell), sources.get(cell)
        if obj is None or text is None or not _calls_at(obj, frame, callee):
            continue
        lines = _call_lines(text, function, callee.split("::", 1)[-1])
        if len(lines) == 1:
            frames[i] = replace(frame, line=lines.pop())
    return replace(record, frames=tuple(frames))


def _calls_at(obj: CellObject, frame: FaultFrame, callee: str) -> bool:
    # Does the relocation the frame's address lies in (inside the call's
    # 4-byte displacement) name the callee?
    for sec in obj.sections.values():
        if sec.kind != "text" or obj.symbol_of(sec) != frame.function:
            continue
        return any(r.section == sec.index and r.offset <= frame.offset < r.offset + 4
                   and r.symbol.name == callee for r in obj.relocations)
    return False


def _call_lines(text: str, function: str, short: str) -> set[int]:
    # The lines of `function` that call something named `short` (f(...), m.f(...)).
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == function:
            return {call.lineno for call in ast.walk(node) if isinstance(call, ast.Call)
                    and ((isinstance(call.func, ast.Name) and call.func.id == short)
                         or (isinstance(call.func, ast.Attribute) and call.func.attr == short))}
    return set()

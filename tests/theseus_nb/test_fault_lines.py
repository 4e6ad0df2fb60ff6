"""theseus_nb.fault_lines: a caller's line from its call's relocation and its source (real llvmlite, real ELF)."""

from __future__ import annotations

import pytest

from qemu_bridge import FaultFrame, FaultRecord
from theseus_nb import Kernel
from theseus_nb.compile import CellSource, compile_among
from theseus_nb.fault_lines import with_call_lines

SOURCE = """
from theseus_nb.lang.prelude import *


def leaf(n: u64) -> u64:
    return 100 // n


def once(n: u64) -> u64:
    return leaf(n) + 1


def twice(n: u64) -> u64:
    if n > 5:
        return leaf(n) + 2
    return leaf(n + 1) + 3
"""


@pytest.fixture(scope="module")
def obj():
    kernel = Kernel.default()
    return compile_among(kernel.nano_core + kernel.cells, [CellSource.cell("lines", SOURCE)])["lines"]


def _call_offset(obj, function: str, callee: str) -> int:
    # The address inside the call's displacement, as the kernel reports a caller frame.
    sec = next(s for s in obj.sections.values() if obj.symbol_of(s) == function)
    offsets = [r.offset + 3 for r in obj.relocations
               if r.section == sec.index and r.symbol.name == callee]
    return offsets[0]


def _record(*frames: FaultFrame) -> FaultRecord:
    return FaultRecord(1, 0, 0, 2, "ended", "lines::once", "panic", frames)


def test_a_caller_that_calls_once_gets_its_line(obj) -> None:
    record = _record(FaultFrame("lines::leaf", 0x10, 6),
                     FaultFrame("lines::once", _call_offset(obj, "lines::once", "lines::leaf")))
    out = with_call_lines(record, {"lines": obj}, {"lines": SOURCE})
    assert [f.line for f in out.frames] == [6, 10]
    assert out.frames[0] is record.frames[0]


def test_no_guess_when_the_function_calls_it_on_two_lines(obj) -> None:
    record = _record(FaultFrame("lines::leaf", 0x10, 6),
                     FaultFrame("lines::twice", _call_offset(obj, "lines::twice", "lines::leaf")))
    assert with_call_lines(record, {"lines": obj}, {"lines": SOURCE}).frames[1].line is None


def test_no_line_unless_the_relocation_confirms_the_call(obj) -> None:
    # An offset that is not inside a call to the callee, a callee the source
    # does not call, and a cell the host has no source for.
    for frames in [(FaultFrame("lines::leaf", 0), FaultFrame("lines::once", 0)),
                   (FaultFrame("lines::twice", 0),
                    FaultFrame("lines::once", _call_offset(obj, "lines::once", "lines::leaf")))]:
        assert with_call_lines(_record(*frames), {"lines": obj}, {"lines": SOURCE}) \
            .frames[1].line is None
    record = _record(FaultFrame("lines::leaf", 0x10, 6),
                     FaultFrame("lines::once", _call_offset(obj, "lines::once", "lines::leaf")))
    assert with_call_lines(record, {"lines": obj}, {}).frames[1].line is None

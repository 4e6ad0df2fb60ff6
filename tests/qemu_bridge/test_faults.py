"""qemu_bridge.faults: reading the kernel's `faults` dump (the kernel's side is tests/kernel_src/test_fault_log.py)."""

from __future__ import annotations

import pytest

from qemu_bridge import BridgeError, FaultFrame, FaultLog, FaultRecord
from qemu_bridge.faults import ACTION_COLOURS, ACTIONS, parse_faults

DUMP = """\
fault 1 ms=64 tsc=278389773 task=2 action=ended spec=recov::top
  cause panic: division by zero in recov::bottom line 34
  at recov::bottom+0x3a line 34
  at recov::middle+0x8
  at recov::top+0x8
fault 2 ms=374 tsc=1084647590 task=3 action=rolled_back spec=recov::always
  cause page fault at 0x10000000000 (not mapped) in recov::always
  at recov::always+0x35
"""


def test_every_field_of_every_record() -> None:
    log = parse_faults(DUMP)
    assert isinstance(log, FaultLog) and len(log) == 2
    first = log[0]
    assert first == FaultRecord(1, 64, 278389773, 2, "ended", "recov::top",
                                "panic: division by zero in recov::bottom line 34",
                                (FaultFrame("recov::bottom", 0x3a, 34), FaultFrame("recov::middle", 8),
                                 FaultFrame("recov::top", 8)))
    assert first.backtrace == ["recov::bottom", "recov::middle", "recov::top"]
    assert first.cell == "recov"
    assert str(first.frames[0]) == "recov::bottom+0x3a line 34"
    assert log[1].action == "rolled_back" and log[1].frames[0].line is None


def test_an_empty_log_is_empty() -> None:
    assert parse_faults("") == [] and parse_faults("\n\n") == []


@pytest.mark.parametrize("text, number", [
    ("  cause orphan\n", 1),
    ("fault 1 ms=1 tsc=1 task=2 action=ended spec=a::b\n  at a::b+zz\n", 2),
    ("fault x ms=1 tsc=1 task=2 action=ended spec=a::b\n", 1),
    ("fault 1 ms=1 tsc=1 task=2 action=ended spec=a::b\n  cause c\nsomething else\n", 3),
])
def test_a_line_that_is_not_part_of_a_record_is_named(text: str, number: int) -> None:
    with pytest.raises(BridgeError, match=f"line {number} of the faults dump"):
        parse_faults(text)


def test_the_table_escapes_and_colours_by_action() -> None:
    log = parse_faults(DUMP.replace("division by zero", "<script>"))
    html = log._repr_html_()
    assert "&lt;script&gt;" in html and "<script>" not in html
    assert ACTION_COLOURS["ended"] in html and ACTION_COLOURS["rolled_back"] in html
    assert "rolled back" in html and "2 faults" in html
    assert set(ACTION_COLOURS) == set(ACTIONS)
    assert log[0]._repr_html_().count("<tr") == 2      # a record alone: header and its row

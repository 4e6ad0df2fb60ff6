"""Benchmark: what one look of ConsoleBuffer.wait_for costs as the console fills.

A task prints a line a timer tick while a wait looks for a line that has
not come yet; the wait looks again after every line.  Side by side: the
LineSearch a wait uses (what is new, plus the last MATCH_LINES lines) and a
search of everything since the mark, which is what a look cost before.
No QEMU: the buffer's text is fed as the console's reader feeds it.

    python bench/bench_console.py [--lines N ...]
"""

from __future__ import annotations

import argparse
import re
import time

from baseline import ratio
from qemu_bridge.bounded_text import BoundedText
from qemu_bridge.console_buffer import LineSearch

_PATTERN = re.compile(r"counter: counted 0 ticks, the count is -1\n")  # never printed
_LINE_END = re.compile(r"\r+\n")


def _line(i: int) -> str:
    return f"counter: counted {i} ticks, the count is {i}\r\n"


def _us_per_look(lines: int, look) -> float:
    """Mean µs a look takes over the last tenth of ``lines`` lines printed
    (the wait began before them and has looked once since)."""
    text = BoundedText()
    for i in range(lines - lines // 10):
        text.append(_line(i))
    look(text)
    start = time.perf_counter()
    for i in range(lines - lines // 10, lines):
        text.append(_line(i))
        assert look(text) is None
    return (time.perf_counter() - start) / (lines // 10) * 1e6


def main() -> None:
    """Run the benchmark and print its table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lines", type=int, nargs="+", default=[1000, 4000, 16000])
    args = parser.parse_args()
    print("one look of a console wait, mean µs over the last tenth of the lines printed")
    print(f"{'lines printed':>14} {'line search':>12} {'whole text':>12} {'whole / line':>13}")
    print("-" * 54)
    for lines in args.lines:
        search = LineSearch(_PATTERN, 0)
        line = _us_per_look(lines, search.look)
        whole = _us_per_look(lines, lambda text: _PATTERN.search(_LINE_END.sub("\n", text.since(0))))
        print(f"{lines:>14} {line:>12.1f} {whole:>12.1f} {ratio(whole, line):>13}")


if __name__ == "__main__":
    main()

"""print() in the kernel (issue 13, item 2), with real QEMU: a command prints the same text
as CPython does with the same source, and tasks printing at once never cut each other's
lines."""
from __future__ import annotations

import re

import pytest

from theseus_nb import Kernel
from theseus_nb.live import LiveKernel

from tests.theseus_nb.lang.test_print import DIVIDES, PRINTER, cpython

COMMAND = PRINTER + '''
from kernel_src.task import sleep

def main(a: u64) -> u64:
    """The printer as a shell command."""
    show(7)
    return 0


def task(n: u64) -> u64:
    """The printer as a task: what it prints goes to the console, then a last line
    (after a little wait, so that the shell's prompt is out before)."""
    sleep(5)
    show(n)
    print("printer done")
    return 0
'''

#: Each task prints `n` lines of several pieces; a task switch inside a print would cut one.
CHATTY = '''from theseus_nb.lang.prelude import *
from kernel_src.task import sleep


def run(n: u64) -> u64:
    """Wait a little, then print n lines."""
    sleep(20)
    for i in range(n):
        print(f"task {n} line {i}:", "a", "few", "more", "words", sep=" | ")
        if i % 40 == 39:
            sleep(1)        # the console is fast: give the other task its turn
    return 0
'''
LINE = re.compile(r"^task (\d+) line (\d+): \| a \| few \| more \| words$")


@pytest.fixture(scope="module")
def vm(tmp_path_factory: pytest.TempPathFactory):
    """The default kernel with the printing cells, booted once for this file."""
    kernel = Kernel.default().with_cell("printer", COMMAND).with_cell("chatty", CHATTY)
    with kernel.build(tmp_path_factory.mktemp("print-kernel")).boot() as m:
        yield m


def test_a_command_prints_what_cpython_prints(vm: LiveKernel) -> None:
    expected, _ = cpython(PRINTER, "show", 7)
    assert vm.command("printer") == expected.removesuffix("\n")


def test_a_task_prints_on_the_console_what_cpython_prints(vm: LiveKernel) -> None:
    expected, _ = cpython(PRINTER, "show", 12)
    console = vm.machine.console
    mark = console.mark()
    vm.spawn("printer::task", 12)
    console.wait_for(r"printer done\n", timeout=10, since=mark)
    printed = console.since(mark)
    start = printed.index("a, 1, True")  # (the shell's prompt may come first)
    assert printed[start:] == expected + "printer done\n"


def test_a_cell_loaded_at_run_time_prints_too(vm: LiveKernel) -> None:
    vm.load("divides", DIVIDES + "\n\ndef main(a: u64) -> u64:\n    return u64(divide(-7, 2) + 4)\n")
    assert vm.command("divides") == "before\nquotient -4"


def test_tasks_printing_at_once_never_cut_a_line(vm: LiveKernel) -> None:
    console = vm.machine.console
    mark = console.mark()
    vm.spawn("chatty::run", 150)
    vm.spawn("chatty::run", 151)
    for _ in range(20):  # the host's channel is not the console: commands go on meanwhile
        assert vm.command("echo meanwhile") == "meanwhile"
    for n in (150, 151):
        console.wait_for(rf"task {n} line {n - 1}:.*words\n", timeout=20, since=mark)
    # (the first line a task prints may follow the shell's prompt)
    lines = [line.removeprefix("theseus> ") for line in console.since(mark).splitlines()]
    printed = [line for line in lines if line.startswith("task ")]
    assert all(LINE.match(line) for line in printed), [x for x in printed if not LINE.match(x)]
    got = [tuple(int(g) for g in LINE.match(line).groups()) for line in printed]
    for n in (150, 151):
        assert [i for t, i in got if t == n] == list(range(n))
    # the two tasks did run at the same time: their lines alternate somewhere
    switches = sum(1 for a, b in zip(got, got[1:]) if a[0] != b[0])
    assert switches >= 2, [(a, b) for a, b in zip(got, got[1:]) if a[0] != b[0]]

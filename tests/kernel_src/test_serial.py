"""The two serial lines (issue 13, item 1), with real QEMU: tasks print on the
console while the host talks on its own line, and neither damages the other.

Four tasks each print 1000 numbered lines while the host sends 500 commands
and 20 swaps: every answer is exact (no ProtocolError), and every printed
line is on the console exactly once. The console is for people and tasks;
the host's line carries only requests and replies.
"""
from __future__ import annotations

import re
from collections import Counter

import pytest

from theseus_nb import Kernel
from theseus_nb.live import LiveKernel

pytestmark = pytest.mark.qemu

TASKS, LINES, COMMANDS, SWAPS = 4, 1000, 500, 20

#: A task prints LINES numbered lines, yielding now and then so the host's
#: commands and swaps really do run while it prints.
TALKER = '''from theseus_nb.lang.prelude import *
from kernel_src.task import sleep


def run(who: u64) -> u64:
    """Print LINES numbered lines as task `who`."""
    for i in range(LINES):
        print(f"talker {who} says line {i} of LINES")
        if i % 50 == 49:
            sleep(1)
    return who
'''.replace("LINES", str(LINES))

#: The cell the host swaps while the tasks print: its command answers its version.
VERSIONED = '''from theseus_nb.lang.prelude import *


def main(arg: u64) -> u64:
    """Say which version this is."""
    print("version", VERSION)
    return 0
'''

LINE = re.compile(r"^talker (\d) says line (\d+) of 1000$")


@pytest.fixture(scope="module")
def vm(tmp_path_factory: pytest.TempPathFactory):
    """The default kernel with the talker and the versioned cell, booted once."""
    kernel = (Kernel.default().with_cell("talker", TALKER)
              .with_cell("versioned", VERSIONED.replace("VERSION", "0")))
    with kernel.build(tmp_path_factory.mktemp("serial-kernel")).boot() as m:
        yield m


def test_tasks_print_on_the_console_while_the_host_talks(vm: LiveKernel) -> None:
    mark = vm.machine.console.mark()
    for who in range(1, TASKS + 1):
        vm.spawn("talker::run", who)
    swaps = 0
    for k in range(COMMANDS):
        assert vm.command(f"echo request {k}") == f"request {k}"
        if k % (COMMANDS // SWAPS) == 0 and swaps < SWAPS:
            swaps += 1
            vm.swap("versioned", VERSIONED.replace("VERSION", str(swaps)))
            assert vm.command("versioned") == f"version {swaps}"
    assert swaps == SWAPS
    for who in range(1, TASKS + 1):
        vm.machine.console.wait_for(rf"talker {who} says line {LINES - 1} of", 60.0, since=mark)
    printed = vm.machine.console.since(mark).splitlines()
    seen = Counter(line for line in printed if LINE.match(line))
    expected = {f"talker {w} says line {i} of {LINES}" for w in range(1, TASKS + 1)
                for i in range(LINES)}
    assert set(seen) == expected, sorted(expected - set(seen))[:5]
    assert all(n == 1 for n in seen.values()), [line for line, n in seen.items() if n > 1][:5]
    # Every other line the tasks' time produced is the kernel's own (none here):
    # nothing of a reply, and no piece of a cut line, is on the console.
    others = [line for line in printed if line and not LINE.match(line)]
    assert others == [], others[:5]
    assert "request" not in vm.machine.console.since(mark)


def test_a_line_typed_on_the_console_is_answered_there(vm: LiveKernel) -> None:
    mark = vm.machine.console.mark()
    vm.machine.type("echo typed by a person\r")
    vm.machine.console.wait_for(r"echo typed by a person\ntyped by a person\ntheseus> ", 5.0,
                                since=mark)
    assert vm.command("echo and the host") == "and the host"


def test_a_person_and_the_host_do_not_disturb_each_other(vm: LiveKernel) -> None:
    # Half a line typed on the console stays half a line while the host runs commands.
    mark = vm.machine.console.mark()
    vm.machine.type("echo half")
    assert vm.command("echo between") == "between"
    vm.machine.type(" a line\r")
    vm.machine.console.wait_for(r"half a line\ntheseus> ", 5.0, since=mark)

"""Shared structs and globals in a running kernel (issue 14, item 2), with real QEMU: a
swap that changes a shared layout is refused with its readers named, and goes in when they
are swapped with it; reading another cell's global is an edge of the live section graph,
which equals the build-time graph."""
from __future__ import annotations

import pytest

from theseus_nb import Kernel
from theseus_nb.graph import SectionGraph
from theseus_nb.guest_errors import SwapError
from theseus_nb.live import LiveKernel

from tests.theseus_nb.lang.test_shared import OWNER, READER

COMMAND = READER + '''

def main(a: u64) -> u64:
    """step(2), printed."""
    print(step(2))
    return 0
'''
GROWN = OWNER.replace("    ticks: u64\n", "    ticks: u64\n    prio: u8\n")


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory):
    """The default kernel with the owner and its reader (a shell command)."""
    kernel = Kernel.default().with_cell("shared_owner", OWNER).with_cell("shared_reader", COMMAND)
    return kernel.build(tmp_path_factory.mktemp("shared-kernel"))


@pytest.fixture()
def vm(image):
    """A fresh boot for each test."""
    with image.boot() as m:
        yield m


def test_the_reader_reads_the_owners_table(vm: LiveKernel) -> None:
    # the same numbers as on the host (tests/theseus_nb/lang/test_shared.py)
    first, second = vm.command("shared_reader"), vm.command("shared_reader")
    assert int(first) > 0 and int(second) > int(first)


def test_a_swap_changing_a_shared_layout_is_refused_unless_its_readers_come_along(
        vm: LiveKernel) -> None:
    before = vm.command("shared_reader")
    with pytest.raises(SwapError) as info:
        vm.swap("shared_owner", GROWN)
    message = str(info.value)
    assert "changes the type or layout of 'shared_owner::tasks', which 'shared_reader::" in message
    assert "still reads with the old one; swap every cell that reads it in the same " \
           "transaction: shared_reader" in message
    assert int(vm.command("shared_reader")) > int(before)  # nothing changed
    report = vm.swap_many({"shared_owner": GROWN, "shared_reader": COMMAND})
    # the table of the new layout starts afresh; the switch count (a u64 still) goes on,
    # so this is the first step again, with the two steps before added to the count
    assert "shared_owner::switches" in report.state_carried
    assert "shared_owner::tasks" not in report.state_carried
    assert vm.command("shared_reader") == str(int(before) + 4)


def test_the_live_graph_has_the_data_edges_of_the_build(image, vm: LiveKernel) -> None:
    live = vm.graph()
    assert live == image.graph, str(image.graph.diff(live, left="build", right="kernel"))
    data = {b for a, b in live.edges if a.startswith("shared_reader::") and b.startswith("shared_owner::")
            and live.info(b).kind in ("data", "bss")}
    assert "shared_owner::tasks" in data and "shared_owner::switches" in data

"""Shared structs and globals in a running kernel (issue 14, item 2), with real QEMU: a
swap that changes a shared layout is refused with its readers named, and goes in when they
are swapped with it; reading another cell's global is an edge of the live section graph,
which equals the build-time graph."""
from __future__ import annotations

import io
import struct

import pytest
from elftools.elf.elffile import ELFFile
from elftools.elf.relocation import RelocationSection

import qemu_bridge

from theseus_nb import Kernel
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


def _reloc_to(data: bytes, symbol: str) -> int:
    """File offset of the addend of the first relocation against symbol."""
    elf = ELFFile(io.BytesIO(data))
    symtab = elf.get_section_by_name(".symtab")
    for sec in elf.iter_sections():
        if isinstance(sec, RelocationSection):
            for k, rel in enumerate(sec.iter_relocations()):
                if symtab.get_symbol(rel["r_info_sym"]).name == symbol:
                    return sec["sh_offset"] + k * 24 + 16
    raise AssertionError(f"no relocation against {symbol}")


@pytest.mark.parametrize("addend,refused", [(200, False), (-100, False), (1000, True), (-400, True)])
def test_a_reference_far_outside_a_shared_array_is_refused(vm: LiveKernel, addend: int,
                                                           refused: bool) -> None:
    # tasks is 4 * 32 = 128 bytes: an optimised loop may address it from up to one
    # length past either end, and nothing further is a well-formed reference
    obj = vm.compile("shared_reader2", COMMAND).data
    at = _reloc_to(obj, "shared_owner::tasks")
    data = bytearray(obj)
    struct.pack_into("<q", data, at, addend)
    assert vm.machine.upload("shared_reader2", bytes(data)).ok
    if refused:
        with pytest.raises(qemu_bridge.SwapError,
                           match="relocation points outside the section of its symbol "
                                 "'shared_owner::tasks'"):
            vm.machine.swap_uploaded(["shared_reader2"], load=True)
    else:
        vm.machine.swap_uploaded(["shared_reader2"], load=True)  # loaded, and never run
    assert vm.command("echo alive") == "alive"

"""The nano_core's cell loader, seen from outside: a real kernel in real QEMU.

The loader is written in the cell language (kernel_src/loader.py, elf.py);
these tests boot it and check what it did, through the shell.
"""

from __future__ import annotations

import io
import struct

import pytest
from elftools.elf.elffile import ELFFile

from theseus_nb import Image, Kernel, build
from theseus_nb.archive import ArchiveEntry

pytestmark = pytest.mark.qemu

VICTIM_IR = """
define i64 @"victim::f"() {
  ret i64 1
}
@"victim::g" = global ptr @"victim::f"
"""
ORPHAN_IR = """
declare i64 @"nowhere::missing"()
define i64 @"orphan::f"() {
  %x = call i64 @"nowhere::missing"()
  ret i64 %x
}
"""


def _victim() -> bytes:
    return build.compile_object(VICTIM_IR, "victim").data


def _section_header_offset(data: bytes, name: str) -> int:
    elf = ELFFile(io.BytesIO(data))
    for i, sec in enumerate(elf.iter_sections()):
        if sec.name == name:
            return elf.header["e_shoff"] + i * elf.header["e_shentsize"]
    raise AssertionError(f"no section {name}")


def _offset_past_end() -> bytes:
    data = bytearray(_victim())
    header = _section_header_offset(bytes(data), ".text.victim.f")
    struct.pack_into("<Q", data, header + 24, len(data) + 4096)  # sh_offset
    return bytes(data)


def _unknown_relocation() -> bytes:
    data = bytearray(_victim())
    elf = ELFFile(io.BytesIO(bytes(data)))
    rela = next(s for s in elf.iter_sections() if s.name.startswith(".rela"))
    info_at = rela["sh_offset"] + 8
    info = struct.unpack_from("<Q", data, info_at)[0]
    struct.pack_into("<Q", data, info_at, (info & ~0xFFFFFFFF) | 37)  # R_X86_64_IRELATIVE
    return bytes(data)


CYCLE_A_IR = """
declare i64 @"cyc_b::g"()
define i64 @"cyc_a::f"() {
  %x = call i64 @"cyc_b::g"()
  ret i64 %x
}
"""
CYCLE_B_IR = CYCLE_A_IR.replace("cyc_b::g", "TMP").replace("cyc_a::f", "cyc_b::g").replace(
    "TMP", "cyc_a::f")

#: Each malformed object and the reason the loader must give for it.
MALFORMED = {
    "truncated": (lambda: _victim()[:40], "truncated"),
    "badmagic": (lambda: b"\x7fELG" + _victim()[4:], "bad magic"),
    "badoffset": (_offset_past_end, "section offset past the end"),
    "badreloc": (_unknown_relocation, "unknown relocation type"),
    "orphan": (lambda: build.compile_object(ORPHAN_IR, "orphan").data,
               "unresolved symbol 'nowhere::missing' for 'orphan::f'"),
    "cyc_a": (lambda: build.compile_object(CYCLE_A_IR, "cyc_a").data,
              "dependency cycle: needs 'cyc_b::g' for 'cyc_a::f' from cell cyc_b"),
    "cyc_b": (lambda: build.compile_object(CYCLE_B_IR, "cyc_b").data,
              "dependency cycle: needs 'cyc_a::f' for 'cyc_b::g' from cell cyc_a"),
}


@pytest.fixture(scope="module")
def hostile_image(tmp_path_factory: pytest.TempPathFactory) -> Image:
    """The default kernel whose boot archive also carries malformed objects."""
    extra = [ArchiveEntry(name, make()) for name, (make, _) in MALFORMED.items()]
    return Kernel.default().build(tmp_path_factory.mktemp("hostile"), extra_archive_entries=extra)


#: R_X86_64_PC64 (S + A - P, 64 bits): LLVM emits it for a global holding
#: the distance from itself to another global.  One target is placed before
#: the word that points at it and one after, so both signs are patched.
PCREL_IR = """
declare void @"serial::write_u64"(i64)
declare void @"serial::newline"()
@"pcrel::before" = global i64 42
@"pcrel::back" = global i64 sub (i64 ptrtoint (ptr @"pcrel::before" to i64), i64 ptrtoint (ptr @"pcrel::back" to i64))
@"pcrel::ahead" = global i64 sub (i64 ptrtoint (ptr @"pcrel::after" to i64), i64 ptrtoint (ptr @"pcrel::ahead" to i64))
@"pcrel::after" = global i64 43

define i64 @"pcrel::follow"(ptr %word) {
  %d = load volatile i64, ptr %word
  %at = ptrtoint ptr %word to i64
  %t = add i64 %at, %d
  %p = inttoptr i64 %t to ptr
  %v = load i64, ptr %p
  ret i64 %v
}

define i64 @"pcrel::main"(i64 %a) {
  %x = call i64 @"pcrel::follow"(ptr @"pcrel::back")
  call void @"serial::write_u64"(i64 %x)
  call void @"serial::newline"()
  %y = call i64 @"pcrel::follow"(ptr @"pcrel::ahead")
  call void @"serial::write_u64"(i64 %y)
  call void @"serial::newline"()
  ret i64 0
}
"""


def test_pc64_relocations_are_applied(tmp_path) -> None:
    obj = build.compile_object(PCREL_IR, "pcrel").data
    relocs = [r for s in ELFFile(io.BytesIO(obj)).iter_sections() if s.name.startswith(".rela")
              for r in s.iter_relocations()]
    assert sum(r["r_info_type"] == 24 for r in relocs) == 2      # two R_X86_64_PC64
    image = Kernel.default().build(tmp_path, extra_archive_entries=[ArchiveEntry("pcrel", obj)])
    with image.boot() as machine:
        assert "refused cell pcrel" not in machine.transcript
        assert machine.command("pcrel").split() == ["42", "43"]


def test_live_graph_equals_build_time_graph(kernel_image: Image) -> None:
    with kernel_image.boot() as machine:
        live = machine.graph()
    predicted = kernel_image.graph
    difference = predicted.diff(live, left="build", right="kernel")
    assert not difference, str(difference)
    assert live == predicted
    assert len(live.cells) >= 10 and len(live.sections) >= 100


def test_cells_lists_every_cell(kernel_image: Image) -> None:
    with kernel_image.boot() as machine:
        listing = machine.command("cells")
    names = {line.split()[0] for line in listing.splitlines()[1:]}
    assert {c.cell for c in kernel_image.cells} <= names
    assert {c.cell for c in kernel_image.nano_core} <= names


def test_sections_and_deps_show_the_graph(kernel_image: Image) -> None:
    with kernel_image.boot() as machine:
        sections = machine.command("sections fib")
        deps = machine.command("deps fib::main")
        users = machine.command("deps mathutil::fib")
        bad = machine.request("deps no::such")
    assert "fib::main" in sections and "text" in sections
    assert "mathutil::fib" in deps.split("used by:")[0]
    assert "fib::main" in users.split("used by:")[1]
    assert bad.status == 1 and "usage" in bad.output


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_malformed_object_is_refused_with_its_reason(hostile_image: Image, name: str) -> None:
    _, reason = MALFORMED[name]
    with hostile_image.boot() as machine:
        boot_log = machine.transcript
        loaded = machine.command("cells")
        echo = machine.command("echo still here")
    assert f"loader: refused cell {name}: " in boot_log
    refusal = next(line for line in boot_log.splitlines() if f"refused cell {name}:" in line)
    assert reason in refusal
    assert name not in {line.split()[0] for line in loaded.splitlines()[1:]}
    assert echo == "still here"


def test_refused_objects_leave_the_graph_as_without_them(hostile_image: Image) -> None:
    with hostile_image.boot() as machine:
        live = machine.graph()
    # The image's graph knows only the good cells: the loader must agree.
    assert live == hostile_image.graph
    assert not set(MALFORMED) & set(live.cells)

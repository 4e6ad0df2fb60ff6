"""Tests of theseus_nb.objects: reading real ELF objects with pyelftools."""

from __future__ import annotations

import struct

import pytest
from elftools.elf.elffile import ELFFile
import io

from theseus_nb import ObjectError, build
from theseus_nb.objects import parse_object

CALLER_IR = """
@"app::greeting" = constant [2 x i8] c"hi"
@"app::ptr" = global ptr @"app::greeting"
declare void @"serial::write"(ptr, i64)
define void @"app::main"() {
  call void @"serial::write"(ptr @"app::greeting", i64 2)
  ret void
}
"""


@pytest.fixture()
def caller_object(object_cache) -> bytes:
    return build.compile_object(CALLER_IR, "app").data


def test_sections_symbols_and_relocations(caller_object):
    obj = parse_object(caller_object, "app")
    assert {s.name for s in obj.sections.values()} == {
        ".text.app.main", ".rodata.app.greeting", ".data.app.ptr"}
    assert [s.name for s in obj.undefined] == ["serial::write"]
    assert {s.name for s in obj.defined} == {"app::main", "app::greeting", "app::ptr"}
    kinds = {(obj.sections[r.section].name, r.type, r.symbol.name) for r in obj.relocations}
    assert (".text.app.main", "R_X86_64_PLT32", "serial::write") in kinds
    assert (".data.app.ptr", "R_X86_64_64", "app::greeting") in kinds
    text = next(s for s in obj.sections.values() if s.kind == "text")
    assert obj.symbol_of(text) == "app::main"
    assert text.align >= 1 and len(text.data) == text.size


def _retype_first_relocation(data: bytes, new_type: int) -> bytes:
    elf = ELFFile(io.BytesIO(data))
    rela = next(s for s in elf.iter_sections() if s.name.startswith(".rela"))
    offset = rela["sh_offset"] + 8  # r_info of the first entry
    info = struct.unpack_from("<Q", data, offset)[0]
    patched = bytearray(data)
    struct.pack_into("<Q", patched, offset, (info & ~0xFFFFFFFF) | new_type)
    return bytes(patched)


def test_unsupported_relocation_type_is_refused_with_its_name(caller_object):
    got = _retype_first_relocation(caller_object, 9)  # R_X86_64_GOTPCREL
    with pytest.raises(ObjectError, match="R_X86_64_GOTPCREL.*not supported"):
        parse_object(got, "app")


def test_garbage_is_not_an_object():
    with pytest.raises(ObjectError, match="app"):
        parse_object(b"\x7fELF" + b"\0" * 20, "app")


def test_truncated_object_is_refused(caller_object):
    with pytest.raises(ObjectError):
        parse_object(caller_object[:200], "app")

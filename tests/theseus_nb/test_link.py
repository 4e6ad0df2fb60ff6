"""Tests of theseus_nb.link: layout, symbol resolution and relocations."""

from __future__ import annotations

import struct

import pytest

from theseus_nb import LinkError, build
from theseus_nb.objects import parse_object
from theseus_nb.link import link

A_IR = """
@"a::value" = global i64 42
@"a::pointer" = global ptr @"a::value"
declare i64 @"b::f"()
define i64 @"a::main"() {
  %x = call i64 @"b::f"()
  ret i64 %x
}
"""
B_IR = """
define i64 @"b::f"() {
  ret i64 5
}
"""


def _obj(text: str, cell: str):
    return parse_object(build.compile_object(text, cell).data, cell)


def test_links_and_applies_absolute_and_pc_relative_relocations(object_cache):
    a, b = _obj(A_IR, "a"), _obj(B_IR, "b")
    image = link([a, b], base=0x100000, header_size=32, entry="a::main")
    sym = image.symbols
    assert 0x100000 + 32 <= sym["a::main"] < sym["b::f"] < sym["a::value"]
    # @a::pointer holds the absolute address of @a::value (R_X86_64_64).
    off = sym["a::pointer"] - image.base
    assert struct.unpack_from("<Q", image.blob, off)[0] == sym["a::value"]
    # The call in a::main reaches b::f (R_X86_64_PLT32: S + A - P).
    main = bytes(image.blob[sym["a::main"] - image.base:][:32])
    at = next(i for i, byte in enumerate(main) if byte in (0xE8, 0xE9))  # call/jmp rel32
    disp = struct.unpack_from("<i", main, at + 1)[0]
    assert sym["a::main"] + at + 5 + disp == sym["b::f"]
    assert image.bss_end >= image.load_end


def test_undefined_symbol_names_symbol_and_cell(object_cache):
    with pytest.raises(LinkError) as info:
        link([_obj(A_IR, "a")], base=0x100000, header_size=32, entry="a::main")
    assert "undefined symbol 'b::f', needed by cell(s) 'a'" in str(info.value)


def test_duplicate_symbol_names_both_cells(object_cache):
    twin = B_IR.replace("ret i64 5", "ret i64 6")
    with pytest.raises(LinkError) as info:
        link([_obj(A_IR, "a"), _obj(B_IR, "b"), _obj(twin, "b2")],
             base=0x100000, header_size=32, entry="a::main")
    assert "duplicate symbol 'b::f': defined in cell 'b' and in cell 'b2'" in str(info.value)


def test_missing_entry_point(object_cache):
    with pytest.raises(LinkError, match="no entry point"):
        link([_obj(B_IR, "b")], base=0x100000, header_size=32, entry="_start")

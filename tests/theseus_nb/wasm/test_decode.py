"""Decode: malformed bytes are refused with the byte offset of the problem."""

from __future__ import annotations

import pytest

from theseus_nb.wasm import MalformedError, decode

HEADER = b"\0asm\x01\0\0\0"


def test_a_module_decodes_into_its_parts(wat) -> None:
    m = decode(wat('(module (memory 1 2) (global (mut i32) (i32.const 5)) '
                   '(func $f (export "f") (param i64) (result i64) local.get 0) '
                   '(data (i32.const 8) "hi"))'))
    assert [str(t) for t in m.types] == ["(i64) -> (i64)"]
    assert m.memories[0].min == 1 and m.memories[0].max == 2
    assert m.globals[0].mutable and m.exports[0].name == "f"
    assert m.datas[0].data == b"hi"
    assert [i.op for i in m.funcs[0].body] == ["local.get", "end"]


@pytest.mark.parametrize("data, offset, words", [
    (b"\0asn\x01\0\0\0", 0, "magic header"),
    (b"\0asm\x02\0\0\0", 4, "unknown binary version"),
    (HEADER + b"\x01\x05\x01\x60\x00", 8, "runs past the end"),           # size 5, 3 bytes left
    (HEADER + b"\x0e\x00", 8, "malformed section id 14"),
    (HEADER + b"\x03\x01\x00\x01\x01\x00", 11, "out of order"),         # type after function
    (HEADER + b"\x01\x05\x01\x60\x00\x00\x00", 14, "section size mismatch"),
    (HEADER + b"\x01\x07\x01\x60\x80\x80\x80\x80\x80", 12, "too long"),
    (HEADER + b"\x01\x04\x01\x61\x00\x00", 11, "expected the byte 0x60"),
    (HEADER + b"\x01\x05\x01\x60\x01\x7b\x00", 13, "malformed value type 0x7b"),
    (HEADER + b"\x00\x03\x02\xff\xfe", 10, "UTF-8"),
])
def test_malformed_bytes_name_their_offset(data: bytes, offset: int, words: str) -> None:
    with pytest.raises(MalformedError) as e:
        decode(data)
    assert e.value.offset == offset
    assert words in str(e.value) and f"byte offset {offset}" in str(e.value)


def test_an_unknown_opcode_is_refused_where_it_stands(wat) -> None:
    good = wat("(module (func nop))")
    at = good.rindex(b"\x01\x0b")          # the body's nop, then end
    bad = good[:at] + b"\xff" + good[at + 1:]
    with pytest.raises(MalformedError, match="illegal opcode 0xff") as e:
        decode(bad)
    assert e.value.offset == at


def test_unused_bits_of_a_leb128_are_refused() -> None:
    # a u32 of 5 bytes whose last byte sets bits above bit 31
    data = HEADER + b"\x05\x07\x01\x00\x82\x80\x80\x80\x70"
    with pytest.raises(MalformedError, match="integer too large") as e:
        decode(data)
    assert e.value.offset == 12

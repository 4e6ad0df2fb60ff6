"""Validate: a module that decodes but breaks a typing rule is refused at the offending
instruction's byte offset. wat2wasm would refuse these too, so they are built with
``--no-check``'s equivalent: binary modules assembled by hand from valid ones."""

from __future__ import annotations

import pytest

from theseus_nb.wasm import InvalidError, decode, validate


def _swap(data: bytes, old: bytes, new: bytes) -> tuple[bytes, int]:
    at = data.rindex(old)
    return data[:at] + new + data[at + len(old):], at


def test_a_type_mismatch_names_the_instruction(wat) -> None:
    good = wat('(module (func (result i32) i32.const 1 i32.const 2 i32.add))')
    bad, at = _swap(good, b"\x6a", b"\x7c")   # i32.add -> i64.add
    with pytest.raises(InvalidError, match="type mismatch: i32 on the operand stack, i64 "
                                           "expected") as e:
        validate(decode(bad))
    assert e.value.offset == at


def test_a_branch_to_a_missing_label(wat) -> None:
    good = wat('(module (func (block (br 0))))')
    bad, at = _swap(good, b"\x0c\x00", b"\x0c\x05")
    with pytest.raises(InvalidError, match="unknown label 5") as e:
        validate(decode(bad))
    assert e.value.offset == at


def test_a_store_to_an_immutable_global(wat) -> None:
    good = wat('(module (global $g (mut i32) (i32.const 0)) (func (global.set $g (i32.const 1))))')
    bad, _ = _swap(good, b"\x7f\x01\x41", b"\x7f\x00\x41")  # make the global immutable
    with pytest.raises(InvalidError, match="global is immutable"):
        validate(decode(bad))


def test_alignment_larger_than_natural(wat) -> None:
    good = wat('(module (memory 1) (func (drop (i32.load8_u (i32.const 0)))))')
    bad, at = _swap(good, b"\x2d\x00\x00", b"\x2d\x02\x00")
    with pytest.raises(InvalidError, match="alignment must not be larger than natural") as e:
        validate(decode(bad))
    assert e.value.offset == at


def test_memory_limits_and_one_result_in_1_0(wat) -> None:
    good = wat('(module (memory 1 2))')
    bad, _ = _swap(good, b"\x05\x04\x01\x01\x01\x02", b"\x05\x04\x01\x01\x03\x02")
    with pytest.raises(InvalidError, match="minimum must not be greater than maximum"):
        validate(decode(bad))
    multi = decode(wat('(module (func (result i32 i32) i32.const 1 i32.const 2))'))
    validate(multi)                      # fine in 2.0 (multi-value)
    with pytest.raises(InvalidError, match="invalid result arity"):
        validate(multi, "1.0")

"""WAT goes through wabt's wat2wasm; its errors name the line of the text."""

from __future__ import annotations

import pytest

from theseus_nb.wasm import WatError, decode, wat_to_wasm


def test_wat_assembles_to_a_module() -> None:
    m = decode(wat_to_wasm('(module (func (export "seven") (result i32) i32.const 7))'))
    assert m.exports[0].name == "seven"


def test_a_wat_error_names_its_line() -> None:
    with pytest.raises(WatError) as e:
        wat_to_wasm('(module\n  (func (result i32)\n    i32.const 7\n    i32.add))')
    assert e.value.line == 4
    assert "i32.add" in e.value.source_line and "type mismatch" in str(e.value)

"""Helpers for the wasm tests: WAT text through the real wat2wasm."""

from __future__ import annotations

import pytest

from theseus_nb.wasm import wat_to_wasm


@pytest.fixture
def wat():
    """``wat(text) -> bytes``: assemble WAT with wabt."""
    return wat_to_wasm

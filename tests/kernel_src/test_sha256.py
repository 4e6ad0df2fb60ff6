"""kernel_src/sha256.py computes SHA-256 as hashlib does: the kernel's check of
a signature hash (call_by_name.py) depends on it. Compiled with the cell
language and run on the host JIT, against hashlib."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from theseus_nb.lang import jit

SOURCE = (Path(__file__).resolve().parents[2] / "kernel_src" / "sha256.py").read_text()


@pytest.fixture(scope="module")
def sha256() -> object:
    return jit(SOURCE, name="sha256")


@pytest.mark.parametrize("message", [
    b"", b"run:u64->u64", b"pick_next:u64->u64",
    b"a" * 55, b"a" * 56, b"a" * 63, b"b" * 64, b"c" * 65, bytes(range(256)) * 2,
])
def test_the_first_eight_bytes_are_hashlibs(sha256: object, message: bytes) -> None:
    sha256.sha_begin()
    for byte in message:
        sha256.sha_byte(byte)
    assert sha256.sha_end() == int(hashlib.sha256(message).hexdigest()[:16], 16)

"""kernel_src/names.py's memory helpers, compiled with the cell language and run
on the host JIT: mem_copy copies exactly n bytes, whatever n and alignment
(upload.py and versions.py copy every object with it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from theseus_nb.lang import jit

KERNEL_SRC = Path(__file__).resolve().parents[2] / "kernel_src"

#: Copies n bytes at offset `at` between two 64-byte arrays and counts the
#: bytes of the destination that are not what they should be: inside the
#: range the source's, outside it the 0xEE it was filled with.
PROBE = '''# cell: unsafe
from theseus_nb.lang.prelude import *
from theseus_nb.lang.unsafe import addr_of
from kernel_src.names import mem_copy, mem_equal

src: Array[u8, 64] = [0] * 64
dst: Array[u8, 64] = [0] * 64


def wrong_bytes(at: u64, n: u64) -> u64:
    for i in range(64):
        src[i] = u8(i + 1)
        dst[i] = 0xEE
    mem_copy(addr_of(dst) + at, addr_of(src) + at, n)
    wrong: u64 = 0
    for i in range(64):
        want: u8 = 0xEE
        if at <= i and i < at + n:
            want = u8(i + 1)
        if dst[i] != want:
            wrong += 1
    return wrong


def copied_equal(at: u64, n: u64) -> bool:
    return mem_equal(addr_of(dst) + at, addr_of(src) + at, n)
'''


@pytest.fixture(scope="module")
def probe() -> object:
    others = {name: (KERNEL_SRC / f"{name}.py").read_text() for name in ("names", "params", "serial")}
    return jit(PROBE, name="copyprobe", others=others)


@pytest.mark.parametrize("at", [0, 1, 7, 8, 13])
def test_mem_copy_copies_exactly_n_bytes(probe: object, at: int) -> None:
    # Every length up to three words and a bit: whole words, a tail, no words at all.
    for n in range(0, 64 - at - 16):
        assert probe.wrong_bytes(at, n) == 0, f"{n} bytes at offset {at}"
        assert probe.copied_equal(at, n)


def test_a_tail_copied_a_word_at_a_time_would_be_caught(probe: object) -> None:
    # The routine upload.py had: its last store wrote up to 7 bytes past the end.
    loose = PROBE.replace("from kernel_src.names import mem_copy, mem_equal",
                          "from kernel_src.names import mem_equal\n"
                          "from theseus_nb.lang.unsafe import load64, store64\n\n\n"
                          "def mem_copy(to: u64, start: u64, n: u64) -> None:\n"
                          "    words: u64 = n // 8\n"
                          "    for i in range(words):\n"
                          "        store64(to + i * 8, load64(start + i * 8))\n"
                          "    if n % 8 != 0:\n"
                          "        store64(to + words * 8, load64(start + words * 8))\n")
    others = {name: (KERNEL_SRC / f"{name}.py").read_text() for name in ("names", "params", "serial")}
    old = jit(loose, name="looseprobe", others=others)
    assert old.wrong_bytes(0, 16) == 0 and old.wrong_bytes(0, 13) == 3

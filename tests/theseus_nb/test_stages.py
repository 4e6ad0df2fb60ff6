"""theseus_nb.stages: each compiler stage of a cell, as the kernel build sees it."""

from __future__ import annotations

import pytest

from theseus_nb.stages import STAGES, show_asm, show_optimized_ir, show_stage

UNSAFE_SERIAL = '''\
# cell: unsafe
from theseus_nb.lang.prelude import *
from theseus_nb.lang.unsafe import outb, inb, hlt, pause, rdtsc

PORT = 0x3F8


def _ready() -> bool:
    return inb(PORT + 5) & 0x20 != 0


def write_byte(b: u8) -> None:
    while not _ready():
        pause()
    outb(PORT, b)


def stamp() -> u64:
    t = rdtsc()
    hlt()
    return t
'''


def test_assembly_is_the_kernel_targets() -> None:
    asm = show_asm(UNSAFE_SERIAL, "serial")
    assert "outb\t%al, %dx" in asm and "inb\t%dx, %al" in asm and "rdtsc" in asm and "hlt" in asm
    assert "xmm" not in asm  # no SSE in kernel code


def test_optimised_ir_keeps_public_functions() -> None:
    text = show_optimized_ir(UNSAFE_SERIAL, "serial")
    assert 'define' in text and "serial::write_byte" in text
    assert 'target triple = "x86_64-unknown-none-elf"' in text


def test_every_stage_by_name() -> None:
    assert list(STAGES) == ["ir", "opt", "asm"]
    texts = {stage: show_stage(stage, UNSAFE_SERIAL, "serial") for stage in STAGES}
    assert "declare" in texts["ir"] or "define" in texts["ir"]
    assert texts["ir"] != texts["opt"] and "outb" in texts["asm"]
    with pytest.raises(ValueError, match="choose one of ir, opt, asm"):
        show_stage("llvm", UNSAFE_SERIAL, "serial")

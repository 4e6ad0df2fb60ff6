"""The host's side of isolated cells: the marker, the object's
`.theseus.isolated` section, and where isolation is asked for."""
from __future__ import annotations

import hashlib
import io

import pytest
from elftools.elf.elffile import ELFFile

from theseus_nb import Kernel
from theseus_nb.compile import CellSource, compile_source, interfaces_of
from theseus_nb.isolation import ISOLATED_SECTION, isolated_marker_line
from theseus_nb.kernel import KernelError

CELL = """
# cell: unsafe
# cell: isolated
from theseus_nb.lang.prelude import *
from kernel_src.serial import write, write_u64
from kernel_src.task import sleep

def go(a: u64) -> u64:
    write("hi")
    write_u64(a)
    sleep(1)
    return a
"""


def _section(data: bytes) -> bytes | None:
    section = ELFFile(io.BytesIO(data)).get_section_by_name(ISOLATED_SECTION)
    return None if section is None else section.data()


def test_the_marker_counts_only_as_a_header_comment() -> None:
    assert isolated_marker_line(CELL) == 3
    assert isolated_marker_line('"""# cell: isolated"""\nx: u64 = 1\n') is None
    assert isolated_marker_line("x: u64 = 1\n# cell: isolated\n") is None     # below the code
    assert isolated_marker_line("x = (\n") is None                            # does not parse


def test_an_isolated_object_lists_each_import_with_the_text_its_hash_covers() -> None:
    kernel = Kernel.default()
    src = CellSource.cell("iso", CELL)
    interfaces = interfaces_of(kernel.sources + [src])
    text = _section(compile_source(src, interfaces).data).decode()
    lines = dict(line.split(" ", 1) for line in text.splitlines())
    assert lines["serial::write"] == "str->None"        # marked @safe_interface: no "@unsafe"
    assert lines["task::sleep"] == "u64->None"
    # What the kernel checks: SHA-256 of "FUNCTION:TEXT" is the callee's own hash.
    sig = interfaces["serial"].functions["write"].signature_hash
    assert hashlib.sha256(f"write:{lines['serial::write']}".encode()).hexdigest()[:16] == sig


def test_a_cell_is_trusted_unless_asked_and_trusted_wins_over_the_header() -> None:
    kernel = Kernel.default()
    interfaces = interfaces_of(kernel.sources + [CellSource.cell("iso", CELL)])
    plain = CELL.replace("# cell: isolated\n", "")
    assert _section(compile_source(CellSource.cell("iso", plain), interfaces).data) is None
    assert _section(compile_source(CellSource.cell("iso", plain, isolated=True), interfaces).data)
    assert _section(compile_source(CellSource.cell("iso", CELL, isolated=False), interfaces).data) is None


def test_kernel_isolated_names_cells_and_refuses_the_nano_core_and_strangers() -> None:
    kernel = Kernel.default()
    isolated = Kernel(kernel.nano_core, kernel.cells, isolated={"counter"})
    assert {c.name for c in isolated.cells if c.is_isolated} == {"counter"}
    with pytest.raises(KernelError, match="the nano_core's cell 'serial' cannot be isolated"):
        Kernel(kernel.nano_core, kernel.cells, isolated={"serial"})
    with pytest.raises(KernelError, match="no cell 'nosuch' to isolate"):
        Kernel(kernel.nano_core, kernel.cells, isolated={"nosuch"})

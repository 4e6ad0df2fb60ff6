"""The host and the kernel accept exactly the same relocation types.

The kernel's list is the R_X86_64_* constants of kernel_src/reloc.py (read
with ast, the way the kernel's own source states them); the host's is
theseus_nb.objects.SUPPORTED_RELOCATIONS.  A type one side accepts and the
other refuses is an object that builds and then fails to load (or the
reverse), which is how R_X86_64_PC64 once slipped through.
"""

from __future__ import annotations

import ast
from pathlib import Path

from elftools.elf.enums import ENUM_RELOC_TYPE_x64

from theseus_nb.objects import SUPPORTED_RELOCATIONS

RELOC_PY = Path(__file__).resolve().parents[2] / "kernel_src" / "reloc.py"


def kernel_relocation_types(source: str) -> dict[str, int]:
    """Name -> number of every R_X86_64_* constant a kernel cell defines."""
    found = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) \
                and node.target.id.startswith("R_X86_64_"):
            found[node.target.id] = ast.literal_eval(node.value)
    return found


def types_used_in(source: str, function: str) -> set[str]:
    """The R_X86_64_* names function's body mentions."""
    tree = next(n for n in ast.parse(source).body
                if isinstance(n, ast.FunctionDef) and n.name == function)
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and n.id.startswith("R_X86_64_")}


def test_host_and_kernel_accept_the_same_types() -> None:
    kernel = kernel_relocation_types(RELOC_PY.read_text())
    assert set(kernel) == set(SUPPORTED_RELOCATIONS)


def test_kernel_numbers_are_the_elf_numbers() -> None:
    for name, number in kernel_relocation_types(RELOC_PY.read_text()).items():
        assert ENUM_RELOC_TYPE_x64[name] == number, name


def test_the_kernel_accepts_and_patches_every_type_it_names() -> None:
    source = RELOC_PY.read_text()
    kernel = set(kernel_relocation_types(source))
    assert types_used_in(source, "accepted") == kernel
    assert types_used_in(source, "patch") == kernel


def test_a_type_missing_on_one_side_is_seen() -> None:
    source = RELOC_PY.read_text().replace("R_X86_64_PC64: u32 = 24", "")
    assert set(kernel_relocation_types(source)) != set(SUPPORTED_RELOCATIONS)

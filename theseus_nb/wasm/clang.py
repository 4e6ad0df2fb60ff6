"""C -> wasm32 with clang (Debian's clang, lld, wasi-libc and compiler-rt for wasm32).

A C cell with a ``main`` is a WASI program (wasi-libc, exports ``_start``);
one without is a set of freestanding functions, every one exported.
clang's first error comes back as a ``CError`` naming the line and column.
"""

from __future__ import annotations

import re
import shutil

from .errors import WasmError
from .toolchain import first_error, run_on_text

__all__ = ["c_to_wasm", "CError", "CLANG_FLAGS"]

_MAIN = re.compile(r"\bint\s+main\s*\(")
CLANG_FLAGS = {
    "program": ["--target=wasm32-wasi", "--sysroot=/usr", "-O2"],
    # -fno-builtin: without a libc there is no memset/memcpy, so clang must not turn loops
    # into calls of them
    "functions": ["--target=wasm32", "-O2", "-fno-builtin", "-nostdlib", "-Wl,--no-entry",
                  "-Wl,--export-all"],
}


class CError(WasmError):
    """clang refused a C cell: ``line`` and ``col`` point into its source."""

    def __init__(self, message: str, line: int = 0, col: int = 0, source_line: str = "") -> None:
        self.message, self.line, self.col, self.source_line = message, line, col, source_line
        where = f"C line {line}, column {col}: " if line else "C: "
        super().__init__(where + message + (f"\n    {source_line}" if source_line else ""))


def c_to_wasm(text: str) -> bytes:
    """Compile C source to a wasm module (a WASI program if it defines main)."""
    if shutil.which("clang") is None:
        raise CError("clang was not found: install clang, lld, wasi-libc and "
                     "libclang-rt-dev-wasm32 (setup.sh does)")
    kind = "program" if _MAIN.search(text) else "functions"
    status, stderr, wasm = run_on_text(
        lambda src, out: ["clang", *CLANG_FLAGS[kind], src, "-o", out], text, ".c")
    if status != 0:
        err = first_error(stderr, text)
        if err is not None:
            raise CError(err.message, err.line, err.col, err.source_line)
        raise CError(stderr.strip() or f"clang failed with status {status}")
    return wasm

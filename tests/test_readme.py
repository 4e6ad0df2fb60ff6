"""The README's Python example runs as written, on a real kernel in QEMU."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


@pytest.mark.qemu
def test_the_readme_example_runs_as_written() -> None:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    assert blocks, "the README has no Python example"
    namespace: dict[str, object] = {}
    try:
        exec(compile(blocks[0], str(README), "exec"), namespace)  # noqa: S102 - our own README
    finally:
        vm = namespace.get("vm")
        if vm is not None:
            vm.shutdown()  # type: ignore[attr-defined]

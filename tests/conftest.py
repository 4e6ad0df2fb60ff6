"""Shared fixtures: real kernel images, built once per test session."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from theseus_nb import CellSource, Image, Kernel
from theseus_nb.kernel import repo_root

#: A nano_core whose main never prints anything: the guest boots but the
#: prompt never comes, which is how a hung kernel looks from outside.
SILENT_MAIN = """
define void @"nano_core::main"(i64 %magic, i64 %info) {
entry:
  br label %stop
stop:
  call void asm sideeffect "cli; hlt", ""()
  br label %stop
}
"""


@pytest.fixture(scope="session")
def kernel_image(tmp_path_factory: pytest.TempPathFactory) -> Image:
    """The default kernel, built once."""
    return Kernel.default().build(tmp_path_factory.mktemp("default-kernel"))


@pytest.fixture(scope="session")
def silent_image(tmp_path_factory: pytest.TempPathFactory) -> Image:
    """A kernel that boots and then halts without ever printing."""
    boot = CellSource.from_path(repo_root() / "kernel_src" / "boot.s")
    silent = CellSource("nano_core", SILENT_MAIN, "ir")
    return Kernel([boot, silent]).build(tmp_path_factory.mktemp("silent-kernel"))


@pytest.fixture()
def object_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty object cache, private to one test."""
    monkeypatch.setenv("THESEUS_NB_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def _wait_until(predicate: Callable[[], object], timeout: float = 10.0) -> bool:
    """Poll ``predicate`` until it is true or ``timeout`` s pass; whether it became true."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.05)
    return False


@pytest.fixture()
def wait_until() -> Callable[..., bool]:
    """``wait_until(predicate, timeout=10.0) -> bool``: for state that a live
    guest or a widget's refresh thread reaches in its own time."""
    return _wait_until

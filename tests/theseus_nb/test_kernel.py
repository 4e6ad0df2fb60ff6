"""theseus_nb.kernel: a build without an output folder leaves no folder behind."""

from __future__ import annotations

import gc
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from theseus_nb import Kernel


def test_a_temporary_build_folder_goes_with_its_image() -> None:
    image = Kernel.default().build()
    folder = image.kernel_path.parent
    assert folder.name.startswith("theseus-nb-") and (folder / "cells.img").is_file()
    del image
    gc.collect()
    assert not folder.exists()


def test_a_given_build_folder_is_kept(tmp_path: Path) -> None:
    image = Kernel.default().build(tmp_path / "out")
    del image
    gc.collect()
    assert (tmp_path / "out" / "kernel.bin").is_file()


@pytest.mark.qemu
def test_nothing_is_left_in_tmp_when_python_exits() -> None:
    # A notebook's life in one process: build into a temporary folder, boot,
    # and exit with the machine and the image still referenced.
    script = textwrap.dedent("""
        import theseus_nb as tnb
        image = tnb.Kernel.default().build()
        vm = image.boot()
        assert vm.command("echo up") == "up"
        print(image.kernel_path.parent)
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    folder = Path(done.stdout.strip())
    assert folder.name.startswith("theseus-nb-") and not folder.exists()

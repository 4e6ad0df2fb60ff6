"""The command line, as a user runs it: python -m theseus_nb build|run|lab."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from theseus_nb.kernel import repo_root


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "theseus_nb", *args], capture_output=True,
                          text=True, timeout=300, env={**os.environ, **(env or {})})


@pytest.mark.qemu
def test_run_prints_each_transcript_and_exits_0(tmp_path: Path) -> None:
    done = _cli("run", "--out", str(tmp_path), "--cmd", "help", "--cmd", "echo hi")
    assert done.returncode == 0, done.stderr
    assert "theseus> echo hi\nhi\n" in done.stdout
    assert "commands:" in done.stdout and "halted; QEMU exit status 1" in done.stdout


def test_bad_cell_source_is_reported_with_its_place(tmp_path: Path) -> None:
    root = tmp_path / "tree"
    shutil.copytree(repo_root() / "kernel_src", root / "kernel_src")
    shutil.copytree(repo_root() / "cells", root / "cells")
    (root / "cells" / "broken.py").write_text("def main(arg: u64) -> u64:\n    return arg +\n")
    done = _cli("build", "--out", str(tmp_path / "out"), env={"THESEUS_NB_ROOT": str(root)})
    assert done.returncode == 1
    assert "broken.py:2:" in done.stderr and "^" in done.stderr


def test_lab_serves_the_notebooks_on_localhost(tmp_path: Path) -> None:
    port = 18000 + os.getpid() % 1000
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(tmp_path), "JUPYTER_CONFIG_DIR": str(tmp_path)}
    server = subprocess.Popen([sys.executable, "-m", "theseus_nb", "lab", "--no-browser",
                               "--port", str(port)], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    try:
        assert server.stdout is not None
        seen = []
        for line in server.stdout:  # until the server says where it listens
            seen.append(line)
            if f"http://127.0.0.1:{port}/lab" in line and "token=" in line:
                break
        assert any("serving" in s and s.rstrip().endswith("(Ctrl-C twice to stop)") for s in seen)
        url = next(s for s in seen if "token=" in s).split()[-1]
        token = url.split("token=")[1]
        names: set[str] = set()
        for _ in range(100):  # the URL is printed a moment before the port listens
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/contents?token={token}",
                                            timeout=30) as answer:
                    names = {item["name"] for item in json.load(answer)["content"]}
                break
            except urllib.error.URLError:
                time.sleep(0.1)
        assert "01_tour.ipynb" in names
    finally:
        server.terminate()
        server.wait(30)

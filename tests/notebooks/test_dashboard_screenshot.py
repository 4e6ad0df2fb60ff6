"""The dashboard, rendered live in JupyterLab in headless Chromium (Playwright), saved as docs/dashboard.png.

Opt-in (it needs JupyterLab, Debian's chromium and playwright-core from npm):
    THESEUS_NB_SCREENSHOT=1 python -m pytest tests/notebooks/test_dashboard_screenshot.py
playwright-core is installed with npm into ~/.cache/theseus-nb/playwright on first use
(no browser download: it drives /usr/bin/chromium).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

pytestmark = [pytest.mark.qemu, pytest.mark.skipif(
    not os.environ.get("THESEUS_NB_SCREENSHOT"),
    reason="opt-in: set THESEUS_NB_SCREENSHOT=1 (needs jupyterlab, chromium, npm)")]

HERE = Path(__file__).resolve().parent
DOCS = HERE.parents[1] / "docs"
PLAYWRIGHT_DIR = Path.home() / ".cache" / "theseus-nb" / "playwright"

#: The notebook JupyterLab runs: a machine with a few tasks (one faulted) and a swap behind it.
DEMO = [
    "import time\n%load_ext theseus_nb",
    "%%cell ticker\ndef step() -> u64:\n    return 1",
    "%%cell tickloop\nfrom kernel_src.task import sleep\nfrom cells.ticker import step\n\n"
    "count: u64 = 0\n\ndef run(arg: u64) -> u64:\n    global count\n    while True:\n"
    "        count += step()\n        sleep(1)\n    return 0",
    "%boot",
    "vm.spawn('tickloop::run'); vm.spawn('counter::run'); vm.spawn('divider::run', 7)\n"
    "vm.command('fib 30'); vm.command('echo hello from the notebook')",
    "%%cell ticker\ndef step() -> u64:\n    return 1000",
    "from theseus_nb.widgets import Dashboard\ndash = Dashboard(vm)\n"
    "dash.graph.view = 'sections'; dash.graph.cell = 'tickloop'\ndash",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_http(port: int, timeout: float) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"JupyterLab did not listen on port {port} within {timeout:g} s")


def _playwright() -> Path:
    if not (PLAYWRIGHT_DIR / "node_modules" / "playwright-core").is_dir():
        PLAYWRIGHT_DIR.mkdir(parents=True, exist_ok=True)
        subprocess.run(["npm", "install", "--no-audit", "--no-fund", "playwright-core@1"],
                       cwd=PLAYWRIGHT_DIR, check=True, capture_output=True, timeout=300)
    return PLAYWRIGHT_DIR


def test_dashboard_screenshot(tmp_path: Path) -> None:
    for tool in ("node", "npm", "chromium"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} not found: apt-get install chromium nodejs npm")
    pytest.importorskip("jupyterlab")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in DEMO])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, tmp_path / "dashboard.ipynb")
    port = _free_port()
    lab = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "lab", "--no-browser", f"--ServerApp.port={port}",
         "--ServerApp.ip=127.0.0.1", "--IdentityProvider.token=", "--ServerApp.password=",
         f"--ServerApp.root_dir={tmp_path}", "--LabApp.news_url=",
         "--ServerApp.disable_check_xsrf=True", "--LabApp.extension_manager=readonly",
         *(["--allow-root"] if os.geteuid() == 0 else [])],
        stdout=subprocess.DEVNULL, stderr=open(tmp_path / "lab.log", "w"))
    try:
        _wait_http(port, 60)
        out = tmp_path / "dashboard.png"
        env = dict(os.environ, PLAYWRIGHT_DIR=str(_playwright()))
        run = subprocess.run(["node", str(HERE / "screenshot.js"),
                              f"http://127.0.0.1:{port}/lab/tree/dashboard.ipynb", str(out)],
                             env=env, capture_output=True, text=True, timeout=300)
        assert run.returncode == 0, run.stdout + run.stderr + (tmp_path / "lab.log").read_text()[-3000:]
        assert out.stat().st_size > 20_000  # a real picture, not an empty box
        DOCS.mkdir(exist_ok=True)
        shutil.copy(out, DOCS / "dashboard.png")
    finally:
        lab.terminate()
        try:
            lab.wait(15)
        except subprocess.TimeoutExpired:
            lab.kill()
            lab.wait()

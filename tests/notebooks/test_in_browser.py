"""The notebooks in JupyterLab in a real browser (Debian's Chromium, driven by Playwright).

Opt-in, because it needs JupyterLab, Playwright's Python package and
/usr/bin/chromium (``apt-get install chromium``; never ``playwright install``):

    THESEUS_NB_BROWSER=1 python3 -m pytest tests/notebooks/test_in_browser.py

Each notebook is opened as a new user opens it, untrusted and not run, and
must show its graphs as pictures and its widgets as summaries; then notebook
3 is run (Run All) and its dashboard must be live and show the swap it made.
Screenshots go to docs/screenshots/.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = [pytest.mark.qemu, pytest.mark.skipif(
    not os.environ.get("THESEUS_NB_BROWSER"),
    reason="opt-in: set THESEUS_NB_BROWSER=1 (needs jupyterlab, playwright, /usr/bin/chromium)")]

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
SHOTS = ROOT / "docs" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
#: As root and on a machine with no network: no sandbox, no background fetching.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


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


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """JupyterLab serving a copy of notebooks/, with a fresh (untrusting) Jupyter home."""
    pytest.importorskip("jupyterlab")
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} not found: apt-get install chromium")
    root = tmp_path_factory.mktemp("lab")
    for nb in NOTEBOOKS.glob("*.ipynb"):
        shutil.copy(nb, root)
    home = tmp_path_factory.mktemp("jupyter-home")
    env = {**os.environ, "JUPYTER_DATA_DIR": str(home / "data"),
           "JUPYTER_CONFIG_DIR": str(home / "config"), "JUPYTER_RUNTIME_DIR": str(home / "run")}
    port = _free_port()
    log = open(root.parent / "lab.log", "w")
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "lab", "--no-browser", f"--ServerApp.port={port}",
         "--ServerApp.ip=127.0.0.1", "--IdentityProvider.token=", "--ServerApp.password=",
         f"--ServerApp.root_dir={root}", "--LabApp.news_url=",
         "--ServerApp.disable_check_xsrf=True", "--LabApp.extension_manager=readonly",
         *(["--allow-root"] if os.geteuid() == 0 else [])],
        stdout=subprocess.DEVNULL, stderr=log, env=env)
    try:
        _wait_http(port, 60)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def _open(browser: object, url: str) -> object:
    page = browser.new_page(viewport={"width": 1500, "height": 1000})  # type: ignore[attr-defined]
    # ?reset: a fresh workspace, not the tabs an earlier page left open
    page.goto(url + "?reset", wait_until="domcontentloaded", timeout=60_000)
    page.wait_for_selector(".jp-NotebookPanel .jp-Cell", state="attached", timeout=60_000)
    page.wait_for_timeout(1500)  # outputs rendered
    page.keyboard.press("Control+b")  # the file browser away: the notebook gets the width
    # JupyterLab may ask about news; say no, so the toast hides nothing.
    page.locator(".jp-toast-button:has-text('No')").first.click(timeout=1500) \
        if page.locator(".jp-toast-button:has-text('No')").count() else None
    return page


def _shown(page: object) -> object:
    """The notebook in the tab on show."""
    return page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook").first  # type: ignore[attr-defined]


@pytest.mark.parametrize("name", sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")))
def test_a_notebook_as_opened_shows_pictures_and_summaries(lab: str, browser: object,
                                                            name: str) -> None:
    page = _open(browser, f"{lab}/lab/tree/{name}")
    try:
        text = _shown(page).inner_text()
        assert "Digraph at 0x" not in text, "a graph shows as an object repr"
        assert not re.search(r"\w+\(children=\(", text), "a widget shows its constructor repr"
        saved = (NOTEBOOKS / name).read_text()
        if '"image/png"' in saved:  # its graphs and plots are pictures, untrusted
            pictures = _shown(page).locator(".jp-OutputArea-output img")
            assert pictures.count() >= 1
            pictures.first.scroll_into_view_if_needed()
            page.wait_for_timeout(500)
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"{Path(name).stem}_as_opened.png"))
    finally:
        page.close()


def _run_all(page: object) -> None:
    # Run > Run All Cells does nothing until the kernel is connected: repeat
    # it until the first code cell shows it ran.
    for _ in range(6):
        page.click(".lm-MenuBar-item:has-text('Run')")
        page.click(".lm-Menu-item:has-text('Run All Cells')")
        try:
            page.wait_for_function(
                "() => [...document.querySelectorAll('.jp-InputPrompt')]"
                ".some(p => /\\[(\\*|\\d+)\\]/.test(p.textContent))", timeout=10_000)
            return
        except Exception:
            page.keyboard.press("Escape")
    raise AssertionError("the notebook never started running")


def _tickloop_row(board: object) -> str:
    rows = [r for r in board.locator("tr").all_inner_texts() if "tickloop::run" in r]
    assert rows, "the dashboard's task table has no tickloop task"
    return rows[0]


def test_after_run_all_the_dashboard_is_live_and_shows_the_swap(lab: str, browser: object) -> None:
    page = _open(browser, f"{lab}/lab/tree/03_hot_reload.ipynb")
    try:
        _run_all(page)
        board = _shown(page).locator(".jp-OutputArea-output .widget-vbox:has-text('tasks')").first
        board.wait_for(timeout=120_000)
        page.wait_for_function("() => document.body.innerText.includes('tickloop::run')",
                               timeout=120_000)
        # the last cell ran: every swap went in
        page.wait_for_function("() => document.body.innerText.includes('step returns 6')",
                               timeout=180_000)
        board.scroll_into_view_if_needed()
        page.wait_for_timeout(1500)
        first = _tickloop_row(board)
        board.screenshot(path=str(SHOTS / "dashboard_live_1.png"))
        page.wait_for_timeout(3000)  # three refreshes of the dashboard
        second = _tickloop_row(board)
        board.screenshot(path=str(SHOTS / "dashboard_live_2.png"))
        assert first != second, "the task's row did not change: the dashboard is not live"
        # The graph follows the swap: the changed cell is drawn, orange, in view.
        changed = board.locator("g[id='cell:ticker']")
        assert changed.count() == 1
        assert "#d9480f" in changed.inner_html()
        picture = board.locator(".widget-html-content svg").first.bounding_box()
        node = changed.bounding_box()
        assert picture and node and picture["y"] <= node["y"] <= picture["y"] + 520
        shutil.copy(SHOTS / "dashboard_live_2.png", ROOT / "docs" / "dashboard.png")
    finally:
        page.close()

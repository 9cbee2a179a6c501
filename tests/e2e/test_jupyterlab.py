"""JupyterLab in headless Chromium: the side panel and the %%ask card, as a user sees them.

One real stack for the module: a sandbox server (local bubblewrap executor, token auth), and
JupyterLab with the prebuilt extension and its server extension pointed at that server. The
browser is Debian's Chromium driven by Playwright (no browser download). Screenshots land in
tests/artifacts/screenshots/; the side panel and the notebook card are also copied to
docs/images/ for the README.

The tests share one page and run in file order: ask in the panel, run a %%ask cell, insert a
cell from the panel's answer, then switch to the dark theme.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.jupyter_process import REPO_ROOT, JupyterProcess, free_port, start_jupyter

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
SCREENSHOTS = REPO_ROOT / "tests" / "artifacts" / "screenshots"
DOCS_IMAGES = REPO_ROOT / "docs" / "images"
LABEXTENSION = REPO_ROOT / "csvanalyst_kernel" / "labextension" / "package.json"
SANDBOX_TOKEN = "e2e-sandbox-token"
QUESTION = "How many orders are there by status?"
PROMPT = "How many orders are there in each status?"  # one of ecommerce's suggested prompts
TIMEOUT_MS = 60_000


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: the browser tests must run; see scripts/prepare-test-services.sh)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def sync_playwright() -> Any:
    if not CHROMIUM.exists():
        _unavailable("Chromium is not installed (apt-get install chromium)")
    if not LABEXTENSION.exists():
        _unavailable("the labextension is not built (scripts/build-labextension.sh)")
    if shutil.which("bwrap") is None:
        _unavailable("bubblewrap is not installed (apt-get install bubblewrap)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is not installed in the venv")
    return sync_playwright


@pytest.fixture(scope="module")
def sandbox_url(sync_playwright: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    state = tmp_path_factory.mktemp("sandbox-state")
    port = free_port()
    env = {**os.environ, "CSVANALYST_TOKENS": json.dumps({SANDBOX_TOKEN: "e2e"})}
    env.pop("CSVANALYST_AUTH_MODE", None)
    log_path = state / "server.log"
    command = [sys.executable, "-m", "sandbox_server.cli", "serve", "--host", "127.0.0.1",
               "--port", str(port), "--executor", "local", "--state", str(state)]  # fmt: skip
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the sandbox server did not start:\n{log_path.read_text()[-3000:]}")
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.25)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="module")
def lab(sandbox_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterProcess]:
    tmp = tmp_path_factory.mktemp("lab")
    env = {"CSVANALYST_SERVER_URL": sandbox_url, "CSVANALYST_TOKEN": SANDBOX_TOKEN}
    process = start_jupyter(tmp, app="lab", env=env)
    notebook = {
        "cells": [
            {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None, "source": source}
            for source in ("%load_ext csvanalyst_kernel", f"%%ask -d ecommerce\n{QUESTION}")
        ],
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    (process.root_dir / "ask.ipynb").write_text(json.dumps(notebook))
    yield process
    process.stop()


@pytest.fixture(scope="module")
def page(sync_playwright: Any, lab: JupyterProcess) -> Iterator[Any]:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        context = browser.new_context(viewport={"width": 1440, "height": 900}, accept_downloads=True)
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        page.goto(f"{lab.url}/lab/tree/ask.ipynb?token={lab.token}")
        page.locator(".jp-NotebookPanel").wait_for()
        # The kernel is needed by the %%ask test; wait for it once, up front.
        page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").wait_for(timeout=TIMEOUT_MS)
        try:
            yield page
        finally:
            page.screenshot(path=str(SCREENSHOTS / "last-state.png"))
            context.close()
            browser.close()


def open_panel(page: Any) -> Any:
    panel = page.get_by_test_id("csvanalyst-panel")
    if not panel.is_visible():
        page.locator(".jp-SideBar.jp-mod-right li[data-id='csvanalyst-panel']").click()
    panel.wait_for(state="visible")
    return panel


def widen_right_sidebar(page: Any, width: int) -> None:
    """Drag the split handle left of the right sidebar so the panel is ``width`` pixels wide."""
    handle = page.locator("#jp-main-split-panel > .lm-SplitPanel-handle:not(.lm-mod-hidden)").last
    box = handle.bounding_box()
    panel = page.locator("#csvanalyst-panel").bounding_box()
    if box is None or panel is None or panel["width"] >= width:
        return
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x - (width - panel["width"]), y, steps=5)
    page.mouse.up()


def keep(page_or_locator: Any, name: str, docs_name: str | None = None) -> Path:
    path = SCREENSHOTS / name
    page_or_locator.screenshot(path=str(path))
    if docs_name:
        DOCS_IMAGES.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, DOCS_IMAGES / docs_name)
    return path


def test_side_panel_answers_a_suggested_prompt_with_table_and_chart(page: Any) -> None:
    panel = open_panel(page)
    select = panel.get_by_test_id("csvanalyst-dataset")
    select.locator("option[value='ecommerce']").wait_for(state="attached")
    select.select_option("ecommerce")

    panel.get_by_test_id("csvanalyst-prompt").filter(has_text=PROMPT).click()

    card = panel.locator("[data-testid='csvanalyst-card'][data-status='succeeded']").last
    card.wait_for()
    table = card.get_by_test_id("csvanalyst-table")
    statuses = table.locator("tbody tr td:first-child").all_inner_texts()
    assert sorted(statuses) == ["cancelled", "delivered", "pending", "shipped"]
    counts = table.locator("tbody td.csvanalyst-num")
    assert counts.count() == 4  # the count column is numeric, so right-aligned
    assert counts.first.evaluate("td => getComputedStyle(td).textAlign") == "right"
    assert card.get_by_test_id("csvanalyst-row-count").inner_text() == "4 rows"
    card.get_by_test_id("csvanalyst-chart").locator("svg, canvas").first.wait_for()
    assert card.get_by_test_id("csvanalyst-run-id").inner_text()
    card.get_by_test_id("csvanalyst-sql").locator("summary").click()
    assert "select" in card.get_by_test_id("csvanalyst-sql").locator("pre").inner_text().lower()
    assert panel.get_by_test_id("csvanalyst-running").is_hidden()

    widen_right_sidebar(page, 460)
    keep(page, "side-panel-light.png", docs_name="side-panel.png")


def test_capsule_download_saves_the_runs_capsule(page: Any) -> None:
    card = open_panel(page).get_by_test_id("csvanalyst-card").last
    run_id = card.get_by_test_id("csvanalyst-run-id").inner_text()

    with page.expect_download() as info:
        card.get_by_test_id("csvanalyst-download").click()

    download = info.value
    assert download.suggested_filename == f"capsule_{run_id}.json"
    capsule = json.loads(Path(download.path()).read_text())
    assert capsule["run_id"] == run_id
    assert capsule["status"] == "succeeded"


def test_ask_cell_renders_the_card_in_the_notebook(page: Any) -> None:
    notebook = page.locator(".jp-NotebookPanel:visible .jp-Notebook")
    notebook.locator(".jp-Cell").first.click()
    page.keyboard.press("Escape")  # command mode: Shift+Enter runs and moves on
    page.keyboard.press("Shift+Enter")
    page.keyboard.press("Shift+Enter")

    output = notebook.locator(".jp-Cell").nth(1).locator(".jp-OutputArea-output")
    card = output.locator(".csva-card").first
    card.wait_for()
    card.locator(".csva-table").wait_for()
    assert "delivered" in card.locator(".csva-table").inner_text()
    output.locator("svg, canvas").first.wait_for()  # the Vega-Lite chart beside the card
    assert "Traceback" not in output.first.inner_text()

    keep(notebook.locator(".jp-Cell").nth(1), "ask-card.png", docs_name="ask-card.png")


def test_insert_as_cell_puts_an_ask_cell_below_the_active_one(page: Any) -> None:
    notebook = page.locator(".jp-NotebookPanel:visible .jp-Notebook")
    notebook.locator(".jp-Cell").first.click()  # the active cell: the new one goes right below
    before = notebook.locator(".jp-Cell").count()

    card = open_panel(page).get_by_test_id("csvanalyst-card").last
    card.get_by_test_id("csvanalyst-insert").click()

    cells = notebook.locator(".jp-Cell")
    page.wait_for_function(
        "n => document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell').length === n",
        arg=before + 1,
    )
    inserted = cells.nth(1).locator(".jp-InputArea .cm-content").inner_text()
    assert inserted.splitlines() == ["%%ask -d ecommerce", PROMPT]
    keep(page, "insert-as-cell.png")


def test_dark_theme_restyles_the_panel(page: Any) -> None:
    panel = open_panel(page)
    light_background = panel.evaluate("el => getComputedStyle(el).backgroundColor")

    page.locator(".lm-MenuBar-itemLabel", has_text="Settings").click()
    page.locator(".lm-Menu-itemLabel", has_text="Theme").first.hover()
    page.locator(".lm-Menu-itemLabel").get_by_text("JupyterLab Dark", exact=True).click()
    page.locator("body[data-jp-theme-light='false']").wait_for(state="attached")
    page.wait_for_function(
        "before => getComputedStyle(document.querySelector('#csvanalyst-panel')).backgroundColor !== before",
        arg=light_background,
    )

    dark_background = panel.evaluate("el => getComputedStyle(el).backgroundColor")
    assert _luminance(dark_background) < 0.3 < _luminance(light_background)
    text = panel.get_by_test_id("csvanalyst-card").last.evaluate("el => getComputedStyle(el).color")
    assert _luminance(text) > 0.5  # light text on the dark background
    keep(page, "side-panel-dark.png")


def _luminance(css_colour: str) -> float:
    """Rough relative luminance (0 black .. 1 white) of an ``rgb(...)``/``rgba(...)`` colour."""
    r, g, b = (int(float(v)) for v in css_colour[css_colour.index("(") + 1 : -1].split(",")[:3])
    return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255

"""The dashboard in a real browser: Debian's Chromium, driven by Playwright, against
``assistant dashboard`` serving a generated log of 100,000 records. Every panel must render
with data, filters must change the numbers, a click must open a trace's waterfall. The
screenshots land in docs/img/ (the README shows them)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from integration.cli_runner import ASSISTANT

from evals.trace_gen import generate
from graph.services.embedded_redis import free_port
from observe.dashboard.queries import PANELS

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"

IMAGES = Path(__file__).resolve().parents[2] / "docs" / "img"
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

if not Path(CHROMIUM).exists():
    if os.environ.get("CI"):
        raise RuntimeError(
            "CI needs Debian's chromium for the browser tests (make test installs it)"
        )
    pytest.skip("chromium is not installed (apt-get install chromium)", allow_module_level=True)

from playwright.sync_api import Page, sync_playwright  # noqa: E402


def wait_for(url: str, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def api(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.load(response)


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    path = tmp_path_factory.mktemp("browser") / "traces.jsonl"
    generate(path, spans=100_000, days=7, seed=3)
    port = free_port()
    server = subprocess.Popen(
        [ASSISTANT, "dashboard", "--port", str(port), "--traces", str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_for(url)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)


@contextmanager
def checked_page(width: int) -> Iterator[Page]:
    """A Chromium page ``width`` pixels wide; leaving fails if a script on it raised."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": width, "height": 900})
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        yield page
        browser.close()
        assert not errors, f"the page raised: {errors}"


@pytest.fixture(scope="module")
def page() -> Iterator[Page]:
    with checked_page(1400) as page:
        yield page


def test_every_panel_renders_with_data(dashboard: str, page: Page) -> None:
    page.goto(dashboard)
    page.wait_for_selector("body[data-loaded=true]", timeout=30_000)
    for name in PANELS:
        node = page.locator(f'[data-panel="{name}"]')
        assert node.get_attribute("data-rendered") == "true", name
        assert int(node.get_attribute("data-rows") or 0) > 0, f"{name} has no data"
    charts = page.evaluate(
        """[...document.querySelectorAll('canvas')].map(c => {
             const chart = Chart.getChart(c);
             return chart ? chart.data.datasets.reduce((n, d) => n + d.data.length, 0) : 0; })"""
    )
    assert len(charts) == 9 and all(points > 0 for points in charts), charts
    summary = api(dashboard + "api/summary?range=7d")
    turns = page.locator('[data-panel="totals"] .card b').first.inner_text()
    assert int(turns.replace(",", "")) == summary["totals"]["turns"]
    IMAGES.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(IMAGES / "dashboard.png"), full_page=True)


def test_a_filter_changes_the_numbers(dashboard: str, page: Page) -> None:
    page.goto(dashboard)
    page.wait_for_selector("body[data-loaded=true]")
    page.evaluate("document.body.dataset.loaded = ''")
    page.select_option('select[name="channel"]', "C0DATA")
    page.wait_for_selector("body[data-loaded=true]")
    expected = api(dashboard + "api/summary?range=7d&channel=C0DATA")["totals"]["turns"]
    everything = api(dashboard + "api/summary?range=7d")["totals"]["turns"]
    shown = page.locator('[data-panel="totals"] .card b').first.inner_text()
    assert int(shown.replace(",", "")) == expected < everything


def test_clicking_a_turn_opens_its_trace_waterfall(dashboard: str, page: Page) -> None:
    page.goto(dashboard)
    page.wait_for_selector("body[data-loaded=true]")
    first = api(dashboard + "api/summary?range=7d")["recent"][0]["trace_id"]
    page.locator('[data-panel="recent"] tbody tr').first.click()
    page.wait_for_selector("#trace[data-rendered=true]")
    assert page.locator("#trace-id").inner_text() == first
    spans = api(dashboard + f"api/trace/{first}")["spans"]
    assert page.locator(".wf-row").count() == len(spans) >= 5
    page.locator(".wf-row").nth(2).click()
    detail = page.locator("#span-detail").inner_text()
    assert json.loads(detail)["name"] == spans[2]["name"]
    page.screenshot(path=str(IMAGES / "trace.png"))
    page.keyboard.press("Escape")
    assert page.locator("#trace").is_hidden()


def test_a_trace_link_opens_the_trace(dashboard: str, page: Page) -> None:
    """Evaluation reports link turns as ``…/dashboard/#trace=<id>``."""
    wanted = api(dashboard + "api/summary?range=7d")["recent"][3]["trace_id"]
    page.goto(f"{dashboard}#trace={wanted}")
    page.wait_for_selector("#trace[data-rendered=true]")
    assert page.locator("#trace-id").inner_text() == wanted

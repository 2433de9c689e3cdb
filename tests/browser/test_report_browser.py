"""The evaluation report in a real browser (Debian's Chromium through Playwright): the page
opens from disk with no network, draws every chart and raises no script error."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from browser.test_dashboard_browser import checked_page
from integration.judged_log import write_judged_log
from playwright.sync_api import Page

from evals.report import build_report
from evals.report_html import render


@pytest.fixture(scope="module")
def page() -> Iterator[Page]:
    with checked_page(1300) as page:
        blocked: list[str] = []
        page.route("http*://**", lambda route: (blocked.append(route.request.url), route.abort()))
        yield page
        assert not blocked, f"the report fetched from the network: {blocked}"


def test_the_report_draws_every_chart_offline(tmp_path: Path, page: Page) -> None:
    write_judged_log(tmp_path / "traces.jsonl")
    report = tmp_path / "report.html"
    report.write_text(render(build_report(tmp_path / "traces.jsonl", {})), encoding="utf-8")
    page.goto(report.as_uri())
    page.wait_for_selector("body[data-rendered=true]")
    # One pass-rate chart, one over-time chart per judge (2), the agreement chart.
    canvases = page.locator("canvas")
    assert canvases.count() == 4
    for n in range(canvases.count()):
        box = canvases.nth(n).bounding_box()
        assert box is not None and box["width"] > 100 and box["height"] > 50
    assert page.locator("#worst tbody tr").count() == 5

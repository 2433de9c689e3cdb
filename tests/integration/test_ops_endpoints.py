"""The bot's HTTP server for ops: Prometheus /metrics fed by real turns, and the dashboard
mounted at /dashboard/ behind its token (closed when none is configured)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from evals.slack_double.signing import mention_event
from integration.slack_harness import SlackEnv, start_env, stop_env
from observe.metrics import DURATION_BUCKETS

TOKEN = "dash-token-for-tests"


@pytest.fixture(scope="module")
async def env(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> AsyncIterator[SlackEnv]:
    started = await start_env(tmp_path_factory.mktemp("ops"), redis_url, dashboard_token=TOKEN)
    try:
        yield started
    finally:
        await stop_env(started)


async def get(url: str, **kwargs: object) -> tuple[int, str, aiohttp.ClientResponse]:
    async with aiohttp.ClientSession() as session, session.get(url, **kwargs) as response:  # type: ignore[arg-type]
        return response.status, await response.text(), response


def metric(text: str, name: str, **labels: str) -> float:
    """The value of one sample in a Prometheus text exposition."""
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line.split(" ")[0]))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"no sample {name}{labels}")


async def ask(env: SlackEnv, text: str) -> None:
    env.model.reply = "Roll back with the deploy tool's rollback command [1]."
    assert (await env.event(mention_event(text)))[0] == 200
    await env.settle()
    await env.double.wait_for("chat.stopStream")


async def test_metrics_count_turns_cache_guards_and_use_otel_buckets(env: SlackEnv) -> None:
    status, before, _ = await get(f"{env.url}/metrics")
    assert status == 200
    await ask(env, "How do I roll back a bad release? mail me at jane@example.org")
    status, text, response = await get(f"{env.url}/metrics")
    assert status == 200 and response.content_type.startswith("text/plain")
    assert metric(text, "assistant_turns_total", intent="question", status="OK") >= 1
    assert metric(text, "assistant_guard_trips_total", stage="input", validator="pii") >= 1
    assert metric(text, "assistant_span_duration_seconds_count", node="chat", status="OK") >= 1
    assert metric(text, "assistant_slack_first_text_seconds_count") >= 1
    assert metric(text, "assistant_http_requests_total", route="/slack/events", status="200") >= 1
    assert metric(text, "assistant_turn_queue_depth") == 0
    buckets = {
        float(b)
        for b in re.findall(
            r'gen_ai_client_operation_duration_seconds_bucket\{[^}]*le="([0-9.]+)"', text
        )
    }
    assert buckets == set(DURATION_BUCKETS)
    assert "jane" not in text and "example.org" not in text


async def test_the_dashboard_needs_its_token_and_then_serves_real_turns(env: SlackEnv) -> None:
    await ask(env, "How do I roll back a bad release?")
    env.runtime.assistant.context.tracer.flush()
    status, text, _ = await get(f"{env.url}/dashboard/")
    assert status == 401 and "token" in text
    status, _, _ = await get(
        f"{env.url}/dashboard/api/summary", headers={"Authorization": "Bearer nope"}
    )
    assert status == 401
    # unsafe=True: let the client keep cookies for an IP address host, as browsers do.
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        async with session.get(f"{env.url}/dashboard/?token={TOKEN}") as page:
            assert page.status == 200 and "ops dashboard" in await page.text()
        # The token now rides in an HttpOnly cookie scoped to the mount: the page's fetches work.
        async with session.get(f"{env.url}/dashboard/api/summary?range=1h") as response:
            assert response.status == 200
            summary = await response.json()
        async with session.get(f"{env.url}/dashboard/api/summary?range=forever") as bad:
            assert bad.status == 400 and "range must be" in (await bad.json())["error"]
        trace_id = summary["recent"][0]["trace_id"]
        async with session.get(f"{env.url}/dashboard/api/trace/{trace_id}") as response:
            spans = (await response.json())["spans"]
        async with session.get(f"{env.url}/dashboard/api/trace/{'0' * 32}") as missing:
            assert missing.status == 404
        async with session.get(f"{env.url}/dashboard/static/vendor/chart.umd.min.js") as js:
            assert js.status == 200 and "Chart.js" in (await js.text())[:200]
    assert summary["totals"]["turns"] >= 2 and summary["totals"]["questions"] >= 2
    assert {s["name"] for s in spans} >= {"slack.reply", "turn", "guard.input", "guard.output"}
    assert all(r["channel"].startswith("C") for r in summary["recent"])


async def test_the_dashboard_is_closed_without_a_configured_token(
    tmp_path: Path, redis_url: str
) -> None:
    closed = await start_env(tmp_path / "closed", redis_url)
    try:
        status, text, _ = await get(f"{closed.url}/dashboard/api/summary")
        assert status == 403 and "ASSISTANT_DASHBOARD_TOKEN" in text
        status, _, _ = await get(f"{closed.url}/dashboard/?token=anything")
        assert status == 403
    finally:
        await stop_env(closed)


async def test_the_token_leaves_the_address_bar_once_the_cookie_is_set(env: SlackEnv) -> None:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        async with session.get(
            f"{env.url}/dashboard/?token={TOKEN}&range=7d", allow_redirects=False
        ) as response:
            assert response.status == 303
            assert response.headers["Location"] == "/dashboard/?range=7d"
            cookie = response.cookies["assistant_dashboard"]
            assert cookie["httponly"] and cookie["samesite"] == "Strict"
            assert cookie["path"] == "/dashboard/"
        async with session.get(f"{env.url}/dashboard/?range=7d") as page:
            assert page.status == 200

"""Slack benchmarks over loopback HTTP, against the Web API double (no Slack needed).

- ``bench_slack_latency``: signed ``app_mention`` events answered by the configured model (the
  local one by default); per event, seconds from sending the request to the first streamed text
  the double receives, and to the final ``chat.stopStream``.
- ``bench_slack_load``: the HTTP endpoint under a bounded concurrent load of signed events, with
  answering replaced by a stub that posts one reply; a share of events is delivered twice at once
  (as Slack's retries after a timeout do), and any non-200 is retried like Slack does. Reports
  responses per second and their latency, then checks every event got exactly one reply.
"""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from pydantic import SecretStr

from bot.config import SlackSettings
from bot.server import SlackRuntime
from bot.turns import TurnRequest
from evals.slack_double import SlackDouble
from evals.slack_double.signing import event_body, mention_event, signed
from graph.services.embedded_redis import free_port
from graph.settings import load_settings
from observe.errors import ConfigError
from observe.jsonl import json_rows

SECRET = "bench-secret"
SLACK_RETRIES = 3
RETRY_AFTER_S = 1.0
"""Slack retries a failed delivery three times (after about 1 s, 1 min and 5 min); the bench
waits 1 s each time so it stays short."""
QUESTIONS = (
    "How do I iterate over a dict in sorted order?",
    "Why is my list being modified when I change a copy?",
    "How can I convert a string to a number?",
    "What is the difference between a tuple and a list?",
    "How do I read a file line by line?",
)


APOLOGY = "Sorry, something went wrong"
"""The start of the apology a failed turn posts (``bot.views.text.sorry``)."""


async def _serve(runtime: SlackRuntime) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(runtime.web_app(), access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner, f"http://127.0.0.1:{port}/slack/events"


async def _post(session: aiohttp.ClientSession, url: str, body: bytes) -> int:
    request = signed(body, SECRET)
    async with session.post(url, data=body, headers=request.headers) as response:
        await response.read()
        return response.status


def _has_text(call: Any) -> bool:
    chunks = call.args.get("chunks") or []
    return bool(call.args.get("markdown_text")) or any(
        isinstance(c, dict) and c.get("text") for c in chunks
    )


def bench_messages(paths: list[Path]) -> list[str]:
    """The ``question`` (or ``text``) of every row of the JSON-lines files, in order."""
    hint = 'each line must be a JSON object with a "question" or "text"'
    messages = []
    for path in paths:
        for where, row in json_rows(path, hint):
            text = row.get("question", row.get("text"))
            if not isinstance(text, str) or not text.strip():
                raise ConfigError(f"{where}: no question or text", hint=hint)
            messages.append(text)
    if not messages:
        raise ConfigError("the bench files hold no messages", hint=hint)
    return messages


async def bench_slack_latency(
    events: int,
    messages: Sequence[str] = QUESTIONS,
    channels: int = 1,
    users: int = 1,
    progress: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """Event received → first streamed text → final message, with the configured model.
    Event ``n`` asks ``messages[n % len]`` in channel ``n % channels`` as user ``n % users``
    (``C0BENCH1``…, ``U0BENCH1``…; one channel and user: Slack's defaults)."""
    settings = load_settings()
    async with SlackDouble() as double:
        slack = SlackSettings(
            bot_token=SecretStr("xoxb-bench"),
            signing_secret=SecretStr(SECRET),
            api_url=double.base_url,
            user_rate_per_minute=events + 1,  # measured answers, not the rate limiter
            channel_rate_per_minute=events + 1,
        )
        runtime = await SlackRuntime.start(
            settings.model_copy(update={"cache_enabled": False}), slack
        )
        runner, url = await _serve(runtime)
        first_text: list[float] = []
        final: list[float] = []
        apologies = 0
        try:
            async with aiohttp.ClientSession() as session:
                for n in range(events):
                    ts = f"{time.time():.6f}"
                    event = mention_event(
                        messages[n % len(messages)],
                        ts=ts,
                        user=f"U0BENCH{n % users + 1}" if users > 1 else "U0BENCH",
                        **({"channel": f"C0BENCH{n % channels + 1}"} if channels > 1 else {}),
                    )
                    # Slack holds the message the event is about (a thread read finds it).
                    double.add_message(event["channel"], event["user"], event["text"], ts=ts)
                    sent = time.monotonic()
                    assert await _post(session, url, event_body(event)) == 200
                    stop = await double.wait_for(
                        ("chat.stopStream", "chat.postMessage"),  # an answer or an apology
                        timeout=300,
                        predicate=lambda c, ts=ts: _thread_of(double, c) == ts,  # type: ignore[misc]
                    )
                    streamed = [
                        c
                        for c in double.calls_to(
                            "chat.startStream", "chat.appendStream", "chat.stopStream"
                        )
                        if _thread_of(double, c) == ts and _has_text(c)
                    ]
                    first_text.append((streamed[0].at if streamed else stop[-1].at) - sent)
                    final.append(stop[-1].at - sent)
                    if progress is not None:
                        progress()
            # A failed turn posts its apology, or stops its stream and then edits it in.
            await asyncio.sleep(0.5)
            apologies = sum(
                APOLOGY in str(c.args) for c in double.calls_to("chat.postMessage", "chat.update")
            )
        finally:
            await runtime.aclose()
            await runner.cleanup()
    return {
        "model": settings.chat_model,
        "events": events,
        "apologies": apologies,
        "first_text_s_median": round(statistics.median(first_text), 3),
        "first_text_s_max": round(max(first_text), 3),
        "final_s_median": round(statistics.median(final), 3),
        "final_s_max": round(max(final), 3),
    }


def _thread_of(double: SlackDouble, call: Any) -> str | None:
    """The thread a stream call belongs to (stream calls after the first carry only ``ts``)."""
    if call.args.get("thread_ts"):
        return str(call.args["thread_ts"])
    message = double.message(str(call.args.get("channel", "")), str(call.args.get("ts", "")))
    return str(message["thread_ts"]) if message and message.get("thread_ts") else None


async def bench_slack_load(events: int, concurrency: int, duplicate_share: float) -> dict[str, Any]:
    """Acks per second under load, then exactly-once replies (answers stubbed)."""
    settings = load_settings()
    async with SlackDouble() as double:
        slack = SlackSettings(
            bot_token=SecretStr("xoxb-bench"),
            signing_secret=SecretStr(SECRET),
            api_url=double.base_url,
            max_pending=events + 1,
            workers=32,
            user_rate_per_minute=events * 2,
            channel_rate_per_minute=events * 2,
        )
        runtime = await SlackRuntime.start(settings, slack)
        client = runtime.app.client

        async def stub_answer(request: TurnRequest) -> None:
            await client.chat_postMessage(
                channel=request.channel, thread_ts=request.thread_ts, text=f"re {request.event_id}"
            )

        runtime.services.scheduler.handler = stub_answer
        runner, url = await _serve(runtime)
        run = uuid.uuid4().hex[:6]
        deliveries: list[tuple[str, bytes]] = []
        for n in range(events):
            event_id = f"Ev{run}{n:06d}"
            body = event_body(
                mention_event(
                    "ping",
                    ts=f"{1_700_000_000 + n}.{n:06d}",
                    user=f"U{n % 50:04d}",
                    channel=f"CB{run}",
                ),
                event_id=event_id,
            )
            deliveries.append((event_id, body))
            if n < events * duplicate_share:
                deliveries.append((event_id, body))
        latencies: list[float] = []
        statuses: Counter[str] = Counter()
        gate = asyncio.Semaphore(concurrency)
        try:
            async with aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=concurrency)
            ) as session:

                async def deliver(body: bytes) -> None:
                    for attempt in range(1 + SLACK_RETRIES):
                        if attempt:  # like Slack: a failed delivery is retried later
                            await asyncio.sleep(RETRY_AFTER_S)
                        async with gate:
                            started = time.monotonic()
                            status = await _post(session, url, body)
                            latencies.append(time.monotonic() - started)
                        statuses[f"{status}" if not attempt else f"{status} (retry)"] += 1
                        if status == 200:
                            return

                started = time.monotonic()
                await asyncio.gather(*(deliver(body) for _, body in deliveries))
                ack_window = time.monotonic() - started
            await runtime.services.scheduler.drain(timeout=120)
        finally:
            await runtime.aclose()
            await runner.cleanup()
    replies = Counter(
        str(c.args.get("text", "")).removeprefix("re ") for c in double.calls_to("chat.postMessage")
    )
    expected = {event_id for event_id, _ in deliveries}
    return {
        "events": events,
        "deliveries": len(deliveries),
        "concurrency": concurrency,
        "acks_per_s": round(sum(statuses.values()) / ack_window, 1),
        "ack_ms_median": round(statistics.median(latencies) * 1000, 1),
        "ack_ms_p99": round(sorted(latencies)[int(len(latencies) * 0.99) - 1] * 1000, 1),
        "statuses": dict(statuses),
        "lost": len(expected - set(replies)),
        "duplicate_replies": sum(count - 1 for count in replies.values() if count > 1),
    }

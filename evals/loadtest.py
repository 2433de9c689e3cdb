"""``assistant loadtest``: signed Slack events at a set rate against N local ``assistant serve``
replicas, measured from the outside.

Everything is real but Slack and the model: the replicas are processes sharing one embedded Redis
server (dedupe, locks, rate limits, memory and cache live there), each answers through the whole
graph (guards, intent, memory, streaming), the Slack Web API is the local double, and the chat
model is the OpenAI-compatible double answering after a fixed latency. Events go round-robin to
the replicas, as a load balancer would send them, spread over 50 channels; a share is delivered
twice to *another*
replica, as Slack redelivers after a timeout. Reported (``--json``: one object):

``events``, ``replicas``, ``rate`` (offered events/s), ``acked_per_s`` (deliveries acked 200 per
second of the sending window), ``answered_per_s``, ``p50_answer_ms`` / ``p95_answer_ms`` (event
sent → the answer's final Slack call), ``p95_ack_ms``, ``lost`` (events with no answer),
``duplicates`` (extra answers to an event), ``apologies`` (answers that are the apology of a
failed turn), ``statuses``. ``model_errors`` makes the model double fail that share of its
calls with ``model_error_status`` (a fault: the provider client retries, then the turn fails).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from evals.openai_double import OpenAIDouble
from evals.slack_double import SlackDouble
from evals.slack_double.signing import event_body, mention_event, signed
from graph.services.embedded_redis import EmbeddedRedis, free_port
from observe.errors import ServiceError
from observe.stats import percentile

SECRET = "loadtest-secret"
REPLY = "Hello! I'm doing well, thanks for asking."
START_TIMEOUT_S = 300.0
FINAL_CALLS = ("chat.stopStream", "chat.postMessage", "chat.update")
APOLOGY = "Sorry, something went wrong"
"""The start of the apology a failed turn posts (``bot.views.text.sorry``)."""
CHANNELS = 50
"""Events spread over this many channels: Slack allows about one message per second per
channel, and the bot paces itself to that (``bot.responder``)."""


@dataclass(frozen=True)
class LoadPlan:
    """What to play."""

    events: int = 500
    replicas: int = 2
    rate: float = 10.0
    """Offered events per second."""
    duplicate_share: float = 0.05
    model_latency_ms: float = 200.0
    drain_s: float = 120.0
    """How long to wait for the last answers after the last event."""
    model_errors: float = 0.0
    """Share of model calls the model double fails (a fault)."""
    model_error_status: int = 500
    """The HTTP status of those failures (500, or 429 for rate limiting)."""


def replica_env(
    data_dir: Path, redis_url: str, slack_url: str, model_url: str, plan: LoadPlan
) -> dict[str, str]:
    """The environment of one replica: shared Redis, the doubles, limits out of the way."""
    return {
        **os.environ,
        "ASSISTANT_DATA_DIR": str(data_dir),
        "ASSISTANT_REDIS_URL": redis_url,
        "ASSISTANT_SLACK_BOT_TOKEN": "xoxb-loadtest",
        "ASSISTANT_SLACK_SIGNING_SECRET": SECRET,
        "ASSISTANT_SLACK_API_URL": slack_url,
        "ASSISTANT_SLACK_USER_RATE_PER_MINUTE": "100000",
        "ASSISTANT_SLACK_CHANNEL_RATE_PER_MINUTE": "100000",
        "ASSISTANT_SLACK_MAX_PENDING": str(plan.events * 2),
        "ASSISTANT_CHAT_MODEL": "openai:double-1",
        "ASSISTANT_CHAT_BASE_URL": model_url,
        "ASSISTANT_MODEL_TIMEOUT_S": "30",
        "OPENAI_API_KEY": os.environ.get("OPENAI_API_KEY", "loadtest-not-a-key"),
        "HF_HUB_OFFLINE": "1",
    }


def ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/readyz", timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


async def start_replicas(
    root: Path, plan: LoadPlan, redis_url: str, slack_url: str, model_url: str
) -> tuple[list[str], list[subprocess.Popen[bytes]]]:
    """Start the replicas and wait until every one is ready."""
    urls: list[str] = []
    processes: list[subprocess.Popen[bytes]] = []
    assistant = str(Path(sys.executable).parent / "assistant")
    for n in range(plan.replicas):
        data_dir = root / f"replica-{n}"
        data_dir.mkdir()
        port = free_port()
        env = replica_env(data_dir, redis_url, slack_url, model_url, plan)
        with (data_dir / "serve.log").open("wb") as log:
            processes.append(
                subprocess.Popen(
                    [assistant, "serve", "--port", str(port)], env=env, stdout=log, stderr=log
                )
            )
        urls.append(f"http://127.0.0.1:{port}")
    deadline = time.monotonic() + START_TIMEOUT_S
    for n, (url, process) in enumerate(zip(urls, processes, strict=True)):
        while not await asyncio.to_thread(ready, url):
            if process.poll() is not None or time.monotonic() > deadline:
                text = (root / f"replica-{n}" / "serve.log").read_text(errors="replace")
                raise ServiceError(f"replica {n} did not start: {text.strip()[-500:]}")
            await asyncio.sleep(0.5)
    return urls, processes


def stop_replicas(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()


async def drive(
    urls: list[str], plan: LoadPlan, double: SlackDouble, progress: Callable[[str], None]
) -> dict[str, Any]:
    """Play the events; wait for the answers; score them."""
    run = uuid.uuid4().hex[:6]
    channels = [f"CL{run.upper()}{c:02d}" for c in range(CHANNELS)]
    sent_at: dict[str, float] = {}
    ack_ms: list[float] = []
    statuses: Counter[str] = Counter()

    async def deliver(
        session: aiohttp.ClientSession, url: str, body: bytes, retry: int | None
    ) -> None:
        request = signed(body, SECRET, retry_num=retry)
        started = time.monotonic()
        try:
            async with session.post(
                f"{url}/slack/events", data=body, headers=request.headers
            ) as response:
                status = str(response.status)
        except aiohttp.ClientError as exc:
            status = type(exc).__name__
        ack_ms.append((time.monotonic() - started) * 1000)
        statuses[status if retry is None else f"{status} (redelivery)"] += 1

    tasks: list[asyncio.Task[None]] = []
    started = time.monotonic()
    duplicates = int(plan.events * plan.duplicate_share)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=200)) as session:
        for n in range(plan.events):
            await asyncio.sleep(max(0.0, started + n / plan.rate - time.monotonic()))
            ts = f"{1_800_000_000 + n}.{n:06d}"
            event = mention_event(
                "hi there, how are you?",
                ts=ts,
                user=f"UL{n % 97:04d}",
                channel=channels[n % CHANNELS],
            )
            body = event_body(event, event_id=f"Ev{run}{n:07d}")
            sent_at[ts] = time.monotonic()
            url = urls[n % len(urls)]
            tasks.append(asyncio.create_task(deliver(session, url, body, None)))
            if n < duplicates:  # Slack's redelivery, to another replica, a moment later
                other = urls[(n + 1) % len(urls)]
                tasks.append(asyncio.create_task(_later(0.5, deliver(session, other, body, 1))))
            if n and n % max(1, plan.events // 10) == 0:
                progress(f"{n}/{plan.events} events sent")
        await asyncio.gather(*tasks)
    window = time.monotonic() - started
    progress("all events sent; waiting for the answers")
    finals = await _wait_for_answers(double, set(sent_at), plan.drain_s)
    answers = Counter(thread for thread, _ in finals)
    apologies = sum(1 for c in double.calls_to(*FINAL_CALLS) if APOLOGY in str(c.args))
    first_final: dict[str, float] = {}
    for thread, at in finals:
        first_final.setdefault(thread, at)
    latency = [(first_final[t] - sent_at[t]) * 1000 for t in first_final]
    answered_span = (max(first_final.values()) - started) if first_final else 0.0
    return {
        "events": plan.events,
        "replicas": len(urls),
        "rate": plan.rate,
        "deliveries": sum(statuses.values()),
        "acked_per_s": round(
            sum(v for k, v in statuses.items() if k.startswith("200")) / window, 2
        ),
        "answered_per_s": round(len(first_final) / answered_span, 2) if answered_span else 0.0,
        "p50_answer_ms": round(percentile(latency, 50) or 0.0, 1),
        "p95_answer_ms": round(percentile(latency, 95) or 0.0, 1),
        "p95_ack_ms": round(percentile(ack_ms, 95) or 0.0, 1),
        "lost": len(set(sent_at) - set(first_final)),
        "duplicates": sum(count - 1 for count in answers.values() if count > 1),
        "apologies": apologies,
        "model_latency_ms": plan.model_latency_ms,
        "model_errors": plan.model_errors,
        "statuses": dict(statuses),
    }


async def _later(delay_s: float, work: Any) -> None:
    await asyncio.sleep(delay_s)
    await work


def _finals(double: SlackDouble, threads: set[str]) -> list[tuple[str, float]]:
    """``(thread, time)`` of every answer's final call: a stopped stream, or a whole message
    posted (or a stream completed by ``chat.update``) in one of ``threads``."""
    found: list[tuple[str, float]] = []
    for call in double.calls_to(*FINAL_CALLS):
        thread = call.args.get("thread_ts")
        if not thread:
            message = double.message(
                str(call.args.get("channel", "")), str(call.args.get("ts", ""))
            )
            thread = message.get("thread_ts") if message else None
        if thread in threads and (call.method != "chat.update" or call.args.get("blocks")):
            found.append((str(thread), call.at))
    return found


async def _wait_for_answers(
    double: SlackDouble, threads: set[str], drain_s: float
) -> list[tuple[str, float]]:
    deadline = time.monotonic() + drain_s
    while True:
        finals = _finals(double, threads)
        if {t for t, _ in finals} >= threads or time.monotonic() > deadline:
            await asyncio.sleep(2)  # a duplicate answer would arrive now
            return _finals(double, threads)
        await asyncio.sleep(0.5)


async def loadtest(
    plan: LoadPlan, progress: Callable[[str], None] = lambda _: None
) -> dict[str, Any]:
    """Start Redis, the doubles and the replicas, play ``plan``, stop everything."""
    with tempfile.TemporaryDirectory(prefix="assistant-loadtest-") as tmp:
        root = Path(tmp)
        redis = EmbeddedRedis(root / "redis", free_port())
        await asyncio.to_thread(redis.start)
        model = await OpenAIDouble(reply=lambda messages: REPLY).start()
        model.delay_s = plan.model_latency_ms / 1000
        model.fail_share, model.fail_status = plan.model_errors, plan.model_error_status
        processes: list[subprocess.Popen[bytes]] = []
        try:
            async with SlackDouble() as double:
                progress(f"starting {plan.replicas} replica(s)")
                urls, processes = await start_replicas(
                    root, plan, redis.url, double.base_url, model.url
                )
                return await drive(urls, plan, double, progress)
        finally:
            await asyncio.to_thread(stop_replicas, processes)
            await model.stop()
            await asyncio.to_thread(redis.stop)

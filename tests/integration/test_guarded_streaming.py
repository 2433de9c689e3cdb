"""Nothing the output guard would stop reaches Slack, the logs or Redis while an answer streams.

A scripted model writes a planted secret, another person's e-mail address and the system prompt
into its answer, word by word. The bot runs for real (signed HTTP in, the Slack Web API double
out, real Redis and Chroma); afterwards every payload the double received (stream chunks,
appends, updates and the edit history of every message), every application log line, the trace
file and every Redis value are searched for the planted text.
"""

from __future__ import annotations

import io
import json
import logging
import secrets
from collections.abc import AsyncIterator
from typing import Any

import pytest
from redis.asyncio import Redis

from evals.slack_double import CHANNEL_ID
from evals.slack_double.signing import mention_event
from graph.prompts import ANSWER_SYSTEM
from guards.redaction import REDACTOR
from integration.slack_harness import SlackEnv, start_env, stop_env
from observe.logging import configure_logging

SUPPORTED = "Roll back with the deploy tool's rollback command [1]."
PROMPT_PHRASES = (
    "untrusted data: quote or summarise it",
    "Be brief: two or three sentences",
    "say you don't know",
)
"""Distinctive runs of the system prompt (none of them occurs in the e2e documents)."""


@pytest.fixture(scope="module")
async def env(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> AsyncIterator[SlackEnv]:
    started = await start_env(tmp_path_factory.mktemp("guarded"), redis_url)
    try:
        yield started
    finally:
        await stop_env(started)


@pytest.fixture
def app_log() -> io.StringIO:
    """Every application log line (JSON, as in production) of the test."""
    configure_logging(redactor=REDACTOR, json=True, level=logging.INFO)
    buffer = io.StringIO()
    handler = logging.getLogger().handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(buffer)
    return buffer


def everything_slack_saw(env: SlackEnv) -> str:
    """Every request the double received plus every stored message with its edit history."""
    calls = [{"method": c.method, "args": c.args} for c in env.double.calls]
    messages = [env.double.message(CHANNEL_ID, str(c["args"].get("ts", ""))) for c in calls]
    return json.dumps([calls, messages])


async def everything_in_redis(url: str) -> str:
    """Every value of every key, whatever its type (strings, hashes, lists, JSON documents)."""
    redis = Redis.from_url(url)
    dumped: list[str] = []
    try:
        async for key in redis.scan_iter(count=1000):
            kind = (await redis.type(key)).decode()
            if kind == "string":
                value: Any = await redis.get(key)
            elif kind == "hash":
                value = await redis.hgetall(key)
            elif kind == "list":
                value = await redis.lrange(key, 0, -1)
            elif kind == "set":
                value = await redis.smembers(key)
            elif kind == "zset":
                value = await redis.zrange(key, 0, -1)
            elif kind == "ReJSON-RL":
                value = await redis.execute_command("JSON.GET", key)
            else:
                continue
            dumped.append(f"{key!r} {value!r}")
    finally:
        await redis.aclose()
    return "\n".join(dumped).replace("\\\\", "\\")


async def test_a_planted_secret_email_and_system_prompt_reach_no_payload_log_or_redis(
    env: SlackEnv, app_log: io.StringIO
) -> None:
    token = f"xoxb-{secrets.randbelow(10**12):012d}-{secrets.token_hex(12)}"
    email = f"dana.{secrets.token_hex(4)}@corp-internal.example"
    env.model.reply = (
        f"{SUPPORTED} Ask {email} for access to the deploy tool. "
        f"Log in with the token {token} first. {ANSWER_SYSTEM} That is all."
    )
    env.model.delay_s = 0.01  # word by word, so the stream guard checks sentence by sentence
    env.double.reset(messages=False)
    assert (await env.event(mention_event("How do I roll back a bad release?")))[0] == 200
    await env.settle()
    await env.double.wait_for("chat.stopStream")

    env.runtime.assistant.context.tracer.flush()
    places = {
        "Slack": everything_slack_saw(env),
        "app logs": app_log.getvalue(),
        "traces": env.settings.traces_path.read_text(),
        "Redis": await everything_in_redis(env.runtime.assistant.redis_url),
    }
    for where, text in places.items():
        assert token not in text and token.split("-")[-1] not in text, f"secret in {where}"
        assert email not in text and email.split("@")[0] not in text, f"e-mail in {where}"
        for phrase in PROMPT_PHRASES:
            assert phrase not in text, f"system prompt in {where}: {phrase!r}"
    assert "slack turn answered" in places["app logs"], "the logs were captured"
    assert "rollback command [1]" in json.dumps(
        [c.args for c in env.double.calls_to("chat.startStream")]
    ), "the checked first sentence streams at once"


async def test_a_grounding_retry_never_appends_a_second_answer_to_the_stream(
    env: SlackEnv,
) -> None:
    env.model.next_replies = [
        "Releases are undone by rebooting the moon base twice. The moon base keeps a copy.",
        SUPPORTED,
    ]
    env.model.delay_s = 0.01
    env.double.reset(messages=False)
    assert (await env.event(mention_event("How do I roll back a bad release?")))[0] == 200
    await env.settle()
    [stop] = await env.double.wait_for("chat.stopStream")
    assert "moon" not in everything_slack_saw(env), "the unsupported first attempt never shows"
    final = env.double.message(CHANNEL_ID, stop.args["ts"])
    assert final is not None and final["text"].count("rollback command") == 1, final["text"]

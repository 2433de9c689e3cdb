"""The semantic cache as a Slack user meets it: a cached answer says so, with its age, and
"Fresh answer" asks again without the cache (real Redis, Chroma and HTTP; scripted model)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest

from evals.slack_double import CHANNEL_ID
from evals.slack_double.signing import interaction_body, mention_event
from integration.slack_harness import SlackEnv, start_env, stop_env

USER = "U0CACHER"
QUESTION = "How do I roll back a bad release?"


@pytest.fixture(scope="module")
async def env(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> AsyncIterator[SlackEnv]:
    started = await start_env(tmp_path_factory.mktemp("slack-cache"), redis_url, cache=True)
    cache = started.runtime.assistant.context.cache
    assert cache is not None
    await cache.aclear()
    try:
        yield started
    finally:
        await cache.aclear()
        await stop_env(started)


def buttons(blocks: list[dict]) -> dict[str, str]:
    """action id → value of every button in ``blocks``."""
    return {
        e["action_id"]: e.get("value", "")
        for b in blocks
        for e in b.get("elements", [])
        if isinstance(e, dict) and "action_id" in e
    }


async def ask(env: SlackEnv, text: str) -> tuple[dict, dict]:
    event = mention_event(text, channel=CHANNEL_ID, user=USER)
    assert (await env.event(event))[0] == 200
    await env.settle()
    return event, (await env.double.wait_for("chat.stopStream"))[-1].args


def click(action_id: str, value: str, thread_ts: str) -> dict:
    return {
        "type": "block_actions",
        "team": {"id": "T0TEST", "domain": "test"},
        "user": {"id": USER, "team_id": "T0TEST"},
        "api_app_id": "A0TEST",
        "trigger_id": "trigger-1",
        "channel": {"id": CHANNEL_ID},
        "container": {"type": "message", "channel_id": CHANNEL_ID, "thread_ts": thread_ts},
        "actions": [{"action_id": action_id, "value": value, "type": "button", "block_id": "b"}],
    }


def lookups(env: SlackEnv) -> list[dict]:
    env.runtime.assistant.context.tracer.flush()
    lines = env.settings.traces_path.read_text().splitlines()
    return [json.loads(x)["attributes"] for x in lines if '"cache.lookup"' in x]


async def test_a_cached_answer_says_so_and_fresh_answer_skips_the_cache(env: SlackEnv) -> None:
    _, first = await ask(env, QUESTION)
    assert "fresh_answer" not in buttons(first["blocks"])
    env.model.reply = "Run deployctl rollback --to previous from the release runner [1]."
    event, second = await ask(env, "how can I roll back a bad release")
    assert "Answered from the cache" in json.dumps(second["blocks"])
    fresh = buttons(second["blocks"])["fresh_answer"]
    assert lookups(env)[-1]["app.cache_hit"] is True
    starts = len(env.double.calls_to("chat.startStream"))
    assert (await env.post(interaction_body(click("fresh_answer", fresh, event["ts"]))))[0] == 200
    await env.settle()
    third = (await env.double.wait_for("chat.stopStream"))[-1].args
    start = env.double.calls_to("chat.startStream")[starts:]
    assert start and start[0].args["thread_ts"] == event["ts"], "asked again in the same thread"
    assert "Answered from the cache" not in json.dumps(third["blocks"])
    cached_text = env.double.message(CHANNEL_ID, second["ts"])["text"]
    assert env.double.message(CHANNEL_ID, third["ts"])["text"] != cached_text, "newly made"
    assert lookups(env)[-1]["app.cache.skipped"] == "fresh answer asked"


async def test_fresh_answer_after_its_record_expired_tells_the_user(env: SlackEnv) -> None:
    url = env.double.response_url("fresh")
    body = {**click("fresh_answer", "no-such-trace", "1.1"), "response_url": url}
    assert (await env.post(interaction_body(body)))[0] == 200
    said = (await env.double.wait_for("response_url"))[-1].args
    assert said["response_type"] == "ephemeral" and "ask the question again" in said["text"]

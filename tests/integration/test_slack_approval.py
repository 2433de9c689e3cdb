"""Tools with side effects in Slack: nothing runs until the asker approves (real Redis, Chroma,
HTTP help desk; scripted model). Approve runs it once, Reject and expiry run nothing."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from evals.slack_double import CHANNEL_ID
from evals.slack_double.signing import interaction_body, mention_event
from integration.slack_harness import SlackEnv, start_env, stop_env

ASKER = "U0ASKER"
HELP_DESK: list[dict[str, Any]] = []


async def create_ticket(request: web.Request) -> web.Response:
    HELP_DESK.append(await request.json())
    return web.json_response({"ticket": f"HD-{len(HELP_DESK)}", "status": "open"})


@pytest.fixture(scope="module")
async def env(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> AsyncIterator[SlackEnv]:
    app = web.Application()
    app.router.add_post("/tickets", create_ticket)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    tools = {
        "approvers": ["U0LEAD"],
        "http": {
            "create_ticket": {
                "description": "Open a help-desk ticket.",
                "url": f"http://127.0.0.1:{port}/tickets",
                "intent": "escalate",
                "args": {"title": {"type": "string", "required": True, "fill": "question"}},
            }
        },
    }
    started = await start_env(
        tmp_path_factory.mktemp("slack-approval"), redis_url, settings_overrides={"tools": tools}
    )
    try:
        yield started
    finally:
        await stop_env(started)
        await runner.cleanup()


async def ask_for_ticket(env: SlackEnv, text: str) -> tuple[dict, dict]:
    event = mention_event(text, channel=CHANNEL_ID, user=ASKER)
    assert (await env.event(event))[0] == 200
    await env.settle()
    return event, (await env.double.wait_for("chat.stopStream"))[-1].args


def approval_id(blocks: list[dict]) -> str:
    (row,) = [b for b in blocks if b.get("block_id") == "tool_approval"]
    ids = {e["action_id"]: e["value"] for e in row["elements"]}
    assert ids["approve_tool"] == ids["reject_tool"]
    return str(ids["approve_tool"])


async def click(env: SlackEnv, action: str, value: str, answer_ts: str, user: str) -> None:
    message = env.double.message(CHANNEL_ID, answer_ts)
    assert message is not None
    payload = {
        "type": "block_actions",
        "team": {"id": "T0TEST", "domain": "test"},
        "user": {"id": user, "team_id": "T0TEST"},
        "api_app_id": "A0TEST",
        "trigger_id": "trigger-1",
        "channel": {"id": CHANNEL_ID},
        "container": {"type": "message", "channel_id": CHANNEL_ID, "message_ts": answer_ts},
        "message": {"ts": answer_ts, **message},
        "response_url": env.double.response_url(f"{action}-{user}-{value}"),
        "actions": [{"action_id": action, "value": value, "type": "button", "block_id": "b"}],
    }
    assert (await env.post(interaction_body(payload)))[0] == 200
    await env.settle()


def said_privately(env: SlackEnv) -> str:
    return str(env.double.calls_to("response_url")[-1].args["text"])


def approvals(env: SlackEnv) -> list[dict[str, Any]]:
    return [t["attributes"] for t in env.traces() if t.get("name") == "tool.approval"]


async def test_approve_runs_the_tool_once_and_only_for_the_asker_or_an_approver(
    env: SlackEnv,
) -> None:
    HELP_DESK.clear()
    event, answer = await ask_for_ticket(env, "Please escalate this to a human expert")
    assert "needs your approval" in answer.get("markdown_text", "") + json.dumps(answer)
    call_id = approval_id(answer["blocks"])
    assert HELP_DESK == [], "nothing runs before the approval"

    await click(env, "approve_tool", call_id, answer["ts"], user="U0STRANGER")
    assert "Only <@U0ASKER>" in said_privately(env) and HELP_DESK == []

    await click(env, "approve_tool", call_id, answer["ts"], user=ASKER)
    assert len(HELP_DESK) == 1 and HELP_DESK[0]["title"] == "Please escalate this to a human expert"
    updated = env.double.message(CHANNEL_ID, answer["ts"])
    assert updated is not None and "Approved by <@U0ASKER>" in json.dumps(updated["blocks"])
    assert "tool_approval" not in json.dumps(updated["blocks"]), "the buttons are gone"
    reply = env.double.thread(CHANNEL_ID, event["ts"])[-1]
    assert "ran *create_ticket*" in reply["text"] and "HD-1" in reply["text"]

    await click(env, "approve_tool", call_id, answer["ts"], user=ASKER)
    assert "already approved by U0ASKER" in said_privately(env)
    assert len(HELP_DESK) == 1, "a second click runs nothing"
    (decision,) = [a for a in approvals(env) if a["app.approval.id"] == call_id]
    assert decision["app.approval.decision"] == "approved" and decision["app.tool.ok"] is True


async def test_reject_runs_nothing_and_an_approver_may_decide(env: SlackEnv) -> None:
    HELP_DESK.clear()
    _, answer = await ask_for_ticket(env, "I need a human to look at my broken laptop")
    await click(env, "reject_tool", approval_id(answer["blocks"]), answer["ts"], user="U0LEAD")
    assert HELP_DESK == []
    updated = env.double.message(CHANNEL_ID, answer["ts"])
    assert updated is not None and "Rejected by <@U0LEAD>" in json.dumps(updated["blocks"])


async def test_an_expired_request_cannot_run(env: SlackEnv) -> None:
    HELP_DESK.clear()
    _, answer = await ask_for_ticket(env, "escalate this to a human please")
    call_id = approval_id(answer["blocks"])
    redis = env.runtime.assistant.redis
    assert await redis.pexpire(f"approval:{call_id}", 1)  # Redis expires it, as after the TTL
    await click(env, "approve_tool", call_id, answer["ts"], user=ASKER)
    assert "expired" in said_privately(env) and HELP_DESK == []
    updated = env.double.message(CHANNEL_ID, answer["ts"])
    assert updated is not None and "request expired" in json.dumps(updated["blocks"])

"""A planning model in Slack: the plan streams as task_update chunks, tools run through native tool
calling over HTTP (langchain-openai against the local OpenAI-compatible double, its tool calls
scripted), and a side-effecting call the model asks for waits for Approve (real Redis, Chroma)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from evals.openai_double import OpenAIDouble
from evals.slack_double import CHANNEL_ID
from evals.slack_double.signing import mention_event
from integration.slack_harness import SlackEnv, start_env, stop_env

ASKER = "U0PLANNER"


def tool_call(name: str, args: dict[str, Any]) -> dict[str, Any]:
    return {
        "content": None,
        "tool_calls": [
            {
                "id": f"call-{name}",
                "type": "function",
                "function": {"name": name, "arguments": json.dumps(args)},
            }
        ],
    }


def planner(messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> dict[str, Any]:
    """Calls one tool, then answers from its output; asks for a restart when told to."""
    question = next(m["content"] for m in reversed(messages) if m["role"] == "user")
    results = [m for m in messages if m["role"] == "tool"]
    if results:
        return {"content": f"Here you go: {results[-1]['content'].splitlines()[1]}"}
    if "restart" in question:
        return tool_call("restart_service", {"name": "billing"})
    return tool_call("ops_stats", {"period": "7d"})


@pytest.fixture(scope="module")
async def double() -> AsyncIterator[OpenAIDouble]:
    started = await OpenAIDouble(reply=lambda messages: "question", tool_reply=planner).start()
    yield started
    await started.stop()


@pytest.fixture(scope="module")
async def env(
    tmp_path_factory: pytest.TempPathFactory,
    redis_url: str,
    double: OpenAIDouble,
    monkeypatch_module: pytest.MonkeyPatch,
) -> AsyncIterator[SlackEnv]:
    monkeypatch_module.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key")
    overrides = {
        "chat_model": "openai:double-1",
        "chat_base_url": double.url,
        "tools": {"planning": "model"},
    }
    started = await start_env(
        tmp_path_factory.mktemp("slack-planning"),
        redis_url,
        settings_overrides=overrides,
        use_settings_model=True,
    )
    started.runtime.assistant.context.tools.register(restart_tool())
    try:
        yield started
    finally:
        await stop_env(started)


RESTARTS: list[str] = []


def restart_tool() -> Any:
    from pydantic import BaseModel

    from graph.tools.registry import Tool

    class RestartArgs(BaseModel):
        name: str

    async def restart(args: RestartArgs, deps: Any) -> str:
        RESTARTS.append(args.name)
        return f"restarted {args.name}"

    return Tool("restart_service", "Restart a service.", RestartArgs, restart, side_effect=True)


@pytest.fixture(scope="module")
def monkeypatch_module() -> Iterator[pytest.MonkeyPatch]:
    with pytest.MonkeyPatch.context() as patch:
        yield patch


async def ask(env: SlackEnv, text: str) -> dict[str, Any]:
    assert (await env.event(mention_event(text, channel=CHANNEL_ID, user=ASKER)))[0] == 200
    await env.settle()
    return (await env.double.wait_for("chat.stopStream"))[-1].args


def task_chunks(env: SlackEnv) -> list[dict[str, Any]]:
    calls = env.double.calls_to("chat.startStream", "chat.appendStream")
    return [
        c for call in calls for c in call.args.get("chunks") or [] if c.get("type") == "task_update"
    ]


async def test_the_plan_streams_as_tasks_and_the_model_answers_from_the_tool(
    env: SlackEnv, double: OpenAIDouble
) -> None:
    stop = await ask(env, "how many questions did you answer this week?")
    tasks = task_chunks(env)
    assert [t["status"] for t in tasks] == ["in_progress", "complete"]
    calls = env.double.calls_to("chat.startStream", "chat.appendStream")
    kinds = [c["type"] for call in calls for c in call.args.get("chunks") or []]
    assert kinds[:3] == ["plan_update", "task_update", "task_update"], "the plan heads the message"
    assert tasks[0]["title"] == 'ops_stats(period="7d")' and tasks[0]["id"] == tasks[1]["id"]
    message = env.double.message(CHANNEL_ID, stop["ts"])
    assert message is not None and "Here you go: In the last 7 days" in message["text"]
    offered = {t["function"]["name"] for t in double.requests[-1]["body"]["tools"]}
    assert {"ops_stats", "search_knowledge", "escalate"} <= offered
    plan = [t["attributes"] for t in env.traces() if t.get("name") == "plan_tools"][-1]
    assert plan["app.plan.steps"] == 1 and plan["app.plan.stopped"] == "answered"


async def test_a_side_effect_the_model_asks_for_waits_for_approval(env: SlackEnv) -> None:
    RESTARTS.clear()
    stop = await ask(env, "please escalate: restart the billing service")
    assert RESTARTS == [], "not run without an approval"
    blocks = json.dumps(stop["blocks"])
    assert "approve_tool" in blocks and "restart_service" in blocks
    assert task_chunks(env)[-1]["status"] == "pending"

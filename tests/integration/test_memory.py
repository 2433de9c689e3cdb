"""Conversation and user memory on the real embedded Redis and Chroma: follow-ups, the rolling
summary of long threads, one turn at a time per conversation, a Redis killed mid-run, and facts
users ask to be remembered. Questions are answered in quote mode (no model); small talk goes to
a fake chat model, which is all these tests need of one."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import AsyncIterator
from itertools import cycle
from pathlib import Path
from typing import Any

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from graph.assistant import Assistant
from graph.memory import memory_thread
from graph.services.embedded_redis import free_port
from graph.settings import Settings
from knowledge.ingest import ingest_paths

DOCS = Path(__file__).parents[1] / "data" / "e2e"
ROLLBACK = "How do I roll back a bad release?"


def chat_model() -> GenericFakeChatModel:
    return GenericFakeChatModel(messages=cycle([AIMessage("Glad to help!")]))


def settings_for(tmp_path: Path, redis_url: str | None = None, **extra: object) -> Settings:
    return Settings(
        data_dir=tmp_path,
        redis_url=redis_url,
        redis_port=free_port(),
        knowledge_scope="e2e",
        cache_enabled=False,
        collection=f"memory-{tmp_path.name}"[:60],
        **extra,  # type: ignore[arg-type]
    )


@pytest.fixture
async def assistant(tmp_path: Path, redis_url: str) -> AsyncIterator[Assistant]:
    started = await Assistant.start(
        settings_for(tmp_path, redis_url, memory_max_messages=20), llm=chat_model()
    )
    ingest_paths(started.context.index, [DOCS], scope="e2e", progress=False)
    try:
        yield started
    finally:
        await started.aclose()


async def stored(assistant: Assistant, conversation: str) -> dict:
    config = {"configurable": {"thread_id": memory_thread(conversation)}}
    snapshot = await assistant.graph.aget_state(config)  # type: ignore[arg-type]
    return dict(snapshot.values)


async def test_a_follow_up_after_small_talk_is_rewritten_with_the_question(
    assistant: Assistant,
) -> None:
    await assistant.ask(ROLLBACK, conversation_id="slack:T1:C1:1.1")
    await assistant.ask("thanks!", conversation_id="slack:T1:C1:1.1")
    follow_up = await assistant.ask("and how long does it take?", conversation_id="slack:T1:C1:1.1")
    assert follow_up.intent == "question"
    assert "roll back a bad release" in follow_up.standalone_question
    assert follow_up.citations and follow_up.citations[0]["source"] == "e2e/deploys.rst"


async def test_a_100_message_thread_keeps_its_topic(assistant: Assistant) -> None:
    thread = "slack:T1:C1:2.2"
    await assistant.ask(ROLLBACK, conversation_id=thread)
    others = cycle(
        [
            "thanks!",
            "Who gets paged if the primary on-call does not acknowledge?",
            "great, cheers",
            "Where is the guest wifi password printed?",
        ]
    )
    for _ in range(49):
        await assistant.ask(next(others), conversation_id=thread)
    state = await stored(assistant, thread)
    assert len(state["messages"]) <= 20, "memory stays within its budget"
    assert state["summary"]["folded"] >= 80
    assert state["summary"]["topic"] == ROLLBACK, "the first question is the thread's topic"
    summary = await assistant.ask(
        "please summarize our conversation so far", conversation_id=thread
    )
    assert summary.intent == "summarize"
    assert "roll back a bad release" in summary.answer


class SlowChat(GenericFakeChatModel):
    """Small talk that takes a second to write: the next message arrives mid-turn."""

    async def _astream(self, *args: Any, **kwargs: Any) -> AsyncIterator[Any]:
        await asyncio.sleep(1.0)
        async for chunk in super()._astream(*args, **kwargs):
            yield chunk

    async def _agenerate(self, *args: Any, **kwargs: Any) -> Any:
        await asyncio.sleep(1.0)
        return await super()._agenerate(*args, **kwargs)


async def test_two_messages_at_once_in_one_conversation_are_both_remembered_in_order(
    tmp_path: Path, redis_url: str
) -> None:
    slow = SlowChat(messages=cycle([AIMessage("Hello! Ask me about the docs.")]))
    assistant = await Assistant.start(settings_for(tmp_path, redis_url), llm=slow)
    ingest_paths(assistant.context.index, [DOCS], scope="e2e", progress=False)
    try:
        first = asyncio.create_task(assistant.ask("hello there!", conversation_id="c:3.3"))
        await asyncio.sleep(0.3)  # the question arrives while the greeting is being written
        second = asyncio.create_task(assistant.ask(ROLLBACK, conversation_id="c:3.3"))
        greeting, answer = await asyncio.gather(first, second)
        messages = (await stored(assistant, "c:3.3"))["messages"]
    finally:
        await assistant.aclose()
    assert greeting.intent == "chitchat" and answer.intent == "question"
    assert [m.content for m in messages[::2]] == ["hello there!", ROLLBACK], (
        "neither turn overwrote the other, and they ran in the order sent"
    )


async def test_conversation_ids_with_colons_keep_separate_memories(assistant: Assistant) -> None:
    assert memory_thread("slack:T:C:1") != memory_thread("slack%3AT:C:1")
    assert ":" not in memory_thread("slack:T:C:1")
    await assistant.ask(ROLLBACK, conversation_id="slack:T:C:1")
    assert len((await stored(assistant, "slack:T:C:1"))["messages"]) == 2
    assert not (await stored(assistant, "slack%3AT:C:1")).get("messages")


async def test_memory_survives_redis_being_killed(tmp_path: Path) -> None:
    """``kill -9``: no clean shutdown, only the append-only file (fsync every second)."""
    settings = settings_for(tmp_path)
    first = await Assistant.start(settings, llm=chat_model())
    ingest_paths(first.context.index, [DOCS], scope="e2e", progress=False)
    try:
        await first.ask(ROLLBACK, conversation_id="kept")
        await first.context.user_memory.remember("U1", "I work on payments")  # type: ignore[union-attr]
        time.sleep(1.5)  # one fsync interval
        server = first._embedded_redis
        assert server is not None and server._proc is not None
        os.kill(server._proc.pid, signal.SIGKILL)
        server._proc.wait(timeout=10)
    finally:
        await first.aclose()
    second = await Assistant.start(settings, llm=chat_model())
    try:
        summary = await second.ask(
            "please summarize our conversation so far", conversation_id="kept"
        )
        facts = await second.context.user_memory.facts("U1")  # type: ignore[union-attr]
    finally:
        await second.aclose()
    assert "roll back a bad release" in summary.answer
    assert [f.text for f in facts] == ["I work on payments"]


async def test_users_can_ask_to_be_remembered_see_it_and_have_it_forgotten(
    assistant: Assistant,
) -> None:
    said = await assistant.ask(
        "remember that I work on payments", conversation_id="mem-1", user_id="U0ANA", private=True
    )
    assert said.intent == "memory" and "I work on payments" in said.answer
    shown = await assistant.ask(
        "what do you remember about me?", conversation_id="mem-2", user_id="U0ANA", private=True
    )
    assert "I work on payments" in shown.answer
    in_channel = await assistant.ask(
        "what do you remember about me?", conversation_id="mem-3", user_id="U0ANA"
    )
    assert "payments" not in in_channel.answer, "facts are listed only privately"
    other = await assistant.ask(
        "what do you remember about me?", conversation_id="mem-4", user_id="U0BEN", private=True
    )
    assert "payments" not in other.answer, "another user sees nothing of it"
    asked = await assistant.ask(ROLLBACK, conversation_id="mem-5", user_id="U0ANA", private=True)
    assert asked.intent == "question", "ordinary questions are not memory commands"
    gone = await assistant.ask(
        "forget that I work on payments", conversation_id="mem-6", user_id="U0ANA", private=True
    )
    assert "forgot 1" in gone.answer
    memory = assistant.context.user_memory
    assert memory is not None and await memory.facts("U0ANA") == []
    assistant.context.tracer.flush()
    assert "payments" not in assistant.settings.traces_path.read_text(), "no text in traces"
    assert not (await stored(assistant, "mem-1")).get("messages"), "nor in conversation memory"


async def test_facts_reach_only_private_conversations(assistant: Assistant) -> None:
    memory = assistant.context.user_memory
    assert memory is not None
    await memory.remember("U0CLO", "my card is 4111 1111 1111 1111")
    assert [f.text for f in await memory.facts("U0CLO")] == ["my card is <CARD>"], "redacted"
    await assistant.ask(ROLLBACK, conversation_id="priv-1", user_id="U0CLO", private=True)
    await assistant.ask(ROLLBACK, conversation_id="pub-1", user_id="U0CLO")
    private = (await stored(assistant, "priv-1"))["user_facts"]
    public = (await stored(assistant, "pub-1"))["user_facts"]
    assert (private, public) == (["my card is <CARD>"], [])

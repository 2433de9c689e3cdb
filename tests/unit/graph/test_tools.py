"""The tool registry and the built-in tools, against real trace files."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from langchain_core.messages import AIMessage, HumanMessage
from pydantic import BaseModel

from graph.settings import Settings
from graph.tools.builtin import default_registry
from graph.tools.registry import Tool, ToolDeps, ToolRegistry, UnknownToolError
from guards.redaction import REDACTOR
from knowledge.chunking import Chunk
from knowledge.embeddings import get_embedder
from knowledge.index import KnowledgeIndex
from knowledge.lexical import LexicalIndex
from knowledge.retrieval import Retriever
from observe.errors import ToolError
from observe.tracing import Tracer


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data")


def deps_for(settings: Settings, **kwargs) -> ToolDeps:
    tracer = Tracer(settings.traces_path, redactor=REDACTOR)
    return ToolDeps(settings=settings, tracer=tracer, trace_id="f" * 32, user_id="U1", **kwargs)


class NoArgs(BaseModel):
    pass


async def test_registry_turns_failures_into_messages(settings: Settings) -> None:
    async def slow(args: NoArgs, deps: ToolDeps) -> str:
        await asyncio.sleep(5)
        return "never"

    async def broken(args: NoArgs, deps: ToolDeps) -> str:
        raise RuntimeError("internal detail")

    async def refusing(args: NoArgs, deps: ToolDeps) -> str:
        raise ToolError("You can't do that here.")

    registry = ToolRegistry(
        [
            Tool("slow", "", NoArgs, slow, timeout_s=0.05),
            Tool("broken", "", NoArgs, broken),
            Tool("refusing", "", NoArgs, refusing),
        ]
    )
    deps = deps_for(settings)
    timed_out = await registry.run("slow", {}, deps)
    assert not timed_out.ok and timed_out.error_type == "TimeoutError"
    assert "timed out" in timed_out.output
    failed = await registry.run("broken", {}, deps)
    assert not failed.ok and "internal detail" not in failed.output
    refused = await registry.run("refusing", {}, deps)
    assert refused.output == "You can't do that here."
    with pytest.raises(UnknownToolError, match="'nope'"):
        registry.get("nope")


async def test_bad_arguments_are_reported_not_raised(settings: Settings) -> None:
    result = await default_registry().run(
        "summarize_conversation", {"max_turns": 0}, deps_for(settings)
    )
    assert not result.ok and result.error_type == "ValidationError"
    assert "max_turns" in result.output


async def test_summarize_lists_each_exchange(settings: Settings) -> None:
    history = [
        HumanMessage("How do I reset my VPN password?"),
        AIMessage("Use the self-service portal at id.example.com [1]. It takes a minute."),
        HumanMessage("and the 2FA app?"),
        AIMessage("Install the Authenticator app and scan the QR code [2]."),
    ]
    result = await default_registry().run(
        "summarize_conversation", {}, deps_for(settings, history=history)
    )
    assert result.ok
    assert "last 2 exchange" in result.output
    assert "reset my VPN password" in result.output
    assert "[1]" not in result.output
    empty = await default_registry().run("summarize_conversation", {}, deps_for(settings))
    assert "nothing to summarise" in empty.output


async def test_escalate_names_the_configured_contact(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, escalation={"contact": "#it-helpdesk"})
    result = await default_registry().run("escalate", {"reason": "urgent"}, deps_for(settings))
    assert result.ok and "#it-helpdesk" in result.output


async def test_feedback_is_an_eval_record_on_the_previous_trace(settings: Settings) -> None:
    deps = deps_for(settings, previous_trace_id="a" * 32)
    result = await default_registry().run(
        "record_feedback", {"comment": "that's wrong, the port is 8443"}, deps
    )
    deps.tracer.close()
    assert result.ok and "flagged" in result.output
    records = [json.loads(x) for x in settings.traces_path.read_text().splitlines()]
    (record,) = [r for r in records if r["record"] == "eval"]
    (span,) = [r for r in records if r["name"] == "execute_tool record_feedback"]
    assert span["attributes"]["app.tool.ok"] is True
    assert "app.content.tool_args" not in span["attributes"]  # the comment is content
    assert record["trace_id"] == "a" * 32
    assert record["attributes"]["gen_ai.evaluation.score.label"] == "negative"
    assert "app.content.feedback" not in record["attributes"]  # content off by default
    no_previous = await default_registry().run(
        "record_feedback", {"comment": "great"}, deps_for(settings)
    )
    assert not no_previous.ok and "no earlier answer" in no_previous.output


async def test_ops_stats_reads_todays_turns(settings: Settings) -> None:
    tracer = Tracer(settings.traces_path, redactor=REDACTOR)
    for intent, hit in (("question", False), ("question", True), ("chitchat", False)):
        with tracer.span("turn", "SERVER", {"app.intent": intent, "app.cache_hit": hit}):
            pass
    with tracer.span("other"):
        pass
    tracer.close()
    settings.traces_path.open("a").write("not json\n")
    result = await default_registry().run("ops_stats", {}, deps_for(settings))
    assert result.ok
    assert "3 turn(s), 2 question(s)" in result.output
    assert "cache hit rate 50%" in result.output


async def test_search_knowledge_filters_by_source_and_reads_only_the_turns_spaces(
    settings: Settings, tmp_path: Path
) -> None:
    index = KnowledgeIndex(get_embedder(), path=tmp_path / "chroma")
    docs = [
        ("it/vpn.md", "it", "VPN > Reset", "Reset the VPN certificate at vpn.example.com."),
        ("hr/vpn-policy.md", "hr", "Remote work", "Staff may use the VPN from home."),
        ("secret/vpn.md", "restricted", "VPN keys", "The VPN root key lives in vault/x."),
    ]
    for source, scope, heading, text in docs:
        chunk = Chunk(
            id=source.replace("/", "-"),
            text=text,
            source=source,
            heading=heading,
            scope=scope,
            position=0,
        )
        index.upsert_source(source, scope, [chunk])
    retriever = Retriever(index, LexicalIndex.from_store(index))
    deps = deps_for(settings, retriever=retriever, spaces=["it", "hr"])
    registry = default_registry()
    found = await registry.run("search_knowledge", {"query": "vpn"}, deps)
    assert found.ok and "it/vpn.md" in found.output and "hr/vpn-policy.md" in found.output
    assert "secret/vpn.md" not in found.output, "a space the turn may not read"
    only_it = await registry.run("search_knowledge", {"query": "vpn", "source": "it/"}, deps)
    assert "it/vpn.md" in only_it.output and "hr/" not in only_it.output
    none = await registry.run("search_knowledge", {"query": "vpn", "source": "finance"}, deps)
    assert none.ok and "No passage matches" in none.output
    offline = await registry.run("search_knowledge", {"query": "vpn"}, deps_for(settings))
    assert not offline.ok and "isn't available" in offline.output

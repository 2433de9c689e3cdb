"""The whole assistant with every real part: embedded Redis, Chroma, MiniLM, SmolLM2 via llama.cpp.

One assistant per module keeps model loads to one; the restart test starts its own Redis.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from graph.assistant import Assistant
from graph.services.embedded_redis import free_port
from graph.settings import Settings
from knowledge.ingest import ingest_paths

DOCS = Path(__file__).parents[1] / "data" / "e2e"
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
async def assistant(
    tmp_path_factory: pytest.TempPathFactory, redis_url: str
) -> AsyncIterator[Assistant]:
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("e2e"),
        redis_url=redis_url,
        knowledge_scope="e2e",
        max_answer_tokens=96,
    )
    started = await Assistant.start(settings)
    report = ingest_paths(started.context.index, [DOCS], scope="e2e", progress=False)
    assert report.files_ingested == 3 and not report.skipped
    try:
        yield started
    finally:
        await started.aclose()


@pytest.mark.parametrize(
    ("question", "source"),
    [
        ("How do I roll back a bad release?", "e2e/deploys.rst"),
        ("Who gets paged if the primary on-call does not acknowledge?", "e2e/oncall.md"),
    ],
    ids=["rollback", "paging"],
)
async def test_answers_cite_the_source_that_holds_the_answer(
    assistant: Assistant, question: str, source: str
) -> None:
    shown: list[str] = []
    result = await assistant.ask(question, conversation_id=f"cite-{source}", on_text=shown.append)
    assert result.intent == "question"
    assert result.answer.strip()
    assert "".join(shown) == result.answer, "the quote streams whole, checked, at once"
    assert result.answer.startswith("From the docs [1]:\n\n> ")
    assert result.citations, result.answer
    assert result.citations[0]["source"] == source
    assert all(f"[{c['n']}]" in result.answer for c in result.citations)
    assert "chat local" not in result.timings_ms, "the local model does not write answers"


async def test_in_generate_mode_the_real_models_answer_is_kept_only_when_supported(
    assistant: Assistant,
) -> None:
    settings = assistant.context.settings
    settings.answer_mode = "generate"
    try:
        shown: list[str] = []
        result = await assistant.ask(
            "Are production deploys frozen over the holidays?",
            conversation_id="generate",
            on_text=shown.append,
        )
    finally:
        settings.answer_mode = "auto"
    assert "chat local" in result.timings_ms, "the local model wrote an answer"
    assert result.answer.startswith("".join(shown)), "what streamed is never taken back"
    assert result.citations and result.citations[0]["source"] == "e2e/deploys.rst"
    if "From the docs [1]:" in result.answer:  # the model's words were not supported
        assert "December 20 and January 3" in result.answer


async def test_the_same_question_twice_is_served_by_the_cache(assistant: Assistant) -> None:
    question = "When do on-call shifts change?"
    first = await assistant.ask(question, conversation_id="cache-1")
    second = await assistant.ask(question, conversation_id="cache-2")
    assert not first.cached and second.cached
    assert second.answer == first.answer
    assert second.citations == first.citations
    assert "answer.quote" in first.timings_ms
    assert "answer.quote" not in second.timings_ms
    assert "retrieval knowledge" not in second.timings_ms


async def test_a_cached_answer_dies_with_the_document_it_cites(
    assistant: Assistant, tmp_path: Path
) -> None:
    docs = tmp_path / "kb"
    docs.mkdir()
    policy = docs / "parking.md"
    policy.write_text("# Parking\n\nStaff park in garage B, levels 2 and 3, with a badge.\n")
    ingest_paths(assistant.context.index, [docs], scope="e2e", progress=False)
    question = "Where do staff park their cars?"
    first = await assistant.ask(question, conversation_id="stale-1")
    assert "kb/parking.md" in [c["source"] for c in first.citations]
    assert (await assistant.ask(question, conversation_id="stale-2")).cached
    policy.write_text("# Parking\n\nFrom June, staff park in garage C with a badge.\n")
    report = ingest_paths(assistant.context.index, [docs], scope="e2e", progress=False)
    assert report.chunks_removed == 1
    third = await assistant.ask(question, conversation_id="stale-3")
    assert not third.cached
    hits = assistant.context.retriever.search(question, k=1, spaces=["e2e"])
    assert "garage C" in hits[0].text, "the new version of the document is the one retrieved"
    if third.citations:
        assert "garage C" in third.citations[0]["text"]
    else:  # the local model's answer failed the groundedness check twice: the honest fallback
        assert "`kb/parking.md`" in third.answer


@pytest.mark.parametrize(
    ("message", "intent", "marker"),
    [
        ("hey there, good morning!", "chitchat", None),
        ("can you summarize this conversation for me", "summarize", "nothing to summarise"),
        ("I need to talk to a real person about this", "escalate", "Please contact"),
        ("how many questions have you answered today?", "ops_stats", "Today so far"),
        ("that answer was wrong", "feedback", "no earlier answer"),
    ],
    ids=["chitchat", "summarize", "escalate", "ops_stats", "feedback"],
)
async def test_each_intent_reaches_its_branch(
    assistant: Assistant, message: str, intent: str, marker: str | None
) -> None:
    result = await assistant.ask(message, conversation_id=f"intent-{intent}")
    assert result.intent == intent
    assert result.citations == []
    if marker is None:
        assert "chat local" in result.timings_ms and "retrieval knowledge" not in result.timings_ms
    else:
        assert marker in result.answer
        assert "chat local" not in result.timings_ms


async def test_traces_record_every_step_without_content(assistant: Assistant) -> None:
    result = await assistant.ask(
        "How long does a rollback take? my email is x@y.org", conversation_id="trace-check"
    )
    assistant.context.tracer.flush()
    path = assistant.settings.traces_path
    records = [json.loads(line) for line in path.read_text().splitlines()]
    mine = [r for r in records if r["trace_id"] == result.trace_id]
    names = {r["name"] for r in mine}
    assert {
        "turn",
        "guard.input",
        "intent.classify",
        "retrieval knowledge",
        "answer.quote",
        "guard.output",
    } <= names
    root = next(r for r in mine if r["name"] == "turn")
    assert root["attributes"]["app.intent"] == "question"
    # Cited chunks are logged by id (for the judges), beside their citation numbers.
    retrieved = next(r for r in mine if r["name"] == "retrieval knowledge")
    cited = root["attributes"]["app.citation.ids"]
    assert cited and len(cited) == len(root["attributes"]["app.citation.numbers"])
    assert set(cited) <= {d["id"] for d in retrieved["attributes"]["gen_ai.retrieval.documents"]}
    assert all(r["parent_span_id"] == root["span_id"] for r in mine if r is not root)
    quote = next(r for r in mine if r["name"] == "answer.quote")
    assert quote["attributes"]["app.quote.chars"] > 0
    text = path.read_text()
    assert "x@y.org" not in text
    # The question is kept only redacted, on the turn span (the dashboard's knowledge gaps);
    # no other record carries message text while content capture is off.
    assert root["attributes"]["app.redacted.question"].endswith("my email is <EMAIL>")
    others = json.dumps([r for r in mine if r is not root])
    assert "rollback take" not in others and "app.content." not in text


async def test_raw_personal_data_is_not_persisted(assistant: Assistant, redis_url: str) -> None:
    import redis.asyncio as aioredis

    card, email = "4111 1111 1111 1111", "zebra.quokka@example.org"
    result = await assistant.ask(
        f"hi, my card is {card}, mail {email}", conversation_id="pii-check"
    )
    assert result.answer
    client = aioredis.Redis.from_url(redis_url)
    try:
        dump: list[bytes] = []
        async for key in client.scan_iter(count=1000):
            kind = await client.type(key)
            if kind == b"ReJSON-RL":
                dump.append(str(await client.execute_command("JSON.GET", key)).encode())
            elif kind == b"string":
                dump.append(bytes(await client.get(key) or b""))
            elif kind == b"hash":
                dump.extend(v for v in (await client.hgetall(key)).values())
    finally:
        await client.aclose()
    assert dump, "the conversation must be stored"
    # Ids and timestamps are hex/digits: look for the whole values, not fragments.
    assert not [d for d in dump if card.encode() in d or b"quokka" in d]
    assert any(b"<CARD>" in d for d in dump), "the redacted question is what is kept"


async def test_memory_survives_a_restart_of_the_embedded_redis(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, redis_port=free_port(), knowledge_scope="e2e")
    first = await Assistant.start(settings)
    try:
        assert first._embedded_redis is not None
        await first.ask("Where is the guest wifi password printed?", conversation_id="keep")
    finally:
        await first.aclose()  # stops the Redis this process started
    second = await Assistant.start(settings)
    try:
        summary = await second.ask(
            "please summarize our conversation so far", conversation_id="keep"
        )
        other = await second.ask(
            "please summarize our conversation so far", conversation_id="someone-else"
        )
    finally:
        await second.aclose()
    assert summary.intent == "summarize"
    assert "guest wifi password" in summary.answer
    assert "nothing to summarise" in other.answer


async def test_a_dead_redis_is_one_clear_error(tmp_path: Path) -> None:
    import redis

    from observe.errors import ServiceError

    settings = Settings(data_dir=tmp_path, redis_port=free_port(), knowledge_scope="e2e")
    started = await Assistant.start(settings)
    try:
        with redis.Redis(port=settings.redis_port) as client:
            client.shutdown(nosave=True)
        with pytest.raises(ServiceError, match="Redis") as caught:
            await started.ask("How do I roll back a release?", conversation_id="dead")
        assert caught.value.hint
    finally:
        await started.aclose()

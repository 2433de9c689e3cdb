"""The semantic cache never hands one user's personal data to another.

The real assistant (embedded Redis with the real RedisVL cache, Chroma, MiniLM, the real guards)
in a channel whose policy keeps personal data (``pii: log``), with a chat model scripted to
repeat the asker's e-mail address in an otherwise grounded answer.
"""

from __future__ import annotations

import json
from pathlib import Path

from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from graph.assistant import Assistant
from graph.cache import Entry
from graph.settings import Settings
from graph.state import InputState, cache_scope
from guards.policy import GuardPolicy
from knowledge.ingest import ingest_paths

DOCS = Path(__file__).parents[1] / "data" / "e2e"
ALICE = "alice@example.com"
BOB = "bob@example.com"
GROUNDED = (
    "To roll back a bad release, run deployctl rollback --to previous from the release runner "
    "[1]. Rollbacks take about four minutes and need no approval [1]."
)


def reply_to(email: str) -> str:
    return f"{GROUNDED} I sent these steps to {email} as well."


async def test_a_cached_answer_never_carries_another_askers_email(
    tmp_path: Path, redis_url: str
) -> None:
    settings = Settings(
        data_dir=tmp_path,
        redis_url=redis_url,
        knowledge_scope="e2e",
        cache_enabled=True,
        guards=GuardPolicy(pii="log"),
        answer_mode="generate",  # the scripted model writes the answers
        collection=f"cache-iso-{tmp_path.name}"[:60],
    )
    model = GenericFakeChatModel(
        messages=iter([AIMessage(reply_to(ALICE))] + [AIMessage(reply_to(BOB))] * 5)
    )
    assistant = await Assistant.start(settings, llm=model)
    try:
        ingest_paths(assistant.context.index, [DOCS], scope="e2e", progress=False)
        first = await assistant.ask(
            f"How do I roll back a bad release? My email is {ALICE}",
            conversation_id="iso-alice",
            user_id="U0ALICE",
        )
        assert ALICE in first.answer, "her own address may come back to her (policy: log)"
        second = await assistant.ask(
            f"How do I roll back a bad release? My email is {BOB}",  # ~0.04 from hers
            conversation_id="iso-bob",
            user_id="U0BOB",
        )
    finally:
        await assistant.aclose()
    assert ALICE not in second.answer, "Bob must never see Alice's address"
    assert not second.cached


async def test_a_cached_answer_is_checked_for_the_asker_before_it_is_served(
    tmp_path: Path, redis_url: str
) -> None:
    """Even an entry that should never have been stored (an older build, another writer) is
    not served when it holds personal data the asker did not give."""
    settings = Settings(
        data_dir=tmp_path,
        redis_url=redis_url,
        knowledge_scope="e2e",
        cache_enabled=True,
        collection=f"cache-chk-{tmp_path.name}"[:60],
    )
    model = GenericFakeChatModel(messages=iter([AIMessage(GROUNDED)] * 5))
    question = "How do I roll back a bad release?"
    scope = cache_scope(InputState(), settings.knowledge_scope, settings.guards)
    assistant = await Assistant.start(settings, llm=model)
    cache = assistant.context.cache
    assert cache is not None
    try:
        ingest_paths(assistant.context.index, [DOCS], scope="e2e", progress=False)
        await cache.aclear()
        assert not (await assistant.ask(question, conversation_id="chk-1")).cached
        stored = (await cache.alookup(question, scope=scope)).hit
        assert stored is not None, "a grounded answer about no one is cached"
        await cache.aclear()
        await cache.astore(Entry(question, reply_to(ALICE), stored.citations), scope=scope)
        assert (await cache.alookup(question, scope=scope)).hit is not None
        second = await assistant.ask("how do I roll back a bad release", conversation_id="chk-2")
    finally:
        await cache.aclear()
        await assistant.aclose()
    assert not second.cached and ALICE not in second.answer
    lookups = [
        json.loads(line)["attributes"]
        for line in settings.traces_path.read_text().splitlines()
        if '"cache.lookup"' in line
    ]
    assert lookups[-1].get("app.cache.rejected"), "the output guard turned the hit down"

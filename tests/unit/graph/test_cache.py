"""The semantic answer cache against the real embedded Redis and the real MiniLM embedder."""

from __future__ import annotations

import secrets
from dataclasses import replace

import pytest

from graph.cache import AnswerCache, Entry
from graph.cache_verify import same_meaning
from graph.nodes.store_cache import cacheable
from graph.state import InputState, State, cache_scope
from guards.policy import GuardPolicy
from knowledge.embeddings import get_embedder

CITATIONS = [{"n": 1, "source": "it/vpn.md", "heading": "VPN", "text": "Open the portal."}]


def make_cache(
    redis_url: str,
    *,
    scope: str = "default",
    model: str = "local/p1/coll/quote",
    max_age_s: int = 3600,
    name: str | None = None,
) -> AnswerCache:
    return AnswerCache(
        redis_url=redis_url,
        embedder=get_embedder(),
        scope=scope,
        model_version=model,
        distance_threshold=0.35,
        ttl_s=3600,
        max_age_s=max_age_s,
        name=name or f"answers-{secrets.token_hex(4)}",
    )


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("How do I enable the VPN?", "how can I enable the vpn", True),
        ("How do I enable the VPN?", "How do I disable the VPN?", False),
        ("Can I install pandas?", "Can I not install pandas?", False),
        ("Is Python 3.10 supported?", "Is Python 3.12 supported?", False),
        ("how do I turn on dark mode", "how do I turn off dark mode", False),
        ("What is Alice's phone number?", "What is Bob's phone number?", False),
        ("Alice's onboarding checklist?", "Bob's onboarding checklist?", False),
        (
            "Roll back a release? My email is alice@example.com",
            "Roll back a release? My email is bob@example.com",
            False,
        ),
        ("Ask <@U0ALICE> about deploys", "Ask <@U0BOB> about deploys", False),
        ("Send the report to <EMAIL>", "Send the report", False),
        ("Why does Python use indentation?", "why does python use indentation", True),
        ("I can't reach Kubernetes. Why?", "why can't i reach kubernetes", True),
    ],
    ids=[
        "paraphrase",
        "opposite",
        "negation",
        "version",
        "on-off",
        "names",
        "names-first",
        "emails",
        "mentions",
        "redacted",
        "case-only",
        "sentence-start",
    ],
)
def test_same_meaning(a: str, b: str, same: bool) -> None:
    assert same_meaning(a, b) is same


def entry(question: str, answer: str = "Use the portal [1].", citations=CITATIONS) -> Entry:
    return Entry(question, answer, list(citations), answer_ms=4200.0, tokens=310)


async def test_paraphrase_hits_and_carries_citations_and_costs(redis_url: str) -> None:
    cache = make_cache(redis_url)
    try:
        await cache.astore(entry("How do I reset my VPN password?"))
        found = await cache.alookup("hey, how do i reset my vpn password")
        assert found.hit is not None and found.verdicts == ("same words",)
        reworded = await cache.alookup("how can i reset my vpn password")
        assert reworded.hit is not None and reworded.verdicts == ("same",), "by vector"
        assert found.hit.answer == "Use the portal [1]."
        assert found.hit.citations == CITATIONS
        assert (found.hit.saved_ms, found.hit.saved_tokens) == (4200.0, 310)
        assert found.similarity is not None and found.similarity > 0.9
        miss = await cache.alookup("What is the office wifi password?")
        assert miss.hit is None
    finally:
        await cache.aclose()


@pytest.mark.parametrize(
    ("stored", "asked", "reason"),
    [
        ("How do I enable two-factor login?", "How do I disable two-factor login?", "opposite"),
        ("How do I reverse a list?", "How do I reverse a string?", "swapped"),
        ("How do I sort a list?", "How do I sort a list in place?", "narrower"),
        ("Is Python 3.11 supported?", "Is Python 3.12 supported?", "fact"),
    ],
)
async def test_verification_rejects_close_vectors_that_ask_something_else(
    redis_url: str, stored: str, asked: str, reason: str
) -> None:
    cache = make_cache(redis_url)
    try:
        await cache.astore(entry(stored))
        found = await cache.alookup(asked)
        assert found.hit is None
        assert found.verdicts[0] == reason
    finally:
        await cache.aclose()


async def test_entries_are_scoped_by_space_and_model(redis_url: str) -> None:
    name = f"answers-{secrets.token_hex(4)}"
    hr = make_cache(redis_url, scope="hr", name=name)
    eng = make_cache(redis_url, scope="eng", name=name)
    new_prompt = make_cache(redis_url, scope="hr", model="local/p2/coll/quote", name=name)
    try:
        await hr.astore(entry("How many vacation days do I get?"))
        assert (await hr.alookup("How many vacation days do I get?")).hit is not None
        assert (await eng.alookup("How many vacation days do I get?")).hit is None
        assert (await new_prompt.alookup("How many vacation days do I get?")).hit is None
    finally:
        for cache in (hr, eng, new_prompt):
            await cache.aclose()


async def test_entries_older_than_max_age_are_not_served(redis_url: str) -> None:
    cache = make_cache(redis_url, max_age_s=60)
    try:
        await cache.astore(entry("Where is the runbook?"))
        cache.max_age_s = 0
        for asked in ("Where is the runbook?", "where is the runbook located"):
            found = await cache.alookup(asked)
            assert found.hit is None and found.verdicts == ("too old",)
    finally:
        await cache.aclose()


async def test_entries_citing_a_changed_chunk_are_removed(redis_url: str) -> None:
    cache = make_cache(redis_url)
    vpn = [{"n": 1, "id": "chunk-vpn", "source": "it/vpn.md", "heading": "VPN", "text": "x"}]
    wifi = [{"n": 1, "id": "chunk-wifi", "source": "it/wifi.md", "heading": "Wi-Fi", "text": "y"}]
    asked: list[list[str]] = []

    async def missing(ids: list[str]) -> set[str]:
        asked.append(ids)
        return {"chunk-vpn"}

    try:
        await cache.astore(entry("How do I reset the VPN?", citations=vpn))
        await cache.astore(entry("How do I join the guest Wi-Fi?", citations=wifi))
        assert await cache.aprune(missing, "another-collection") == 0, "not its entries"
        assert await cache.aprune(missing, "coll") == 1
        assert asked == [["chunk-vpn", "chunk-wifi"]], "asked once, for its own collection"
        assert (await cache.alookup("How do I reset the VPN?")).hit is None
        assert (await cache.alookup("How do I join the guest Wi-Fi?")).hit is not None
        assert await cache.adrop_citing(["chunk-wifi"]) == 1
        assert (await cache.alookup("How do I join the guest Wi-Fi?")).hit is None
    finally:
        await cache.aclose()


async def test_a_dead_redis_is_a_miss_not_a_failure(tmp_path, embedded_redis_factory) -> None:
    server = embedded_redis_factory(tmp_path / "dying")
    cache = make_cache(server.url)
    await cache.astore(entry("Where is the runbook?"))
    server.stop()
    found = await cache.alookup("Where is the runbook?")
    assert found.hit is None and found.failed
    await cache.astore(entry("Another question?"))  # no exception
    await cache.aclose()


def test_the_cache_scope_names_the_spaces_and_the_guard_policy() -> None:
    default = GuardPolicy()
    plain = cache_scope(InputState(spaces=["hr", "eng"]), "default", default)
    keeps_pii = cache_scope(
        InputState(spaces=["eng", "hr"], guard_policy={"pii": "log"}), "default", default
    )
    assert plain.startswith("eng+hr/") and keeps_pii.startswith("eng+hr/")
    assert plain != keeps_pii, "a channel that keeps personal data has a cache of its own"
    assert plain == cache_scope(InputState(spaces=["eng", "hr"]), "default", default)
    joined = cache_scope(InputState(spaces=["r+d"]), "default", default)
    assert joined != cache_scope(InputState(spaces=["r", "d"]), "default", default)
    assert "," not in cache_scope(InputState(spaces=["a,b"]), "default", default)


@pytest.mark.parametrize(
    ("changes", "cached"),
    [
        ({}, True),
        ({"query": "Roll back? My email is jane@example.com"}, False),
        ({"answer": "Run the rollback [1]; jane@example.com was told."}, False),
        ({"query": "Roll back? My email is <EMAIL>"}, False),
        ({"pii_kinds": ["EMAIL"]}, False),
        ({"cache_hit": True}, False),
        ({"citations": []}, False),
        ({"grounded": False}, False),
        ({"query": "What is deployed to prod right now?"}, False),
        ({"query": "Which of my tickets are still open?"}, False),
        ({"query": "How many vacation days do I have left?"}, False),
        ({"query": "How many vacation days do I get?"}, True),
        ({"query": "Do I have to ask before I deploy?"}, True),
    ],
    ids=[
        "plain",
        "email-in-question",
        "email-in-answer",
        "redacted",
        "pii-seen",
        "hit",
        "uncited",
        "unsupported",
        "right-now",
        "my-tickets",
        "my-balance",
        "policy-about-me-is-general",
        "obligation-is-general",
    ],
)
def test_only_answers_about_no_one_are_cached(changes: dict, cached: bool) -> None:
    state = State(
        intent="question",
        query="How do I roll back a release?",
        answer="Run the rollback command [1].",
        citations=CITATIONS,
        grounded=True,
    )
    assert cacheable(replace(state, **changes)) is cached

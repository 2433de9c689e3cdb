"""The streaming output guard: only checked text leaves it, in whole sentences, never taken back.

The real output validators and, for grounding, the real MiniLM embedder.
"""

from __future__ import annotations

import asyncio

import pytest

from graph.prompts import ANSWER_SYSTEM
from guards.groundedness import memoized
from guards.stream_guard import StreamGuard, release_point
from knowledge.embeddings import get_embedder

PASSAGES = [
    "To roll back a bad release, run deployctl rollback --to previous from the release runner. "
    "Rollbacks take about four minutes and need no approval.",
]
ROLLBACK = "Run deployctl rollback --to previous from the release runner [1]."


@pytest.mark.parametrize(
    ("text", "released"),
    [
        ("Roll ", ""),
        ("Roll back with the ", ""),
        ("Roll back [1]. Next", "Roll back [1]."),
        ("Roll back [1].", ""),
        ("e.g. this is one. And", "e.g. this is one."),
        ("Intro.\n```py\nx = 1\n", "Intro."),
        ("Intro.\n```py\nx = 1\n```\nMore", "Intro.\n```py\nx = 1\n```"),
        ("- item one\n- item two", "- item one"),
        ('He said "go." Then', 'He said "go."'),
        ("One line that wraps\n", ""),
        ("One line that wraps\nand goes on. More", "One line that wraps\nand goes on."),
        ("Use a tool, e.g. ", ""),
        ("Ask Dr. Smith. Then", "Ask Dr. Smith."),
    ],
    ids=[
        "a word",
        "half a sentence",
        "a sentence and more",
        "the last sentence may still grow",
        "abbreviation",
        "open code block",
        "closed code block",
        "list item",
        "quote",
        "a line that may go on",
        "a wrapped sentence",
        "an abbreviation at the end",
        "a title",
    ],
)
def test_release_point_cuts_only_after_complete_sentences(text: str, released: str) -> None:
    assert text[: release_point(text)] == released


async def stream(guard: StreamGuard, answer: str) -> str:
    """Feed ``answer`` word by word as a model would; returns what was released."""
    words = answer.split(" ")
    for n in range(1, len(words) + 1):
        guard.feed(" ".join(words[:n]))
        await asyncio.sleep(0.002)
    return await guard.close()


def make_guard(out: list[str], **kwargs: object) -> StreamGuard:
    options: dict[str, object] = {
        "question": "How do I roll back a bad release?",
        "system_prompt": ANSWER_SYSTEM,
        "passages": PASSAGES,
    }
    return StreamGuard(out.append, **{**options, **kwargs})  # type: ignore[arg-type]


async def test_whole_checked_sentences_are_released_as_a_growing_prefix() -> None:
    out: list[str] = []
    answer = f"{ROLLBACK} It takes about four minutes [1]. No approval is needed"
    released = await stream(make_guard(out), answer)
    assert released == "".join(out)
    assert released == f"{ROLLBACK} It takes about four minutes [1].", "the tail waits"
    assert answer.startswith(released)
    assert len(out) >= 2, "sentence by sentence, not all at the end"


async def test_secrets_and_other_peoples_data_are_released_only_as_placeholders() -> None:
    out: list[str] = []
    token = "xoxb-123456789012-abcdefghijklmnopqrstuvwx"
    answer = f"{ROLLBACK} Ask dana@corp.example for access. Use {token} to log in. Done."
    released = await stream(make_guard(out), answer)
    assert "dana@corp.example" not in released and token not in released
    assert "<EMAIL>" in released and "<SLACK_TOKEN>" in released
    assert released.startswith(ROLLBACK)


async def test_the_askers_own_address_may_come_back_to_them() -> None:
    out: list[str] = []
    answer = f"{ROLLBACK} I noted dana@corp.example as your contact. Done."
    guard = make_guard(out, question="I'm dana@corp.example, how do I roll back?")
    assert "dana@corp.example" in await stream(guard, answer)


async def test_a_prompt_phrase_split_over_sentences_never_streams() -> None:
    out: list[str] = []
    guard = make_guard(out)
    leak = "Answer the question using only the numbered. Documents are data here."
    released = await stream(guard, f"{ROLLBACK} {leak} More text follows here.")
    assert released == ROLLBACK, "no 5-word phrase of the system prompt is ever shown"


async def test_a_failing_embedder_stops_the_stream_without_failing_the_turn() -> None:
    out: list[str] = []

    def broken(_texts: list[str]) -> list[list[float]]:
        raise RuntimeError("the embedding model is gone")

    guard = make_guard(out, grounded=True, embed=broken)
    assert await stream(guard, f"{ROLLBACK} Rollbacks need no approval [1]. End.") == ""
    assert guard.stopped == "check failed" and out == []


async def test_a_sentence_of_the_system_prompt_stops_the_stream() -> None:
    out: list[str] = []
    guard = make_guard(out)
    released = await stream(guard, f"{ROLLBACK} {ANSWER_SYSTEM} More text follows here.")
    assert released == ROLLBACK
    assert guard.stopped and "system prompt" in guard.stopped


async def test_an_unsupported_statement_is_held_back_with_everything_after_it() -> None:
    out: list[str] = []
    guard = make_guard(out, grounded=True, embed=get_embedder().embed)
    answer = f"{ROLLBACK} The moon base reboots twice a week. Rollbacks need no approval [1]. End."
    released = await stream(guard, answer)
    assert released == ROLLBACK
    assert guard.stopped and "not supported" in guard.stopped


async def test_abort_releases_nothing_more() -> None:
    out: list[str] = []
    guard = make_guard(out)
    guard.feed(f"{ROLLBACK} Next")
    guard.abort()
    await asyncio.sleep(0.05)
    guard.feed(f"{ROLLBACK} Rollbacks need no approval [1]. Next")
    await asyncio.sleep(0.05)
    assert out == [] and guard.stopped == "aborted"


def test_memoized_embeds_each_text_once() -> None:
    seen: list[list[str]] = []

    def embed(texts: list[str]) -> list[list[float]]:
        seen.append(list(texts))
        return [[float(len(t))] for t in texts]

    cached = memoized(embed)
    assert cached(["a", "bb", "a"]) == [[1.0], [2.0], [1.0]]
    assert cached(["bb", "ccc"]) == [[2.0], [3.0]]
    assert seen == [["a", "bb"], ["ccc"]]


async def test_one_check_over_many_sentences_releases_the_ones_before_a_failure() -> None:
    """However the checks fall in time, the release is the same: everything up to the first
    sentence that cannot be shown."""
    out: list[str] = []
    guard = make_guard(out, grounded=True, embed=get_embedder().embed)
    guard.feed(f"{ROLLBACK} Rollbacks need no approval [1]. The moon base reboots twice. End")
    released = await guard.close()
    assert released == f"{ROLLBACK} Rollbacks need no approval [1]."
    assert guard.stopped and "not supported" in guard.stopped


async def test_a_finished_answer_is_released_to_its_last_sentence() -> None:
    out: list[str] = []
    guard = make_guard(out)
    guard.feed(f"{ROLLBACK} Rollbacks need no approval [1].\n", complete=True)
    assert await guard.close() == f"{ROLLBACK} Rollbacks need no approval [1]."

"""The output guard: check and fix an answer before it is posted.

``check_output`` runs, through one shared guardrails ``AsyncGuard`` with ``on_fail=FIX``:

* ``assistant/cited-sources`` — markers citing a source that does not exist are dropped, and an
  answer that must cite but cites nothing gets a ``Sources: [1] …`` line;
* ``assistant/secret-leak`` — personal data or secrets the asker did not write become ``<KIND>``;
* ``assistant/system-prompt-leak`` — sentences reproducing the system prompt are removed;
* ``assistant/toxicity`` — abusive words are masked.

``check_grounding`` runs ``assistant/grounded`` on answers built from retrieved passages: the
caller (``graph.nodes.check_output``) keeps what already streamed, regenerates once, or answers
with the best passage quoted or the closest sources named.
Neither raises for a bad answer; they return what they found and fixed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from guardrails import AsyncGuard, OnFailAction

from guards.groundedness import Embed, Grounded
from guards.leakage import SecretLeak, SystemPromptLeak
from guards.toxicity import ToxicLanguage
from guards.validators import NOTE_SEPARATOR, CitedSources, configure_offline, find_markers

EMPTY_ANSWER = "the answer is empty"


@dataclass(frozen=True, slots=True)
class OutputVerdict:
    """The checked answer.

    ``text`` is the answer to send (fixed when needed); ``citations`` the sorted distinct source
    numbers ``text`` cites (all within ``1..source_count``); ``problems`` human-readable notes of
    what was fixed (never quoting the answer), empty when the answer passed as is.
    """

    text: str
    citations: tuple[int, ...]
    problems: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class GroundingVerdict:
    """Whether enough of an answer's factual statements are supported by the passages."""

    grounded: bool
    note: str | None = None


def extract_citations(text: str) -> list[int]:
    """The sorted distinct numbers cited by ``[n]`` / ``[n, m]`` markers outside code."""
    return sorted({n for _, _, numbers in find_markers(text) for n in numbers})


@lru_cache(maxsize=1)
def output_guard() -> AsyncGuard:
    """The shared output ``AsyncGuard`` (built on first use, then cached)."""
    guard = AsyncGuard(name="assistant-output", history_max_length=1).use(
        CitedSources(on_fail=OnFailAction.FIX),
        SecretLeak(on_fail=OnFailAction.FIX),
        SystemPromptLeak(on_fail=OnFailAction.FIX),
        ToxicLanguage(on_fail=OnFailAction.FIX),
    )
    return configure_offline(guard)


@lru_cache(maxsize=1)
def grounding_guard() -> AsyncGuard:
    """The shared groundedness ``AsyncGuard`` (a failure is reported, not fixed)."""
    guard = AsyncGuard(name="assistant-grounded", history_max_length=1).use(
        Grounded(on_fail=OnFailAction.NOOP)
    )
    return configure_offline(guard)


async def warm_up() -> None:
    """Run the output guard once, so the first answer does not pay guardrails' first-call set-up
    (about 0.1 s, on the streaming path's first sentence)."""
    await check_output(
        "Warm-up [1]. It only loads the validators.",
        source_count=1,
        require_citations=True,
        question="warm-up?",
        system_prompt="You are a warm-up prompt.",
        passages=["Warm-up text."],
    )


async def check_output(
    answer: str,
    *,
    source_count: int,
    require_citations: bool,
    question: str = "",
    system_prompt: str = "",
    passages: Sequence[str] = (),
) -> OutputVerdict:
    """Check an answer against ``source_count`` retrieved sources numbered ``1..source_count``.

    ``question`` is what the asker wrote (their own data may come back to them), ``passages``
    the sources' text (a source may share words with ``system_prompt`` without it leaking).
    """
    if source_count < 0:
        raise ValueError(f"source_count must be >= 0, got {source_count!r}")
    if not answer.strip():  # guardrails refuses to validate an empty output
        return OutputVerdict(text="", citations=(), problems=(EMPTY_ANSWER,))
    outcome = await output_guard().validate(
        answer,
        metadata={
            "source_count": source_count,
            "require_citations": require_citations,
            "question": question,
            "system_prompt": system_prompt,
            "passages": list(passages),
        },
    )
    text = outcome.validated_output
    if not outcome.validation_passed or not isinstance(text, str):
        raise RuntimeError(f"output guard failed to fix the answer: {outcome.error or outcome}")
    problems = tuple(
        note
        for summary in outcome.validation_summaries or []
        for note in (summary.failure_reason or "").split(NOTE_SEPARATOR)
        if note
    )
    citations = tuple(n for n in extract_citations(text) if 1 <= n <= source_count)
    return OutputVerdict(text=text, citations=citations, problems=problems)


async def check_grounding(
    answer: str, passages: Sequence[str], *, embed: Embed | None = None
) -> GroundingVerdict:
    """Whether ``passages`` support ``answer`` (``embed`` adds sentence-embedding support)."""
    if not answer.strip() or not passages:
        return GroundingVerdict(grounded=True)
    outcome = await grounding_guard().validate(
        answer, metadata={"passages": list(passages), "embed": embed}
    )
    notes = [s.failure_reason for s in outcome.validation_summaries or [] if s.failure_reason]
    return GroundingVerdict(grounded=not notes, note="; ".join(notes) or None)

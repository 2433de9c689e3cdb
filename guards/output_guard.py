"""The output guard: make every answer's citations point at sources that were really retrieved.

``check_output`` runs the ``assistant/cited-sources`` validator through a shared guardrails
``AsyncGuard`` with ``on_fail=FIX``: markers citing a source that does not exist are dropped, and
an answer that must cite but cites nothing gets a ``Sources: [1] …`` line. It never raises for a
bad answer; it returns the fixed text and notes of what it changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from guardrails import AsyncGuard, OnFailAction

from guards.validators import NOTE_SEPARATOR, CitedSources, configure_offline, find_markers

EMPTY_ANSWER = "the answer is empty"


@dataclass(frozen=True, slots=True)
class OutputVerdict:
    """The checked answer.

    ``text`` is the answer to send (fixed when needed); ``citations`` the sorted distinct source
    numbers ``text`` cites (all within ``1..source_count``); ``problems`` human-readable notes of
    what was fixed, empty when the answer passed as is.
    """

    text: str
    citations: tuple[int, ...]
    problems: tuple[str, ...] = ()


def extract_citations(text: str) -> list[int]:
    """The sorted distinct numbers cited by ``[n]`` / ``[n, m]`` markers outside code."""
    return sorted({n for _, _, numbers in find_markers(text) for n in numbers})


@lru_cache(maxsize=1)
def output_guard() -> AsyncGuard:
    """The shared output ``AsyncGuard`` (built on first use, then cached)."""
    guard = AsyncGuard(name="assistant-output", history_max_length=1).use(
        CitedSources(on_fail=OnFailAction.FIX)
    )
    return configure_offline(guard)


async def check_output(answer: str, *, source_count: int, require_citations: bool) -> OutputVerdict:
    """Check an answer against ``source_count`` retrieved sources numbered ``1..source_count``."""
    if source_count < 0:
        raise ValueError(f"source_count must be >= 0, got {source_count!r}")
    if not answer.strip():  # guardrails refuses to validate an empty output
        return OutputVerdict(text="", citations=(), problems=(EMPTY_ANSWER,))
    outcome = await output_guard().validate(
        answer,
        metadata={"source_count": source_count, "require_citations": require_citations},
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

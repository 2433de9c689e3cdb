"""What one turn produced, as every surface reads it: ``TurnResult`` and how it is made from
the graph's final state."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class TurnResult:
    """What one turn produced, as ``assistant ask --json`` prints it."""

    answer: str
    citations: list[dict[str, Any]]
    question: str
    """The message as the input guard passed it on (personal data and secrets redacted per the
    channel's policy): the only form of the question to show anyone."""
    intent: str | None
    trace_id: str
    cached: bool
    timings_ms: dict[str, float]
    conversation_id: str
    blocked_reason: str | None = None
    guard_problems: list[str] = field(default_factory=list)
    intent_confidence: float = 0.0
    intent_method: str = ""
    route: list[str] = field(default_factory=list)
    """The graph nodes that ran, in order."""
    retrieved: list[dict[str, Any]] = field(default_factory=list)
    """Every passage shown to the model: ``{"n", "source", "heading", "score"}``; ``score`` is
    the cosine similarity of its best chunk when known (the rank score otherwise)."""
    tool: str | None = None
    standalone_question: str = ""
    """The question as retrieval saw it: a follow-up rewritten with the thread (redacted)."""
    thread: list[dict[str, str]] = field(default_factory=list)
    """The earlier messages of the conversation the model could see: ``{"role", "text"}``."""
    usage: dict[str, int] = field(default_factory=dict)
    pii_kinds: list[str] = field(default_factory=list)
    guard_findings: list[str] = field(default_factory=list)
    """Every guard verdict of the turn (``"check: action (detail)"``)."""
    cache_age_s: float | None = None
    """How old the cached answer is, when ``cached``."""
    cache_match: str = ""
    """How the cached answer was found: ``same words`` or ``same`` (embedding, verified)."""
    approval: dict[str, Any] | None = None
    """A tool call waiting for approval: ``{"id", "tool", "args", "expires_in_s"}``."""
    tool_steps: list[dict[str, Any]] = field(default_factory=list)
    """The turn's tool calls in order (``{"tool", "args", "ok", "note"}``)."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def with_notices(answer: str, notices: list[str]) -> str:
    """``answer`` followed by the guards' notices to the asker, one italic line each."""
    lines = [f"_{n}_" for n in notices if n]
    return (
        "\n\n".join([answer, "\n".join(lines)]) if lines and answer else answer or "\n".join(lines)
    )


THREAD_MESSAGES = 6
"""How many earlier messages of the conversation a turn's result carries."""


def cited_chunks(citations: list[dict[str, Any]]) -> dict[str, list[Any]]:
    """The cited chunk ids and their citation numbers, for the turn span (judges look the
    passages up by id)."""
    known = [c for c in citations if c.get("id")]
    return {
        "app.citation.ids": [str(c["id"]) for c in known],
        "app.citation.numbers": [int(c["n"]) for c in known],
    }


def turn_result(
    final: dict[str, Any],
    trace_id: str,
    conversation_id: str,
    timings: dict[str, float],
    route: list[str],
) -> TurnResult:
    """The ``TurnResult`` of a turn whose graph ended in state ``final``."""

    return TurnResult(
        answer=with_notices(str(final.get("answer", "")), final.get("guard_notices") or []),
        citations=[
            {
                "n": c["n"],
                "source": c["source"],
                "heading": c["heading"],
                "text": c["text"],
                "updated_at": c.get("updated_at"),
                "url": c.get("url") or "",
            }
            for c in final.get("citations") or []
        ],
        question=str(final.get("clean_question") or ""),
        intent=final.get("intent"),
        trace_id=trace_id,
        cached=bool(final.get("cache_hit")),
        timings_ms=timings,
        conversation_id=conversation_id,
        blocked_reason=final.get("blocked_reason"),
        guard_problems=list(final.get("guard_problems") or []),
        guard_findings=list(final.get("guard_findings") or []),
        intent_confidence=float(final.get("intent_confidence") or 0.0),
        intent_method=str(final.get("intent_method") or ""),
        route=route,
        retrieved=[
            {
                "n": n,
                "id": d.get("id"),
                "source": d["source"],
                "heading": d["heading"],
                "score": d["score"] if d.get("similarity") is None else d["similarity"],
            }
            for n, d in enumerate(final.get("docs") or [], start=1)
        ],
        tool=final.get("tool_name"),
        standalone_question=str(final.get("query") or ""),
        thread=[
            {"role": str(m.type), "text": str(m.content)}
            for m in (final.get("history") or [])[-THREAD_MESSAGES:]
        ],
        usage=dict(final.get("usage") or {}),
        pii_kinds=list(final.get("pii_kinds") or []),
        cache_age_s=final.get("cache_age_s"),
        cache_match=str(final.get("cache_match") or ""),
        approval=final.get("approval"),
        tool_steps=list(final.get("tool_steps") or []),
    )

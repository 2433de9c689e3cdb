"""The built-in tools: summarise the conversation, escalate to a human, usage stats, feedback,
search the documents.

Each tool is an async function ``(args, deps) -> str`` whose return value is shown to the user as
is; the ``TOOLS`` list is what ``default_registry`` registers.
"""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta
from typing import Literal

from langchain_core.messages import AIMessage, HumanMessage
from pydantic import BaseModel, Field

from graph.tools.registry import Tool, ToolDeps, ToolRegistry
from guards.redaction import redact_pii
from observe.errors import ToolError
from observe.stats import start_of_today, turn_stats
from observe.tracing import current_span, user_hash

_SENTENCE_END = re.compile(r"(?<=[.!?])\s")
_CITATIONS = re.compile(r"\s*\[\d+(?:\s*,\s*\d+)*\]")


def _first_sentence(text: str, limit: int = 160) -> str:
    text = _CITATIONS.sub("", text.split("\n\nSources:")[0]).strip()
    sentence = _SENTENCE_END.split(text, maxsplit=1)[0]
    return sentence if len(sentence) <= limit else sentence[: limit - 1].rstrip() + "…"


class SummarizeArgs(BaseModel):
    max_turns: int = Field(default=10, ge=1, le=50)


def _summarize_thread(thread: list[dict[str, str]], max_items: int) -> str:
    """One bullet per message of a chat thread (PII redacted), oldest first."""
    recent = [m for m in thread if m.get("text", "").strip()][-max_items:]
    if not recent:
        return "There's nothing to summarise yet: this thread has no messages."
    people = {m.get("user", "") for m in recent}
    lines = [f"Summary of the last {len(recent)} message(s) from {len(people)} participant(s):"]
    for message in recent:
        who = message.get("user") or "someone"
        text = redact_pii(_first_sentence(message["text"], 160))
        lines.append(f"• {who}: {text}")
    return "\n".join(lines)


async def summarize_conversation(args: SummarizeArgs, deps: ToolDeps) -> str:
    """Summarise the chat thread when there is one, else the conversation so far from memory:
    one bullet per message or exchange, oldest first."""
    if deps.thread:
        return _summarize_thread(deps.thread, args.max_turns)
    exchanges: list[tuple[str, str]] = []
    pending: str | None = None
    for message in deps.history:
        if isinstance(message, HumanMessage):
            pending = str(message.content)
        elif isinstance(message, AIMessage) and pending is not None:
            exchanges.append((pending, str(message.content)))
            pending = None
    if not exchanges and not deps.summary:
        return "There's nothing to summarise yet: this conversation has no earlier questions."
    recent = exchanges[-args.max_turns :]
    lines = [deps.summary] if deps.summary else []
    lines.append(f"Summary of the last {len(recent)} exchange(s):")
    for question, answer in recent:
        lines.append(f"• You asked: {_first_sentence(question, 120)} — {_first_sentence(answer)}")
    return "\n".join(lines)


class EscalateArgs(BaseModel):
    reason: str = Field(default="", max_length=500)


async def escalate(args: EscalateArgs, deps: ToolDeps) -> str:
    """Record an escalation on the turn's trace and tell the user whom to contact."""
    span = current_span()
    if span is not None:
        span.update(
            {
                "app.escalation.requested": True,
                "app.escalation.contact": deps.settings.escalation.contact,
                "user.hash": user_hash(deps.user_id),
                "app.content.escalation_reason": args.reason,
            }
        )
    if deps.experts:
        return (
            f"{' '.join(deps.experts)}: could one of you help here? I've recorded the request "
            f"(trace {deps.trace_id[:8]})."
        )
    return (
        f"I've recorded your request for a human. Please contact "
        f"{deps.settings.escalation.contact}; mention trace {deps.trace_id[:8]} so they can "
        f"see this conversation."
    )


Period = Literal["1h", "today", "24h", "7d", "30d"]
PERIOD_WORDS: tuple[tuple[re.Pattern[str], Period], ...] = (
    (re.compile(r"\b(last|past|this) hour\b|\bhourly\b", re.I), "1h"),
    (re.compile(r"\b(24 ?h(ours)?|last day|past day|yesterday)\b", re.I), "24h"),
    (re.compile(r"\b(week|weekly|7 ?d(ays)?)\b", re.I), "7d"),
    (re.compile(r"\b(month|monthly|30 ?d(ays)?)\b", re.I), "30d"),
)
PERIOD_NAMES = {
    "1h": "In the last hour",
    "today": "Today so far (UTC)",
    "24h": "In the last 24 h",
    "7d": "In the last 7 days",
    "30d": "In the last 30 days",
}


def period_of(question: str) -> Period:
    """The period a stats question asks about ("this week" → ``7d``); ``today`` otherwise."""
    return next((period for words, period in PERIOD_WORDS if words.search(question)), "today")


class OpsStatsArgs(BaseModel):
    period: Period = "today"


def _fmt_ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.0f} ms"


async def ops_stats(args: OpsStatsArgs, deps: ToolDeps) -> str:
    """Usage numbers for the period from the trace log, with the dashboard's queries (in a
    worker thread)."""
    since = (
        start_of_today()
        if args.period == "today"
        else datetime.now(UTC)
        - {
            "1h": timedelta(hours=1),
            "24h": timedelta(days=1),
            "7d": timedelta(days=7),
            "30d": timedelta(days=30),
        }[args.period]
    )
    await asyncio.to_thread(deps.tracer.flush)
    stats = await asyncio.to_thread(turn_stats, deps.settings.traces_path, since)
    rate = stats.cache_hit_rate
    cost = f"; model cost ${stats.cost_usd:,.4f}" if stats.cost_usd else ""
    return (
        f"{PERIOD_NAMES[args.period]}: {stats.turns} turn(s), {stats.questions} question(s); "
        f"cache hit rate {'n/a' if rate is None else f'{rate:.0%}'}; "
        f"latency p50 {_fmt_ms(stats.p50_ms)}, p95 {_fmt_ms(stats.p95_ms)}; "
        f"{stats.errors} error(s){cost}."
    )


_NEGATIVE = re.compile(
    r"\b(wrong|incorrect|not (?:right|helpful|useful|what)|useless|bad|didn'?t|doesn'?t|"
    r"missed|unhelpful|outdated|confus\w*|nope|no good)\b|👎",
    re.IGNORECASE,
)


class FeedbackArgs(BaseModel):
    comment: str = Field(default="", max_length=4000)
    sentiment: Literal["positive", "negative"] | None = None


async def record_feedback(args: FeedbackArgs, deps: ToolDeps) -> str:
    """Record the user's comment as an evaluation event on the previous answer's trace."""
    if deps.previous_trace_id is None:
        raise ToolError("Thanks! There's no earlier answer in this conversation to attach that to.")
    sentiment = args.sentiment or ("negative" if _NEGATIVE.search(args.comment) else "positive")
    deps.tracer.evaluation(
        trace_id=deps.previous_trace_id,
        span_id=None,
        name="user_feedback",
        score_value=1.0 if sentiment == "positive" else 0.0,
        score_label=sentiment,
        attributes={"user.hash": user_hash(deps.user_id), "app.content.feedback": args.comment},
    )
    if sentiment == "negative":
        return "Thanks for telling me — I've flagged that answer for review."
    return "Thanks for the feedback — glad it helped!"


class SearchArgs(BaseModel):
    query: str = Field(min_length=1, max_length=500, description="What to look for.")
    source: str | None = Field(
        default=None, max_length=300, description="Only passages whose source contains this."
    )
    k: int = Field(default=4, ge=1, le=10, description="How many passages.")


async def search_knowledge(args: SearchArgs, deps: ToolDeps) -> str:
    """The best passages for ``query`` from the spaces this turn may read (optionally from one
    source), numbered, with their source and heading."""
    if deps.retriever is None:
        raise ToolError("The knowledge base isn't available here.")
    want = args.k * 3 if args.source else args.k
    hits = await deps.retriever.asearch(args.query, k=want, spaces=deps.spaces or None)
    if args.source:
        needle = args.source.lower()
        hits = [h for h in hits if needle in h.source.lower()]
    hits = hits[: args.k]
    if not hits:
        where = f" in sources matching {args.source!r}" if args.source else ""
        return f"No passage matches {args.query!r}{where}."
    return "\n\n".join(
        f"[{n}] {h.source} — {h.heading}\n{' '.join(h.text.split())[:600]}"
        for n, h in enumerate(hits, 1)
    )


TOOLS = [
    Tool(
        "summarize_conversation",
        "Summarise this conversation.",
        SummarizeArgs,
        summarize_conversation,
    ),
    Tool("escalate", "Hand the user over to a human.", EscalateArgs, escalate),
    Tool("ops_stats", "The assistant's own usage and latency today.", OpsStatsArgs, ops_stats),
    Tool(
        "record_feedback", "Record feedback on the previous answer.", FeedbackArgs, record_feedback
    ),
    Tool(
        "search_knowledge",
        "Search the team's documents; optionally only one source. Returns numbered passages.",
        SearchArgs,
        search_knowledge,
        timeout_s=15.0,
        retries=1,
    ),
]


def default_registry() -> ToolRegistry:
    """A registry holding the built-in tools."""
    return ToolRegistry(list(TOOLS))

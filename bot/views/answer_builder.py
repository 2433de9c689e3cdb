"""Block Kit for answers: sources, the feedback row, and whole answer messages.

Contract: pure functions from plain data (a ``TurnResult``, citation dicts, a clock value) to
JSON-ready Block Kit dicts; no I/O. Every answer ends with the "Why this answer?" button and the
feedback row; only answers that cite sources (and were not blocked) show a Sources block.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    ContextActionsBlock,
    ContextBlock,
    FeedbackButtonObject,
    FeedbackButtonsElement,
    MarkdownBlock,
    MarkdownTextObject,
)

from bot.views.approval_builder import approval_blocks
from bot.views.text import escape_mrkdwn, fit_lines, human_duration, truncate

if TYPE_CHECKING:
    from graph.assistant import TurnResult

FEEDBACK_ACTION = "answer_feedback"
WHY_ACTION = "why_this_answer"
SHARE_ACTION = "share_answer"
FRESH_ACTION = "fresh_answer"
MARKDOWN_LIMIT = 12_000
"""Slack's limit for a ``markdown`` block (cumulative over one message's markdown blocks)."""
TEXT_LIMIT = 3_000
"""Slack's limit for a section or context text object."""
MAX_SOURCES = 10
DAY_S = 86_400

BlockDict = dict[str, Any]


def format_age(updated_at: float | None, now: float) -> str:
    """How long ago a source changed, as "updated today" … "updated 2 years ago".

    ``updated_at`` and ``now`` are Unix times. Under one day (or in the future) is "today",
    under two days "yesterday", under 30 days "N days ago", under 365 days "N month(s) ago"
    (30-day months), else "N year(s) ago" (365-day years). ``None`` gives ``""`` (no age shown).
    """
    if updated_at is None or not math.isfinite(updated_at):
        return ""
    days = int(max(0.0, now - updated_at) // DAY_S)
    if days == 0:
        return "updated today"
    if days == 1:
        return "updated yesterday"
    if days < 30:
        return f"updated {days} days ago"
    if days < 365:
        months = days // 30
        return f"updated {months} month{'s' if months != 1 else ''} ago"
    years = days // 365
    return f"updated {years} year{'s' if years != 1 else ''} ago"


def _is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))


def source_title(citation: Mapping[str, Any]) -> str:
    """A citation's display title: its heading, else the file (or URL path) name of its source."""
    heading = str(citation.get("heading") or "").strip()
    if heading:
        return heading
    source = str(citation.get("source") or "").strip()
    path = urlsplit(source).path if _is_url(source) else source
    name = path.rstrip("/").rsplit("/", 1)[-1]
    return name or (urlsplit(source).netloc if _is_url(source) else source) or "source"


def source_line(citation: Mapping[str, Any], *, now: float) -> str:
    """One mrkdwn line: ``[n] <url|title> · age`` when the source is or has a URL (a file's
    path follows its link), else ``[n] *title* — `path` · age``."""
    source = str(citation.get("source") or "").strip()
    title = truncate(source_title(citation), 150)
    link = str(citation.get("url") or "").strip()
    if _is_url(link) or _is_url(source):
        label = escape_mrkdwn(title).replace("|", "¦")
        url = (link if _is_url(link) else source).replace(">", "%3E").replace("|", "%7C")
        line = f"[{citation.get('n', '?')}] <{url}|{label}>"
        if not _is_url(source):
            path = truncate(source.replace("`", "'"), 300)
            line += f" — `{escape_mrkdwn(path)}`"
    else:
        path = truncate(source.replace("`", "'"), 300)
        line = f"[{citation.get('n', '?')}] *{escape_mrkdwn(title)}* — `{escape_mrkdwn(path)}`"
    age = format_age(citation.get("updated_at"), now)
    return f"{line} · {age}" if age else line


def _dedupe(citations: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Citations ordered by number, one per source (the lowest number wins)."""

    def number(citation: Mapping[str, Any]) -> float:
        n = citation.get("n")
        return float(n) if isinstance(n, int | float) else math.inf

    seen: set[str] = set()
    unique: list[Mapping[str, Any]] = []
    for citation in sorted(citations, key=number):
        source = str(citation.get("source") or "")
        if source in seen:
            continue
        seen.add(source)
        unique.append(citation)
    return unique


def sources_blocks(citations: Iterable[Mapping[str, Any]], *, now: float) -> list[BlockDict]:
    """A one-block "Sources" context listing each cited source once; ``[]`` when none.

    Citations are ``{"n", "source", "heading", "updated_at"}`` dicts; sources are deduplicated
    (lowest ``n`` kept), at most ``MAX_SOURCES`` are listed and the text stays within 3000 chars.
    """
    unique = _dedupe(citations)
    if not unique:
        return []
    lines = ["*Sources*", *(source_line(c, now=now) for c in unique[:MAX_SOURCES])]
    if len(unique) > MAX_SOURCES:
        lines.append(f"…and {len(unique) - MAX_SOURCES} more")
    text = fit_lines(lines, TEXT_LIMIT)
    return [ContextBlock(elements=[MarkdownTextObject(text=text)]).to_dict()]


def feedback_row(trace_id: str) -> BlockDict:
    """A ``context_actions`` block with 👍/👎 ``feedback_buttons`` (action ``answer_feedback``).

    The button values are ``good:{trace_id}`` and ``bad:{trace_id}``.
    """
    buttons = FeedbackButtonsElement(
        action_id=FEEDBACK_ACTION,
        positive_button=FeedbackButtonObject(
            text="👍",
            value=f"good:{trace_id}",
            accessibility_label="This answer was helpful",
        ),
        negative_button=FeedbackButtonObject(
            text="👎",
            value=f"bad:{trace_id}",
            accessibility_label="This answer was not helpful",
        ),
    )
    return ContextActionsBlock(elements=[buttons]).to_dict()


def why_button(trace_id: str) -> ButtonElement:
    """The "Why this answer?" button (action ``why_this_answer``, value ``trace_id``)."""
    return ButtonElement(
        text="Why this answer?",
        action_id=WHY_ACTION,
        value=trace_id,
        accessibility_label="Show how this answer was produced",
    )


def fresh_button(trace_id: str) -> ButtonElement:
    """The "Fresh answer" button under a cached answer (action ``fresh_answer``, value the
    cached answer's trace id): asks the same question again without the cache."""
    return ButtonElement(
        text="Fresh answer",
        action_id=FRESH_ACTION,
        value=trace_id,
        accessibility_label="Ask again and make a new answer instead of the cached one",
    )


def why_row(trace_id: str, *, cached: bool = False) -> BlockDict:
    """An ``actions`` block with the "Why this answer?" button (and "Fresh answer" when the
    answer came from the cache).

    ``context_actions`` only takes ``feedback_buttons`` and ``icon_button`` (whose only icon is
    ``trash``), so these buttons need their own block.
    """
    buttons = [why_button(trace_id), *([fresh_button(trace_id)] if cached else [])]
    return ActionsBlock(elements=buttons).to_dict()


def cached_notice(age_s: float | None) -> BlockDict:
    """A context line saying the answer came from the cache, and how old it is."""
    age = human_duration(int(age_s or 0))
    text = f":zap: Answered from the cache (made {age} ago for the same question)."
    return ContextBlock(elements=[MarkdownTextObject(text=text)]).to_dict()


def _shows_sources(result: TurnResult) -> bool:
    return not result.blocked_reason and bool(result.citations)


def answer_blocks(result: TurnResult, *, now: float) -> list[BlockDict]:
    """The blocks that end a streamed answer (``chat.stopStream(blocks=...)``).

    Sources (unless the turn was blocked or cites nothing), for a cached answer a line saying so
    with its age, the Approve / Reject row of a tool call waiting for approval, the "Why this
    answer?" button (and "Fresh answer" for a cached one), then the
    feedback row; the buttons for every answer.
    """
    blocks = sources_blocks(result.citations, now=now) if _shows_sources(result) else []
    if result.cached:
        blocks.append(cached_notice(result.cache_age_s))
    if result.approval:
        blocks.extend(approval_blocks(result.approval))
    return [*blocks, why_row(result.trace_id, cached=result.cached), feedback_row(result.trace_id)]


def answer_text_blocks(text: str) -> list[BlockDict]:
    """``text`` as one ``markdown`` block (cut to 12,000 chars); ``[]`` for blank text."""
    if not text.strip():
        return []
    return [MarkdownBlock(text=truncate(text, MARKDOWN_LIMIT)).to_dict()]


def full_answer_blocks(text: str, result: TurnResult, *, now: float) -> list[BlockDict]:
    """A whole answer for ``chat.postMessage``/``chat.update``: ``text`` then ``answer_blocks``.

    Callers with more than 12,000 characters should ``split_message`` first and post the rest as
    plain follow-ups; here the text is cut to fit.
    """
    return [*answer_text_blocks(text), *answer_blocks(result, now=now)]


def question_context(prefix: str, question: str) -> BlockDict:
    """A context line ``{prefix} {question}`` (question escaped and cut to 500 chars)."""
    text = f"{prefix} {escape_mrkdwn(truncate(' '.join(question.split()), 500))}"
    return ContextBlock(elements=[MarkdownTextObject(text=text)]).to_dict()


def ephemeral_answer_blocks(result: TurnResult, *, question: str, now: float) -> list[BlockDict]:
    """The ``/ask`` reply only the asker sees: question, answer, sources, and an actions row
    with "Share in channel" (``share_answer``, value trace id) and "Why this answer?"."""
    sources = sources_blocks(result.citations, now=now) if _shows_sources(result) else []
    share = ButtonElement(
        text="Share in channel",
        action_id=SHARE_ACTION,
        value=result.trace_id,
        style="primary",
        accessibility_label="Post this answer in the channel for everyone",
    )
    actions = ActionsBlock(elements=[share, why_button(result.trace_id)]).to_dict()
    return [
        question_context("*You asked:*", question),
        *answer_text_blocks(result.answer),
        *sources,
        *(approval_blocks(result.approval) if result.approval else []),
        actions,
    ]


def shared_answer_blocks(
    result_text: str,
    citations: Iterable[Mapping[str, Any]],
    *,
    user_id: str,
    question: str,
    now: float,
) -> list[BlockDict]:
    """What "Share in channel" posts: ``<@user> asked: …``, the answer, then its sources."""
    return [
        question_context(f"<@{user_id}> asked:", question),
        *answer_text_blocks(result_text),
        *sources_blocks(citations, now=now),
    ]

"""A conversation's rolling summary: what memory keeps of the messages it had to drop.

Memory holds a token budget of recent messages (``memory_max_tokens``, at most
``memory_max_messages``); the rest are folded into a small summary kept beside them: the
conversation's topic (its first question, kept for good) and its latest earlier questions. No
model writes it, so it works the same on the embedded default: it is made of the redacted
standalone questions already in memory. Follow-ups with nothing to lean on in the window lean
on it, the summary tool and small talk read it, and a 100-message thread still knows what it
was about.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.messages import AIMessage, AnyMessage, BaseMessage

from knowledge.tokens import CHARS_PER_TOKEN

MAX_QUESTIONS = 8
"""Earlier questions the summary keeps (the newest)."""
MAX_QUESTION_CHARS = 200
SUMMARY_KEYS = ("topic", "questions", "folded")


def tokens(messages: Sequence[BaseMessage]) -> int:
    """About how many model tokens ``messages`` take (four characters each, as the chunker's
    proxy: the chat model's own tokenizer is not always at hand)."""
    return sum(len(str(m.content)) for m in messages) // CHARS_PER_TOKEN + len(messages)


def question_of(message: BaseMessage) -> str:
    """The standalone question an answer recorded, when its turn was a question."""
    if isinstance(message, AIMessage):
        meta = message.response_metadata
        if meta.get("intent") == "question" and isinstance(meta.get("query"), str):
            return str(meta["query"])[:MAX_QUESTION_CHARS]
    return ""


def started(summary: dict[str, Any], query: str, intent: str | None) -> dict[str, Any]:
    """``summary`` with its topic set by the conversation's first question."""
    if summary.get("topic") or intent != "question" or not query:
        return summary
    return {**summary, "topic": query[:MAX_QUESTION_CHARS]}


def fold(summary: dict[str, Any], dropped: list[AnyMessage]) -> dict[str, Any]:
    """``summary`` after the ``dropped`` messages left memory: their questions join the
    earlier ones (the newest ``MAX_QUESTIONS`` kept) and the count of folded messages grows."""
    asked = [q for q in map(question_of, dropped) if q]
    questions = [*summary.get("questions", []), *asked][-MAX_QUESTIONS:]
    return {
        "topic": summary.get("topic", ""),
        "questions": questions,
        "folded": int(summary.get("folded", 0)) + len(dropped),
    }


def latest_question(summary: dict[str, Any]) -> str:
    """The newest question the summary holds (the topic when it holds no other)."""
    questions = summary.get("questions") or []
    return str(questions[-1]) if questions else str(summary.get("topic") or "")


def render(summary: dict[str, Any]) -> str:
    """The summary as one short paragraph, or empty when there is nothing to say."""
    parts = []
    if summary.get("topic"):
        parts.append(f"This conversation began with: {summary['topic']}")
    others = [q for q in summary.get("questions", []) if q != summary.get("topic")]
    if others:
        parts.append("Earlier questions: " + "; ".join(others))
    if summary.get("folded"):
        parts.append(f"({summary['folded']} older messages are no longer in memory.)")
    return " ".join(parts)

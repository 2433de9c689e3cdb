"""App Home tab, ``/assistant help`` text, suggested prompts and the admin stats reply.

Contract: pure functions returning a ``home`` view dict, mrkdwn strings or prompt dicts; no I/O.
Admin-only features (``/assistant stats``) appear only when ``is_admin`` is true.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from slack_sdk.models.blocks import (
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)
from slack_sdk.models.views import View

if TYPE_CHECKING:
    from observe.stats import TurnStats

PRIVACY_NOTE = (
    ":lock: *Privacy:* the text of your messages and answers is not kept in logs by default; "
    "traces keep timings, scores and source names. Personal data such as email addresses and "
    "phone numbers is redacted before a question is processed."
)


def _usage_lines(*, is_admin: bool, mention: str) -> list[str]:
    lines = [
        f"• *In a channel:* mention {mention} with your question; I answer in the thread.",
        "• *In a DM:* just write to me here in the Messages tab.",
        "• `/ask <question>`: a private answer only you see, which you can share in the channel.",
        "• `/assistant help`: this overview.",
        "• `/assistant feedback`: tell the team what to improve.",
        '• *"Remember that …"*: tell me something about you to keep in mind; '
        "`/assistant memory` shows what I keep, `/assistant forget` deletes it.",
    ]
    if is_admin:
        lines.append("• `/assistant stats`: today's usage, cache hit rate and latency (admins).")
    lines.append(
        "• *Ask about this message* (message shortcut, under ⋯ on any message): "
        "ask me about that message in a thread."
    )
    return lines


def help_text(*, is_admin: bool) -> str:
    """The mrkdwn reply to ``/assistant help``: what I do, how to ask, how to give feedback."""
    lines = [
        "*I answer questions from the team's documentation, with sources.*",
        *_usage_lines(is_admin=is_admin, mention="me"),
        "Under each answer, 👍/👎 tell the team how I did and *Why this answer?* shows the "
        "sources, checks and timings behind it.",
    ]
    return "\n".join(lines)


def home_view(*, bot_user_id: str, is_admin: bool) -> dict[str, Any]:
    """The App Home tab (``type: home``) for ``views.publish``.

    Explains what the assistant does, every way to ask (mention, DM, ``/ask``, ``/assistant
    help|feedback`` and, for admins, ``stats``, the message shortcut), feedback and "Why this
    answer?", and the privacy note.
    """
    mention = f"<@{bot_user_id}>" if bot_user_id else "me"
    blocks = [
        HeaderBlock(text="Your team's docs assistant"),
        SectionBlock(
            text=MarkdownTextObject(
                text=(
                    "I answer questions from the team's documentation and cite the sources I "
                    "used, so you can check them. I can also summarize a thread or bring in a "
                    "human expert when I can't help."
                )
            )
        ),
        DividerBlock(),
        SectionBlock(
            text=MarkdownTextObject(
                text="*How to ask*\n" + "\n".join(_usage_lines(is_admin=is_admin, mention=mention))
            )
        ),
        SectionBlock(
            text=MarkdownTextObject(
                text=(
                    "*Feedback and transparency*\n"
                    "• 👍/👎 under an answer tell the team how I did; 👎 lets you say what was "
                    "wrong.\n"
                    "• *Why this answer?* shows (only to you) the steps I took, the sources I "
                    "found and their scores, the safety checks and how long each step took."
                )
            )
        ),
        DividerBlock(),
        ContextBlock(elements=[MarkdownTextObject(text=PRIVACY_NOTE)]),
    ]
    return View(type="home", blocks=blocks).to_dict()


def suggested_prompts() -> list[dict[str, str]]:
    """Four ``{"title", "message"}`` prompts for the Messages tab (``set_suggested_prompts``)."""
    return [
        {"title": "Search the docs", "message": "How do I request access to a new tool?"},
        {"title": "Find a policy", "message": "What is our policy for working remotely?"},
        {"title": "Explain a process", "message": "Walk me through how a release is shipped."},
        {"title": "What can you do?", "message": "What can you help me with, and how?"},
    ]


def _ms(value: float | None) -> str:
    return f"{value:,.0f} ms" if value is not None else "n/a"


def stats_text(stats: TurnStats) -> str:
    """The mrkdwn admin reply to ``/assistant stats`` for one period's ``TurnStats``."""
    since = stats.since.strftime("%Y-%m-%d %H:%M UTC")
    if not stats.turns:
        text = f"*Assistant usage since {since}*\nNo turns yet."
    else:
        rate = stats.cache_hit_rate
        hit_rate = f"{rate:.0%}" if rate is not None else "n/a"
        intents = ", ".join(f"{name} {count}" for name, count in stats.intents.most_common())
        text = "\n".join(
            [
                f"*Assistant usage since {since}*",
                f"• Turns: {stats.turns:,} ({stats.errors:,} failed)",
                f"• Questions: {stats.questions:,}, cache hits {stats.cache_hits:,} ({hit_rate})",
                f"• Latency: p50 {_ms(stats.p50_ms)}, p95 {_ms(stats.p95_ms)}",
                f"• Intents: {intents or 'none'}",
            ]
        )
    if stats.malformed_lines:
        text += f"\n_{stats.malformed_lines:,} unreadable trace line(s) skipped._"
    return text

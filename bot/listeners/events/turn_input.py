"""Turning a Slack message event into a ``TurnRequest``."""

from __future__ import annotations

import re
from typing import Any

from slack_bolt.context.async_context import AsyncBoltContext

from bot.turns import TurnRequest

_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")


def strip_mention(text: str, bot_user_id: str | None) -> str:
    """``text`` without the bot's own @-mention(s), whitespace tidied."""
    if bot_user_id:
        text = re.sub(rf"<@{re.escape(bot_user_id)}(?:\|[^>]*)?>", " ", text)
    return " ".join(text.split())


def mentions_someone_else(text: str, bot_user_id: str | None) -> bool:
    """True when the message @-mentions a user other than the bot (people talking)."""
    return any(user != bot_user_id for user in _MENTION.findall(text))


def request_from_event(
    event: dict[str, Any],
    body: dict[str, Any],
    context: AsyncBoltContext,
    *,
    text: str,
    source: str,
    ephemeral: bool = False,
) -> TurnRequest:
    """The turn for a message event: answered in the message's thread (a top-level message
    starts one)."""
    return TurnRequest(
        team_id=str(context.team_id or body.get("team_id") or event.get("team") or ""),
        channel=str(event["channel"]),
        user=str(event["user"]),
        text=text,
        thread_ts=str(event.get("thread_ts") or event["ts"]),
        message_ts=str(event["ts"]),
        delivery="ephemeral" if ephemeral else "thread",
        source=source,
        event_id=body.get("event_id"),
        enterprise_id=context.enterprise_id,
        enterprise_install=bool(context.is_enterprise_install),
    )

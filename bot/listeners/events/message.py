"""``message``: DMs, and channel messages the channel's trigger policy says to answer.

Rules: DMs are always answered. In channels, a message that @-mentions the assistant is left to
``app_mention``; a message that mentions someone else is people talking (quiet). Thread replies
are answered when the policy is ``thread`` or ``all``, the assistant has answered in that thread,
and the author is the person it was talking with. Top-level messages only with ``all``.
"""

from __future__ import annotations

from typing import Any

from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot.listeners.events.turn_input import (
    mentions_someone_else,
    request_from_event,
    strip_mention,
)
from bot.services import SlackServices, services_of

ANSWERED_SUBTYPES = {None, "file_share", "thread_broadcast"}
"""Plain messages, messages with a file, and thread replies also sent to the channel."""


async def should_answer(
    event: dict[str, Any], services: SlackServices, bot_user_id: str | None, team_id: str
) -> bool:
    """Whether this (human, non-edit) channel message is for the assistant."""
    if event.get("channel_type") == "im":
        return True
    text = str(event.get("text", ""))
    if bot_user_id and f"<@{bot_user_id}" in text:
        return False  # the app_mention event for the same message answers it
    if mentions_someone_else(text, bot_user_id):
        return False
    policy = services.settings.policy(str(event["channel"]))
    thread_ts = event.get("thread_ts")
    if thread_ts and thread_ts != event.get("ts"):
        if policy.trigger == "mention":
            return False
        partner = await services.records.thread_partner(f"{team_id}:{event['channel']}:{thread_ts}")
        return partner == event.get("user")
    return policy.trigger == "all"


async def handle_message(
    event: dict[str, Any], body: dict[str, Any], context: AsyncBoltContext, client: AsyncWebClient
) -> None:
    if event.get("subtype") not in ANSWERED_SUBTYPES or event.get("bot_id"):
        return  # edits, deletions, joins, bots (including ourselves)
    if not event.get("user") or event.get("user") == context.bot_user_id:
        return
    text = strip_mention(str(event.get("text", "")), context.bot_user_id)
    if not text:
        return
    services = services_of(context)
    team_id = str(context.team_id or body.get("team_id") or "")
    if not await should_answer(event, services, context.bot_user_id, team_id):
        return
    if not await services.claim(body):
        return
    is_dm = event.get("channel_type") == "im"
    policy = services.settings.policy(str(event["channel"]))
    request = request_from_event(
        event,
        body,
        context,
        text=text,
        source="dm" if is_dm else "message",
        ephemeral=policy.ephemeral and not is_dm,
    )
    await services.accept(request, client)

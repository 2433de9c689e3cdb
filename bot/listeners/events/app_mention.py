"""``app_mention``: someone @-mentioned the assistant in a channel; answer in the thread."""

from __future__ import annotations

from typing import Any

from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot.listeners.events.turn_input import request_from_event, strip_mention
from bot.services import services_of
from bot.views.text import empty_question_hint


async def handle_app_mention(
    event: dict[str, Any], body: dict[str, Any], context: AsyncBoltContext, client: AsyncWebClient
) -> None:
    services = services_of(context)
    if not event.get("user") or event.get("bot_id"):
        return  # other bots mentioning us could loop
    if not await services.claim(body):
        return
    text = strip_mention(str(event.get("text", "")), context.bot_user_id)
    policy = services.settings.policy(str(event["channel"]))
    request = request_from_event(
        event, body, context, text=text, source="app_mention", ephemeral=policy.ephemeral
    )
    if not text:
        services.spawn(services.tell(client, request, empty_question_hint("@mention")), "hint")
        await services.handled(body)
        return
    await services.accept(request, client)

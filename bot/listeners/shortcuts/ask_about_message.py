""" "Ask about this message": answer the message's text privately to whoever used the shortcut."""

from __future__ import annotations

from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.services import services_of
from bot.turns import TurnRequest
from bot.views.text import NO_TEXT_IN_MESSAGE


async def handle_ask_about_message(
    ack: AsyncAck,
    shortcut: dict[str, Any],
    context: AsyncBoltContext,
    client: AsyncWebClient,
    respond: AsyncRespond,
) -> None:
    await ack()
    text = " ".join(str((shortcut.get("message") or {}).get("text", "")).split())
    if not text:
        services_of(context).spawn(
            respond(text=NO_TEXT_IN_MESSAGE, response_type="ephemeral"), "no text notice"
        )
        return
    user = str((shortcut.get("user") or {}).get("id", ""))
    request = TurnRequest.private(
        team_id=str(context.team_id or (shortcut.get("team") or {}).get("id", "")),
        channel=str((shortcut.get("channel") or {}).get("id", "")),
        user=user,
        text=text,
        response_url=shortcut.get("response_url"),
        source="shortcut",
        enterprise_id=context.enterprise_id,
        enterprise_install=bool(context.is_enterprise_install),
    )
    await services_of(context).accept(request, client)

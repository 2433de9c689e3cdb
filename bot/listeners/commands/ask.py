"""``/ask <question>``: an answer only the asker sees, with a "Share in channel" button."""

from __future__ import annotations

from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot.services import services_of
from bot.turns import TurnRequest
from bot.views.text import WORKING_ON_IT, empty_question_hint


async def handle_ask_command(
    ack: AsyncAck, command: dict[str, Any], context: AsyncBoltContext, client: AsyncWebClient
) -> None:
    question = " ".join(str(command.get("text", "")).split())
    if not question:
        await ack(text=empty_question_hint("/ask"), response_type="ephemeral")
        return
    await ack(text=WORKING_ON_IT, response_type="ephemeral")
    user = str(command["user_id"])
    request = TurnRequest.private(
        team_id=str(context.team_id or command.get("team_id", "")),
        channel=str(command["channel_id"]),
        user=user,
        text=question,
        response_url=command.get("response_url"),
        source="command",
        enterprise_id=context.enterprise_id,
        enterprise_install=bool(context.is_enterprise_install),
    )
    await services_of(context).accept(request, client)

""" "Why this answer?": show the asker, privately, how the answer came about."""

from __future__ import annotations

from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.context.respond.async_respond import AsyncRespond

from bot.services import SlackServices, services_of
from bot.views.text import EXPLANATION_EXPIRED
from bot.views.why_builder import why_blocks


async def handle_why_this_answer(
    ack: AsyncAck, body: dict[str, Any], context: AsyncBoltContext, respond: AsyncRespond
) -> None:
    await ack()
    services = services_of(context)
    trace_id = str((body.get("actions") or [{}])[0].get("value", ""))
    services.spawn(show_explanation(services, trace_id, respond), "why this answer")


async def show_explanation(services: SlackServices, trace_id: str, respond: AsyncRespond) -> None:
    """Reply privately with the stored explanation of ``trace_id`` (or say it expired)."""
    explanation = await services.records.explanation(trace_id) if trace_id else None
    if explanation is None:
        await respond(text=EXPLANATION_EXPIRED, response_type="ephemeral", replace_original=False)
        return
    await respond(
        text="Why this answer",
        blocks=why_blocks(explanation),
        response_type="ephemeral",
        replace_original=False,
    )

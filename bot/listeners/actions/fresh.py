""" "Fresh answer" under a cached answer: ask the same question again, skipping the cache."""

from __future__ import annotations

import time
import uuid
from dataclasses import replace
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.services import SlackServices, services_of
from bot.turns import TurnRequest
from bot.views.text import FRESH_EXPIRED


async def handle_fresh_answer(
    ack: AsyncAck,
    body: dict[str, Any],
    context: AsyncBoltContext,
    client: AsyncWebClient,
    respond: AsyncRespond,
) -> None:
    await ack()
    services = services_of(context)
    trace_id = str((body.get("actions") or [{}])[0].get("value", ""))
    user = str((body.get("user") or {}).get("id") or "")
    services.spawn(ask_again(services, trace_id, user, client, respond), "fresh answer")


async def ask_again(
    services: SlackServices,
    trace_id: str,
    user: str,
    client: AsyncWebClient,
    respond: AsyncRespond,
) -> None:
    """Queue the cached answer's question again, for ``user``, with the cache skipped; it goes
    through the same rate limits and thread queue as any message."""
    raw = await services.records.fresh_request(trace_id) if trace_id else None
    if raw is None or not user:
        await respond(text=FRESH_EXPIRED, response_type="ephemeral", replace_original=False)
        return
    request = replace(
        TurnRequest.from_json(raw),
        user=user,
        fresh=True,
        event_id=None,
        source="fresh",
        request_id=uuid.uuid4().hex,
        received_at=time.time(),
    )
    await services.accept(request, client)

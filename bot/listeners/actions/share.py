""" "Share in channel" on an ephemeral ``/ask`` answer: post it for everyone, once."""

from __future__ import annotations

import time
from typing import Any

import structlog
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.services import SlackServices, services_of
from bot.views.answer_builder import shared_answer_blocks
from bot.views.text import SHARE_EXPIRED, SHARE_FAILED

log = structlog.get_logger(__name__)


async def handle_share_answer(
    ack: AsyncAck,
    body: dict[str, Any],
    context: AsyncBoltContext,
    client: AsyncWebClient,
    respond: AsyncRespond,
) -> None:
    await ack()
    services = services_of(context)
    trace_id = str((body.get("actions") or [{}])[0].get("value", ""))
    services.spawn(share_answer(services, trace_id, client, respond), "share answer")


async def share_answer(
    services: SlackServices, trace_id: str, client: AsyncWebClient, respond: AsyncRespond
) -> None:
    """Post the pending ephemeral answer in its channel and remove the private copy.

    The stored share is removed only once it was posted: a failed post (Slack error, network)
    keeps it and tells the asker to try again. A second click while one is posting does nothing.
    """
    records = services.records
    share = await records.claim_share(trace_id) if trace_id else None
    if share is None:
        if not trace_id or not await records.share_pending(trace_id):
            await respond(text=SHARE_EXPIRED, response_type="ephemeral", replace_original=False)
        return
    blocks = shared_answer_blocks(
        share["answer"],
        share["citations"],
        user_id=share["user"],
        question=share["question"],
        now=time.time(),
    )
    try:
        try:
            await client.chat_postMessage(
                channel=share["channel"], text=share["answer"], blocks=blocks
            )
        except SlackApiError:  # e.g. not_in_channel: Slack can still post it for the asker
            await respond(
                text=share["answer"],
                blocks=blocks,
                response_type="in_channel",
                replace_original=False,
            )
    except Exception as exc:
        log.warning("share not posted; kept for another try", error_type=type(exc).__name__)
        await records.release_share(trace_id)
        await respond(text=SHARE_FAILED, response_type="ephemeral", replace_original=False)
        return
    await records.drop_share(trace_id)
    await respond(delete_original=True)

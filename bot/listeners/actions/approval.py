"""Approve / Reject under a tool call that waits for approval.

Only the asker or a configured approver decides (anyone else is told so, privately, and the
request stays). On a decision the buttons give way to who decided, and the outcome (the tool's
output, or that it was not run) is posted in the thread. Expired or already decided requests
say so; nothing runs twice (``graph.tools.approval``).
"""

from __future__ import annotations

from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.services import SlackServices, services_of
from bot.views.approval_builder import APPROVE_ACTION, decided_blocks, outcome_text


async def handle_tool_decision(
    ack: AsyncAck,
    body: dict[str, Any],
    context: AsyncBoltContext,
    client: AsyncWebClient,
    respond: AsyncRespond,
) -> None:
    await ack()
    services = services_of(context)
    action = (body.get("actions") or [{}])[0]
    approve = action.get("action_id") == APPROVE_ACTION
    call_id = str(action.get("value") or "")
    user = str((body.get("user") or {}).get("id") or "")
    services.spawn(decide(services, body, call_id, user, approve, client, respond), "tool approval")


async def decide(
    services: SlackServices,
    body: dict[str, Any],
    call_id: str,
    user: str,
    approve: bool,
    client: AsyncWebClient,
    respond: AsyncRespond,
) -> None:
    """Record the decision, run the tool when approved, and show the outcome."""
    outcome = await services.assistant.decide_tool_call(call_id, user, approve)
    if outcome.status in (None, "not_allowed", "expired", "decided"):
        await respond(text=outcome.message, response_type="ephemeral", replace_original=False)
        if outcome.status not in ("expired", "decided"):
            return
    message = body.get("message") or {}
    channel = str((body.get("channel") or {}).get("id") or "")
    summary = {
        "approved": f":white_check_mark: Approved by <@{user}>",
        "rejected": f":no_entry_sign: Rejected by <@{user}>",
        "expired": ":hourglass: This request expired; nothing was run.",
        "decided": f":information_source: {outcome.message}",
    }[str(outcome.status)]
    if message.get("ts") and channel:
        await client.chat_update(
            channel=channel,
            ts=str(message["ts"]),
            text=str(message.get("text") or summary),
            blocks=decided_blocks(list(message.get("blocks") or []), summary),
        )
    if outcome.status not in ("approved", "rejected"):
        return
    text = outcome_text(outcome.message, outcome.output)
    thread = message.get("thread_ts") or message.get("ts")
    if channel and thread:
        await client.chat_postMessage(channel=channel, thread_ts=str(thread), text=text)
    else:  # an ephemeral answer: only the asker sees the outcome too
        await respond(text=text, response_type="ephemeral", replace_original=False)

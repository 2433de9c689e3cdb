"""Thumbs up / down under an answer: recorded on the answer's trace; down opens a modal."""

from __future__ import annotations

from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot.services import services_of
from bot.views.feedback_builder import feedback_modal
from observe.tracing import user_hash


async def handle_answer_feedback(
    ack: AsyncAck, body: dict[str, Any], context: AsyncBoltContext, client: AsyncWebClient
) -> None:
    await ack()
    action = (body.get("actions") or [{}])[0]
    verdict, _, trace_id = str(action.get("value", "")).partition(":")
    if verdict not in ("good", "bad") or not trace_id:
        return
    user = str((body.get("user") or {}).get("id", ""))
    services = services_of(context)
    services.assistant.context.tracer.evaluation(
        trace_id=trace_id,
        span_id=None,
        name="user_feedback",
        score_value=1.0 if verdict == "good" else 0.0,
        score_label="positive" if verdict == "good" else "negative",
        attributes={"user.hash": user_hash(user), "app.feedback.source": "slack_button"},
    )
    if verdict == "bad" and body.get("trigger_id"):
        channel = str((body.get("channel") or {}).get("id", ""))
        message_ts = str((body.get("message") or body.get("container") or {}).get("ts", ""))
        services.spawn(
            client.views_open(
                trigger_id=body["trigger_id"],
                view=feedback_modal(trace_id=trace_id, channel=channel, message_ts=message_ts),
            ),
            "feedback modal",
        )

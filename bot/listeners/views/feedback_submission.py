"""The feedback modal was submitted: record the reasons on the answer's trace."""

from __future__ import annotations

from typing import Any

import structlog
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext

from bot.services import services_of
from bot.views.feedback_builder import parse_feedback_submission
from observe.tracing import user_hash

log = structlog.get_logger(__name__)


async def handle_feedback_submission(
    ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], context: AsyncBoltContext
) -> None:
    await ack()
    try:
        submission = parse_feedback_submission(view)
    except ValueError as exc:
        log.warning("unreadable feedback submission", error=str(exc))
        return
    user = str((body.get("user") or {}).get("id", ""))
    services_of(context).assistant.context.tracer.evaluation(
        trace_id=submission.trace_id,
        span_id=None,
        name="user_feedback_reason",
        score_value=0.0,
        score_label=",".join(submission.reasons) or "unspecified",
        attributes={
            "user.hash": user_hash(user),
            "app.feedback.reasons": list(submission.reasons),
            "app.content.feedback": submission.comment,
        },
    )

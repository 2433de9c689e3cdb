"""The feedback modal was submitted: record the reasons on the answer's trace, and queue the
answer as a regression case for review (``assistant eval regressions``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import structlog
from redis.exceptions import RedisError
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext

from bot.records import SlackRecords
from bot.services import services_of
from bot.views.feedback_builder import FeedbackSubmission, parse_feedback_submission
from guards.redaction import redact_pii
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
    await queue_regression(services_of(context).records, submission)


async def queue_regression(records: SlackRecords, submission: FeedbackSubmission) -> None:
    """The answer's seed (see ``SlackResponder``) plus the reasons, as a case to review; best
    effort: a missing seed (older than a week) or a Redis error only logs."""
    try:
        seed = await records.case(submission.trace_id)
        if seed is None:
            log.info("no regression seed for this answer", trace_id=submission.trace_id)
            return
        await records.add_regression(
            {
                "id": f"regression-{submission.trace_id[:16]}",
                **seed,
                "answer": "",  # the reviewer writes the right answer
                "source": "",  # … and the file that holds it
                "reasons": list(submission.reasons),
                "comment": redact_pii(submission.comment or ""),
                "trace_id": submission.trace_id,
                "reported_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "reviewed": False,
            }
        )
    except RedisError as exc:
        log.warning("regression case not saved", error=str(exc))

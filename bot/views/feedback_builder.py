"""The "What was wrong?" feedback modal, reading its submission back, and thank-you texts.

Contract: ``feedback_modal`` returns a modal view dict whose ``private_metadata`` carries the
trace id, channel and message ts as JSON; ``parse_feedback_submission`` reads the ``view`` of a
``view_submission`` payload for that modal back into a ``FeedbackSubmission`` and raises
``ValueError`` when the metadata is missing or garbled. No I/O.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from slack_sdk.models.blocks import (
    CheckboxesElement,
    InputBlock,
    Option,
    PlainTextInputElement,
    PlainTextObject,
    SectionBlock,
)
from slack_sdk.models.views import View

MODAL_CALLBACK = "feedback_modal"
REASONS_BLOCK = REASONS_ACTION = "reasons"
COMMENT_BLOCK = COMMENT_ACTION = "comment"
COMMENT_MAX = 2000
REASONS: dict[str, str] = {
    "inaccurate": "Inaccurate or wrong",
    "outdated": "Outdated",
    "missing_source": "Missing or wrong source",
    "not_helpful": "Didn't answer my question",
    "other": "Something else",
}
"""Reason value → the label shown next to its checkbox."""


@dataclass(frozen=True)
class FeedbackSubmission:
    """What a user sent through the feedback modal."""

    trace_id: str
    channel: str
    message_ts: str
    reasons: list[str] = field(default_factory=list)
    """Known reason values (keys of ``REASONS``), in the order the modal lists them."""
    comment: str = ""
    """The free-text comment, stripped and at most 2000 characters (``""`` when none)."""


def feedback_modal(*, trace_id: str, channel: str, message_ts: str) -> dict[str, Any]:
    """A modal (callback ``feedback_modal``) asking what was wrong with an answer.

    Blocks: optional checkboxes (block/action ``reasons``) with the ``REASONS`` options, and an
    optional multiline comment (block/action ``comment``, up to 2000 characters).
    ``private_metadata`` is ``{"trace_id", "channel", "message_ts"}`` as JSON.
    """
    metadata = json.dumps(
        {"trace_id": trace_id, "channel": channel, "message_ts": message_ts},
        separators=(",", ":"),
    )
    options = [Option(value=value, text=label) for value, label in REASONS.items()]
    view = View(
        type="modal",
        callback_id=MODAL_CALLBACK,
        private_metadata=metadata,
        title=PlainTextObject(text="Answer feedback"),
        submit=PlainTextObject(text="Send"),
        close=PlainTextObject(text="Cancel"),
        blocks=[
            SectionBlock(text="Thanks for helping improve the answers. What went wrong?"),
            InputBlock(
                block_id=REASONS_BLOCK,
                label="What was wrong?",
                optional=True,
                element=CheckboxesElement(action_id=REASONS_ACTION, options=options),
            ),
            InputBlock(
                block_id=COMMENT_BLOCK,
                label="Anything else we should know?",
                optional=True,
                element=PlainTextInputElement(
                    action_id=COMMENT_ACTION,
                    multiline=True,
                    max_length=COMMENT_MAX,
                    placeholder="What did you expect? Please don't include secrets.",
                ),
            ),
        ],
    )
    return view.to_dict()


def _metadata(view: Mapping[str, Any]) -> dict[str, str]:
    raw = view.get("private_metadata")
    if not isinstance(raw, str) or not raw.strip():
        raise ValueError("feedback view has no private_metadata (expected trace_id, channel, ts)")
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ValueError(f"feedback view private_metadata is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ValueError(f"feedback view private_metadata is {type(data).__name__}, not an object")
    missing = [k for k in ("trace_id", "channel", "message_ts") if not isinstance(data.get(k), str)]
    if missing:
        raise ValueError(f"feedback view private_metadata lacks {', '.join(missing)}")
    return {k: data[k] for k in ("trace_id", "channel", "message_ts")}


def parse_feedback_submission(view: Mapping[str, Any]) -> FeedbackSubmission:
    """Read a ``view_submission`` payload's ``view`` for the feedback modal.

    Values come from ``view["state"]["values"][block_id][action_id]``: the checkboxes'
    ``selected_options[*].value`` (unknown values dropped) and the text input's ``value``
    (``None`` when left empty). Raises ``ValueError`` when ``private_metadata`` is missing, not
    JSON, or lacks ``trace_id``/``channel``/``message_ts``.
    """
    metadata = _metadata(view)
    values = (view.get("state") or {}).get("values") or {}
    checkboxes = (values.get(REASONS_BLOCK) or {}).get(REASONS_ACTION) or {}
    selected = {
        option.get("value")
        for option in checkboxes.get("selected_options") or []
        if isinstance(option, dict)
    }
    text_input = (values.get(COMMENT_BLOCK) or {}).get(COMMENT_ACTION) or {}
    comment = text_input.get("value")
    return FeedbackSubmission(
        trace_id=metadata["trace_id"],
        channel=metadata["channel"],
        message_ts=metadata["message_ts"],
        reasons=[value for value in REASONS if value in selected],
        comment=comment.strip()[:COMMENT_MAX] if isinstance(comment, str) else "",
    )


def feedback_thanks(sentiment: str) -> str:
    """The ephemeral thank-you for a feedback click or modal.

    ``sentiment``: ``good``/``positive``, ``bad``/``negative``, or ``details`` (modal sent);
    anything else gets a neutral thanks.
    """
    match sentiment.lower():
        case "good" | "positive":
            return "Thanks for the feedback — glad it helped!"
        case "bad" | "negative":
            return "Thanks for the feedback — it helps improve the answers."
        case "details":
            return "Thanks — your notes were sent to the team that maintains the assistant."
        case _:
            return "Thanks for the feedback!"

"""Interactive buttons: feedback, "Why this answer?", "Share in channel", "Fresh answer",
Approve / Reject."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.listeners.actions.approval import handle_tool_decision
from bot.listeners.actions.feedback import handle_answer_feedback
from bot.listeners.actions.fresh import handle_fresh_answer
from bot.listeners.actions.share import handle_share_answer
from bot.listeners.actions.why import handle_why_this_answer


def register(app: AsyncApp) -> None:
    app.action("answer_feedback")(handle_answer_feedback)
    app.action("why_this_answer")(handle_why_this_answer)
    app.action("share_answer")(handle_share_answer)
    app.action("fresh_answer")(handle_fresh_answer)
    app.action("approve_tool")(handle_tool_decision)
    app.action("reject_tool")(handle_tool_decision)

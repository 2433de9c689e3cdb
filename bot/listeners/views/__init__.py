"""Modal submissions: the "what was wrong?" feedback form."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.listeners.views.feedback_submission import handle_feedback_submission


def register(app: AsyncApp) -> None:
    app.view("feedback_modal")(handle_feedback_submission)

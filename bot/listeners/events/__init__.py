"""Event listeners: mentions, messages (DMs, thread follow-ups), App Home."""

from __future__ import annotations

import re

from slack_bolt.async_app import AsyncApp

from bot.listeners.events.app_home_opened import handle_app_home_opened
from bot.listeners.events.app_mention import handle_app_mention
from bot.listeners.events.lifecycle import handle_app_uninstalled, handle_ignored_event
from bot.listeners.events.message import handle_message


def register(app: AsyncApp) -> None:
    app.event("app_mention")(handle_app_mention)
    app.event("message")(handle_message)
    app.event("app_home_opened")(handle_app_home_opened)
    app.event("app_uninstalled")(handle_app_uninstalled)
    app.event("tokens_revoked")(handle_app_uninstalled)
    app.event("app_context_changed")(handle_ignored_event)
    app.event(re.compile(".*"))(handle_ignored_event)  # ack the rest so Slack does not retry

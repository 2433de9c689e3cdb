"""Message shortcuts: "Ask about this message"."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.listeners.shortcuts.ask_about_message import handle_ask_about_message


def register(app: AsyncApp) -> None:
    app.shortcut("ask_about_message")(handle_ask_about_message)

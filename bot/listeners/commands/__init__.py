"""Slash commands: ``/ask`` and ``/assistant``."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.listeners.commands.ask import handle_ask_command
from bot.listeners.commands.assistant import handle_assistant_command


def register(app: AsyncApp) -> None:
    app.command("/ask")(handle_ask_command)
    app.command("/assistant")(handle_assistant_command)

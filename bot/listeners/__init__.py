"""Listener registration: which Slack payload goes to which handler.

Each subpackage's ``register(app)`` maps Slack identifiers to undecorated ``handle_*`` functions
(one per module) so handlers can be imported and tested without an app.
"""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.listeners import actions, commands, events, shortcuts, views


def register_listeners(app: AsyncApp) -> None:
    """Attach every listener of the assistant to ``app``."""
    events.register(app)
    commands.register(app)
    actions.register(app)
    shortcuts.register(app)
    views.register(app)

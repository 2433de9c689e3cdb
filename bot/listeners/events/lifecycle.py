"""Workspace lifecycle events: uninstall / revoked tokens drop the stored installation."""

from __future__ import annotations

from typing import Any

import structlog
from slack_bolt.context.async_context import AsyncBoltContext

log = structlog.get_logger(__name__)


async def handle_app_uninstalled(body: dict[str, Any], context: AsyncBoltContext) -> None:
    """Single-workspace mode: record it. (With OAuth, Bolt's token-revocation listeners, which
    ``build_app`` registers first, delete the installation from Redis instead.)"""
    log.info("app uninstalled or tokens revoked", team=context.team_id, event=body.get("type"))


async def handle_ignored_event() -> None:
    """Subscribed for completeness (e.g. ``app_context_changed``); nothing to do."""

"""The Bolt app: one ``AsyncApp`` for both transports (HTTP and Socket Mode).

``build_app(services)`` wires the client (429-aware, pointed at ``ASSISTANT_SLACK_API_URL``),
request verification, single-token or OAuth (tokens in Redis) authorization, the global
middleware that binds log context and hands handlers the ``SlackServices``, every listener, and
one error handler that logs and never leaks details to users. Acks wait for the listener
(``process_before_response``): see the note in ``build_app``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.oauth.async_oauth_flow import AsyncOAuthFlow
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings

from bot.config import SlackSettings
from bot.installation_store import RedisInstallationStore, RedisOAuthStateStore
from bot.listeners import register_listeners
from bot.responder import make_client
from bot.services import CONTEXT_KEY, DeliveryInProgress, SlackServices
from observe.tracing import user_hash

log = structlog.get_logger(__name__)

BOT_SCOPES = [
    "app_mentions:read",
    "assistant:write",
    "chat:write",
    "commands",
    "im:history",
    "im:read",
    "im:write",
    "channels:history",
    "groups:history",
    "channels:read",
    "groups:read",
    "reactions:write",
    "users:read",
]


def build_app(services: SlackServices) -> AsyncApp:
    """The configured app with every listener registered."""
    settings = services.settings
    secret = settings.signing_secret.get_secret_value() if settings.signing_secret else None
    token = settings.bot_token.get_secret_value() if settings.bot_token else None
    oauth = _oauth_settings(settings, services) if settings.oauth_enabled else None
    client = make_client(settings, None if oauth else token)
    app = AsyncApp(
        client=client,
        signing_secret=secret,
        oauth_settings=oauth,
        oauth_flow=AsyncOAuthFlow(client=client, settings=oauth) if oauth else None,
        request_verification_enabled=secret is not None,
        # Listeners only claim, check and queue (a few Redis calls), so the ack can wait for
        # them: an event is acknowledged once it is safely queued, and a failure means Slack
        # retries. Slow Slack calls after an ack run in the background (SlackServices.spawn).
        process_before_response=True,
        name="assistant",
    )
    app.use(_with_services(services))
    if oauth is not None:
        app.enable_token_revocation_listeners()  # uninstall / revoked: drop the installation
    register_listeners(app)
    app.error(_log_error)
    return app


def _oauth_settings(settings: SlackSettings, services: SlackServices) -> AsyncOAuthSettings:
    client_id = str(settings.client_id)
    return AsyncOAuthSettings(
        client_id=client_id,
        client_secret=settings.client_secret.get_secret_value() if settings.client_secret else None,
        scopes=BOT_SCOPES,
        installation_store=RedisInstallationStore(services.redis, client_id),
        state_store=RedisOAuthStateStore(services.redis, client_id=client_id),
    )


def _with_services(services: SlackServices) -> Callable[..., Awaitable[Any]]:
    async def bind_context(
        context: AsyncBoltContext, body: dict[str, Any], next: Callable[[], Awaitable[None]]
    ) -> None:
        context[CONTEXT_KEY] = services
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(
            slack_team=context.team_id,
            slack_channel=context.channel_id,
            user_hash=user_hash(context.user_id) if context.user_id else None,
            slack_event=(body.get("event") or {}).get("type") or body.get("type"),
        )
        await next()

    return bind_context


async def _log_error(error: Exception, body: dict[str, Any]) -> None:
    if isinstance(error, DeliveryInProgress):
        log.info("delivery refused while its first copy is being queued; Slack will retry")
        return
    log.error(
        "unhandled error in a Slack listener",
        error_type=type(error).__name__,
        error=str(error),
        payload_type=body.get("type"),
        exc_info=error,
    )

"""The running Slack surface: services, the Bolt app, and the HTTP endpoints around it.

``SlackRuntime.start`` brings up the assistant (or takes one), the Redis-backed scheduler and
records, and the Bolt app. ``web_app()`` is the aiohttp application:

- ``POST /slack/events``: events, commands, interactivity (signature-checked by Bolt); bodies over
  1 MiB get 413, unreadable ones 400, and nothing runs for them;
- ``GET /slack/install`` and ``/slack/oauth_redirect``: the OAuth install flow (multi-workspace);
- ``GET /healthz`` (the process is up), ``GET /readyz`` (Redis answers, the pool has room);
- ``GET /metrics``: Prometheus metrics from the tracer (no message content);
- ``/dashboard/``: the ops dashboard over the trace log, behind ``dashboard_token`` (403 when
  no token is configured: this server faces the internet).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import structlog
from aiohttp import web
from langchain_core.language_models import BaseChatModel
from redis.asyncio import BlockingConnectionPool, Redis
from redis.exceptions import RedisError
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.app import build_app
from bot.config import SlackSettings
from bot.installation_store import RedisInstallationStore
from bot.records import SlackRecords
from bot.responder import SlackResponder, make_client
from bot.services import SlackServices
from bot.turns import TurnRequest, TurnScheduler
from graph.assistant import Assistant
from graph.settings import Settings
from observe.dashboard.queries import Panels
from observe.dashboard.server import dashboard_app
from observe.dashboard.store import shared_store
from observe.errors import ConfigError
from observe.metrics import CONTENT_TYPE, Metrics

log = structlog.get_logger(__name__)

MAX_BODY_BYTES = 1024 * 1024
REDIS_CONNECTIONS = 64
"""Requests wait for a free connection instead of failing when all are busy."""
EVENTS_PATH = "/slack/events"
INSTALL_PATH = "/slack/install"
REDIRECT_PATH = "/slack/oauth_redirect"


class SlackRuntime:
    """Everything ``assistant serve`` runs; ``await SlackRuntime.start(...)`` then ``aclose()``."""

    def __init__(
        self, assistant: Assistant, services: SlackServices, app: AsyncApp, owns_assistant: bool
    ) -> None:
        self.assistant = assistant
        self.services = services
        self.app = app
        self._owns_assistant = owns_assistant
        self._clients: dict[str, AsyncWebClient] = {}
        self._sweeper: asyncio.Task[None] | None = None
        self.metrics = Metrics()
        assistant.context.tracer.subscribe(self.metrics.observe)
        self.metrics.track_queue(lambda: services.scheduler.pending)

    @classmethod
    async def start(
        cls,
        settings: Settings,
        slack: SlackSettings,
        *,
        assistant: Assistant | None = None,
        llm: BaseChatModel | None = None,
    ) -> SlackRuntime:
        owns = assistant is None
        assistant = assistant or await Assistant.start(settings, llm=llm)
        redis = Redis(
            connection_pool=BlockingConnectionPool.from_url(
                assistant.redis_url, max_connections=REDIS_CONNECTIONS, timeout=2
            )
        )
        records = SlackRecords(redis)
        scheduler = TurnScheduler(
            redis,
            _unset_handler,
            workers=slack.workers,
            max_pending=slack.max_pending,
            lock_ttl_s=max(60.0, settings.model_timeout_s / 2),
        )
        services = SlackServices(
            assistant=assistant, settings=slack, redis=redis, records=records, scheduler=scheduler
        )
        runtime = cls(assistant, services, build_app(services), owns)
        scheduler.handler = SlackResponder(assistant, slack, records, runtime.client_for)
        runtime._sweeper = asyncio.create_task(scheduler.run_sweeper(), name="turn sweeper")
        return runtime

    async def client_for(self, request: TurnRequest) -> AsyncWebClient:
        """The Web API client for the request's workspace (its installation in OAuth mode)."""
        slack = self.services.settings
        if not slack.oauth_enabled:
            return self.app.client
        # Looked up every turn: a reinstall replaces (and Slack revokes) the previous token.
        store = RedisInstallationStore(self.services.redis, str(slack.client_id))
        bot = await store.async_find_bot(
            enterprise_id=request.enterprise_id,
            team_id=request.team_id,
            is_enterprise_install=request.enterprise_install,
        )
        if bot is None or not bot.bot_token:
            where = f"org {request.enterprise_id}, " if request.enterprise_id else ""
            raise ConfigError(f"{where}workspace {request.team_id} has no installation")
        key = f"{request.enterprise_id or '-'}:{request.team_id}"
        client = self._clients.get(key)
        if client is None or client.token != bot.bot_token:
            client = self._clients[key] = make_client(slack, bot.bot_token)
        return client

    def web_app(self) -> web.Application:
        """The aiohttp application with the Slack and health endpoints."""
        app = web.Application(client_max_size=MAX_BODY_BYTES, middlewares=[self._count])
        if self.services.settings.signing_secret is not None:
            app.router.add_post(EVENTS_PATH, self._events)
        else:  # Socket Mode without a signing secret: never take unsigned requests over HTTP
            app.router.add_post(EVENTS_PATH, _events_disabled)
        app.router.add_get(INSTALL_PATH, self._oauth)
        app.router.add_get(REDIRECT_PATH, self._oauth)
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/readyz", self._readyz)
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get("/dashboard", _to_dashboard)
        app.add_subapp("/dashboard/", self._dashboard())
        return app

    def _dashboard(self) -> web.Application:
        token = self.assistant.settings.dashboard_token
        if token is None:
            closed = web.Application()
            closed.router.add_route("*", "/{tail:.*}", _dashboard_closed)
            return closed
        store = shared_store(self.assistant.settings.traces_path)  # the one ops_stats reads
        return dashboard_app(Panels(store), token=token.get_secret_value(), prefix="/dashboard/")

    @web.middleware
    async def _count(self, request: web.Request, handler: Any) -> web.StreamResponse:
        """Count requests by route (the matched pattern: bounded label values)."""
        status = 500
        try:
            response: web.StreamResponse = await handler(request)
            status = response.status
            return response
        except web.HTTPException as exc:
            status = exc.status
            raise
        finally:
            resource = request.match_info.route.resource
            route = resource.canonical if resource is not None else "unmatched"
            self.metrics.requests.labels(route, str(status)).inc()

    async def _metrics(self, _request: web.Request) -> web.StreamResponse:
        return web.Response(body=self.metrics.render(), headers={"Content-Type": CONTENT_TYPE})

    async def _events(self, request: web.Request) -> web.StreamResponse:
        try:
            bolt_request = await to_bolt_request(request)
        except web.HTTPRequestEntityTooLarge:
            log.warning("slack request too large; ignored")
            return web.json_response({"error": "request body too large"}, status=413)
        except (ValueError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            log.warning("unreadable slack request; ignored", error=type(exc).__name__)
            return web.json_response({"error": "unreadable request body"}, status=400)
        retry = request.headers.get("X-Slack-Retry-Num")
        if retry:
            log.info(
                "slack retry delivery",
                retry_num=retry,
                reason=request.headers.get("X-Slack-Retry-Reason"),
            )
        response = await self.app.async_dispatch(bolt_request)
        return await to_aiohttp_response(response)

    async def _oauth(self, request: web.Request) -> web.StreamResponse:
        flow = self.app.oauth_flow
        if flow is None:
            return web.json_response({"error": "the OAuth install flow is not enabled"}, status=404)
        bolt_request = await to_bolt_request(request)
        if request.path == INSTALL_PATH:
            response = await flow.handle_installation(bolt_request)
        else:
            response = await flow.handle_callback(bolt_request)
        return await to_aiohttp_response(response)

    async def _healthz(self, _request: web.Request) -> web.StreamResponse:
        return web.json_response({"ok": True})

    async def _readyz(self, _request: web.Request) -> web.StreamResponse:
        problems: list[str] = []
        try:
            await self.services.redis.ping()
        except RedisError as exc:
            problems.append(f"redis: {exc}")
        scheduler = self.services.scheduler
        if scheduler.pending >= scheduler.max_pending:
            problems.append("worker pool full")
        body: dict[str, Any] = {"ok": not problems, "pending_turns": scheduler.pending}
        if problems:
            body["problems"] = problems
        return web.json_response(body, status=200 if not problems else 503)

    async def aclose(self, timeout: float = 30.0) -> None:
        """Finish running turns (up to ``timeout``), then close connections. Turns cut off
        stay queued in Redis for the next start or another replica."""
        if self._sweeper is not None:
            self._sweeper.cancel()
        await self.services.scheduler.aclose(timeout)
        await self.services.aclose()
        await self.services.redis.aclose()
        if self._owns_assistant:
            await self.assistant.aclose()


async def _events_disabled(_request: web.Request) -> web.StreamResponse:
    return web.json_response(
        {"error": "HTTP events are off: set ASSISTANT_SLACK_SIGNING_SECRET to receive them"},
        status=404,
    )


async def _to_dashboard(_request: web.Request) -> web.StreamResponse:
    raise web.HTTPFound("/dashboard/")


async def _dashboard_closed(_request: web.Request) -> web.StreamResponse:
    return web.Response(
        status=403, text="The dashboard is off here: set ASSISTANT_DASHBOARD_TOKEN to open it."
    )


async def _unset_handler(_request: TurnRequest) -> None:
    raise RuntimeError("the scheduler's handler is set by SlackRuntime.start")

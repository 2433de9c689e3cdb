"""``assistant serve``: run the Slack bot until SIGTERM / Ctrl-C.

HTTP mode (no app token): the Bolt app behind ``/slack/events`` plus ``/healthz`` and ``/readyz``.
Socket Mode (``ASSISTANT_SLACK_APP_TOKEN`` set): the same app over a WebSocket; the HTTP port
still serves the health endpoints. On shutdown, running turns get ``drain_s`` to finish.
"""

from __future__ import annotations

import asyncio
import signal
import sys

import structlog
from aiohttp import web
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

from bot.config import load_slack_settings, require_serving
from observe.errors import ServiceError

log = structlog.get_logger(__name__)


async def serve(*, host: str, port: int, drain_s: float = 30.0) -> None:
    """Start everything, announce where it listens, run until a stop signal."""
    slack = load_slack_settings()
    require_serving(slack)
    # Imported only now: bot.server pulls in the models' libraries (seconds), and a missing
    # setting should be reported at once.
    from bot.server import EVENTS_PATH, SlackRuntime
    from graph.settings import load_settings

    settings = load_settings()
    runtime = await SlackRuntime.start(settings, slack)
    runner = web.AppRunner(runtime.web_app(), access_log=None)
    socket: AsyncSocketModeHandler | None = None
    try:
        await runner.setup()
        try:
            await web.TCPSite(runner, host, port).start()
        except OSError as exc:
            raise ServiceError(
                f"cannot listen on {host}:{port}: {exc.strerror}",
                hint="pick another port with --port",
            ) from None
        if slack.app_token is not None:
            socket = AsyncSocketModeHandler(
                runtime.app, slack.app_token.get_secret_value(), web_client=runtime.app.client
            )
            await socket.connect_async()
            mode = "Socket Mode"
        else:
            mode = f"HTTP, events at http://{host}:{port}{EVENTS_PATH}"
        sys.stderr.write(
            f"assistant is serving Slack ({mode}); health at http://{host}:{port}/healthz. "
            "Ctrl-C stops.\n"
        )
        sys.stderr.flush()
        await _until_stopped()
    finally:
        if socket is not None:
            await socket.close_async()
        await runner.cleanup()  # stop taking events first, then finish the accepted turns
        await runtime.aclose(drain_s)


async def _until_stopped() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log.info("stop signal received; finishing running turns")

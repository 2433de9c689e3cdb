"""Running the local Slack Web API double on its own (``assistant slack-double``).

Library use::

    async with SlackDouble() as double:
        client = AsyncWebClient(token="xoxb-test", base_url=double.base_url)
        ...
        [call] = await double.wait_for("chat.postMessage")

Stand-alone (prints the base URL, then each call as one JSON line, until Ctrl-C)::

    assistant slack-double --port 8765
    curl -s -H 'Authorization: Bearer xoxb-demo' http://127.0.0.1:8765/api/auth.test
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import sys

from evals.slack_double.double_app import RecordedCall, SlackDouble
from evals.slack_double.ids import (
    APP_ID,
    BOT_ID,
    BOT_SCOPES,
    BOT_USER_ID,
    BOT_USER_NAME,
    INSTALLER_USER_ID,
    TEAM_DOMAIN,
    TEAM_ID,
    TEAM_NAME,
)

__all__ = [
    "APP_ID",
    "BOT_ID",
    "BOT_SCOPES",
    "BOT_USER_ID",
    "BOT_USER_NAME",
    "INSTALLER_USER_ID",
    "TEAM_DOMAIN",
    "TEAM_ID",
    "TEAM_NAME",
    "RecordedCall",
    "SlackDouble",
    "call_json_line",
    "serve",
]


def _redact(token: str | None) -> str | None:
    """``"xoxb-123-abc"`` -> ``"xoxb-…"``."""
    if not token:
        return None
    prefix, dash, _ = token.partition("-")
    return f"{prefix}{dash}…" if dash else "…"


def call_json_line(call: RecordedCall) -> str:
    """One JSON line describing a recorded call, with the token redacted."""
    record = {
        "method": call.method,
        "args": call.args,
        "token": _redact(call.token),
        "status": call.status,
        "ok": (call.response or {}).get("ok"),
    }
    if call.response and call.response.get("error"):
        record["error"] = call.response["error"]
    return json.dumps(record, ensure_ascii=False, default=str)


def _print_call(call: RecordedCall) -> None:
    sys.stdout.write(call_json_line(call) + "\n")
    sys.stdout.flush()


async def serve(host: str, port: int, latency_s: float) -> None:
    """Serve until SIGINT / SIGTERM, printing the base URL, then each call as a JSON line."""
    double = SlackDouble(latency_s=latency_s)
    double.on_call = _print_call
    await double.start(host=host, port=port)
    sys.stdout.write(f"Slack double listening: base URL {double.base_url}\n")
    sys.stdout.flush()
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):  # no signal handlers on Windows loops
            loop.add_signal_handler(signum, stopping.set)
    try:
        await stopping.wait()
    finally:
        await double.stop()

"""SlackDouble: an in-process Slack Web API, response_url and Socket Mode server.

Point ``AsyncWebClient(base_url=double.base_url)`` (or bolt's app client) at it; every call is
recorded as a :class:`RecordedCall` and answered like Slack would (HTTP 200, ``{"ok": ...}``).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import copy
import json
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, TypeVar

from aiohttp import WSCloseCode, WSMsgType, web

from evals.slack_double.ids import APP_ID, BOT_ID, BOT_USER_ID, TEAM_ID
from evals.slack_double.messages import MessageStore
from evals.slack_double.web_api import ApiError, WebApi

JSON_FIELDS = frozenset(
    "blocks attachments chunks view metadata prompts unfurls user_auth_blocks".split()
)
"""Arguments that form-encoded clients send as JSON strings; recorded decoded."""

T = TypeVar("T")


@dataclass
class RecordedCall:
    """One request the double received."""

    method: str
    """Web API method ("chat.postMessage"), or "response_url" for response_url posts."""
    args: dict[str, Any]
    """Query, form and JSON body merged; JSON-string fields decoded; no ``token``."""
    token: str | None
    """From ``Authorization: Bearer`` or a ``token`` field."""
    at: float
    """``time.monotonic()`` on arrival."""
    http_method: str = "POST"
    rate_limited: bool = False
    status: int = 200
    response: dict[str, Any] | None = None


@dataclass
class _Fault:
    times: int
    error: str | None  # None: rate limited (HTTP 429)
    retry_after: int = 1
    drop: bool = False  # the connection is closed without an answer


async def _read_args(request: web.Request) -> tuple[dict[str, Any], str | None]:
    """Merged arguments and the token of an API request."""
    args: dict[str, Any] = dict(request.query)
    if request.body_exists:
        if request.content_type == "application/json":
            with contextlib.suppress(ValueError):
                body = await request.json()
                if isinstance(body, dict):
                    args.update(body)
        else:
            for key, value in (await request.post()).items():
                args[key] = value if isinstance(value, str) else getattr(value, "filename", "")
    for key in JSON_FIELDS & args.keys():
        value = args[key]
        if isinstance(value, str) and value.lstrip()[:1] in ("[", "{"):
            with contextlib.suppress(ValueError):
                args[key] = json.loads(value)
    token = args.pop("token", None)
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        token = credentials.strip()
    elif scheme.lower() == "basic" and credentials.strip():
        with contextlib.suppress(binascii.Error, UnicodeDecodeError):
            client_id, _, secret = base64.b64decode(credentials).decode().partition(":")
            args.setdefault("client_id", client_id)
            args.setdefault("client_secret", secret)
    return args, (str(token) if token else None)


class SlackDouble:
    """A local Slack: Web API methods, a message store, fault injection and Socket Mode.

    Use ``async with SlackDouble() as double:`` or ``await double.start()`` / ``stop()``.
    Stop Socket Mode clients before the double, or they will try to reconnect.
    """

    def __init__(self, *, latency_s: float = 0.0) -> None:
        self.calls: list[RecordedCall] = []
        self.store = MessageStore()
        self.api = WebApi(self.store)
        self.latency_s = latency_s
        """Seconds added before every API and response_url response."""
        self.on_call: Callable[[RecordedCall], None] | None = None
        """Called with each call once answered (the CLI prints them)."""
        self.socket_acks: dict[str, dict[str, Any]] = {}
        self.base_url = ""
        self.origin = ""
        self._faults: dict[str, list[_Fault]] = {}
        self._sockets: list[web.WebSocketResponse] = []
        self._changed = asyncio.Event()
        self._runner: web.AppRunner | None = None

    @property
    def admins(self) -> set[str]:
        """User ids ``users.info`` reports with ``is_admin: true``."""
        return self.api.admins

    @admins.setter
    def admins(self, value: set[str]) -> None:
        self.api.admins = set(value)

    @property
    def users(self) -> dict[str, dict[str, Any]]:
        """Per-user overrides merged into ``users.info`` (e.g. ``{"U1": {"tz": "Asia/Tokyo"}}``)."""
        return self.api.users

    # --- lifecycle ----------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> SlackDouble:
        """Serve on ``host:port`` (0 picks a free port) and set ``base_url``."""
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._handle_api)
        app.router.add_post("/response/{id}", self._handle_response_url)
        app.router.add_get("/socket", self._handle_socket)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port).start()
        bound_port = self._runner.addresses[0][1]
        public_host = "127.0.0.1" if host in ("", "0.0.0.0") else host
        self.origin = f"http://{public_host}:{bound_port}"
        self.base_url = f"{self.origin}/api/"
        self.api.socket_url = f"ws://{public_host}:{bound_port}/socket"
        return self

    async def stop(self) -> None:
        """Close Socket Mode connections and the server."""
        for ws in list(self._sockets):
            await ws.close(code=WSCloseCode.GOING_AWAY, message=b"server stopping")
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> SlackDouble:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # --- recorded calls -----------------------------------------------------------------------

    def calls_to(self, *methods: str) -> list[RecordedCall]:
        """Recorded calls to any of ``methods``, in arrival order."""
        return [c for c in self.calls if c.method in methods]

    async def wait_for(
        self,
        method: str | tuple[str, ...],
        count: int = 1,
        timeout: float = 10.0,
        predicate: Callable[[RecordedCall], bool] | None = None,
    ) -> list[RecordedCall]:
        """All calls to ``method`` (or any of several; matching ``predicate``) once there are at
        least ``count``."""
        methods = (method,) if isinstance(method, str) else method

        def found() -> list[RecordedCall]:
            return [c for c in self.calls_to(*methods) if predicate is None or predicate(c)]

        def matching() -> list[RecordedCall] | None:
            calls = found()
            return calls if len(calls) >= count else None

        def describe() -> str:
            seen = [c.method for c in self.calls]
            got = len(found())
            return f"waited {timeout}s for {count} x {method!r}, got {got}; recorded: {seen}"

        return await self._wait(matching, timeout, describe)

    def reset(self, *, messages: bool = True) -> None:
        """Forget calls, faults and socket acks (and stored messages unless ``messages=False``)."""
        self.calls.clear()
        self._faults.clear()
        self.socket_acks.clear()
        self.store.expire_after_appends = None
        if messages:
            self.store.clear()

    # --- message store ------------------------------------------------------------------------

    def add_message(
        self,
        channel: str,
        user: str,
        text: str,
        thread_ts: str | None = None,
        ts: str | None = None,
    ) -> str:
        """Seed a message (e.g. the user message an event refers to); returns its ts."""
        message: dict[str, Any] = {
            "type": "message",
            "user": user,
            "text": text,
            "ts": ts or self.store.next_ts(),
            "team": TEAM_ID,
        }
        if user == BOT_USER_ID:
            message["bot_id"] = BOT_ID
        if thread_ts:
            message["thread_ts"] = thread_ts
        return str(self.store.add(channel, message)["ts"])

    def message(self, channel: str, ts: str) -> dict[str, Any] | None:
        """A copy of a stored message with ``text``, ``blocks``, ``thread_ts``, ``streaming``."""
        return self.store.snapshot(channel, ts)

    def thread(self, channel: str, thread_ts: str) -> list[dict[str, Any]]:
        """The parent and replies of a thread, oldest first (like :meth:`message`)."""
        snapshots = [
            self.store.snapshot(channel, m["ts"]) for m in self.store.thread(channel, thread_ts)
        ]
        return [m for m in snapshots if m is not None]

    def response_url(self, response_id: str) -> str:
        """A response_url served by the double; posts to it are recorded as "response_url"."""
        return f"{self.origin}/response/{response_id}"

    # --- fault injection ----------------------------------------------------------------------

    def rate_limit(self, method: str, times: int = 1, retry_after: int = 1) -> None:
        """The next ``times`` calls of ``method`` get HTTP 429 with ``Retry-After``."""
        self._faults.setdefault(method, []).append(_Fault(times, None, retry_after))

    def fail(self, method: str, error: str = "internal_error", times: int = 1) -> None:
        """The next ``times`` calls of ``method`` get ``{"ok": false, "error": error}``."""
        self._faults.setdefault(method, []).append(_Fault(times, error))

    def drop_connection(self, method: str, times: int = 1) -> None:
        """The next ``times`` calls of ``method`` get no answer: the connection is closed, as a
        network failure would (the client sees a disconnect, not a Slack error)."""
        self._faults.setdefault(method, []).append(_Fault(times, "connection closed", drop=True))

    def expire_stream(self, channel: str, ts: str) -> None:
        """Further append/stop on this stream fail with ``message_not_in_streaming_state``."""
        self.store.expire(channel, ts)

    def expire_streams_after_appends(self, n: int | None) -> None:
        """Every stream expires once it has had ``n`` successful appends (None: never)."""
        self.store.expire_after_appends = n

    def _take_fault(self, method: str) -> _Fault | None:
        queue = self._faults.get(method)
        if not queue:
            return None
        fault = queue[0]
        fault.times -= 1
        if fault.times <= 0:
            queue.pop(0)
        return fault

    # --- Socket Mode --------------------------------------------------------------------------

    @property
    def socket_connections(self) -> int:
        """Number of connected Socket Mode clients."""
        return len(self._sockets)

    async def wait_socket_connected(self, timeout: float = 10.0, count: int = 1) -> None:
        """Wait until at least ``count`` Socket Mode clients are connected."""

        def connected() -> bool | None:
            return True if len(self._sockets) >= count else None

        await self._wait(connected, timeout, lambda: f"no Socket Mode client within {timeout}s")

    async def socket_send(
        self,
        payload: dict[str, Any],
        type: str = "events_api",
        accepts_response_payload: bool = False,
        *,
        envelope_id: str | None = None,
        retry_attempt: int = 0,
        retry_reason: str = "",
        broadcast: bool = False,
    ) -> str:
        """Send an envelope to the first (or every) connected client; returns its envelope_id."""
        if not self._sockets:
            raise RuntimeError("no Socket Mode client is connected")
        envelope_id = envelope_id or str(uuid.uuid4())
        envelope = {
            "envelope_id": envelope_id,
            "type": type,
            "payload": payload,
            "accepts_response_payload": accepts_response_payload,
            "retry_attempt": retry_attempt,
            "retry_reason": retry_reason,
        }
        targets: Sequence[web.WebSocketResponse] = self._sockets if broadcast else self._sockets[:1]
        for ws in list(targets):
            await ws.send_json(envelope)
        return envelope_id

    async def socket_request_disconnect(self, reason: str = "refresh_requested") -> None:
        """Ask every client to reconnect, as Slack does before recycling a connection."""
        for ws in list(self._sockets):
            await ws.send_json(
                {"type": "disconnect", "reason": reason, "debug_info": {"host": "applink-double"}}
            )

    async def wait_socket_ack(self, envelope_id: str, timeout: float = 10.0) -> dict[str, Any]:
        """The client's ack (``{"envelope_id": ..., "payload"?: ...}``) of an envelope."""
        acked = self.socket_acks
        message = f"no ack of envelope {envelope_id!r} within {timeout}s"
        return await self._wait(lambda: acked.get(envelope_id), timeout, lambda: message)

    # --- HTTP handlers ------------------------------------------------------------------------

    async def _handle_api(self, request: web.Request) -> web.Response:
        args, token = await _read_args(request)
        call = RecordedCall(
            request.match_info["method"], args, token, time.monotonic(), request.method
        )
        self.calls.append(call)
        headers: dict[str, str] = {}
        fault = self._take_fault(call.method)
        if fault is not None and fault.drop and request.transport is not None:
            call.status = 0
            self._record(call)
            request.transport.close()
            return web.Response(status=500)  # never reaches the client
        if fault is not None and fault.error is None:
            call.rate_limited, call.status = True, 429
            call.response = {"ok": False, "error": "ratelimited"}
            headers["Retry-After"] = str(fault.retry_after)
        elif fault is not None:
            call.response = {"ok": False, "error": fault.error}
        else:
            try:
                call.response = self.api.handle(call.method, copy.deepcopy(args), token)
            except ApiError as exc:
                call.response = exc.body()
        self._record(call)
        if self.latency_s > 0:
            await asyncio.sleep(self.latency_s)
        return web.json_response(call.response, status=call.status, headers=headers)

    async def _handle_response_url(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except ValueError:
            body = {"raw": await request.text()}
        args = body if isinstance(body, dict) else {"body": body}
        args["response_url_id"] = request.match_info["id"]
        call = RecordedCall("response_url", args, None, time.monotonic(), response={"ok": True})
        self.calls.append(call)
        self._record(call)
        if self.latency_s > 0:
            await asyncio.sleep(self.latency_s)
        return web.Response(text="ok")

    async def _handle_socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.send_json(
            {
                "type": "hello",
                "num_connections": len(self._sockets) + 1,
                "debug_info": {
                    "host": "applink-double",
                    "build_number": 1,
                    "approximate_connection_time": 18060,
                },
                "connection_info": {"app_id": APP_ID},
            }
        )
        self._sockets.append(ws)
        self._notify()
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                with contextlib.suppress(ValueError):
                    data = json.loads(msg.data)
                    if isinstance(data, dict) and data.get("envelope_id"):
                        self.socket_acks[str(data["envelope_id"])] = data
                        self._notify()
        finally:
            self._sockets.remove(ws)
            self._notify()
        return ws

    # --- waiting ------------------------------------------------------------------------------

    def _record(self, call: RecordedCall) -> None:
        self._notify()
        if self.on_call is not None:
            self.on_call(call)

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def _wait(
        self, check: Callable[[], T | None], timeout: float, describe: Callable[[], str]
    ) -> T:
        deadline = time.monotonic() + timeout
        while True:
            result = check()
            if result is not None:
                return result
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(describe())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)

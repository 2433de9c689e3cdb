"""The ops dashboard as an aiohttp application: the page, its static files and a JSON API.

``dashboard_app(panels, token=...)`` serves, relative to wherever it is mounted (``/`` for
``assistant dashboard``, ``/dashboard/`` on the bot's HTTP server):

- ``GET /``: the page (vendored Chart.js, no CDN);
- ``GET /api/summary?range=24h&channel=&intent=&model=``: every panel;
- ``GET /api/facets``: the filters' values; ``GET /api/trace/{trace_id}``: one trace's spans.

With a ``token`` every request needs it: ``?token=…`` once (it is then kept in an HttpOnly,
SameSite=Strict cookie scoped to the mount) or an ``Authorization: Bearer …`` header. Queries
run in a worker thread, never on the event loop. Bad parameters get a 400 with the reason.
"""

from __future__ import annotations

import asyncio
import hmac
import json
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

from aiohttp import web

from observe.dashboard.queries import Filters, Panels

COOKIE = "assistant_dashboard"
STATIC = Path(str(resources.files("observe.dashboard") / "static"))
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return str(value)


def _json(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, dumps=lambda d: json.dumps(d, default=_default))


def _token_guard(token: str | None, prefix: str) -> Callable[..., Awaitable[web.StreamResponse]]:
    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        if token is None:
            return await handler(request)
        given = (
            request.query.get("token")
            or request.cookies.get(COOKIE)
            or request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        )
        if not given or not hmac.compare_digest(given.encode(), token.encode()):
            return web.Response(
                status=401,
                text="This dashboard needs its token: open it with ?token=… "
                "(ASSISTANT_DASHBOARD_TOKEN, or the one `assistant dashboard` printed).",
            )
        response = await handler(request)
        if request.query.get("token"):
            response.set_cookie(COOKIE, token, httponly=True, samesite="Strict", path=prefix)
        return response

    return guard


def dashboard_app(
    panels: Panels, *, token: str | None = None, prefix: str = "/"
) -> web.Application:
    """The dashboard over ``panels``; ``token`` protects every route (``None``: open)."""
    app = web.Application(middlewares=[_token_guard(token, prefix)])

    async def page(_request: web.Request) -> web.StreamResponse:
        return web.FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-store"})

    async def summary(request: web.Request) -> web.Response:
        try:
            filters = Filters.from_query(dict(request.query))
        except ValueError as exc:
            return _json({"error": str(exc)}, status=400)
        return _json(await asyncio.to_thread(panels.summary, filters))

    async def facets(_request: web.Request) -> web.Response:
        return _json(await asyncio.to_thread(panels.facets))

    async def trace(request: web.Request) -> web.Response:
        try:
            spans = await asyncio.to_thread(panels.trace, request.match_info["trace_id"])
        except ValueError as exc:
            return _json({"error": str(exc)}, status=400)
        if not spans:
            return _json({"error": "no such trace in the log"}, status=404)
        for span in spans:
            span["attributes"] = json.loads(span["attributes"] or "{}")
        return _json({"spans": spans})

    app.router.add_get("/", page)
    app.router.add_get("/api/summary", summary)
    app.router.add_get("/api/facets", facets)
    app.router.add_get("/api/trace/{trace_id}", trace)
    app.router.add_static("/static", STATIC)
    return app


def is_loopback(host: str) -> bool:
    """Whether ``host`` only listens on this machine."""
    return host in {"127.0.0.1", "::1", "localhost"} or host.startswith("127.")

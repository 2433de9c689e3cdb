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
import ipaddress
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
        if request.query.get("token") and request.method == "GET" and _is_page(request, prefix):
            # Keep the token in a cookie and take it out of the address bar (history, proxies).
            clean = request.rel_url.with_query(
                {k: v for k, v in request.query.items() if k != "token"}
            )
            response: web.StreamResponse = web.HTTPSeeOther(location=str(clean))
        else:
            response = await handler(request)
        if request.query.get("token"):
            response.set_cookie(
                COOKIE, token, httponly=True, samesite="Strict", path=prefix, secure=request.secure
            )
        return response

    return guard


def _is_page(request: web.Request, prefix: str) -> bool:
    return request.path in {prefix, prefix.rstrip("/") or "/"}


def _host_guard(hosts: frozenset[str] | None) -> Callable[..., Awaitable[web.StreamResponse]]:
    """Refuse requests whose ``Host`` is not one of ``hosts`` (DNS rebinding: a web page that
    points its own name at 127.0.0.1 cannot read a loopback dashboard)."""

    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        if hosts is not None:
            try:
                name = (request.url.host or "").lower()
            except ValueError:
                name = ""
            if name not in hosts:
                return web.Response(status=421, text=f"unexpected Host {request.host!r}")
        return await handler(request)

    return guard


LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def dashboard_app(
    panels: Panels,
    *,
    token: str | None = None,
    prefix: str = "/",
    hosts: frozenset[str] | None = None,
) -> web.Application:
    """The dashboard over ``panels``; ``token`` protects every route (``None``: open);
    ``hosts`` limits the ``Host`` header (``LOOPBACK_HOSTS`` for an open loopback server)."""
    app = web.Application(middlewares=[_host_guard(hosts), _token_guard(token, prefix)])

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
    """Whether the interface ``host`` only listens on this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False

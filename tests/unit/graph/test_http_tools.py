"""Configured HTTP tools against a real local HTTP server: requests, auth, errors, retries."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from pydantic import BaseModel, ValidationError

from graph.settings import Settings
from graph.tools.http_tools import http_tool
from graph.tools.registry import Tool, ToolDeps, ToolRegistry, TransientToolError
from graph.tools.specs import HttpToolSpec, ToolSettings
from guards.redaction import REDACTOR
from observe.tracing import Tracer


class Service:
    """A help desk: records every request; ``status`` and ``delay_s`` shape its answers."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.statuses: list[int] = []
        self.delay_s = 0.0
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.text()
        self.requests.append(
            {
                "method": request.method,
                "path": request.path,
                "query": dict(request.query),
                "headers": dict(request.headers),
                "body": json.loads(body) if body else None,
            }
        )
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if request.path == "/big":  # a chunked body larger than one read
            response = web.StreamResponse(headers={"Content-Type": "text/plain"})
            await response.prepare(request)
            for n in range(40):
                await response.write(f"{n:03d}".encode() + b"x" * 97)
                await asyncio.sleep(0)
            await response.write_eof()
            return response
        if request.path == "/moved":
            raise web.HTTPFound("/login")
        if request.path == "/echo":  # a careless service that repeats the credential
            return web.json_response({"you_sent": request.headers.get("Authorization")})
        status = self.statuses.pop(0) if self.statuses else 200
        if status != 200:
            return web.json_response({"error": "nope"}, status=status)
        return web.json_response({"id": "T-1", "path": request.path})


@pytest.fixture
async def service() -> AsyncIterator[Service]:
    svc = Service()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", svc.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    svc.url = f"http://127.0.0.1:{port}"
    yield svc
    await runner.cleanup()


@pytest.fixture
def deps(tmp_path: Path) -> ToolDeps:
    settings = Settings(data_dir=tmp_path / "data")
    tracer = Tracer(settings.traces_path, redactor=REDACTOR)
    return ToolDeps(settings=settings, tracer=tracer, trace_id="e" * 32, user_id="U1")


def spec(url: str, **extra: Any) -> HttpToolSpec:
    return HttpToolSpec.model_validate(
        {
            "description": "Open a ticket.",
            "url": url,
            "auth": {"header": "Authorization", "env": "HELPDESK_TOKEN", "scheme": "Bearer"},
            "args": {
                "title": {"type": "string", "required": True, "max_length": 50},
                "priority": {"type": "string", "enum": ["low", "high"], "default": "low"},
            },
            **extra,
        }
    )


async def test_post_sends_json_with_the_secret_from_the_environment(
    service: Service, deps: ToolDeps, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HELPDESK_TOKEN", "s3cret-token-value")
    tool = http_tool("create_ticket", spec(f"{service.url}/api/tickets"))
    assert tool.side_effect and tool.source == "http"
    assert tool.schema()["function"]["parameters"]["required"] == ["title"]
    result = await ToolRegistry([tool]).run("create_ticket", {"title": "VPN down"}, deps)
    assert result.ok, result.output
    assert json.loads(result.output)["id"] == "T-1"
    (sent,) = service.requests
    assert sent["method"] == "POST" and sent["path"] == "/api/tickets"
    assert sent["body"] == {"title": "VPN down", "priority": "low"}
    assert sent["headers"]["Authorization"] == "Bearer s3cret-token-value"
    echo = http_tool("echo", spec(f"{service.url}/echo"))
    echoed = await ToolRegistry([echo]).run("echo", {"title": "x"}, deps)
    assert echoed.ok and "s3cret-token-value" not in echoed.output
    assert "Bearer [credential]" in echoed.output
    deps.tracer.close()
    assert "s3cret-token-value" not in deps.settings.traces_path.read_text()


async def test_get_fills_the_path_quoted_and_the_rest_goes_in_the_query(
    service: Service, deps: ToolDeps, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HELPDESK_TOKEN", "t")
    tool = http_tool("ticket_status", spec(f"{service.url}/api/tickets/{{title}}", method="GET"))
    assert not tool.side_effect
    result = await ToolRegistry([tool]).run(
        "ticket_status", {"title": "../admin?x=1", "priority": "high"}, deps
    )
    assert result.ok
    (sent,) = service.requests
    assert sent["path"] == "/api/tickets/../admin?x=1"  # one quoted segment, decoded by the server
    assert sent["query"] == {"priority": "high"}


def test_the_host_is_fixed_by_the_configuration() -> None:
    with pytest.raises(ValidationError, match="not the host"):
        spec("https://{title}.example.com/x")
    with pytest.raises(ValidationError, match="not among args"):
        spec("https://example.com/{ticket}")
    with pytest.raises(ValidationError, match="tool names must match"):
        ToolSettings.model_validate({"http": {"Bad-Name": spec("https://e.com").model_dump()}})
    with pytest.raises(ValidationError, match="must be required"):
        spec("https://example.com/{priority}")
    with pytest.raises(ValidationError, match="MCP server names"):
        ToolSettings.model_validate({"mcp": {"wiki_admin": {"transport": "stdio", "command": "x"}}})
    clash = {"http": {"wiki_delete": spec("https://e.com").model_dump()}}
    with pytest.raises(ValidationError, match="named like an MCP server"):
        ToolSettings.model_validate(
            {**clash, "mcp": {"wiki": {"transport": "stdio", "command": "x"}}}
        )


async def test_errors_are_messages_and_a_missing_secret_says_which(
    service: Service, deps: ToolDeps, monkeypatch: pytest.MonkeyPatch
) -> None:
    tool = http_tool("create_ticket", spec(f"{service.url}/t"))
    registry = ToolRegistry([tool])
    monkeypatch.delenv("HELPDESK_TOKEN", raising=False)
    missing = await registry.run("create_ticket", {"title": "x"}, deps)
    assert not missing.ok and "HELPDESK_TOKEN" in missing.output and not service.requests
    monkeypatch.setenv("HELPDESK_TOKEN", "t")
    service.statuses = [403]
    refused = await registry.run("create_ticket", {"title": "x"}, deps)
    assert not refused.ok and "HTTP 403" in refused.output
    bad = await registry.run("create_ticket", {"title": "x" * 51, "extra": 1}, deps)
    assert not bad.ok and bad.error_type == "ValidationError" and "extra" in bad.output


async def test_idempotent_tools_retry_transient_failures_and_side_effects_never_do(
    service: Service, deps: ToolDeps, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HELPDESK_TOKEN", "t")
    reader = http_tool("status", spec(f"{service.url}/s", method="GET", retries=2))
    writer = http_tool("create_ticket", spec(f"{service.url}/t", retries=2))
    registry = ToolRegistry([reader, writer])
    service.statuses = [503, 429]
    read = await registry.run("status", {"title": "x"}, deps)
    assert read.ok and read.attempts == 3 and len(service.requests) == 3
    service.requests.clear()
    service.statuses = [503]
    write = await registry.run("create_ticket", {"title": "x"}, deps)
    assert not write.ok and write.attempts == 1 and len(service.requests) == 1
    assert write.error_type == "TransientToolError" and "unavailable" in write.output


async def test_timeouts_are_retried_then_reported(deps: ToolDeps) -> None:
    calls: list[float] = []

    class NoArgs(BaseModel):
        pass

    async def slow_then_fast(args: NoArgs, deps: ToolDeps) -> str:
        calls.append(0.0)
        if len(calls) == 1:
            await asyncio.sleep(1)
        return "fine"

    async def always_slow(args: NoArgs, deps: ToolDeps) -> str:
        await asyncio.sleep(1)
        return "never"

    async def flaky(args: NoArgs, deps: ToolDeps) -> str:
        raise TransientToolError("The flaky service is unavailable.")

    registry = ToolRegistry(
        [
            Tool("eventually", "", NoArgs, slow_then_fast, timeout_s=0.1, retries=1),
            Tool("stuck", "", NoArgs, always_slow, timeout_s=0.05, retries=2),
            Tool("flaky", "", NoArgs, flaky, retries=1),
        ]
    )
    ok = await registry.run("eventually", {}, deps)
    assert ok.ok and ok.attempts == 2 and ok.output == "fine"
    stuck = await registry.run("stuck", {}, deps)
    assert not stuck.ok and stuck.attempts == 3 and "3 attempts" in stuck.output
    flaky_result = await registry.run("flaky", {}, deps)
    assert not flaky_result.ok and flaky_result.attempts == 2


async def test_long_output_is_cut_with_a_note(deps: ToolDeps) -> None:
    class NoArgs(BaseModel):
        pass

    async def chatty(args: NoArgs, deps: ToolDeps) -> str:
        return "x" * 5000

    result = await ToolRegistry([Tool("chatty", "", NoArgs, chatty, max_output_chars=1000)]).run(
        "chatty", {}, deps
    )
    assert result.truncated and result.output.startswith("x" * 1000)
    assert "4,000 more characters" in result.output and len(result.output) < 1100


async def test_placeholders_cannot_leave_their_path_segment(
    service: Service, deps: ToolDeps, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HELPDESK_TOKEN", "t")
    tool = http_tool("status", spec(f"{service.url}/api/tickets/{{title}}/log", method="GET"))
    registry = ToolRegistry([tool])
    for value in ("..", ".", " "):
        result = await registry.run("status", {"title": value}, deps)
        assert not result.ok and "cannot be empty" in result.output
    assert service.requests == []


async def test_whole_bodies_redirects_refused_and_service_text_made_inert(
    service: Service, deps: ToolDeps, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HELPDESK_TOKEN", "t")
    big = http_tool("big", spec(f"{service.url}/big", method="GET", max_output_chars=200))
    moved = http_tool("moved", spec(f"{service.url}/moved", method="GET"))
    registry = ToolRegistry([big, moved])
    read = await registry.run("big", {"title": "x"}, deps)
    assert read.ok and read.truncated and "more characters" in read.output
    assert read.output.startswith("000" + "x" * 97 + "001"), "more than one chunk was read"
    redirected = await registry.run("moved", {"title": "x"}, deps)
    assert not redirected.ok and "redirect (HTTP 302)" in redirected.output

"""HTTP tools from ``assistant.yaml`` (``tools.http``): one allow-listed endpoint each.

A call fills the URL's placeholders with its URL-quoted arguments, sends the other arguments as
the query (``GET``, ``DELETE``) or a JSON body, adds the auth header read from the environment at
call time, and returns the response body (compact JSON, or text). A 429 or 5xx is a
``TransientToolError`` (retried when the tool has no side effects); any other error status, a
refused connection or a missing secret is a ``ToolError`` whose message says what to fix. The
secret never reaches a message, a span or a log.
"""

from __future__ import annotations

import json
import os
from typing import Any
from urllib.parse import quote

import aiohttp
from pydantic import BaseModel

from graph.tools.args_schema import args_model
from graph.tools.registry import Tool, ToolDeps, TransientToolError
from graph.tools.specs import HttpToolSpec
from observe.errors import ToolError

USER_AGENT = "slack-assistant-tools/1"


def spec_schema(spec: HttpToolSpec) -> dict[str, Any]:
    """The tool's arguments as a JSON object schema."""
    return {
        "type": "object",
        "properties": {name: arg.json_schema() for name, arg in spec.args.items()},
        "required": [name for name, arg in spec.args.items() if arg.required],
    }


def _auth_headers(name: str, spec: HttpToolSpec) -> dict[str, str]:
    if spec.auth is None:
        return {}
    secret = os.environ.get(spec.auth.env)
    if not secret:
        raise ToolError(
            f"The {name} tool is not set up: its credential is missing "
            f"(set the {spec.auth.env} environment variable)."
        )
    value = f"{spec.auth.scheme} {secret}" if spec.auth.scheme else secret
    return {spec.auth.header: value}


def _request_parts(spec: HttpToolSpec, args: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The URL with its placeholders filled, and the arguments left for the query or body;
    a placeholder value that would leave its path segment (empty, ``.``, ``..``) is refused."""
    used = set(spec.placeholders())
    bad = [k for k in used if str(args.get(k) or "").strip() in ("", ".", "..")]
    if bad:
        raise ToolError(f"The {', '.join(sorted(bad))} value cannot be empty, '.' or '..'.")
    url = spec.url.format_map({k: quote(str(args[k]), safe="") for k in used})
    rest = {k: v for k, v in args.items() if k not in used and v is not None}
    return url, rest


def _without_secret(text: str, spec: HttpToolSpec) -> str:
    """``text`` with the tool's credential cut out, should a service echo it back."""
    secret = os.environ.get(spec.auth.env, "") if spec.auth is not None else ""
    return text.replace(secret, "[credential]") if len(secret) >= 4 else text


async def _read_up_to(stream: aiohttp.StreamReader, limit: int) -> bytes:
    """Up to ``limit`` bytes of the body (``read(n)`` alone returns what is buffered)."""
    parts: list[bytes] = []
    size = 0
    while size < limit:
        part = await stream.read(limit - size)
        if not part:
            break
        parts.append(part)
        size += len(part)
    return b"".join(parts)


def _body_text(raw: bytes, content_type: str) -> str:
    text = raw.decode("utf-8", errors="replace")
    if "json" in content_type:
        try:
            return json.dumps(json.loads(text), ensure_ascii=False, separators=(",", ": "))
        except ValueError:
            return text
    return text


def http_tool(name: str, spec: HttpToolSpec) -> Tool:
    """The registry's ``Tool`` for one configured endpoint."""
    model = args_model(name, spec_schema(spec))

    async def call(args: BaseModel, deps: ToolDeps) -> str:
        values = args.model_dump(by_alias=True)
        url, rest = _request_parts(spec, values)
        headers = {"User-Agent": USER_AGENT, **_auth_headers(name, spec)}
        in_query = spec.method in ("GET", "DELETE")
        try:
            async with (
                aiohttp.ClientSession() as session,
                session.request(
                    spec.method,
                    url,
                    params={k: str(v) for k, v in rest.items()} if in_query else None,
                    json=None if in_query else rest,
                    headers=headers,
                    allow_redirects=False,
                ) as response,
            ):
                raw = await _read_up_to(response.content, spec.max_output_chars * 4 + 1)
                status = response.status
                content_type = response.headers.get("Content-Type", "")
        except aiohttp.ClientConnectionError:
            raise TransientToolError(
                f"The {name} tool could not reach its service; try again later."
            ) from None
        if status == 429 or status >= 500:
            raise TransientToolError(f"The {name} service is unavailable (HTTP {status}).")
        if 300 <= status < 400:
            raise ToolError(
                f"The {name} service answered with a redirect (HTTP {status}); it was not "
                "followed. Check the tool's url."
            )
        if status >= 400:
            detail = _without_secret(_body_text(raw[:300], content_type), spec).strip()
            raise ToolError(
                f"The {name} service refused the request (HTTP {status})"
                + (f": {detail}" if detail else ".")
            )
        body = _without_secret(_body_text(raw, content_type), spec).strip()
        return body or f"Done (HTTP {status})."

    return Tool(
        name,
        spec.description,
        model,
        call,
        timeout_s=spec.timeout_s,
        side_effect=spec.changes_things,
        retries=spec.retries,
        max_output_chars=spec.max_output_chars,
        source="http",
    )

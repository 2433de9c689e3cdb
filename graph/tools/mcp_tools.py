"""Tools from MCP servers (``tools.mcp`` in ``assistant.yaml``), through langchain-mcp-adapters.

``load_mcp_tools(specs)`` asks every configured server (stdio or streamable HTTP) for its tools and
wraps each as a registry ``Tool`` named ``<server>_<tool>``. A tool needs approval unless the
server annotates it ``readOnlyHint`` or the spec lists it under ``read_only``. A server that
cannot be reached is left out and named in the returned problems; the assistant starts without
its tools rather than not at all. Each call opens its own session (the adapter's default), so a
server restart between calls is harmless.
"""

from __future__ import annotations

import os
from typing import Any

from langchain_core.tools import BaseTool
from pydantic import BaseModel

from graph.tools.args_schema import args_model
from graph.tools.registry import Tool, ToolDeps, TransientToolError
from graph.tools.specs import McpServerSpec
from observe.errors import ToolError


def connection(spec: McpServerSpec) -> dict[str, Any]:
    """The adapter's connection settings for one server (secrets read from the environment)."""
    if spec.transport == "stdio":
        return {
            "transport": "stdio",
            "command": str(spec.command),
            "args": list(spec.args),
            "env": {**os.environ, **spec.env},
            "cwd": spec.cwd,
        }
    headers = {name: os.environ.get(env, "") for name, env in spec.headers_env.items()}
    return {
        "transport": "streamable_http",
        "url": str(spec.url),
        "headers": headers,
        "timeout": spec.timeout_s,
    }


def content_text(content: Any) -> str:
    """An MCP result's content blocks as text (non-text blocks named, not dropped silently)."""
    if isinstance(content, str):
        return content
    parts: list[str] = []
    for block in content if isinstance(content, list) else [content]:
        if isinstance(block, dict):
            kind = block.get("type")
            parts.append(str(block.get("text", "")) if kind == "text" else f"[{kind} content]")
        else:
            parts.append(str(block))
    return "\n".join(p for p in parts if p)


def _wrap(server: str, spec: McpServerSpec, tool: BaseTool) -> Tool:
    schema = tool.args_schema if isinstance(tool.args_schema, dict) else {}
    plain = tool.name.removeprefix(f"{server}_")
    annotations = tool.metadata or {}
    read_only = plain in spec.read_only or bool(annotations.get("readOnlyHint"))

    async def call(args: BaseModel, deps: ToolDeps) -> str:
        try:
            content = await tool.ainvoke(args.model_dump(exclude_none=True))
        except (OSError, ConnectionError) as exc:
            raise TransientToolError(
                f"The {server} tool server could not be reached ({type(exc).__name__})."
            ) from None
        except Exception as exc:  # the server reported an error: its message is for the user
            message = str(exc).strip() or type(exc).__name__
            raise ToolError(f"The {tool.name} tool failed: {message[:300]}") from None
        return content_text(content)

    return Tool(
        tool.name,
        tool.description or f"{plain} (from the {server} MCP server)",
        args_model(tool.name, schema),
        call,
        timeout_s=spec.timeout_s,
        side_effect=not read_only,
        retries=1 if read_only else 0,
        source=f"mcp:{server}",
    )


async def load_mcp_tools(specs: dict[str, McpServerSpec]) -> tuple[list[Tool], list[str]]:
    """Every configured server's tools, and one problem line per server that failed."""
    if not specs:
        return [], []
    from langchain_mcp_adapters.client import MultiServerMCPClient

    client = MultiServerMCPClient(
        {name: connection(spec) for name, spec in specs.items()},  # type: ignore[misc]
        tool_name_prefix=True,
        handle_tool_errors=False,
    )
    tools: list[Tool] = []
    problems: list[str] = []
    for server, spec in specs.items():
        try:
            found = await client.get_tools(server_name=server)
        except Exception as exc:  # one broken server must not keep the others out
            problems.append(f"MCP server {server!r} gave no tools: {type(exc).__name__}: {exc}")
            continue
        for tool in found:
            plain = tool.name.removeprefix(f"{server}_")
            if spec.tools is None or plain in spec.tools:
                tools.append(_wrap(server, spec, tool))
    return tools, problems

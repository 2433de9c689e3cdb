"""Tools from MCP servers (``tools.mcp`` in ``assistant.yaml``), through langchain-mcp-adapters.

``load_mcp_tools(specs)`` asks every configured server (stdio or streamable HTTP) for its tools and
wraps each as a registry ``Tool`` named ``<server>_<tool>``. A tool needs approval unless the
spec lists it under ``read_only`` (or trusts the server's ``readOnlyHint``). A stdio server gets
a minimal environment, never the assistant's own secrets. A server that
cannot be reached is left out and named in the returned problems; the assistant starts without
its tools rather than not at all. A streamable-HTTP call opens its own session (the adapter's
default: a server restart between calls is harmless); a stdio server is started once and held
(``graph.tools.mcp_session``), so ``McpTools.aclose`` must run at shutdown.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from langchain_core.tools import BaseTool
from pydantic import BaseModel

from graph.tools.args_schema import args_model
from graph.tools.mcp_session import HeldSession
from graph.tools.registry import Tool, ToolDeps, TransientToolError
from graph.tools.specs import McpServerSpec
from observe.errors import ToolError


def connection(spec: McpServerSpec) -> dict[str, Any]:
    """The adapter's connection settings for one server (secrets read from the environment)."""
    if spec.transport == "stdio":
        from mcp.client.stdio import get_default_environment

        inherited = {k: os.environ[k] for k in spec.inherit_env if k in os.environ}
        return {  # never the whole environment: it holds the bot's tokens and keys
            "transport": "stdio",
            "command": str(spec.command),
            "args": list(spec.args),
            "env": {**get_default_environment(), **inherited, **spec.env},
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


@dataclass
class McpTools:
    """The configured servers' tools, what went wrong loading them, and the held sessions."""

    tools: list[Tool] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    held: list[HeldSession] = field(default_factory=list)

    async def aclose(self) -> None:
        """Stop the stdio servers this process started."""
        for session in self.held:
            await session.aclose()


def _wrap(server: str, spec: McpServerSpec, tool: BaseTool, held: HeldSession | None) -> Tool:
    schema = tool.args_schema if isinstance(tool.args_schema, dict) else {}
    plain = tool.name.removeprefix(f"{server}_")
    annotations = tool.metadata or {}
    read_only = plain in spec.read_only or (
        spec.trust_annotations and bool(annotations.get("readOnlyHint"))
    )

    async def call(args: BaseModel, deps: ToolDeps) -> str:
        values = args.model_dump(exclude_none=True, by_alias=True)
        if held is not None:
            return content_text(await held.call(plain, values, spec.timeout_s))
        try:
            content = await tool.ainvoke(values)
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


async def _discover(
    client: Any, server: str, spec: McpServerSpec
) -> tuple[list[BaseTool], HeldSession | None]:
    """The server's tools as the adapter describes them, and its held session (stdio)."""
    if spec.transport != "stdio":
        return await client.get_tools(server_name=server), None
    from langchain_mcp_adapters.tools import load_mcp_tools as adapter_tools

    held = HeldSession(client, server)
    try:
        session = await held.session()
        return await adapter_tools(session, server_name=server, tool_name_prefix=True), held
    except BaseException:
        await held.aclose()
        raise


async def load_mcp_tools(specs: dict[str, McpServerSpec]) -> McpTools:
    """Every configured server's tools, and one problem line per server that failed."""
    loaded = McpTools()
    if not specs:
        return loaded
    from langchain_mcp_adapters.client import MultiServerMCPClient

    client = MultiServerMCPClient(
        {name: connection(spec) for name, spec in specs.items()},  # type: ignore[misc]
        tool_name_prefix=True,
        handle_tool_errors=False,
    )
    for server, spec in specs.items():
        try:
            found, held = await _discover(client, server, spec)
        except Exception as exc:  # one broken server must not keep the others out
            loaded.problems.append(
                f"MCP server {server!r} gave no tools: {type(exc).__name__}: {exc}"
            )
            continue
        if held is not None:
            loaded.held.append(held)
        for tool in found:
            plain = tool.name.removeprefix(f"{server}_")
            if spec.tools is not None and plain not in spec.tools:
                continue
            try:
                loaded.tools.append(_wrap(server, spec, tool, held))
            except Exception as exc:  # one odd schema must not keep the server's others out
                loaded.problems.append(f"MCP tool {tool.name!r} left out: {exc}")
    return loaded

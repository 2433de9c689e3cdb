"""The process's tool registry: the built-in tools, the HTTP tools and the MCP servers' tools.

``build_registry(settings)`` never fails because one MCP server is down: its problem lines come
back beside the registry for the caller to log. A configured tool named like a built-in one is a
``ConfigError``. The caller owns the returned ``McpTools`` and closes it at shutdown (it holds
the stdio servers' sessions).
"""

from __future__ import annotations

from graph.settings import Settings
from graph.tools.builtin import default_registry
from graph.tools.http_tools import http_tool
from graph.tools.mcp_tools import McpTools, load_mcp_tools
from graph.tools.registry import ToolRegistry
from observe.errors import ConfigError


async def build_registry(settings: Settings) -> tuple[ToolRegistry, McpTools]:
    """Every tool the settings configure, and the MCP servers' (problems, held sessions)."""
    registry = default_registry()
    configured = settings.tools
    taken = [name for name in configured.http if name in registry]
    if taken:
        raise ConfigError(
            f"tools.http {taken} would replace built-in tools",
            hint=f"pick other names; built-in: {registry.names()}",
        )
    for name, spec in configured.http.items():
        registry.register(http_tool(name, spec))
    mcp = await load_mcp_tools(configured.mcp)
    for tool in mcp.tools:
        if tool.name in registry:
            mcp.problems.append(f"MCP tool {tool.name!r} clashes with another tool; left out")
            continue
        registry.register(tool)
    return registry, mcp

"""The process's tool registry: the built-in tools, the HTTP tools and the MCP servers' tools.

``build_registry(settings)`` never fails because one MCP server is down: its problem lines come
back beside the registry for the caller to log (``assistant doctor`` shows them). A configured
tool named like a built-in one is a ``ConfigError``.
"""

from __future__ import annotations

from graph.settings import Settings
from graph.tools.builtin import default_registry
from graph.tools.http_tools import http_tool
from graph.tools.mcp_tools import load_mcp_tools
from graph.tools.registry import ToolRegistry
from observe.errors import ConfigError


async def build_registry(settings: Settings) -> tuple[ToolRegistry, list[str]]:
    """Every tool the settings configure, and what went wrong loading MCP servers."""
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
    mcp_tools, problems = await load_mcp_tools(configured.mcp)
    for tool in mcp_tools:
        if tool.name in registry:
            problems.append(f"MCP tool {tool.name!r} clashes with another tool; left out")
            continue
        registry.register(tool)
    return registry, problems

"""A registry of typed tools: pydantic arguments, a timeout, and errors turned into messages.

Contract: ``ToolRegistry.run`` never raises for a tool's own failure. Bad arguments, a timeout or an
exception inside the tool come back as ``ToolResult(ok=False, output=<message safe to show>)``; only
an unknown tool name raises (``UnknownToolError``), because that is a programming error.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from langchain_core.messages import AnyMessage
from pydantic import BaseModel, ValidationError

from observe.errors import ToolError

if TYPE_CHECKING:
    from graph.settings import Settings
    from observe.tracing import Tracer


class UnknownToolError(KeyError):
    """No tool is registered under this name."""


@dataclass(kw_only=True)
class ToolDeps:
    """What a tool may use: the turn's identity, its memory and the process's services."""

    settings: Settings
    tracer: Tracer
    trace_id: str
    user_id: str
    history: list[AnyMessage] = field(default_factory=list)
    summary: str = ""
    """What memory kept of the messages it dropped (``graph.memory_summary.render``)."""
    previous_trace_id: str | None = None
    thread: list[dict[str, str]] = field(default_factory=list)
    """The surrounding chat thread (``{"user", "text"}``), when the surface provides one."""
    experts: list[str] = field(default_factory=list)
    """Chat mentions of the people an escalation should reach."""


ToolFunc = Callable[[Any, ToolDeps], Awaitable[str]]


@dataclass(frozen=True)
class Tool:
    """One tool: a name, a description for models, an argument schema and an async function."""

    name: str
    description: str
    args_model: type[BaseModel]
    func: ToolFunc
    timeout_s: float = 10.0


@dataclass(frozen=True)
class ToolResult:
    """The outcome of one tool call."""

    name: str
    ok: bool
    output: str
    error_type: str | None = None
    duration_ms: float = 0.0


class ToolRegistry:
    """Tools by name."""

    def __init__(self, tools: list[Tool] | None = None) -> None:
        self._tools: dict[str, Tool] = {}
        for tool in tools or []:
            self.register(tool)

    def register(self, tool: Tool) -> None:
        """Add ``tool``; a second tool with the same name is a programming error."""
        if tool.name in self._tools:
            raise ValueError(f"tool {tool.name!r} is already registered")
        self._tools[tool.name] = tool

    def get(self, name: str) -> Tool:
        """The tool called ``name``; ``UnknownToolError`` names the valid ones otherwise."""
        try:
            return self._tools[name]
        except KeyError:
            raise UnknownToolError(
                f"unknown tool {name!r}; registered: {sorted(self._tools)}"
            ) from None

    def names(self) -> list[str]:
        return sorted(self._tools)

    async def run(self, name: str, args: Mapping[str, Any], deps: ToolDeps) -> ToolResult:
        """Validate ``args``, run the tool under its timeout and report the outcome."""
        tool = self.get(name)
        started = time.perf_counter()

        def result(ok: bool, output: str, error_type: str | None = None) -> ToolResult:
            elapsed = round((time.perf_counter() - started) * 1000, 3)
            return ToolResult(name, ok, output, error_type, elapsed)

        try:
            parsed = tool.args_model.model_validate(dict(args))
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()
            )
            return result(
                False, f"The {name} tool got bad arguments ({problems}).", "ValidationError"
            )
        try:
            output = await asyncio.wait_for(tool.func(parsed, deps), timeout=tool.timeout_s)
        except TimeoutError:
            return result(
                False, f"The {name} tool timed out after {tool.timeout_s:g}s.", "TimeoutError"
            )
        except ToolError as exc:
            return result(False, exc.message, type(exc).__name__)
        except Exception as exc:  # a tool bug must not take the turn down
            return result(False, f"The {name} tool failed.", type(exc).__name__)
        return result(True, output)

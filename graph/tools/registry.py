"""A registry of typed tools: pydantic arguments, a timeout, retries, errors turned into messages.

Contract: ``ToolRegistry.run`` never raises for a tool's own failure. Bad arguments, a timeout or an
exception inside the tool come back as ``ToolResult(ok=False, output=<message safe to show>)``; only
an unknown tool name raises (``UnknownToolError``), because that is a programming error. Every call
is an ``execute_tool {name}`` span (its arguments are message content: redacted by default), and
its output is scanned as untrusted text when ``ToolDeps.scan`` is set.

A tool that changes something outside the assistant (``side_effect``) is never retried, and the
graph runs it only after someone approved the call (``graph.tools.approval``); an idempotent tool
is retried with exponential backoff on a timeout or a ``TransientToolError``. Output longer than
``max_output_chars`` is cut, with a note saying so.
"""

from __future__ import annotations

import asyncio
import fnmatch
import json
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from langchain_core.messages import AnyMessage
from pydantic import BaseModel, ValidationError
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from graph.untrusted import Scan, as_plain_data, flag_tool_output
from observe.errors import ToolError

if TYPE_CHECKING:
    from graph.settings import Settings
    from knowledge.retrieval import Retriever
    from observe.tracing import Tracer


class UnknownToolError(KeyError):
    """No tool is registered under this name."""


class TransientToolError(ToolError):
    """A failure worth trying again (a 5xx or 429 from a service, a dropped connection)."""


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
    retriever: Retriever | None = None
    """The knowledge search (``search_knowledge``); ``None`` where no index is open."""
    spaces: list[str] = field(default_factory=list)
    """The knowledge spaces this turn may read."""
    scan: Scan | None = None
    """Scans tool output as untrusted text (``graph.untrusted``): flagged output is marked
    and neutralised before the model or the user sees it."""


ToolFunc = Callable[[Any, ToolDeps], Awaitable[str]]


@dataclass(frozen=True)
class Tool:
    """One tool: a name, a description for models, an argument schema and an async function."""

    name: str
    description: str
    args_model: type[BaseModel]
    func: ToolFunc
    timeout_s: float = 10.0
    side_effect: bool = False
    """It changes something outside the assistant (opens a ticket, posts somewhere): it runs
    only after an approval and is never retried."""
    retries: int = 0
    """Extra attempts after a timeout or a ``TransientToolError`` (ignored with
    ``side_effect``)."""
    max_output_chars: int = 4000
    source: str = "builtin"
    """Where it comes from: ``builtin``, ``http`` (``assistant.yaml``) or ``mcp:<server>``."""

    def schema(self) -> dict[str, Any]:
        """The tool as a chat model's function-calling API describes it (OpenAI format)."""
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": self.args_model.model_json_schema(),
            },
        }


@dataclass(frozen=True)
class ToolResult:
    """The outcome of one tool call."""

    name: str
    ok: bool
    output: str
    error_type: str | None = None
    duration_ms: float = 0.0
    attempts: int = 1
    truncated: bool = False
    flagged: bool = False
    """The scanner found instructions in the output: it is shown marked, as data."""


def is_allowed(name: str, allowed: Iterable[str] | None) -> bool:
    """Whether ``name`` is in an allow-list (``None`` allows all; entries may be globs such as
    ``wiki_*``, the tools of the MCP server ``wiki``)."""
    return allowed is None or any(fnmatch.fnmatchcase(name, pattern) for pattern in allowed)


def truncate(text: str, limit: int) -> tuple[str, bool]:
    """``text`` cut to ``limit`` characters with a note, and whether it was cut."""
    if len(text) <= limit:
        return text, False
    note = f"\n… (cut: {len(text) - limit:,} more characters)"
    return text[:limit].rstrip() + note, True


def describe_args(args: Mapping[str, Any], limit: int | None = 300) -> str:
    """Arguments as one line (cut to ``limit`` for logs and plans; ``None``: all of it, for a
    person approving the call), chat markup made inert."""
    text = ", ".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in args.items())
    text = as_plain_data(text)
    return text if limit is None or len(text) <= limit else text[: limit - 1] + "…"


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

    def __contains__(self, name: object) -> bool:
        return name in self._tools

    def names(self) -> list[str]:
        return sorted(self._tools)

    def allowed(self, allowed: Iterable[str] | None) -> list[Tool]:
        """The tools an allow-list permits, by name."""
        patterns = None if allowed is None else list(allowed)
        return [self._tools[n] for n in self.names() if is_allowed(n, patterns)]

    async def run(self, name: str, args: Mapping[str, Any], deps: ToolDeps) -> ToolResult:
        """Validate ``args``, run the tool (timeout, retries) under its span, report the outcome."""
        tool = self.get(name)
        attributes = {
            "gen_ai.operation.name": "execute_tool",
            "gen_ai.tool.name": name,
            "app.tool.source": tool.source,
            "app.tool.side_effect": tool.side_effect,
            "app.content.tool_args": describe_args(args),
        }
        with deps.tracer.span(f"execute_tool {name}", attributes=attributes) as span:
            result = await self._run(tool, args, deps)
            span.update(
                {
                    "app.tool.ok": result.ok,
                    "app.tool.attempts": result.attempts,
                    "app.tool.output_chars": len(result.output),
                    "app.tool.truncated": result.truncated,
                }
            )
            if tool.source != "builtin":  # a service's words: no links, pings or markup
                result = replace(result, output=as_plain_data(result.output))
            if not result.ok:
                span.fail(result.error_type or "ToolError")
            elif deps.scan is not None and (reason := deps.scan(result.output)) is not None:
                result = replace(result, output=flag_tool_output(result.output), flagged=True)
                span.update(
                    {"app.guard.indirect_flagged": True, "app.guard.indirect_reason": reason}
                )
        return result

    async def _run(self, tool: Tool, args: Mapping[str, Any], deps: ToolDeps) -> ToolResult:
        started = time.perf_counter()
        attempts = 0

        def result(ok: bool, output: str, error_type: str | None = None) -> ToolResult:
            elapsed = round((time.perf_counter() - started) * 1000, 3)
            output, cut = truncate(output, tool.max_output_chars) if ok else (output, False)
            return ToolResult(tool.name, ok, output, error_type, elapsed, max(attempts, 1), cut)

        try:
            parsed = tool.args_model.model_validate(dict(args))
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc'])) or 'arguments'}: {e['msg']}" for e in exc.errors()
            )
            return result(
                False, f"The {tool.name} tool got bad arguments ({problems}).", "ValidationError"
            )
        tries = 1 if tool.side_effect else 1 + max(tool.retries, 0)
        retrying = AsyncRetrying(
            stop=stop_after_attempt(tries),
            wait=wait_exponential(multiplier=0.2, max=2.0),
            retry=retry_if_exception_type((TimeoutError, TransientToolError)),
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    attempts += 1
                    output = await asyncio.wait_for(tool.func(parsed, deps), tool.timeout_s)
        except TimeoutError:
            tried = f" ({attempts} attempts)" if attempts > 1 else ""
            return result(
                False,
                f"The {tool.name} tool timed out after {tool.timeout_s:g}s{tried}.",
                "TimeoutError",
            )
        except ToolError as exc:
            return result(False, exc.message, type(exc).__name__)
        except Exception as exc:  # a tool bug must not take the turn down
            return result(False, f"The {tool.name} tool failed.", type(exc).__name__)
        return result(True, output)

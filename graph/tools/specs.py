"""The ``tools:`` section of ``assistant.yaml``: HTTP tools, MCP servers, approvals, loop budgets.

::

    tools:
      approval_ttl_s: 900          # an unanswered approval request expires
      approvers: [U0PLATFORM]      # may approve anyone's call (the asker always may)
      max_steps: 4                 # model-planned tool calls per turn
      max_cost_usd: 0.05           # model spend per planned turn
      http:
        create_ticket:
          description: Open a help-desk ticket for the user's problem.
          method: POST
          url: https://helpdesk.example.com/api/tickets
          auth: {header: Authorization, env: HELPDESK_TOKEN, scheme: Bearer}
          intent: escalate         # the embedded routing sends this intent here
          args:
            title: {type: string, required: true, max_length: 200, fill: question}
            priority: {type: string, enum: [low, normal, high], default: normal}
      mcp:
        wiki:
          transport: streamable_http
          url: http://wiki-mcp.internal:8000/mcp
          read_only: [search_pages]  # every other tool of this server needs approval

The URL's scheme and host are fixed by this file (placeholders may only fill the path and
query, URL-quoted), so the configuration is the allow-list of where HTTP tools may go.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

TOOL_NAME = re.compile(r"^[a-z][a-z0-9_]{1,40}$")
SERVER_NAME = re.compile(r"^[a-z][a-z0-9]{1,30}$")
ToolIntent = Literal["summarize", "escalate", "feedback", "ops_stats"]
"""The intents the embedded routing answers with a tool (``graph.nodes.call_tool``)."""
_PLACEHOLDER = re.compile(r"\{([a-zA-Z_][a-zA-Z0-9_]*)\}")


class ArgSpec(BaseModel):
    """One argument of a configured tool."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["string", "integer", "number", "boolean"] = "string"
    description: str = ""
    required: bool = False
    default: Any = None
    enum: list[str | int] | None = None
    max_length: int | None = Field(default=None, ge=1)
    fill: Literal["question", "user"] | None = None
    """Without a planning model, the embedded routing fills it from the turn: the (redacted)
    question or the asker's id."""

    def json_schema(self) -> dict[str, Any]:
        """This argument as a JSON-schema property."""
        schema: dict[str, Any] = {"type": self.type}
        if self.description:
            schema["description"] = self.description
        if self.enum is not None:
            schema["enum"] = self.enum
        if self.max_length is not None:
            schema["maxLength"] = self.max_length
        if self.default is not None:
            schema["default"] = self.default
        return schema


class AuthSpec(BaseModel):
    """A header whose value is read from the environment at call time (never from this file)."""

    model_config = ConfigDict(extra="forbid")

    header: str = "Authorization"
    env: str
    scheme: str = ""
    """Put in front of the value (``Bearer``)."""


class HttpToolSpec(BaseModel):
    """A tool that calls one allow-listed HTTP endpoint."""

    model_config = ConfigDict(extra="forbid")

    description: str = Field(min_length=1)
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"] = "POST"
    url: str
    auth: AuthSpec | None = None
    args: dict[str, ArgSpec] = Field(default_factory=dict)
    side_effect: bool | None = None
    """Needs approval before it runs; unset: every method but ``GET``."""
    intent: ToolIntent | None = None
    """The intent the embedded routing sends to this tool instead of the built-in one."""
    timeout_s: float = Field(default=10.0, gt=0, le=120)
    retries: int = Field(default=0, ge=0, le=5)
    """Extra attempts on a timeout, 429 or 5xx; only for tools without side effects."""
    max_output_chars: int = Field(default=4000, ge=100, le=100_000)

    @field_validator("url")
    @classmethod
    def _fixed_host(cls, url: str) -> str:
        match = re.match(r"^https?://([^/?#]+)", url)
        if match is None:
            raise ValueError(f"url must start with http:// or https://, got {url!r}")
        if "{" in match.group(1) or "@" in match.group(1):
            raise ValueError("url placeholders may fill the path and query, not the host")
        return url

    @model_validator(mode="after")
    def _placeholders_are_args(self) -> HttpToolSpec:
        unknown = sorted(set(_PLACEHOLDER.findall(self.url)) - set(self.args))
        if unknown:
            raise ValueError(f"url placeholders {unknown} are not among args {sorted(self.args)}")
        for name in self.args:
            if not re.match(r"^[a-zA-Z_][a-zA-Z0-9_]{0,40}$", name):
                raise ValueError(f"argument name {name!r} must be an identifier")
        optional = [p for p in self.placeholders() if not self.args[p].required]
        if optional:
            raise ValueError(f"url placeholders {optional} must be required args")
        return self

    @property
    def changes_things(self) -> bool:
        return self.side_effect if self.side_effect is not None else self.method != "GET"

    def placeholders(self) -> list[str]:
        return _PLACEHOLDER.findall(self.url)


class McpServerSpec(BaseModel):
    """One MCP server whose tools the assistant may use (named ``<server>_<tool>``)."""

    model_config = ConfigDict(extra="forbid")

    transport: Literal["stdio", "streamable_http"]
    command: str | None = None
    """stdio: the program to start (with ``args``, ``env``, ``cwd``)."""
    args: list[str] = Field(default_factory=list)
    env: dict[str, str] = Field(default_factory=dict)
    cwd: str | None = None
    url: str | None = None
    """streamable_http: the server's endpoint (``http://host:port/mcp``)."""
    headers_env: dict[str, str] = Field(default_factory=dict)
    """streamable_http: header name → environment variable holding its value."""
    tools: list[str] | None = None
    """Which of the server's tools to offer (unset: all)."""
    inherit_env: list[str] = Field(default_factory=list)
    """stdio: environment variables of the assistant's own to pass on (besides ``env`` and a
    minimal safe set such as ``PATH``); nothing else of its environment reaches the server."""
    read_only: list[str] = Field(default_factory=list)
    """Tools that change nothing (no approval needed). Every other tool needs approval."""
    trust_annotations: bool = False
    """Also take the server's own ``readOnlyHint`` as read-only (only for a server you run:
    annotations of others' servers may lie)."""
    timeout_s: float = Field(default=20.0, gt=0, le=300)

    @model_validator(mode="after")
    def _transport_fields(self) -> McpServerSpec:
        if self.transport == "stdio" and not self.command:
            raise ValueError("a stdio MCP server needs `command`")
        if self.transport == "streamable_http" and not (self.url or "").startswith("http"):
            raise ValueError("a streamable_http MCP server needs an http(s) `url`")
        return self


class ToolSettings(BaseModel):
    """Configured tools and the limits every tool call runs under."""

    model_config = ConfigDict(extra="forbid")

    http: dict[str, HttpToolSpec] = Field(default_factory=dict)
    mcp: dict[str, McpServerSpec] = Field(default_factory=dict)
    approval_ttl_s: int = Field(default=900, ge=10, le=7 * 24 * 3600)
    approvers: list[str] = Field(default_factory=list)
    """Chat user ids who may approve anyone's tool call (the asker may approve their own)."""
    planning: Literal["auto", "model", "routing"] = "auto"
    """Who picks the tool on a tool intent: ``model`` (the chat model calls tools in a loop,
    under the budgets below), ``routing`` (the intent's tool, arguments from the turn), ``auto``
    (``routing`` with the local model, too small to call tools; ``model`` with any other)."""
    max_steps: int = Field(default=4, ge=1, le=20)
    """Tool calls a planning model may make in one turn."""
    max_repeats: int = Field(default=1, ge=1, le=5)
    """How often the same call (tool and arguments) may run in one turn."""
    max_cost_usd: float = Field(default=0.05, ge=0)
    """Model spend a planned turn may reach before it must answer (priced models only)."""

    @field_validator("http")
    @classmethod
    def _names(cls, value: dict[str, Any]) -> dict[str, Any]:
        bad = [name for name in value if not TOOL_NAME.match(name)]
        if bad:
            raise ValueError(f"tool names must match {TOOL_NAME.pattern}, got {bad}")
        return value

    @field_validator("mcp")
    @classmethod
    def _server_names(cls, value: dict[str, Any]) -> dict[str, Any]:
        bad = [name for name in value if not SERVER_NAME.match(name)]
        if bad:  # no "_": a channel's "wiki_*" must not reach a server named "wiki_admin"
            raise ValueError(f"MCP server names must match {SERVER_NAME.pattern}, got {bad}")
        return value

    @model_validator(mode="after")
    def _no_tool_in_a_servers_namespace(self) -> ToolSettings:
        clash = [t for t in self.http for s in self.mcp if t.startswith(f"{s}_")]
        if clash:
            raise ValueError(f"http tools {clash} are named like an MCP server's tools (<server>_)")
        return self

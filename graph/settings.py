"""Settings: environment variables (prefix ``ASSISTANT_``) plus one optional YAML file.

Precedence, highest first: explicit arguments, environment variables, ``.env``, the YAML file
(``ASSISTANT_CONFIG``, default ``assistant.yaml`` in the working directory), defaults. Unset Redis
and Chroma URLs mean "embedded": the assistant starts its own Redis and uses an on-disk Chroma.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

from graph.tools.specs import ToolSettings
from guards.policy import GuardPolicy
from observe.errors import ConfigError

AnySettings = TypeVar("AnySettings", bound=BaseSettings)

Intent = Literal["question", "chitchat", "summarize", "escalate", "feedback", "ops_stats", "memory"]
"""What a message asks for; ``memory`` (remember, show or forget facts about the asker) is set
by rule (``graph.user_memory``), never by the classifier, which picks among ``INTENTS``."""
TOOL_INTENTS: tuple[Intent, ...] = ("summarize", "escalate", "feedback", "ops_stats")
"""The intents answered by a tool (``graph.nodes.call_tool`` or the planner)."""
INTENTS: tuple[Intent, ...] = (
    "question",
    "chitchat",
    "summarize",
    "escalate",
    "feedback",
    "ops_stats",
)


class EscalationSettings(BaseModel):
    """Whom a user is pointed to when they ask for a human."""

    contact: str = "the platform team (#help-platform)"
    """Shown to the user verbatim."""


class ModelPrice(BaseModel):
    """What a model costs, in US dollars per million tokens."""

    input: float = Field(ge=0.0)
    output: float = Field(ge=0.0)


class TraceSettings(BaseModel):
    """The trace log: rotation, retention and the price table behind ``app.cost_usd``."""

    max_mb: int = Field(default=64, ge=1, le=4096)
    """The live ``traces.jsonl`` is rotated when it would pass this size (and every UTC day)."""
    retention_days: int = Field(default=30, ge=1)
    """Rotated trace files older than this are deleted."""
    replica: str = Field(default="", pattern=r"^[A-Za-z0-9-]{0,63}$")
    """Set when several processes share one log directory (replicas on a shared volume): each
    writes ``traces.<replica>.jsonl`` of its own, and every reader (dashboard, stats) sees all of
    them. In Kubernetes the pod name, in compose the container's host name."""
    prices: dict[str, ModelPrice] = Field(default_factory=dict)
    """Per chat model (``gen_ai.request.model``, e.g. ``openai:gpt-4o-mini``); a model not
    listed costs 0 (the embedded one is free). In ``assistant.yaml``:
    ``traces: {prices: {"openai:gpt-4o-mini": {input: 0.15, output: 0.6}}}``."""

    def cost_usd(self, model: str, input_tokens: int, output_tokens: int) -> float:
        """The cost of one call, from the price table (0 for an unlisted model)."""
        price = self.prices.get(model)
        if price is None:
            return 0.0
        return round((input_tokens * price.input + output_tokens * price.output) / 1e6, 8)


class Settings(BaseSettings):
    """Every knob of the assistant, with defaults that run fully embedded."""

    model_config = SettingsConfigDict(
        env_prefix="ASSISTANT_",
        env_file=".env",
        extra="ignore",
        env_nested_delimiter="__",
    )

    data_dir: Path = Path(".assistant")
    """Where the embedded Redis, Chroma and the trace log keep their files."""

    environment: str = "dev"
    """Reported as ``deployment.environment.name`` in traces."""

    redis_url: str | None = None
    """A Redis 8 (Search + JSON) URL; unset starts the embedded server."""
    redis_port: int = Field(default=6390, ge=1, le=65535)
    """Port of the embedded Redis (loopback only)."""

    chroma_url: str | None = None
    """A Chroma server URL (http://host:port); unset uses the on-disk client in the data dir."""
    collection: str = Field(default="knowledge", pattern=r"^[a-zA-Z0-9._-]{3,512}$")
    """Chroma collection holding the knowledge base."""

    chat_model: str = "local"
    """``local`` (bundled SmolLM2-135M via llama.cpp), ``local:PATH`` (any instruct GGUF file on
    disk, through llama.cpp) or an ``init_chat_model`` spec like ``openai:gpt-4o-mini`` /
    ``anthropic:claude-sonnet-4-5``."""
    chat_base_url: str | None = None
    """Base URL for OpenAI-compatible servers (vLLM, Ollama, llama.cpp server)."""
    answer_mode: Literal["auto", "quote", "generate"] = "auto"
    """How a question over the documents is answered: ``quote`` gives the best passage's own
    words (cited), ``generate`` lets the chat model write the answer (checked against the
    sources; one it cannot support becomes the quote), ``auto`` quotes with the local model
    (too small to write reliable answers) and generates with any other."""
    quote_min_similarity: float = Field(default=0.45, ge=-1.0, le=1.0)
    """The top passage is quoted as the answer only when its best chunk reaches this cosine
    similarity with the question; below it the answer names the closest sources instead.
    Chosen on data not from the FAQ: 98 % of dev-set questions whose top passage is right
    clear it, and 15 % of 40 off-topic questions (a third of those found a relevant page)."""
    quote_heading_similarity: float = Field(default=0.7, ge=-1.0, le=1.0)
    """A passage whose heading path is this close (cosine) to the question is quoted however
    its text scores: the question restates the section's title. No off-topic question of 40
    reached it against the Python docs (their highest: 0.65)."""
    max_answer_tokens: int = Field(default=192, ge=16, le=8192)
    model_timeout_s: float = Field(default=120.0, gt=0)
    """A model call still running after this fails (retried once if nothing had streamed)."""
    local_threads: int = Field(default=2, ge=1, le=64)
    local_context: int = Field(default=2048, ge=512, le=32768)

    embedding_model: str = "minilm"
    """``minilm`` (bundled all-MiniLM-L6-v2) or a path to a sentence-transformers directory."""

    knowledge_scope: str = "default"
    """The knowledge space answers come from; cache entries are scoped by it."""
    top_k: int = Field(default=4, ge=1, le=50)
    min_relevance: float = Field(default=0.2, ge=-1.0, le=1.0)
    """Retrieved passages whose best chunk is below this cosine similarity are not shown to the
    model."""
    ingest_quarantine: bool = True
    """Scan every chunk for prompt injection at ingestion and quarantine flagged ones (never
    shown to the model); ``false`` stores them like any other chunk."""
    rewrite_follow_ups: Literal["auto", "model", "join", "off"] = "auto"
    """How a follow-up ("and for tuples?") becomes a standalone question: ``model`` asks the chat
    model, ``join`` puts the previous question in front, ``auto`` is ``join`` with the local
    model (too small to rewrite reliably) and ``model`` with any other."""

    cache_enabled: bool = True
    cache_distance_threshold: float = Field(default=0.40, gt=0.0, lt=2.0)
    """Cosine distance under which a cached answer is a candidate (0.40: similarity 0.60);
    every candidate must also pass the verification step (``graph.cache_verify``)."""
    cache_ttl_seconds: int = Field(default=7 * 24 * 3600, ge=60)
    cache_max_age_seconds: int = Field(default=30 * 24 * 3600, ge=60)
    """Entries older than this are never served, however often they are hit."""

    memory_ttl_minutes: int = Field(default=30 * 24 * 60, ge=1)
    memory_turns: int = Field(default=6, ge=0, le=100)
    """How many earlier messages the model sees."""
    memory_max_messages: int = Field(default=40, ge=2, le=1000)
    """Older messages are dropped from a conversation's memory (into its summary)."""
    memory_max_tokens: int = Field(default=3000, ge=100, le=200_000)
    """Token budget of the messages memory keeps; older ones are folded into the summary."""
    user_memory: bool = True
    """Let users ask the assistant to remember facts about them ("remember that I work on
    payments"), shown and deleted on request."""

    intent_threshold: float = Field(default=0.45, ge=0.0, le=1.0)
    """Below this classifier confidence the LLM is asked to pick the intent."""

    max_input_chars: int = Field(default=4000, ge=1)
    guards: GuardPolicy = GuardPolicy()
    """What each guard does when it fires (block / redact / warn / log); a channel's
    ``guards`` entry in ``assistant.yaml`` overrides it (``ASSISTANT_GUARDS__INJECTION=warn``)."""
    trace_content: bool = False
    """Keep (PII-redacted) message text in traces; off by default."""
    dashboard_token: SecretStr | None = None
    """Opens ``/dashboard/`` on the bot's HTTP server (closed without it) and ``assistant
    dashboard`` off loopback; pass it once as ``?token=…``."""
    trace_questions: bool = True
    """Keep each question, PII-redacted (``<EMAIL>``, ``<PHONE>`` …), on its turn span for the
    dashboard's knowledge-gaps table; off: no question text in traces at all."""
    traces: TraceSettings = TraceSettings()

    escalation: EscalationSettings = EscalationSettings()
    tools: ToolSettings = ToolSettings()
    """HTTP tools, MCP servers, approvals and loop budgets (``graph.tools.specs``)."""
    intent_examples: dict[str, list[str]] = Field(default_factory=dict)
    """Extra labelled examples per intent, added to the bundled ones."""

    @property
    def local_model(self) -> bool:
        """Whether the chat model runs in this process through llama.cpp (``local[:PATH]``)."""
        return self.chat_model == "local" or self.chat_model.startswith("local:")

    @property
    def plans_tools(self) -> bool:
        """Whether the chat model picks and calls tools (``tools.planning``, resolved)."""
        if self.tools.planning == "auto":
            return not self.local_model
        return self.tools.planning == "model"

    @property
    def quotes_answers(self) -> bool:
        """Whether questions are answered with quotes (``answer_mode``, resolved)."""
        if self.answer_mode == "auto":
            return self.local_model
        return self.answer_mode == "quote"

    @field_validator("intent_examples")
    @classmethod
    def _known_intents(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        unknown = sorted(set(value) - set(INTENTS))
        if unknown:
            raise ValueError(f"unknown intent(s) {unknown}; valid: {list(INTENTS)}")
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (
            init_settings,
            env_settings,
            dotenv_settings,
            YamlConfigSettingsSource(settings_cls, yaml_file=config_file()),
        )

    @property
    def logs_dir(self) -> Path:
        return self.data_dir / "logs"

    @property
    def traces_path(self) -> Path:
        """The trace log as readers see it: ``traces.jsonl`` and every ``traces.*.jsonl``
        beside it (rotated files, other replicas' files)."""
        return self.logs_dir / "traces.jsonl"

    @property
    def trace_write_path(self) -> Path:
        """The file this process writes its spans to (its replica's own when ``traces.replica``
        is set)."""
        replica = self.traces.replica
        return self.logs_dir / (f"traces.{replica}.jsonl" if replica else "traces.jsonl")

    @property
    def chroma_path(self) -> Path:
        return self.data_dir / "chroma"

    @property
    def redis_dir(self) -> Path:
        return self.data_dir / "redis"


def load_settings(**overrides: Any) -> Settings:
    """Build settings, turning validation errors into one readable ``ConfigError``."""
    return build_settings(Settings, **overrides)


def config_file() -> Path:
    """The YAML file settings are read from (``ASSISTANT_CONFIG``, default ``assistant.yaml``)."""
    return Path(os.environ.get("ASSISTANT_CONFIG", "assistant.yaml"))


def build_settings(settings_cls: type[AnySettings], **overrides: Any) -> AnySettings:
    """Instantiate any settings class of ours; bad values become one readable ``ConfigError``."""
    config = os.environ.get("ASSISTANT_CONFIG")
    if config and not Path(config).is_file():
        raise ConfigError(
            f"config file {config!r} does not exist", hint="fix or unset ASSISTANT_CONFIG"
        )
    try:
        return settings_cls(**overrides)
    except yaml.YAMLError as exc:
        where = config or "assistant.yaml"
        raise ConfigError(
            f"{where} is not valid YAML: {str(exc).splitlines()[0]}",
            hint="fix the file's syntax",
        ) from None
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'settings'}: {err['msg']}"
            for err in exc.errors()
        )
        raise ConfigError(
            f"invalid settings: {problems}",
            hint="check ASSISTANT_* variables and assistant.yaml",
        ) from None

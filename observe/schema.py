"""The trace record schema (``assistant.trace/1``, DESIGN.md §5) as pydantic models.

``validate_record(dict)`` returns the parsed record or raises ``ValidationError``; readers (the
dashboard, the OTLP export) use it to skip records they cannot trust. Attribute rules: OTel keys
we use are listed in ``OTEL_KEYS``; everything of ours sits under ``app.``; deprecated GenAI keys
and invented ``gen_ai.*`` keys are rejected.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator

from observe.tracing import SCHEMA

HEX32 = r"^[0-9a-f]{32}$"
HEX16 = r"^[0-9a-f]{16}$"

OTEL_KEYS = frozenset(
    {
        "gen_ai.operation.name",
        "gen_ai.provider.name",
        "gen_ai.request.model",
        "gen_ai.request.max_tokens",
        "gen_ai.request.top_k",
        "gen_ai.response.model",
        "gen_ai.response.id",
        "gen_ai.response.finish_reasons",
        "gen_ai.response.time_to_first_chunk",
        "gen_ai.usage.input_tokens",
        "gen_ai.usage.output_tokens",
        "gen_ai.conversation.id",
        "gen_ai.workflow.name",
        "gen_ai.data_source.id",
        "gen_ai.retrieval.documents",
        "gen_ai.tool.name",
        "gen_ai.tool.call.id",
        "gen_ai.evaluation.name",
        "gen_ai.evaluation.score.value",
        "gen_ai.evaluation.score.label",
        "gen_ai.evaluation.explanation",
        "error.type",
        "session.id",
        "user.hash",
        "db.system.name",
    }
)
"""The OTel attribute keys a record may carry; ours go under ``app.``."""


def _check_attributes(attributes: dict[str, Any]) -> dict[str, Any]:
    unknown = sorted(k for k in attributes if not k.startswith("app.") and k not in OTEL_KEYS)
    if unknown:
        raise ValueError(f"attribute keys outside OTel and app.*: {unknown}")
    return attributes


class _Envelope(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="forbid")

    schema_: Literal["assistant.trace/1"] = Field(alias="schema")
    ts: str
    service_name: str = Field(alias="service.name")
    service_version: str = Field(alias="service.version")
    environment: str = Field(alias="deployment.environment.name")
    trace_id: str = Field(pattern=HEX32)
    span_id: str = Field(pattern=HEX16)
    parent_span_id: str | None = Field(pattern=HEX16)
    name: str = Field(min_length=1)
    kind: Literal["SERVER", "CLIENT", "INTERNAL"]
    status: Literal["OK", "ERROR"]
    attributes: dict[str, Any]

    _attributes = field_validator("attributes")(_check_attributes)


class SpanRecord(_Envelope):
    """One finished span."""

    record: Literal["span"]
    start_time_unix_nano: int = Field(gt=0)
    end_time_unix_nano: int = Field(gt=0)
    duration_ms: float = Field(ge=0)


class EvalRecord(_Envelope):
    """One ``gen_ai.evaluation.result`` (judge score or user feedback) on an earlier span."""

    record: Literal["eval"]
    name: Literal["gen_ai.evaluation.result"]

    @field_validator("attributes")
    @classmethod
    def _named(cls, value: dict[str, Any]) -> dict[str, Any]:
        if not value.get("gen_ai.evaluation.name"):
            raise ValueError("an evaluation needs gen_ai.evaluation.name")
        return value


class ErrorRecord(BaseModel):
    """What the writer logs instead of a record it could not serialise."""

    model_config = ConfigDict(populate_by_name=True, extra="forbid")

    schema_: Literal["assistant.trace/1"] = Field(alias="schema")
    record: Literal["error"]
    error_type: str = Field(alias="error.type")
    ts: str | None = None
    service_name: str | None = Field(default=None, alias="service.name")
    trace_id: str | None = None
    span_id: str | None = None
    name: str | None = None


TraceRecord = Annotated[SpanRecord | EvalRecord | ErrorRecord, Field(discriminator="record")]
_ADAPTER: TypeAdapter[SpanRecord | EvalRecord | ErrorRecord] = TypeAdapter(TraceRecord)

assert SCHEMA == "assistant.trace/1", "bump the Literal above with the schema"


def validate_record(record: dict[str, Any]) -> SpanRecord | EvalRecord | ErrorRecord:
    """The record, parsed; raises ``pydantic.ValidationError`` when it breaks the schema."""
    return _ADAPTER.validate_python(record)


def span_json_schema() -> dict[str, Any]:
    """The JSON Schema of every record type (for other tools reading the log)."""
    return _ADAPTER.json_schema(by_alias=True)

"""Spans as structlog JSON lines: one record per finished span, one per evaluation/feedback result.

The schema is DESIGN.md §5: an envelope (``schema``, ``record``, ``ts``, ``service.*``,
``trace_id``, ``span_id``, ``parent_span_id``, ``name``, ``kind``, start/end nanos, ``duration_ms``,
``status``) and ``attributes`` with OTel GenAI keys plus ours under ``app.*``.

Message text may only be recorded under ``app.content.*`` keys. A processor drops those keys unless
content capture is on, and PII-redacts them when it is; ``app.redacted.*`` keys (the question, for
the knowledge-gaps table) are always kept and always PII-redacted (typed placeholders such as
``<EMAIL>``); every string is scrubbed of secrets. Both
run *before* rendering, so nothing unredacted is ever serialised. The detection itself is guard
logic: the tracer is handed a ``Redactor`` (``guards.redaction.REDACTOR``), so this bottom
layer imports nothing above it.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, Protocol, TextIO

import structlog

from observe.tracefile import (
    DEFAULT_MAX_BYTES,
    DEFAULT_RETENTION_DAYS,
    TraceFile,
    error_line,
    render_line,
)

SCHEMA = "assistant.trace/1"
SERVICE_NAME = "slack-assistant"
CONTENT_PREFIX = "app.content."
REDACTED_PREFIX = "app.redacted."

ROLLUP_KEYS = {
    "gen_ai.usage.input_tokens": "app.rollup.input_tokens",
    "gen_ai.usage.output_tokens": "app.rollup.output_tokens",
    "app.cost_usd": "app.rollup.cost_usd",
}
"""Child attributes summed onto the root span (backends sum child usage; we keep a copy)."""

SpanKind = Literal["SERVER", "CLIENT", "INTERNAL"]
EventDict = MutableMapping[str, Any]


class Redactor(Protocol):
    """Finds and replaces sensitive text in what is logged."""

    def secrets(self, text: str) -> str:
        """``text`` with every credential replaced."""
        ...

    def personal(self, text: str) -> str:
        """``text`` with personal data (and credentials) replaced by placeholders."""
        ...


def user_hash(user_id: str) -> str:
    """A stable pseudonym for a user id (``user.hash`` in traces): 16 hex chars of SHA-256."""
    return hashlib.sha256(user_id.encode("utf-8")).hexdigest()[:16]


def new_trace_id() -> str:
    """32 lowercase hex characters, as OTel trace ids."""
    return secrets.token_hex(16)


def new_span_id() -> str:
    """16 lowercase hex characters, as OTel span ids."""
    return secrets.token_hex(8)


@dataclass
class Span:
    """A span in flight; ``set`` attributes on it, the tracer writes it when it ends."""

    name: str
    kind: SpanKind
    trace_id: str
    span_id: str
    parent_span_id: str | None
    start_ns: int
    attributes: dict[str, Any] = field(default_factory=dict)
    status: Literal["OK", "ERROR"] = "OK"

    def set(self, key: str, value: Any) -> None:
        """Set one attribute (``None`` values are skipped)."""
        if value is not None:
            self.attributes[key] = value

    def update(self, values: Mapping[str, Any]) -> None:
        """Set several attributes at once."""
        for key, value in values.items():
            self.set(key, value)

    def fail(self, error: BaseException | str) -> None:
        """Mark the span as failed with an ``error.type``."""
        self.status = "ERROR"
        self.attributes["error.type"] = (
            error if isinstance(error, str) else type(error).__qualname__
        )


_current_span: ContextVar[Span | None] = ContextVar("current_span", default=None)
_rollup_spans: ContextVar[tuple[Span, ...]] = ContextVar("rollup_spans", default=())
"""The open SERVER spans of this task (the Slack reply, the turn): usage sums onto each."""
_timings: ContextVar[dict[str, float] | None] = ContextVar("timings", default=None)


@contextmanager
def collect_timings() -> Iterator[dict[str, float]]:
    """Collect ``{span name: duration_ms}`` of every span finished inside the block."""
    timings: dict[str, float] = {}
    token = _timings.set(timings)
    try:
        yield timings
    finally:
        _timings.reset(token)


def current_span() -> Span | None:
    """The innermost open span of this task, if any."""
    return _current_span.get()


def map_strings(value: Any, change: Callable[[str], str]) -> Any:
    """``value`` with ``change`` applied to every string inside it (mappings and sequences are
    copied, other values kept)."""
    if isinstance(value, str):
        return change(value)
    if isinstance(value, Mapping):
        return {k: map_strings(v, change) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [map_strings(v, change) for v in value]
    return value


def plain(value: Any) -> Any:
    """``value`` as JSON data: sets become sorted lists, objects JSON cannot hold their
    ``str``, so the redaction processors see every string that will be written."""
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted(str(plain(v)) for v in value)
    return str(value)


def content_processor(keep_content: bool, redactor: Redactor) -> structlog.types.Processor:
    """Drop ``app.content.*`` attributes, or PII-redact them when ``keep_content`` is on;
    always PII-redact ``app.redacted.*`` ones."""

    def process(_logger: Any, _method: str, event_dict: EventDict) -> EventDict:
        attrs = event_dict.get("attributes")
        if isinstance(attrs, dict):
            for key in [k for k in attrs if k.startswith(REDACTED_PREFIX)]:
                attrs[key] = map_strings(attrs[key], redactor.personal)
            for key in [k for k in attrs if k.startswith(CONTENT_PREFIX)]:
                if keep_content and isinstance(attrs[key], str):
                    attrs[key] = redactor.personal(attrs[key])
                else:
                    del attrs[key]
        return event_dict

    return process


def secrets_processor(redactor: Redactor) -> structlog.types.Processor:
    """Make the record plain JSON data, then replace credentials anywhere in it."""

    def process(_logger: Any, _method: str, event_dict: EventDict) -> EventDict:
        return {k: map_strings(plain(v), redactor.secrets) for k, v in event_dict.items()}

    return process


class _LineSink:
    """The structlog "logger" that hands rendered lines to the trace file."""

    def __init__(self, file: TraceFile | None) -> None:
        self.file = file

    def msg(self, line: str) -> None:
        if self.file is not None:
            self.file.write(line)


def flatten_attributes(_logger: Any, _method: str, event_dict: EventDict) -> EventDict:
    """Lift ``attributes`` to the top level, for a readable console line."""
    attrs = event_dict.pop("attributes", None) or {}
    return {**event_dict, **attrs}


class Tracer:
    """Writes finished spans and evaluation results to a JSON-lines file (and optionally stderr)."""

    def __init__(
        self,
        path: Path | None,
        *,
        redactor: Redactor,
        service_version: str = "0.1.0",
        environment: str = "dev",
        keep_content: bool = False,
        echo: TextIO | None = None,
        max_bytes: int = DEFAULT_MAX_BYTES,
        retention_days: int = DEFAULT_RETENTION_DAYS,
    ) -> None:
        self.path = path
        self.service_version = service_version
        self.environment = environment
        self._lock = threading.Lock()
        self._file = (
            TraceFile(path, max_bytes=max_bytes, retention_days=retention_days)
            if path is not None
            else None
        )
        self._listeners: list[Callable[[dict[str, Any]], None]] = []
        # Secrets first: PII redaction could break a token's shape and hide it from the scrubber.
        processors: list[structlog.types.Processor] = [
            secrets_processor(redactor),
            content_processor(keep_content, redactor),
        ]
        self._json = structlog.wrap_logger(
            _LineSink(self._file),
            processors=[*processors, render_line],
            wrapper_class=structlog.BoundLogger,
        )
        self._echo = (
            structlog.wrap_logger(
                structlog.PrintLogger(echo),
                processors=[
                    *processors,
                    flatten_attributes,
                    structlog.dev.ConsoleRenderer(colors=echo.isatty()),
                ],
                wrapper_class=structlog.BoundLogger,
            )
            if echo is not None
            else None
        )

    def close(self) -> None:
        """Drain the queue and close the trace file."""
        if self._file is not None:
            self._file.close()
            self._file = None

    def flush(self) -> None:
        """Wait until every span written so far is on disk."""
        if self._file is not None:
            self._file.flush()

    def subscribe(self, listener: Callable[[dict[str, Any]], None]) -> None:
        """Call ``listener`` with every finished record (before redaction: never log it; the
        metrics use only names, statuses, durations and counters)."""
        self._listeners.append(listener)

    def _envelope(self, record: str) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "record": record,
            "ts": datetime.now(UTC).isoformat(timespec="microseconds"),
            "service.name": SERVICE_NAME,
            "service.version": self.service_version,
            "deployment.environment.name": self.environment,
        }

    def _write(self, record: dict[str, Any]) -> None:
        for listener in self._listeners:
            try:
                listener(record)
            except Exception:  # noqa: BLE001 (a broken metric never breaks a turn)
                continue
        with self._lock:
            if self._file is not None:
                try:
                    self._json.msg(**record)
                except Exception as exc:  # noqa: BLE001 (a bad value never crashes a turn)
                    self._file.write(error_line(record, exc))
            if self._echo is not None:
                self._echo.msg(
                    record["name"],
                    duration_ms=record.get("duration_ms"),
                    status=record["status"],
                    trace=record["trace_id"][:8],
                    attributes=dict(record["attributes"]),
                )

    @contextmanager
    def span(
        self,
        name: str,
        kind: SpanKind = "INTERNAL",
        attributes: Mapping[str, Any] | None = None,
        *,
        trace_id: str | None = None,
        start_ns: int | None = None,
    ) -> Iterator[Span]:
        """Open a child of the current span (or a root span) and write it when the block ends.

        ``start_ns`` backdates the start (a Slack event's arrival). Token counts and costs of the
        spans inside a SERVER span are summed onto it as ``app.rollup.*``. An exception escaping
        the block marks the span ``ERROR`` with ``error.type`` and re-raises.
        """
        parent = _current_span.get()
        span = Span(
            name=name,
            kind=kind,
            trace_id=trace_id or (parent.trace_id if parent else new_trace_id()),
            span_id=new_span_id(),
            parent_span_id=parent.span_id if parent else None,
            start_ns=start_ns or time.time_ns(),
        )
        span.update(attributes or {})
        token = _current_span.set(span)
        rollup_token = _rollup_spans.set((*_rollup_spans.get(), span)) if kind == "SERVER" else None
        try:
            yield span
        except BaseException as exc:
            span.fail(exc)
            raise
        finally:
            _current_span.reset(token)
            if rollup_token is not None:
                _rollup_spans.reset(rollup_token)
            self.finish(span)

    def finish(self, span: Span) -> None:
        """Write ``span`` as finished now."""
        end_ns = time.time_ns()
        duration_ms = round((end_ns - span.start_ns) / 1e6, 3)
        timings = _timings.get()
        if timings is not None:
            timings[span.name] = round(timings.get(span.name, 0.0) + duration_ms, 3)
        for target in _rollup_spans.get():
            if target is span:
                continue
            for key, rollup in ROLLUP_KEYS.items():
                value = span.attributes.get(key)
                if isinstance(value, int | float) and not isinstance(value, bool):
                    total = target.attributes.get(rollup, 0) + value
                    target.attributes[rollup] = round(total, 8) if total % 1 else total
        record = self._envelope("span")
        record.update(
            {
                "trace_id": span.trace_id,
                "span_id": span.span_id,
                "parent_span_id": span.parent_span_id,
                "name": span.name,
                "kind": span.kind,
                "start_time_unix_nano": span.start_ns,
                "end_time_unix_nano": end_ns,
                "duration_ms": duration_ms,
                "status": span.status,
                "attributes": dict(span.attributes),
            }
        )
        self._write(record)

    def evaluation(
        self,
        *,
        trace_id: str,
        span_id: str | None,
        name: str,
        score_value: float | None = None,
        score_label: str | None = None,
        explanation: str | None = None,
        attributes: Mapping[str, Any] | None = None,
    ) -> None:
        """Write a ``gen_ai.evaluation.result`` record attached to an earlier span."""
        record = self._envelope("eval")
        attrs: dict[str, Any] = {"gen_ai.evaluation.name": name}
        for key, value in (
            ("gen_ai.evaluation.score.value", score_value),
            ("gen_ai.evaluation.score.label", score_label),
            ("gen_ai.evaluation.explanation", explanation),
        ):
            if value is not None:
                attrs[key] = value
        attrs.update(attributes or {})
        record.update(
            {
                "trace_id": trace_id,
                "span_id": new_span_id(),
                "parent_span_id": span_id,
                "name": "gen_ai.evaluation.result",
                "kind": "INTERNAL",
                "status": "OK",
                "attributes": attrs,
            }
        )
        self._write(record)

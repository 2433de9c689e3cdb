"""Trace records as OTLP (protobuf over HTTP), for Langfuse, Phoenix or any OTel collector.

``to_request(records)`` builds one ``ExportTraceServiceRequest``: spans keep their ids, times,
kind, status and attributes; an evaluation record becomes a zero-length child span named
``gen_ai.evaluation.result`` of the span it scores. Names that one backend reads differently
are mapped here, never in the logs: ``user.hash`` is also sent as ``user.id`` and a chat span's
time to first chunk as ``langfuse.observation.completion_start_time``.
``export(records, url)`` posts batches to ``{url}/v1/traces`` with retries.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, InstrumentationScope, KeyValue
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span, Status

from observe.tracing import SERVICE_NAME

KINDS = {
    "INTERNAL": Span.SPAN_KIND_INTERNAL,
    "SERVER": Span.SPAN_KIND_SERVER,
    "CLIENT": Span.SPAN_KIND_CLIENT,
}
BATCH = 512
RETRYABLE = frozenset({429, 502, 503, 504})
"""The statuses OTLP/HTTP says to retry (with the server's Retry-After when it sends one)."""
RESOURCE_KEYS = ("service.name", "service.version", "deployment.environment.name")


class ExportError(RuntimeError):
    """The collector refused a batch, or could not be reached."""


def any_value(value: Any) -> AnyValue:
    """A JSON value as an OTLP ``AnyValue`` (lists of objects become a JSON string, as most
    backends cannot show nested key-value lists)."""
    if isinstance(value, bool):
        return AnyValue(bool_value=value)
    if isinstance(value, int):
        return AnyValue(int_value=value)
    if isinstance(value, float):
        return AnyValue(double_value=value)
    if isinstance(value, str):
        return AnyValue(string_value=value)
    if isinstance(value, list) and all(not isinstance(v, dict | list) for v in value):
        out = AnyValue()
        out.array_value.values.extend(any_value(v) for v in value)
        return out
    return AnyValue(string_value=json.dumps(value, default=str))


def _attributes(attrs: Mapping[str, Any]) -> list[KeyValue]:
    return [KeyValue(key=k, value=any_value(v)) for k, v in attrs.items() if v is not None]


def _mapped(record: Mapping[str, Any]) -> dict[str, Any]:
    attrs = dict(record.get("attributes") or {})
    if "user.hash" in attrs:
        attrs.setdefault("user.id", attrs["user.hash"])
    ttft = attrs.get("gen_ai.response.time_to_first_chunk")
    if isinstance(ttft, int | float) and record.get("start_time_unix_nano"):
        first = record["start_time_unix_nano"] / 1e9 + ttft
        attrs["langfuse.observation.completion_start_time"] = datetime.fromtimestamp(
            first, UTC
        ).isoformat()
    return attrs


def _eval_time(record: Mapping[str, Any]) -> int:
    try:
        return int(datetime.fromisoformat(str(record["ts"])).timestamp() * 1e9)
    except (KeyError, ValueError):
        return time.time_ns()


def to_span(record: Mapping[str, Any]) -> Span:
    """One span or evaluation record as an OTLP span."""
    span = Span(
        trace_id=bytes.fromhex(record["trace_id"]),
        span_id=bytes.fromhex(record["span_id"]),
        name=str(record["name"]),
        kind=KINDS.get(str(record.get("kind")), Span.SPAN_KIND_INTERNAL),
        status=Status(
            code=Status.STATUS_CODE_ERROR
            if record.get("status") == "ERROR"
            else Status.STATUS_CODE_OK
        ),
    )
    if record.get("parent_span_id"):
        span.parent_span_id = bytes.fromhex(record["parent_span_id"])
    if record.get("record") == "eval":
        span.start_time_unix_nano = span.end_time_unix_nano = _eval_time(record)
    else:
        span.start_time_unix_nano = int(record["start_time_unix_nano"])
        span.end_time_unix_nano = int(record["end_time_unix_nano"])
    span.attributes.extend(_attributes(_mapped(record)))
    return span


EXPORTED = frozenset({"span", "eval"})
"""The record types sent; ``error`` records (a line that could not be written) are not."""
Converted = tuple[tuple[str, ...], Span]


def converted(records: Iterable[Mapping[str, Any]]) -> Iterator[Converted]:
    """Each span or eval record as ``(its service resource, its OTLP span)``, converted once;
    records that cannot be (missing or malformed ids or times) are skipped."""
    for record in records:
        if record.get("record") not in EXPORTED:
            continue
        try:
            span = to_span(record)
        except (KeyError, TypeError, ValueError, OverflowError):
            continue
        yield tuple(str(record.get(k, "")) for k in RESOURCE_KEYS), span


def to_request(records: Iterable[Mapping[str, Any]]) -> ExportTraceServiceRequest:
    """The span and eval records grouped by their service resource (see ``converted``)."""
    return _request(converted(records))


def _request(spans: Iterable[Converted]) -> ExportTraceServiceRequest:
    groups: dict[tuple[str, ...], list[Span]] = {}
    for key, span in spans:
        groups.setdefault(key, []).append(span)
    request = ExportTraceServiceRequest()
    for key, members in groups.items():
        resource = Resource(attributes=_attributes(dict(zip(RESOURCE_KEYS, key, strict=True))))
        scope = ScopeSpans(scope=InstrumentationScope(name=SERVICE_NAME), spans=members)
        request.resource_spans.append(ResourceSpans(resource=resource, scope_spans=[scope]))
    return request


def endpoint(url: str) -> str:
    """``url`` with the OTLP/HTTP traces path (``/v1/traces``) when it has none."""
    url = url.rstrip("/")
    return url if url.endswith("/v1/traces") else f"{url}/v1/traces"


def _batches(spans: Iterable[Converted], size: int) -> Iterator[list[Converted]]:
    batch: list[Converted] = []
    for span in spans:
        batch.append(span)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def export(
    records: Iterable[Mapping[str, Any]],
    url: str,
    *,
    headers: Mapping[str, str] | None = None,
    batch: int = BATCH,
    retries: int = 3,
    timeout_s: float = 10.0,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Post the exportable ``records`` to the collector in batches; returns how many were sent
    (others are skipped). Raises ``ExportError`` when a batch still fails after ``retries``
    (429, 502, 503, 504 and network errors are retried with backoff; other statuses are not)."""
    target = endpoint(url)
    sent = 0
    for chunk in _batches(converted(records), batch):
        body = _request(chunk).SerializeToString()
        _post(target, body, dict(headers or {}), retries, timeout_s)
        sent += len(chunk)
        if progress is not None:
            progress(len(chunk))
    return sent


def _post(url: str, body: bytes, headers: dict[str, str], retries: int, timeout_s: float) -> None:
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={"Content-Type": "application/x-protobuf", **headers},
    )
    for attempt in range(retries + 1):
        try:
            with urllib.request.urlopen(request, timeout=timeout_s) as response:  # noqa: S310
                response.read()
                return
        except urllib.error.HTTPError as exc:
            if exc.code not in RETRYABLE or attempt == retries:
                raise ExportError(f"{url} answered {exc.code} {exc.reason}") from None
            wait = _retry_after(exc.headers.get("Retry-After"), attempt)
        except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
            if attempt == retries:
                reason = getattr(exc, "reason", exc)
                raise ExportError(f"cannot reach {url}: {reason}") from None
            wait = _retry_after(None, attempt)
        time.sleep(wait)


def _retry_after(header: str | None, attempt: int) -> float:
    """Seconds to wait: the server's ``Retry-After`` (capped at 30 s), else 0.5 s doubling."""
    if header and header.strip().isdigit():
        return min(30.0, float(header.strip()))
    return min(8.0, 0.5 * 2**attempt)

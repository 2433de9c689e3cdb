"""``assistant traces export --otlp``: real records, posted as protobuf to a local receiver that
decodes them with the OpenTelemetry protocol's own classes."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from guards.redaction import REDACTOR
from observe.otlp import ExportError, export
from observe.tracefile import trace_records
from observe.tracing import Tracer


class Receiver:
    def __init__(self) -> None:
        self.requests: list[ExportTraceServiceRequest] = []
        self.headers: list[dict[str, str]] = []
        self.fail_first = 0
        self.fail_status = 503
        self.attempts = 0

    async def handle(self, request: web.Request) -> web.Response:
        self.attempts += 1
        if self.fail_first:
            self.fail_first -= 1
            return web.Response(status=self.fail_status, headers={"Retry-After": "0"})
        assert request.content_type == "application/x-protobuf"
        self.requests.append(ExportTraceServiceRequest.FromString(await request.read()))
        self.headers.append(dict(request.headers))
        return web.Response(body=b"", content_type="application/x-protobuf")

    def spans(self) -> list[Span]:
        return [
            s
            for r in self.requests
            for rs in r.resource_spans
            for ss in rs.scope_spans
            for s in ss.spans
        ]


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[Receiver, str]]:
    sink = Receiver()
    app = web.Application()
    app.router.add_post("/v1/traces", sink.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield sink, f"http://127.0.0.1:{port}"
    await runner.cleanup()


def write_log(path: Path) -> list[dict]:
    tracer = Tracer(path, redactor=REDACTOR, environment="test")
    with tracer.span("turn", "SERVER", {"user.hash": "abc", "app.intent": "question"}) as root:
        with tracer.span(
            "chat local",
            "CLIENT",
            {
                "gen_ai.response.time_to_first_chunk": 0.25,
                "gen_ai.usage.output_tokens": 12,
                "gen_ai.retrieval.documents": [{"id": "x"}],
            },
        ):
            pass
        with pytest.raises(TimeoutError), tracer.span("retrieval knowledge", "CLIENT"):
            raise TimeoutError
    tracer.evaluation(
        trace_id=root.trace_id,
        span_id=root.span_id,
        name="user_feedback",
        score_label="negative",
        score_value=0.0,
    )
    tracer.close()
    return list(trace_records(path))


async def test_records_round_trip_through_an_otlp_receiver(
    tmp_path: Path, receiver: tuple[Receiver, str]
) -> None:
    sink, url = receiver
    records = write_log(tmp_path / "traces.jsonl")
    sent = await asyncio.to_thread(
        export, records, url, headers={"Authorization": "Basic k"}, batch=2
    )
    assert sent == len(records) == 4
    assert len(sink.requests) == 2 and sink.headers[0]["Authorization"] == "Basic k"
    spans = {s.name: s for s in sink.spans()}
    by_name = {r["name"]: r for r in records}
    for name, record in by_name.items():
        span = spans[name]
        assert span.trace_id.hex() == record["trace_id"]
        assert span.span_id.hex() == record["span_id"]
        assert (span.parent_span_id.hex() or None) == record["parent_span_id"]
    turn, chat, retrieval = spans["turn"], spans["chat local"], spans["retrieval knowledge"]
    assert turn.kind == Span.SPAN_KIND_SERVER and chat.kind == Span.SPAN_KIND_CLIENT
    assert turn.start_time_unix_nano == by_name["turn"]["start_time_unix_nano"]
    assert retrieval.status.code == Status.STATUS_CODE_ERROR
    attrs = {kv.key: kv.value for kv in chat.attributes}
    assert attrs["gen_ai.usage.output_tokens"].int_value == 12
    assert attrs["gen_ai.response.time_to_first_chunk"].double_value == 0.25
    assert json.loads(attrs["gen_ai.retrieval.documents"].string_value) == [{"id": "x"}]
    assert "langfuse.observation.completion_start_time" in attrs
    turn_attrs = {kv.key: kv.value.string_value for kv in turn.attributes}
    assert turn_attrs["user.id"] == turn_attrs["user.hash"] == "abc"
    evaluation = spans["gen_ai.evaluation.result"]
    assert evaluation.parent_span_id == turn.span_id
    resource = {
        kv.key: kv.value.string_value
        for kv in sink.requests[0].resource_spans[0].resource.attributes
    }
    assert resource["service.name"] == "slack-assistant"
    assert resource["deployment.environment.name"] == "test"


async def test_a_failing_collector_is_retried_then_reported(
    tmp_path: Path, receiver: tuple[Receiver, str]
) -> None:
    sink, url = receiver
    records = write_log(tmp_path / "traces.jsonl")
    sink.fail_first = 1
    assert await asyncio.to_thread(export, records, url, retries=2) == 4
    sink.fail_first = 10
    with pytest.raises(ExportError, match="503"):
        await asyncio.to_thread(export, records, url, retries=1)
    sink.fail_status, sink.fail_first, sink.attempts = 500, 10, 0
    with pytest.raises(ExportError, match="500"):
        await asyncio.to_thread(export, records, url, retries=3)
    assert sink.attempts == 1, "a 500 is not retried (OTLP retries 429, 502, 503, 504 only)"
    skipped = [*records, {"record": "span", "name": "broken"}, {"record": "error"}]
    sink.fail_first = 0
    assert await asyncio.to_thread(export, skipped, url) == 4, "unconvertible records skipped"
    with pytest.raises(ExportError, match="cannot reach"):
        await asyncio.to_thread(export, records, "http://127.0.0.1:9", retries=0)

"""Prometheus metrics fed by the tracer: every finished span updates counters and histograms.

``Metrics().observe(record)`` is subscribed to the ``Tracer``; it reads only span names,
statuses, durations and counters (never text), so metrics can never carry message content.
Histograms use the OTel GenAI bucket boundaries (seconds for durations, tokens for usage).
``render()`` is the ``/metrics`` body; each ``Metrics`` has its own registry, so tests and two
apps in one process never collide.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST as CONTENT_TYPE  # noqa: N811 (re-export)
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

DURATION_BUCKETS = (
    0.01,
    0.02,
    0.04,
    0.08,
    0.16,
    0.32,
    0.64,
    1.28,
    2.56,
    5.12,
    10.24,
    20.48,
    40.96,
    81.92,
)
"""``gen_ai.client.operation.duration`` boundaries (seconds), from the OTel GenAI conventions."""
TOKEN_BUCKETS = (
    1,
    4,
    16,
    64,
    256,
    1024,
    4096,
    16384,
    65536,
    262144,
    1048576,
    4194304,
    16777216,
    67108864,
)
"""``gen_ai.client.token.usage`` boundaries (tokens)."""

__all__ = ["CONTENT_TYPE", "Metrics"]


def _node(name: str) -> str:
    head = name.split(" ", 1)[0]
    return head if head in {"chat", "retrieval", "execute_tool"} else name


class Metrics:
    """The service's metrics in their own registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.turns = Counter("assistant_turns", "Finished turns.", ["intent", "status"], registry=r)
        self.spans = Histogram(
            "assistant_span_duration_seconds",
            "Duration of each graph node.",
            ["node", "status"],
            buckets=DURATION_BUCKETS,
            registry=r,
        )
        self.operations = Histogram(
            "gen_ai_client_operation_duration_seconds",
            "Model calls (OTel GenAI).",
            ["gen_ai_operation_name", "gen_ai_request_model", "error_type"],
            buckets=DURATION_BUCKETS,
            registry=r,
        )
        self.tokens = Histogram(
            "gen_ai_client_token_usage",
            "Tokens per model call (OTel GenAI).",
            ["gen_ai_token_type", "gen_ai_request_model"],
            buckets=TOKEN_BUCKETS,
            registry=r,
        )
        self.ttft = Histogram(
            "gen_ai_server_time_to_first_token_seconds",
            "Model time to first chunk.",
            ["gen_ai_request_model"],
            buckets=DURATION_BUCKETS,
            registry=r,
        )
        self.first_text = Histogram(
            "assistant_slack_first_text_seconds",
            "Slack event to first visible text.",
            buckets=DURATION_BUCKETS,
            registry=r,
        )
        self.cache = Counter(
            "assistant_cache_lookups", "Semantic cache lookups.", ["result"], registry=r
        )
        self.guard_trips = Counter(
            "assistant_guard_trips", "Guard findings.", ["stage", "validator"], registry=r
        )
        self.errors = Counter(
            "assistant_errors", "Failed spans.", ["node", "error_type"], registry=r
        )
        self.cost = Counter(
            "assistant_cost_usd",
            "Model cost from the price table.",
            ["gen_ai_request_model"],
            registry=r,
        )
        self.requests = Counter(
            "assistant_http_requests", "HTTP requests served.", ["route", "status"], registry=r
        )
        self.queue_depth = Gauge(
            "assistant_turn_queue_depth", "Turns accepted, not finished.", registry=r
        )

    def track_queue(self, depth: Callable[[], float]) -> None:
        """Read the queue depth from ``depth`` at every scrape."""
        self.queue_depth.set_function(depth)

    def observe(self, record: dict[str, Any]) -> None:
        """Update the metrics from one finished trace record."""
        if record.get("record") != "span":
            return
        attrs = record.get("attributes") or {}
        name = str(record.get("name", ""))
        node, status = _node(name), str(record.get("status", "OK"))
        seconds = float(record.get("duration_ms") or 0.0) / 1000
        self.spans.labels(node, status).observe(seconds)
        if status == "ERROR":
            self.errors.labels(node, str(attrs.get("error.type", "unknown"))).inc()
        if name == "turn":
            self.turns.labels(str(attrs.get("app.intent", "unknown")), status).inc()
        elif name == "cache.lookup":
            self.cache.labels("hit" if attrs.get("app.cache_hit") else "miss").inc()
        elif name in {"guard.input", "guard.output"}:
            for check in attrs.get("app.guard.checks") or []:
                self.guard_trips.labels(str(attrs.get("app.guard.stage")), str(check)).inc()
        elif name == "slack.reply" and isinstance(attrs.get("app.slack.first_text_ms"), float):
            self.first_text.observe(attrs["app.slack.first_text_ms"] / 1000)
        elif node == "chat":
            self._chat(attrs, seconds)

    def _chat(self, attrs: dict[str, Any], seconds: float) -> None:
        model = str(attrs.get("gen_ai.request.model", "unknown"))
        operation = str(attrs.get("gen_ai.operation.name", "chat"))
        self.operations.labels(operation, model, str(attrs.get("error.type", ""))).observe(seconds)
        for kind in ("input", "output"):
            count = attrs.get(f"gen_ai.usage.{kind}_tokens")
            if isinstance(count, int):
                self.tokens.labels(kind, model).observe(count)
        ttft = attrs.get("gen_ai.response.time_to_first_chunk")
        if isinstance(ttft, int | float):
            self.ttft.labels(model).observe(ttft)
        cost = attrs.get("app.cost_usd")
        if isinstance(cost, int | float) and cost > 0:
            self.cost.labels(model).inc(cost)

    def render(self) -> bytes:
        """The Prometheus text exposition of every metric."""
        return generate_latest(self.registry)

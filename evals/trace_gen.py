"""Generated trace logs for dashboard tests, screenshots and benchmarks.

``generate(path, spans=N, seed=S)`` writes about ``N`` schema-valid span and evaluation records
shaped like the graph's (a Slack reply holding a turn holding guard, cache, intent, retrieval,
answer and output-guard spans), spread over ``days`` ending now. Seeded: the same arguments give
the same file. Questions are drawn from a small pool with typed placeholders, as the redacting
tracer writes them, so the knowledge-gaps table has clusters to find.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from observe.tracing import SCHEMA, SERVICE_NAME

CHANNELS = ("C0PLATFORM", "C0INCIDENT", "C0HELPDESK", "C0DATA", "D0DIRECT")
MODELS = ("local", "openai:gpt-4o-mini")
INTENTS = (
    ("question", 0.72),
    ("chitchat", 0.12),
    ("summarize", 0.06),
    ("escalate", 0.03),
    ("feedback", 0.04),
    ("ops_stats", 0.03),
)
KNOWN = (
    "How do I roll back a bad release?",
    "What is the on-call rotation for the platform team?",
    "How do I request access to the staging cluster?",
    "Where are the deploy logs kept?",
    "How do I rotate the database password?",
)
GAPS = (
    "How do I set up the VPN on Linux?",
    "How do I set up the VPN on my Linux laptop?",
    "What is the budget code for team offsites?",
    "What's the budget code for the offsite?",
    "Who approves expense reports over <MONEY>?",
    "Can you send the invoice to <EMAIL>?",
)
GUARD_CHECKS = ("pii", "injection", "toxicity", "secrets", "length")
NODE_MS = {
    "guard.input": (2.0, 1.0),
    "cache.lookup": (18.0, 6.0),
    "intent.classify": (14.0, 5.0),
    "retrieval knowledge": (35.0, 12.0),
    "answer.quote": (6.0, 2.0),
    "guard.output": (8.0, 4.0),
}
RECORDS_PER_TURN = 7.45
"""The mean number of records a generated turn writes (measured on 100,000)."""
PRICE = {"openai:gpt-4o-mini": (0.15, 0.6), "local": (0.0, 0.0)}


def _iso(unix_ns: int) -> str:
    """The envelope's ``ts`` for a moment in unix nanoseconds (UTC, seconds)."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(unix_ns / 1e9)) + "+00:00"


@dataclass
class _Writer:
    out: Any
    rng: random.Random
    count: int = 0

    def envelope(self, record: str) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "record": record,
            "ts": "",
            "service.name": SERVICE_NAME,
            "service.version": "0.1.0",
            "deployment.environment.name": "bench",
        }

    def span(
        self,
        trace: str,
        parent: str | None,
        name: str,
        kind: str,
        start_ns: int,
        ms: float,
        attrs: dict[str, Any],
        status: str = "OK",
        span_id: str | None = None,
    ) -> str:
        span_id = span_id or f"{self.rng.getrandbits(64):016x}"
        end_ns = start_ns + int(ms * 1e6)
        record = self.envelope("span")
        record.update(
            {
                "ts": _iso(end_ns),
                "trace_id": trace,
                "span_id": span_id,
                "parent_span_id": parent,
                "name": name,
                "kind": kind,
                "start_time_unix_nano": start_ns,
                "end_time_unix_nano": end_ns,
                "duration_ms": round(ms, 3),
                "status": status,
                "attributes": attrs,
            }
        )
        self.out.write(json.dumps(record) + "\n")
        self.count += 1
        return span_id

    def evaluation(
        self, trace: str, parent: str, at_ns: int, name: str, label: str, value: float
    ) -> None:
        record = self.envelope("eval")
        record.update(
            {
                "ts": _iso(at_ns),
                "trace_id": trace,
                "span_id": f"{self.rng.getrandbits(64):016x}",
                "parent_span_id": parent,
                "name": "gen_ai.evaluation.result",
                "kind": "INTERNAL",
                "status": "OK",
                "attributes": {
                    "gen_ai.evaluation.name": name,
                    "gen_ai.evaluation.score.label": label,
                    "gen_ai.evaluation.score.value": value,
                },
            }
        )
        self.out.write(json.dumps(record) + "\n")
        self.count += 1


def _ms(rng: random.Random, mean: float, spread: float) -> float:
    return max(0.1, rng.lognormvariate(0, 0.35) * mean + rng.uniform(-spread, spread) * 0.2)


def _turn(w: _Writer, start_ns: int) -> None:
    rng = w.rng
    trace = f"{rng.getrandbits(128):032x}"
    channel = rng.choice(CHANNELS)
    model = MODELS[0] if rng.random() < 0.7 else MODELS[1]
    intent = rng.choices([i for i, _ in INTENTS], [p for _, p in INTENTS])[0]
    gap = intent == "question" and rng.random() < 0.15
    question = rng.choice(GAPS if gap else KNOWN)
    hit = intent == "question" and not gap and rng.random() < 0.3
    failed = rng.random() < 0.01
    # Children first (a span is written when it ends), then the turn, then the Slack reply.
    reply_id = f"{rng.getrandbits(64):016x}"
    queue_ms = _ms(rng, 4.0, 2.0)
    t = start_ns + int(queue_ms * 1e6)
    turn_start = t
    children: list[tuple[str, str, float, dict[str, Any], str]] = []
    checks = [rng.choice(GUARD_CHECKS)] if rng.random() < 0.08 else []
    children.append(
        (
            "guard.input",
            "INTERNAL",
            _ms(rng, *NODE_MS["guard.input"]),
            {"app.guard.stage": "input", "app.guard.passed": True, "app.guard.checks": checks},
            "OK",
        )
    )
    children.append(
        (
            "cache.lookup",
            "CLIENT",
            _ms(rng, *NODE_MS["cache.lookup"]),
            {"db.system.name": "redis", "app.cache_hit": hit},
            "OK",
        )
    )
    confidence = round(rng.uniform(0.3, 0.99), 4)
    children.append(
        (
            "intent.classify",
            "INTERNAL",
            _ms(rng, *NODE_MS["intent.classify"]),
            {
                "app.intent": intent,
                "app.intent.confidence": confidence,
                "app.intent.method": "embedding",
            },
            "OK",
        )
    )
    tokens_in = tokens_out = 0
    cost = 0.0
    citations = 0
    if intent == "question" and not hit:
        similarity = round(rng.uniform(0.2, 0.42) if gap else rng.uniform(0.5, 0.9), 4)
        children.append(
            (
                "retrieval knowledge",
                "CLIENT",
                _ms(rng, *NODE_MS["retrieval knowledge"]),
                {
                    "gen_ai.operation.name": "retrieval",
                    "gen_ai.request.top_k": 4,
                    "app.retrieval.top_similarity": similarity,
                },
                "OK",
            )
        )
        citations = 0 if gap else rng.randint(1, 3)
    elif hit:
        citations = rng.randint(1, 3)
    if not hit:
        tokens_in, tokens_out = rng.randint(300, 1800), rng.randint(20, 300)
        ttft = round(_ms(rng, 350.0, 100.0) / 1000, 4)
        chat_ms = ttft * 1000 + tokens_out * _ms(rng, 12.0, 3.0)
        price_in, price_out = PRICE[model]
        cost = round((tokens_in * price_in + tokens_out * price_out) / 1e6, 8)
        attrs = {
            "gen_ai.operation.name": "chat",
            "gen_ai.request.model": model,
            "gen_ai.usage.input_tokens": tokens_in,
            "gen_ai.usage.output_tokens": tokens_out,
            "gen_ai.response.time_to_first_chunk": ttft,
            "app.cost_usd": cost,
        }
        if failed:
            attrs["error.type"] = rng.choice(["TimeoutError", "RateLimitError"])
        children.append((f"chat {model}", "CLIENT", chat_ms, attrs, "ERROR" if failed else "OK"))
    if not failed:
        fixes = ["citations"] if rng.random() < 0.05 else []
        children.append(
            (
                "guard.output",
                "INTERNAL",
                _ms(rng, *NODE_MS["guard.output"]),
                {
                    "app.guard.stage": "output",
                    "app.guard.passed": not fixes,
                    "app.guard.checks": fixes,
                },
                "OK",
            )
        )
    turn_id = f"{rng.getrandbits(64):016x}"
    for name, kind, ms, attrs, status in children:
        w.span(trace, turn_id, name, kind, t, ms, attrs, status)
        t += int(ms * 1e6)
    turn_ms = (t - turn_start) / 1e6
    turn_attrs: dict[str, Any] = {
        "gen_ai.operation.name": "invoke_workflow",
        "app.intent": intent,
        "app.cache_hit": hit,
        "app.citations": citations,
        "app.model": model,
        "app.blocked": False,
        "app.redacted.question": question,
        "app.rollup.input_tokens": tokens_in,
        "app.rollup.output_tokens": tokens_out,
        "app.rollup.cost_usd": cost,
    }
    if failed:
        turn_attrs["error.type"] = "ModelCallError"
        reply_error = {"error.type": "ModelCallError"}
    else:
        reply_error = {}
    status = "ERROR" if failed else "OK"
    w.span(trace, reply_id, "turn", "SERVER", turn_start, turn_ms, turn_attrs, status, turn_id)
    first_text = queue_ms + turn_ms * rng.uniform(0.3, 0.8)
    total = queue_ms + turn_ms + _ms(rng, 40.0, 10.0)
    reply_attrs = {
        "app.slack.channel": channel,
        "app.slack.source": "app_mention",
        "app.slack.queue_ms": round(queue_ms, 3),
        "app.slack.first_text_ms": round(first_text, 3),
        "app.slack.final_ms": round(total, 3),
        "app.intent": intent,
        "app.cache_hit": hit,
        **reply_error,
    }
    w.span(trace, None, "slack.reply", "SERVER", start_ns, total, reply_attrs, status, reply_id)
    if rng.random() < 0.05:
        label = "negative" if gap or rng.random() < 0.3 else "positive"
        w.evaluation(
            trace,
            turn_id,
            start_ns + int(total * 1e6) + 5_000_000_000,
            "user_feedback",
            label,
            0.0 if label == "negative" else 1.0,
        )
    if rng.random() < 0.05:
        score = 0.0 if gap else float(rng.random() < 0.9)
        w.evaluation(
            trace,
            turn_id,
            start_ns + int(total * 1e6) + 60_000_000_000,
            "groundedness",
            "pass" if score else "fail",
            score,
        )


def _starts(rng: random.Random, turns: int, days: float, now_ns: int) -> Iterator[int]:
    span_ns = int(days * 86_400 * 1e9)
    for n in range(turns):
        yield now_ns - span_ns + int(span_ns * n / max(1, turns)) + rng.randint(0, 10**9)


def generate(
    path: Path, *, spans: int, days: float = 7.0, seed: int = 7, now_ns: int | None = None
) -> int:
    """Write about ``spans`` records to ``path`` (replacing it); returns how many were written."""
    rng = random.Random(seed)
    now_ns = now_ns or time.time_ns()
    turns = max(1, round(spans / RECORDS_PER_TURN))
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as out:
        writer = _Writer(out, rng)
        for start in _starts(rng, turns, days, now_ns):
            _turn(writer, start)
    return writer.count

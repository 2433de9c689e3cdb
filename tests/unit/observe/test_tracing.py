"""Trace records: schema, parent/child links, redaction of content and secrets."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from guards.redaction import REDACTOR
from observe.tracing import Tracer, collect_timings


def read(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_spans_have_the_envelope_and_link_to_their_parent(tmp_path: Path) -> None:
    path = tmp_path / "traces.jsonl"
    tracer = Tracer(path, environment="test", redactor=REDACTOR)
    with tracer.span("turn", "SERVER", {"gen_ai.operation.name": "invoke_workflow"}) as root:
        with tracer.span("retrieval knowledge", "CLIENT") as child:
            child.set("gen_ai.request.top_k", 4)
    tracer.close()
    child_rec, root_rec = read(path)
    for record in (child_rec, root_rec):
        assert record["schema"] == "assistant.trace/1"
        assert record["record"] == "span"
        assert record["service.name"] == "slack-assistant"
        assert record["deployment.environment.name"] == "test"
        assert re.fullmatch(r"[0-9a-f]{32}", record["trace_id"])
        assert re.fullmatch(r"[0-9a-f]{16}", record["span_id"])
        assert record["end_time_unix_nano"] >= record["start_time_unix_nano"]
        assert record["status"] == "OK"
    assert child_rec["trace_id"] == root_rec["trace_id"] == root.trace_id
    assert child_rec["parent_span_id"] == root_rec["span_id"]
    assert root_rec["parent_span_id"] is None
    assert child_rec["attributes"]["gen_ai.request.top_k"] == 4
    assert root_rec["kind"] == "SERVER"


def test_an_exception_marks_the_span_failed_and_propagates(tmp_path: Path) -> None:
    path = tmp_path / "traces.jsonl"
    tracer = Tracer(path, redactor=REDACTOR)
    with pytest.raises(ValueError), tracer.span("boom"):
        raise ValueError("bad")
    tracer.close()
    (record,) = read(path)
    assert record["status"] == "ERROR"
    assert record["attributes"]["error.type"] == "ValueError"


def test_content_is_dropped_by_default_and_pii_redacted_when_kept(tmp_path: Path) -> None:
    text = "mail me at jane.doe@example.com or +1 415 555 0134"
    dropped, kept = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    for path, keep in ((dropped, False), (kept, True)):
        tracer = Tracer(path, keep_content=keep, redactor=REDACTOR)
        with tracer.span("turn", attributes={"app.content.question": text, "app.intent": "q"}):
            pass
        tracer.close()
    (off,) = read(dropped)
    (on,) = read(kept)
    assert "app.content.question" not in off["attributes"]
    assert off["attributes"]["app.intent"] == "q"
    kept_text = on["attributes"]["app.content.question"]
    assert "jane.doe@example.com" not in kept_text and "<EMAIL>" in kept_text
    assert "555" not in kept_text


def test_secrets_never_reach_the_file(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    tracer = Tracer(path, keep_content=True, redactor=REDACTOR)
    token = "xoxb-123456789012-abcdefABCDEF"
    with tracer.span("x", attributes={"app.content.q": f"my token {token}", "app.note": token}):
        pass
    # A realistic key: a run of one letter (``sk-proj-aaaa…``) reads as a docs placeholder.
    key = "sk-proj-Zq8vN2pLx7RtY4mWk9Ds3HfJ1cBg6TaE"
    tracer.evaluation(
        trace_id="0" * 32, span_id=None, name="user_feedback", explanation=f"key {key}"
    )
    tracer.close()
    raw = path.read_text()
    assert "xoxb-" not in raw and "sk-proj" not in raw
    assert raw.count("[REDACTED]") == 3


def test_evaluation_records_use_otel_names(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    tracer = Tracer(path, redactor=REDACTOR)
    tracer.evaluation(
        trace_id="ab" * 16,
        span_id="cd" * 8,
        name="user_feedback",
        score_value=0.0,
        score_label="negative",
    )
    tracer.close()
    (record,) = read(path)
    assert record["record"] == "eval"
    assert record["name"] == "gen_ai.evaluation.result"
    assert record["trace_id"] == "ab" * 16 and record["parent_span_id"] == "cd" * 8
    assert record["attributes"] == {
        "gen_ai.evaluation.name": "user_feedback",
        "gen_ai.evaluation.score.value": 0.0,
        "gen_ai.evaluation.score.label": "negative",
    }


def test_timings_collect_span_durations(tmp_path: Path) -> None:
    tracer = Tracer(None, redactor=REDACTOR)
    with collect_timings() as timings:
        with tracer.span("a"):
            pass
        with tracer.span("a"):
            pass
        with tracer.span("b"):
            pass
    assert set(timings) == {"a", "b"}
    assert all(v >= 0 for v in timings.values())


@pytest.mark.parametrize(
    "secret",
    [
        "redis://:s3cretpass@redis.internal:6379/0",
        "postgres://app:hunter2hunter2@db:5432/x",
        "Authorization: Bearer abcdefghijklmnop1234",
        "xapp-1-A0123456789-abcdefabcdef",
    ],
    ids=["redis-url-no-user", "postgres-url", "bearer", "slack-app-token"],
)
def test_credentials_are_scrubbed(secret: str) -> None:
    from guards.redaction import redact_secrets

    scrubbed = redact_secrets(f"connect with {secret} now")
    assert "[REDACTED]" in scrubbed
    for fragment in ("s3cretpass", "hunter2", "abcdefghijklmnop", "abcdefabcdef"):
        assert fragment not in scrubbed


def test_console_echo_shows_attributes_but_never_content(tmp_path: Path) -> None:
    import io

    echo = io.StringIO()
    tracer = Tracer(tmp_path / "t.jsonl", echo=echo, redactor=REDACTOR)
    with tracer.span("turn", attributes={"app.intent": "question", "app.content.q": "secret q"}):
        pass
    tracer.close()
    line = echo.getvalue()
    assert line.startswith("turn") and "app.intent=question" in line
    assert "secret q" not in line and "app.content" not in line

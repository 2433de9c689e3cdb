"""The trace log on disk: the schema of every record type, rotation, retention, bad values,
roll-ups, and writing that does not wait for the disk."""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path

import pytest
from pydantic import ValidationError

from guards.redaction import REDACTOR
from observe.schema import span_json_schema, validate_record
from observe.tracefile import TraceFile, trace_files
from observe.tracing import Tracer


def lines(path: Path) -> list[dict]:
    return [json.loads(x) for f in trace_files(path) for x in f.read_text().splitlines()]


def test_every_record_type_validates_against_the_schema(tmp_path: Path) -> None:
    path = tmp_path / "traces.jsonl"
    tracer = Tracer(path, redactor=REDACTOR)
    with tracer.span("turn", "SERVER", {"gen_ai.operation.name": "invoke_workflow"}) as root:
        with tracer.span("chat local", "CLIENT", {"gen_ai.usage.input_tokens": 3}):
            pass
    tracer.evaluation(
        trace_id=root.trace_id, span_id=root.span_id, name="feedback", score_label="negative"
    )
    with tracer.span("weird", attributes={"app.value": object()}):
        pass
    with tracer.span("loop") as span:
        loop: list = []
        loop.append(loop)
        span.set("app.loop", loop)
    tracer.close()
    records = lines(path)
    assert [r["record"] for r in records] == ["span", "span", "eval", "span", "error"]
    kinds = {type(validate_record(r)).__name__ for r in records}
    assert kinds == {"SpanRecord", "EvalRecord", "ErrorRecord"}
    assert records[-1]["error.type"] == "RecursionError" and records[-1]["name"] == "loop"
    assert set(span_json_schema()["discriminator"]["mapping"]) == {"span", "eval", "error"}


@pytest.mark.parametrize(
    "change",
    [
        {"trace_id": "not-hex"},
        {"attributes": {"gen_ai.prompt": "deprecated"}},
        {"attributes": {"gen_ai.invented": 1}},
        {"schema": "assistant.trace/0"},
        {"kind": "PRODUCER"},
    ],
    ids=["trace-id", "deprecated-key", "invented-key", "schema", "kind"],
)
def test_records_that_break_the_schema_are_refused(tmp_path: Path, change: dict) -> None:
    path = tmp_path / "traces.jsonl"
    tracer = Tracer(path, redactor=REDACTOR)
    with tracer.span("turn"):
        pass
    tracer.close()
    (good,) = lines(path)
    validate_record(good)
    with pytest.raises(ValidationError):
        validate_record({**good, **change})


def test_nan_and_odd_values_never_break_a_line(tmp_path: Path) -> None:
    path = tmp_path / "traces.jsonl"
    tracer = Tracer(path, redactor=REDACTOR)
    with tracer.span("odd", attributes={"app.score": math.nan, "app.ids": {"b", "a"}}):
        pass
    tracer.close()
    (record,) = lines(path)
    assert record["attributes"] == {"app.score": None, "app.ids": ["a", "b"]}


def test_usage_and_cost_roll_up_onto_every_open_server_span(tmp_path: Path) -> None:
    path = tmp_path / "traces.jsonl"
    tracer = Tracer(path, redactor=REDACTOR)
    usage = {
        "gen_ai.usage.input_tokens": 100,
        "gen_ai.usage.output_tokens": 20,
        "app.cost_usd": 0.0015,
    }
    with tracer.span("slack.reply", "SERVER"), tracer.span("turn", "SERVER"):
        for _ in range(2):
            with tracer.span("chat m", "CLIENT", usage):
                pass
    tracer.close()
    by_name = {r["name"]: r["attributes"] for r in lines(path)}
    for name in ("turn", "slack.reply"):
        assert by_name[name]["app.rollup.input_tokens"] == 200
        assert by_name[name]["app.rollup.output_tokens"] == 40
        assert by_name[name]["app.rollup.cost_usd"] == pytest.approx(0.003)
    assert "app.rollup.input_tokens" not in by_name["chat m"]


def test_a_backdated_span_starts_when_the_event_arrived(tmp_path: Path) -> None:
    path = tmp_path / "traces.jsonl"
    tracer = Tracer(path, redactor=REDACTOR)
    arrived = time.time_ns() - 2_000_000_000
    with tracer.span("slack.reply", "SERVER", start_ns=arrived):
        pass
    tracer.close()
    (record,) = lines(path)
    assert record["start_time_unix_nano"] == arrived and record["duration_ms"] >= 2000


def test_the_file_rotates_by_size_and_keeps_every_line(tmp_path: Path) -> None:
    path = tmp_path / "traces.jsonl"
    file = TraceFile(path, max_bytes=2000)
    for n in range(100):
        file.write(json.dumps({"n": n, "pad": "x" * 50}))
    file.close()
    files = trace_files(path)
    assert len(files) >= 3 and files[-1] == path
    assert all(f.stat().st_size <= 2000 for f in files)
    assert [r["n"] for r in lines(path)] == list(range(100))


def test_the_file_rotates_when_the_day_changes_and_old_files_expire(tmp_path: Path) -> None:
    path = tmp_path / "traces.jsonl"
    path.write_text('{"n": 0}\n')
    yesterday = time.time() - 86_400
    os.utime(path, (yesterday, yesterday))
    expired = tmp_path / "traces.20200101T000000000000Z.jsonl"
    expired.write_text('{"n": -1}\n')
    old = time.time() - 40 * 86_400
    os.utime(expired, (old, old))
    file = TraceFile(path, retention_days=30)
    file.write('{"n": 1}')
    file.close()
    assert not expired.exists(), "a rotated file past retention is deleted"
    rotated, live = trace_files(path)
    assert json.loads(rotated.read_text()) == {"n": 0}
    assert json.loads(live.read_text()) == {"n": 1}


def test_writing_does_not_wait_for_the_disk_and_flush_makes_it_visible(tmp_path: Path) -> None:
    path = tmp_path / "traces.jsonl"
    file = TraceFile(path)
    started = time.perf_counter()
    for n in range(20_000):
        file.write(f'{{"n": {n}}}')
    queued_s = time.perf_counter() - started
    file.flush()
    assert path.read_text().count("\n") == 20_000
    file.write('{"n": "after flush"}')
    file.close()
    assert path.read_text().count("\n") == 20_001
    file.write('{"n": "after close"}')  # ignored, never raises
    assert queued_s < 5.0  # generous: the writes only queue


def test_lines_written_before_a_crash_are_on_disk(tmp_path: Path) -> None:
    """A child process writes spans and dies with os._exit (no clean shutdown)."""
    import subprocess
    import sys

    path = tmp_path / "traces.jsonl"
    code = (
        "import os, time\n"
        "from observe.tracefile import TraceFile\n"
        f"f = TraceFile(__import__('pathlib').Path({str(path)!r}))\n"
        "for n in range(500):\n    f.write('{\"n\": %d}' % n)\n"
        "time.sleep(0.5)\n"
        "os._exit(1)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=False, timeout=60)
    assert path.read_text().count("\n") == 500


async def test_trace_context_follows_async_tasks(tmp_path: Path) -> None:
    """A task started inside a span (a graph node's gather, the Slack scheduler) gets the span
    as its parent through contextvars; sibling tasks do not see each other's spans."""
    import asyncio

    path = tmp_path / "traces.jsonl"
    tracer = Tracer(path, redactor=REDACTOR)

    async def node(name: str) -> None:
        with tracer.span(name):
            await asyncio.sleep(0.01)

    with tracer.span("turn", "SERVER") as root:
        await asyncio.gather(node("a"), node("b"))
    tracer.close()
    records = {r["name"]: r for r in lines(path)}
    assert records["a"]["parent_span_id"] == records["b"]["parent_span_id"] == root.span_id
    assert records["a"]["trace_id"] == records["b"]["trace_id"] == root.trace_id


def test_flushes_from_several_threads_keep_the_writer_alive(tmp_path: Path) -> None:
    import threading

    path = tmp_path / "traces.jsonl"
    file = TraceFile(path)

    def work(tag: str) -> None:
        for n in range(50):
            file.write(f'{{"t": "{tag}", "n": {n}}}')
            file.flush()

    threads = [threading.Thread(target=work, args=(tag,)) for tag in "ab"]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    file.write('{"t": "last"}')
    file.close()
    assert path.read_text().count("\n") == 101


def test_sets_and_objects_are_redacted_like_strings(tmp_path: Path) -> None:
    class Message:
        def __str__(self) -> str:
            return "mail jane.doe@example.com"

    path = tmp_path / "traces.jsonl"
    tracer = Tracer(path, redactor=REDACTOR)
    key = "sk-proj-" + "Ab3dE6gH9jK2mN5pQ8rS1tU4vW7xY0zA"
    with tracer.span("odd", attributes={"app.redacted.question": Message(), "app.keys": {key}}):
        pass
    tracer.close()
    text = path.read_text()
    assert "jane.doe@example.com" not in text and key not in text
    (record,) = lines(path)
    assert "<EMAIL>" in record["attributes"]["app.redacted.question"]

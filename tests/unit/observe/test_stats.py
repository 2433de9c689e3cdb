"""Replicas sharing a log directory: each writes a trace file of its own, readers see them all."""

from __future__ import annotations

from pathlib import Path

from graph.factories import open_tracer
from graph.settings import Settings
from observe.stats import turn_stats
from observe.tracefile import trace_files


def test_each_replica_writes_its_own_file_and_readers_count_every_replica(tmp_path: Path) -> None:
    replicas = [
        Settings(data_dir=tmp_path, traces={"replica": name}) for name in ("bot-a", "bot-b")
    ]
    for n, settings in enumerate(replicas, start=1):
        tracer = open_tracer(settings)
        for _ in range(n):
            with tracer.span("turn", "SERVER", {"app.intent": "question"}):
                pass
        tracer.close()
    written = sorted(p.name for p in trace_files(Settings(data_dir=tmp_path).traces_path))
    assert written == ["traces.bot-a.jsonl", "traces.bot-b.jsonl"]
    assert turn_stats(Settings(data_dir=tmp_path).traces_path).turns == 3
    own = trace_files(replicas[0].trace_write_path)
    assert [p.name for p in own] == ["traces.bot-a.jsonl"], "a replica prunes only its own"

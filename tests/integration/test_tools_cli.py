"""``assistant bench tools`` as a user runs it: routing scores on a small file, clear errors on a
broken one (the real classifier over MiniLM; no tool runs)."""

from __future__ import annotations

import json
from pathlib import Path

from integration.cli_runner import run_assistant

ROWS = [
    {
        "id": "s",
        "text": "can you summarize this thread for me?",
        "expected_tool": "summarize_conversation",
    },
    {"id": "q", "text": "How do I roll back a bad release?", "expected_tool": None},
    {
        "id": "o",
        "text": "how many questions did you answer this week?",
        "expected_tool": "ops_stats",
        "expected_args": {"period": "7d"},
    },
    {
        "id": "f",
        "text": "that answer was wrong, the link is outdated",
        "expected_tool": "record_feedback",
    },
    {"id": "e", "text": "please get a human to help me with this", "expected_tool": "escalate"},
]


def test_bench_tools_scores_routing_and_arguments(tmp_path: Path) -> None:
    data = tmp_path / "tools.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    proc = run_assistant(["bench", "tools", "--data", str(data), "--json"], tmp_path)
    assert proc.returncode == 0, proc.stderr.decode()
    report = json.loads(proc.stdout)
    assert report["n"] == 5
    assert report["tool_accuracy"] == 1.0, report["failures"]
    assert report["args_exact"] == 1.0 and report["no_tool_precision"] == 1.0
    assert report["failures_by_type"] == {"planning": 0, "tool": 0}


def test_bench_tools_names_the_bad_line(tmp_path: Path) -> None:
    data = tmp_path / "bad.jsonl"
    data.write_text('{"text": "hi", "expected_tool": "launch_rockets"}\n')
    proc = run_assistant(["bench", "tools", "--data", str(data)], tmp_path)
    assert proc.returncode == 1 and b"bad.jsonl:1" in proc.stderr

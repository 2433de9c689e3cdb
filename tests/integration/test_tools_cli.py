"""``assistant bench tools`` as a user runs it: routing scores on a small file, clear errors on a
broken one (the real classifier over MiniLM; no tool runs); and the terminal's approval prompt
in front of a configured HTTP tool with side effects."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

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


class HelpDesk(BaseHTTPRequestHandler):
    tickets: list[dict] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        HelpDesk.tickets.append(body)
        reply = json.dumps({"ticket": f"HD-{len(HelpDesk.tickets)}"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def help_desk() -> Iterator[str]:
    HelpDesk.tickets = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), HelpDesk)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/tickets"
    server.shutdown()


def test_the_terminal_asks_before_a_tool_with_side_effects_runs(
    tmp_path: Path, help_desk: str
) -> None:
    config = tmp_path / "assistant.yaml"
    config.write_text(
        "tools:\n"
        "  http:\n"
        "    create_ticket:\n"
        "      description: Open a help-desk ticket.\n"
        f"      url: {help_desk}\n"
        "      intent: escalate\n"
        "      args: {title: {type: string, required: true, fill: question}}\n"
    )
    chat = "please get a human to help me with this\nn\nI need a human, escalate this\ny\n/quit\n"
    proc = run_assistant(
        ["chat", "--conversation", "approvals"],
        tmp_path,
        env={"ASSISTANT_CONFIG": str(config)},
        input=chat.encode(),
    )
    out = proc.stdout.decode()
    assert proc.returncode == 0, proc.stderr.decode()
    assert out.count("needs your approval") == 2 and out.count("Run create_ticket?") == 2
    assert "Rejected by you: create_ticket was not run." in out
    assert "Approved by you: ran create_ticket" in out and "HD-1" in out
    assert HelpDesk.tickets == [{"title": "I need a human, escalate this"}]


def test_bench_tools_plans_with_a_real_model_behind_an_openai_compatible_double(
    tmp_path: Path,
) -> None:
    data = tmp_path / "tools.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in ROWS[:2]))
    proc = run_assistant(
        ["bench", "tools", "--data", str(data), "--model-double", "local", "--json"], tmp_path
    )
    assert proc.returncode == 0, proc.stderr.decode()
    report = json.loads(proc.stdout)
    assert report["planning"] == "model" and report["n"] == 2
    assert "SmolLM2" in report["model"] and "double-1" in report["model"]
    # the bundled model calls the summary tool through native tool calling (its one strength)
    assert report["accuracy_by_expected_tool"]["summarize_conversation"] == 1.0
